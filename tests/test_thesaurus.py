"""The domain thesaurus: its file format, matching a query's words, and `kijun thesaurus check`."""
from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from indexer import thesaurus as T
from search.app import cli


def test_rules_equivalents_one_way_and_comments():
    rules, problems = T.parse_rules("# a comment\n入退室, 入館  # trailing comment\nMFA, 2FA => 2要素認証\n\n", "t.txt")
    assert problems == []
    assert [(r.line, r.terms, r.targets, r.one_way) for r in rules] == [
        (2, ("入退室", "入館"), ("入退室", "入館"), False),
        (3, ("MFA", "2FA"), ("2要素認証",), True)]
    assert rules[1].label == "t.txt:3" and str(rules[1]) == "MFA, 2FA => 2要素認証"


@pytest.mark.parametrize("line, code", [("a, , b", "thesaurus_empty_term"), ("a => b => c", "thesaurus_two_arrows"),
                                        ("ひとつだけ", "thesaurus_one_term"), ("a, " + "x" * 101, "thesaurus_term_too_long"),
                                        ("=> b", "thesaurus_empty_term")])
def test_a_line_that_is_not_a_rule_is_named_by_its_number(line, code):
    rules, problems = T.parse_rules(f"ok, fine\n{line}\n", "t.txt")
    assert len(rules) == 1 and [(p.line, p.code) for p in problems] == [(2, code)]


def test_words_are_matched_as_the_analyzer_reads_them_longest_first():
    th = T.Thesaurus(T.parse_rules("入退室, 物理的アクセス\n2要素認証, MFA\nバックアップ, 退避\n"
                                   "バックアップ電源, 非常用電源\n", "t.txt")[0])
    [e] = th.expand("データセンターへの入退室は記録されていますか")
    assert (e.word, e.terms, e.rules) == ("入退室", ("物理的アクセス",), ("t.txt:1",))
    assert "データセンターへの入退室"[e.start:e.end] == "入退室"
    [e] = th.expand("ＭＦＡ")  # width and case as the documents are normalised
    assert e.terms == ("2要素認証",)
    [e] = th.expand("2 要素認証")  # the document's spacing: the same words
    assert e.terms == ("MFA",)
    [e] = th.expand("バックアップ電源の容量")  # the longer term, not also バックアップ
    assert (e.word, e.terms) == ("バックアップ電源", ("非常用電源",))
    assert th.expand("パスワード") == ()


def test_an_english_word_is_matched_by_its_singular():
    th = T.Thesaurus(T.parse_rules("data center, データセンター\nencryption key, 暗号鍵\npolicy, 方針\n"
                                   "patch, 修正プログラム\naccess control, アクセス制御\n", "t.txt")[0])
    assert [(e.word, e.terms) for e in th.expand("Where are your data centers?")] == [("data centers", ("データセンター",))]
    assert [(e.word, e.terms) for e in th.expand("How are Encryption Keys rotated")] == [
        ("Encryption Keys", ("暗号鍵",))]
    assert [e.word for e in th.expand("policies and patches")] == ["policies", "patches"]
    assert [e.terms for e in th.expand("ＰＯＬＩＣＩＥＳ")] == [("方針",)]  # width and case first
    assert [e.word for e in th.expand("access controls")] == ["access controls"]  # access stays access
    assert th.expand("the data") == ()  # part of a term is not the term
    assert [T.singular(w) for w in ("policies", "patches", "keys", "processes", "access", "status", "analysis",
                                    "IDs", "days")] == ["policy", "patch", "key", "process", "access", "status",
                                                        "analysis", "ids", "day"]


def test_one_way_rules_do_not_expand_back():
    th = T.Thesaurus(T.parse_rules("ランサムウェア => マルウェア\n", "t.txt")[0])
    assert [e.terms for e in th.expand("ランサムウェア")] == [("マルウェア",)]
    assert th.expand("マルウェア") == ()


def test_the_shipped_thesaurus_is_well_formed_and_names_its_sources():
    rules, problems = T.check_file(T.SHIPPED)
    assert problems == [] and len(rules) >= 300
    header = T.SHIPPED.read_text(encoding="utf-8")[:6000]
    assert "NIST" in header and "総務省" in header and "NISC" in header
    shipped = T.load()
    assert {"物理的アクセス"} <= set(next(iter(shipped.expand("入退室"))).terms)
    assert "2要素認証" in next(iter(shipped.expand("MFA"))).terms


def test_team_files_come_from_the_environment_and_the_command_line(tmp_path, monkeypatch):
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    a.write_text("稟議, 承認申請\n", encoding="utf-8")
    b.write_text("決裁 => 承認\n", encoding="utf-8")
    monkeypatch.setenv(T.ENV, str(a))
    th = T.load([b], shipped=False)
    assert th.files == (str(a), str(b)) and len(th) == 2
    assert [e.terms for e in th.expand("稟議と決裁")] == [("承認申請",), ("承認",)]


def test_a_bad_team_file_is_one_clear_error(tmp_path):
    bad = tmp_path / "team.txt"
    bad.write_text("ok, fine\na, , b\n", encoding="utf-8")
    with pytest.raises(T.ThesaurusError, match=r"line 2: an empty term"):
        T.load([bad], shipped=False)
    with pytest.raises(T.ThesaurusError, match="no thesaurus file"):
        T.load([tmp_path / "missing.txt"], shipped=False)
    (tmp_path / "latin1.txt").write_bytes("caf\xe9, coffee\n".encode("latin-1"))
    with pytest.raises(T.ThesaurusError, match="not UTF-8"):
        T.load([tmp_path / "latin1.txt"], shipped=False)


def test_the_analysed_terms_are_cached_by_the_files_bytes(tmp_path):
    team = tmp_path / "team.txt"
    team.write_text("稟議, 承認申請\n", encoding="utf-8")
    cache = tmp_path / "cache"
    first = T.load([team], shipped=False, cache=cache)
    [written] = cache.iterdir()
    again = T.load([team], shipped=False, cache=cache)
    assert list(cache.iterdir()) == [written] and again.expand("稟議")[0].terms == first.expand("稟議")[0].terms
    team.write_text("稟議, 決裁\n", encoding="utf-8")  # a changed file is analysed again, never read stale
    assert T.load([team], shipped=False, cache=cache).expand("稟議")[0].terms == ("決裁",)


def test_kijun_thesaurus_check_lists_every_bad_line(tmp_path):
    team = tmp_path / "team.txt"
    team.write_text("# ours\n稟議, 承認申請\nbad, , line\na => b => c\nthe, IT\n", encoding="utf-8")
    done = CliRunner().invoke(cli.main, ["thesaurus", "check", str(team)])
    assert done.exit_code == 1
    assert f"{team}:3: an empty term" in done.output and f"{team}:4: a rule has at most one '=>'" in done.output
    assert f"{team}:5: a term is only stop words" in done.output and "3 problems" in done.output
    team.write_text("稟議, 承認申請\n", encoding="utf-8")
    done = CliRunner().invoke(cli.main, ["thesaurus", "check", str(team)])
    assert done.exit_code == 0 and "1 rule, no problems" in done.output
    done = CliRunner().invoke(cli.main, ["thesaurus", "check", str(Path(tmp_path) / "none.txt")])
    assert done.exit_code == 1 and "no thesaurus file" in done.output and "Traceback" not in done.output
