"""Duplicate finding: on the real corpus (exact groups and pairs, checked against
brute force) and on hand-made passages (width, near, different, threshold edges).

Jaccard is recomputed here with the test's own shingler, so a reported pair
below the threshold cannot hide behind the module's arithmetic.
"""
from __future__ import annotations

import csv
import importlib.util
import io
import itertools
import re
import unicodedata
from pathlib import Path

import pytest

from corpus.passages import Passage, boilerplate_keys, document_passages
from corpus import duplicates as dup
from corpus.duplicates import (CriteriaPair, DuplicateReport, PassageGroup, differences, find_duplicates,
                               format_text, group_passages, pair_records, shared_passages, write_csv)

BOILERPLATE = ("お客様がAWS上で実装するシステムおよびサービスの管理は、AWSが提供する機能および情報もしくは"
               "その他の機能を用いて、お客様にて実施します。")
ANTIVIRUS = "また、Amazon の資産 (ノートパソコンなど) は、E メールのフィルタリングとマルウェア検出を含むウイルス対策ソフトウェアで設定されています。"
THRESHOLD = 0.8


def norm(text: str) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text)).lower()


def shingle_set(text: str, k: int = 5) -> set[str]:
    n = norm(text)
    return {n[i:i + k] for i in range(len(n) - k + 1)} if len(n) >= k else {n}


def jac(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b)


def nid(cid: str) -> tuple[int, int]:
    return ("実監".index(cid[0]), int(cid[1:]))


# --------------------------------------------------------------------------- real corpus


@pytest.fixture(scope="module")
def report(doc) -> DuplicateReport:
    return find_duplicates(doc)


@pytest.fixture(scope="module")
def passages(doc) -> list[Passage]:
    return [p for p in document_passages(doc) if p.field != "revision"]


def group_with(report: DuplicateReport, text: str) -> PassageGroup:
    found = [g for g in report.passages if any(norm(m.text).startswith(norm(text)) for m in g.members)]
    assert len(found) == 1, f"{len(found)} groups contain {text[:30]}"
    return found[0]


def test_boilerplate_sentence_is_one_group_of_its_136_criteria(doc, report):
    expected = {c.id for c in doc.criteria
                if BOILERPLATE in c.customer_controls.splitlines() or BOILERPLATE in c.aws_status.splitlines()}
    assert len(expected) == 136
    g = group_with(report, BOILERPLATE)
    assert set(g.criteria) == expected and len(g.criteria) == 136
    assert g.boilerplate is True
    assert g.similarity == 1.0 and g.variants == ()
    assert report.passages[0] is g  # the most widely shared comes first
    assert sum(grp.boilerplate for grp in report.passages) == 1


def test_antivirus_paragraphs_group_20_21_32(report):
    assert group_with(report, ANTIVIRUS).criteria == ("実20", "実21", "実32")
    # 実32 says 「また、詳細については、」 where 実20 and 実21 say 「詳細については」
    g = group_with(report, "詳細についてはISO/IEC 27001 の附属書 A、ドメイン 12 を参照してください。"
                           "AWS は ISO/IEC 27001 への準拠の認定を受けています。これらの認定は独立した第三者監査人によって行われています。")
    assert g.criteria == ("実20", "実21", "実32")
    assert [v.criteria for v in g.variants] == [("実32",)]
    assert 0.8 <= g.similarity < 1.0
    assert [(d.a, d.b) for d in g.variants[0].differences] == [
        ("詳細についてはISO/IEC 27001 の附", "また、詳細については、ISO/IEC 27001 の附")]


def test_whole_record_pairs(report):
    pairs = {(p.a, p.b) for p in report.criteria_pairs}
    assert {("実57", "実58"), ("実85", "実86"), ("実102", "実103")} <= pairs
    assert ("実87", "実88") in pairs  # 実88 says 「実87と同様」 and carries 実87's text
    assert all(p.a != p.b and nid(p.a) < nid(p.b) for p in report.criteria_pairs)


def test_annex_a11_versus_a8_difference_between_49_and_50(report):
    g = group_with(report, "追加の詳細については、ISO/IEC 27001の附属書 A. 8を参照してください。")
    assert {"実49", "実50"} <= set(g.criteria)
    (variant,) = [v for v in g.variants if "実49" in v.criteria]
    assert "実50" not in variant.criteria
    (d,) = variant.differences
    assert "附属書 A. 8" in d.a and "附属書 A. 11" in d.b
    assert "A. 11" not in d.a and "A. 8" not in d.b
    assert "附属書 A. 8" in format_text(report) and "附属書 A. 11" in format_text(report)


def test_nothing_reported_below_threshold(doc, report, passages):
    for g in report.passages:
        assert len(g.criteria) >= 2
        base = shingle_set(g.text)
        wordings = {norm(g.text)} | {norm(v.text) for v in g.variants}
        assert {norm(m.text) for m in g.members} == wordings
        for v in g.variants:
            sim = jac(base, shingle_set(v.text))
            assert sim >= THRESHOLD and v.similarity == pytest.approx(sim)
        assert g.similarity == pytest.approx(min([v.similarity for v in g.variants], default=1.0))
    boiler = boilerplate_keys(document_passages(doc))
    record = {c.id: set() for c in doc.criteria}
    for p in passages:
        if p.key not in boiler:
            record[p.criterion_id] |= shingle_set(p.text)
    for pair in report.criteria_pairs:
        sim = jac(record[pair.a], record[pair.b])
        assert sim >= THRESHOLD and pair.similarity == pytest.approx(sim)


def test_every_pair_above_threshold_is_found(doc, report, passages):
    """Brute force (fine at 210 texts / 153 records) finds nothing the LSH missed."""
    texts = {norm(p.text): p.text for p in passages}
    sets = {n: shingle_set(t) for n, t in texts.items()}
    group_of = {}
    for k, g in enumerate(report.passages):
        for m in g.members:
            group_of[norm(m.text)] = k
    owners: dict[str, set[str]] = {}
    for p in passages:
        owners.setdefault(norm(p.text), set()).add(p.criterion_id)
    for n, ids in owners.items():
        if len(ids) >= 2:
            assert n in group_of, texts[n]
    near = [(a, b) for a, b in itertools.combinations(sets, 2) if jac(sets[a], sets[b]) >= THRESHOLD]
    assert len(near) >= 10  # the oracle must have something to check
    for a, b in near:
        if len(owners[a] | owners[b]) >= 2:
            assert group_of[a] == group_of[b], (texts[a], texts[b])

    boiler = boilerplate_keys(document_passages(doc))
    record = {c.id: set() for c in doc.criteria}
    for p in passages:
        if p.key not in boiler:
            record[p.criterion_id] |= shingle_set(p.text)
    expected = {(a, b) for a, b in itertools.combinations(sorted(record, key=nid), 2)
                if record[a] and record[b] and jac(record[a], record[b]) >= THRESHOLD}
    assert {(p.a, p.b) for p in report.criteria_pairs} == expected
    only_boiler = {c.id for c in doc.criteria if not record[c.id]} - {"監2"}  # 監2 has no text at all
    assert set(report.boilerplate_only) == only_boiler and len(only_boiler) == 95


def test_groups_sorted_by_share_then_first_criterion(report):
    keys = [(-len(g.criteria), nid(g.criteria[0])) for g in report.passages]
    assert keys == sorted(keys)
    for g in report.passages:
        assert list(g.criteria) == sorted(g.criteria, key=nid)


def test_min_criteria_filters_groups(doc, report):
    big = find_duplicates(doc, min_criteria=4)
    assert [g.criteria for g in big.passages] == [g.criteria for g in report.passages if len(g.criteria) >= 4]
    assert big.criteria_pairs == report.criteria_pairs
    with pytest.raises(ValueError):
        find_duplicates(doc, min_criteria=1)
    with pytest.raises(ValueError):
        find_duplicates(doc, threshold=0)


def test_to_dict_shape(report):
    d = report.to_dict()
    assert set(d) == {"passages", "criteria_pairs"}
    assert all(set(g) == {"text", "criteria", "similarity", "boilerplate", "variants"} for g in d["passages"])
    assert all(set(p) == {"a", "b", "similarity"} for p in d["criteria_pairs"])
    assert d["passages"][0]["criteria"][:3] == ["実1", "実2", "実3"]


def test_shared_passages_for_show(doc):
    dup._CACHE.clear()
    shared = shared_passages(doc, "実３２")
    report = dup.cached_report(doc)
    assert shared_passages(doc, "実32") == shared
    assert dup.cached_report(doc) is report  # computed once per document and threshold
    by_text = {s["text"]: s for s in shared}
    assert by_text[ANTIVIRUS] == {"text": ANTIVIRUS, "field": "aws_status", "criteria": ["実20", "実21"],
                                  "similarity": 1.0, "boilerplate": False}
    assert by_text[BOILERPLATE]["boilerplate"] is True and "実32" not in by_text[BOILERPLATE]["criteria"]
    assert len(by_text[BOILERPLATE]["criteria"]) == 135
    near = [s for s in shared if s["text"].startswith("また、詳細については")]
    assert near and near[0]["criteria"] == ["実20", "実21"] and THRESHOLD <= near[0]["similarity"] < 1
    assert shared_passages(doc, "監2") == []  # no text at all


def test_csv_rows_and_injection_is_neutralised(report):
    fp = io.StringIO()
    write_csv(report, fp)
    rows = list(csv.reader(io.StringIO(fp.getvalue())))
    assert rows[0] == ["kind", "criteria_count", "criteria", "similarity", "boilerplate", "text"]
    assert rows[1][:2] == ["passage", "136"] and rows[1][4] == "true" and rows[1][5] == BOILERPLATE
    assert len(rows) == 1 + len(report.passages) + len(report.criteria_pairs)
    assert ["pair", "2", "実57 実58", "1.0000", "", ""] in rows

    evil = DuplicateReport((PassageGroup("=HYPERLINK(\"http://x\")", "k", ("実1", "実2"), 1.0, False, ()),
                            PassageGroup("@SUM(A1)", "k2", ("実1", "実2"), 1.0, False, ()),
                            PassageGroup("+1", "k3", ("実1", "実2"), 1.0, False, ()),
                            PassageGroup("-1 safe", "k4", ("実1", "実2"), 1.0, False, ())), ())
    fp = io.StringIO()
    write_csv(evil, fp)
    texts = [r[5] for r in csv.reader(io.StringIO(fp.getvalue()))][1:]
    assert texts == ["'=HYPERLINK(\"http://x\")", "'@SUM(A1)", "'+1", "'-1 safe"]


# --------------------------------------------------------------------------- hand-made passages


def P(cid: str, text: str, index: int = 0) -> Passage:
    return Passage(cid, "aws_status", index, text)


def test_width_and_whitespace_variants_are_one_exact_group():
    groups = group_passages([P("実1", "ISO/IEC 27001 の附属書 A. 12 を参照してください。"),
                             P("実2", "ＩＳＯ／ＩＥＣ　２７００１の附属書Ａ．１２を参照してください。"),
                             P("実3", "iso/iec27001 の 附属書 a.12 を参照して ください。")])
    (g,) = groups
    assert g.criteria == ("実1", "実2", "実3") and g.similarity == 1.0 and g.variants == ()


def test_same_criterion_twice_is_not_a_repeat():
    assert group_passages([P("実1", "同じ段落です。", 0), P("実1", "同じ段落です。", 1)]) == ()


BASE = "AWS は、権限を持つ担当者のみにデータセンターへの物理的なアクセスを許可しています。データセンターへのアクセスを必要とするすべての担当者は、まずアクセスを申請します。"


def test_near_duplicates_found_and_different_ones_not():
    edited = BASE.replace("申請します", "申請しました")
    other = "Amazon CloudWatch は、AWS クラウドリソースと AWS で実行されるアプリケーションのモニタリングサービスです。"
    sim = jac(shingle_set(BASE), shingle_set(edited))
    assert 0.8 < sim < 1.0
    groups = group_passages([P("実1", BASE), P("実2", BASE), P("実3", edited), P("実4", other)])
    (g,) = groups
    assert g.criteria == ("実1", "実2", "実3") and g.text == BASE
    (v,) = g.variants
    assert v.criteria == ("実3",) and v.similarity == pytest.approx(sim)
    assert [(d.a, d.b) for d in v.differences] == [("スを申請します。", "スを申請しました。")]


def _pair_at(n_shingles: int) -> tuple[str, str]:
    """Two texts of distinct characters differing in one middle character: J = (n-5)/(n+5)."""
    chars = [chr(0x4E00 + 7 * i) for i in range(n_shingles + 4)]
    changed = list(chars)
    changed[len(chars) // 2] = "＃"
    return "".join(chars), "".join(changed)


@pytest.mark.parametrize("n, found", [(46, True), (44, False)])
def test_threshold_edges(n, found):
    a, b = _pair_at(n)
    sim = jac(shingle_set(a), shingle_set(b))
    assert sim == pytest.approx((n - 5) / (n + 5))  # 46 → 0.8039, 44 → 0.7959
    assert (sim >= THRESHOLD) is found
    groups = group_passages([P("実1", a), P("実2", b)], threshold=THRESHOLD)
    assert bool(groups) is found
    # the threshold itself is inclusive
    assert len(group_passages([P("実1", a), P("実2", b)], threshold=sim)) == 1


def test_chain_is_cut_so_every_wording_is_near_the_group_text():
    chars = [chr(0x4E00 + 7 * i) for i in range(50)]
    a = "".join(chars)
    b = "".join(chars[:12] + ["＃"] + chars[13:])
    c = "".join(chars[:12] + ["＃"] + chars[13:37] + ["＄"] + chars[38:])
    assert jac(shingle_set(a), shingle_set(b)) >= 0.8 and jac(shingle_set(b), shingle_set(c)) >= 0.8
    assert jac(shingle_set(a), shingle_set(c)) < 0.8
    groups = group_passages([P("実1", b), P("実2", b), P("実3", a), P("実4", c)])
    (g,) = groups  # b is the most shared wording, and both a and c are near it
    assert g.text == b and g.criteria == ("実1", "実2", "実3", "実4")
    groups = group_passages([P("実1", a), P("実2", a), P("実3", b), P("実4", c)])
    assert [grp.criteria for grp in groups] == [("実1", "実2", "実3")]  # c is too far from a


def test_differences_show_short_context():
    (d,) = differences("追加の詳細については、ISO/IEC 27001の附属書 A. 8を参照してください。",
                       "追加の詳細については、ISO/IEC 27001の附属書 A. 11を参照してください。")
    assert (d.a, d.b) == ("の附属書 A. 8を参照してく", "の附属書 A. 11を参照してく")
    assert differences("同じ文です。", "同じ 文です。") == ()


def test_record_pairs_skip_boilerplate_only_records():
    boiler = "定型文です。この文はどの基準にも書かれています。"
    bkey = P("x", boiler).key
    body = "データセンターの電力システムは、完全に冗長性をもち、運用に影響を与えることなく管理が可能となっています。"
    records = {"実1": [P("実1", boiler)], "実2": [P("実2", boiler)], "実3": [P("実3", body), P("実3", boiler, 1)],
               "実10": [P("実10", body.replace("完全に", "完全な"))], "実4": []}
    pairs, skipped = pair_records(records, boilerplate={bkey})
    assert skipped == ("実1", "実2")
    (pair,) = pairs
    assert (pair.a, pair.b) == ("実3", "実10") and pair == CriteriaPair("実3", "実10", pair.similarity)
    assert pair.similarity == pytest.approx(jac(shingle_set(body), shingle_set(body.replace("完全に", "完全な"))))


# --------------------------------------------------------------------------- synthetic corpus


def test_synthetic_corpus_is_deterministic_and_searchable(doc):
    spec = importlib.util.spec_from_file_location("synthetic", Path(__file__).parents[1] / "bench" / "synthetic.py")
    synthetic = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(synthetic)
    one = synthetic.synthetic_document(300, seed=3, source=doc)
    assert one == synthetic.synthetic_document(300, seed=3, source=doc)
    assert [c.id for c in one.criteria] == [f"実{i}" for i in range(1, 301)]
    r = find_duplicates(one)
    assert r.passages and r.criteria_pairs
    assert any(g.variants for g in r.passages)  # the planted edits are found as near repeats


def test_public_functions_leave_the_change_history_out(doc):
    """find_duplicates hands them every passage, change history included, and relies on this."""
    every = document_passages(doc)
    assert any(p.field == "revision" for p in every)
    boiler = boilerplate_keys(every)
    kept = [p for p in every if p.field != "revision"]
    assert group_passages(every, boilerplate=boiler) == group_passages(kept, boilerplate=boiler)
    with_history: dict[str, list[Passage]] = {}
    for p in every:
        with_history.setdefault(p.criterion_id, []).append(p)
    without = {cid: [p for p in ps if p.field != "revision"] for cid, ps in with_history.items()}
    assert pair_records(with_history, boilerplate=boiler) == pair_records(without, boilerplate=boiler)
