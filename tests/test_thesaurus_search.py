"""Staff words find the document's: searches expanded with the thesaurus, on the real engine."""
from __future__ import annotations

import pytest
from click.testing import CliRunner

from indexer.thesaurus import Thesaurus, parse_rules
from search.app import cli
from search.library.store import ANSWERED, Entry, Source
from verdicts import assert_clearly

pytestmark = pytest.mark.scored

PHYSICAL_ACCESS = {"実38", "実59", "実35", "実49", "実50", "実56", "実57", "実58"}  # criteria that say 物理的アクセス
TWO_FACTOR = {"実35", "実49", "実50", "実56", "実57", "実58"}  # 「2 要素認証を最低 2 回用いて…」


def test_a_staff_word_finds_the_documents_word(engine):
    r = engine.search("入退室")
    assert r.ids[0] in PHYSICAL_ACCESS
    assert_clearly(r, "answered")
    assert r.match.found_by == "synonyms"
    assert [(s.word, "物理的アクセス" in s.terms) for s in r.synonyms] == [("入退室", True)]
    assert ("入退室", "物理的アクセス") in r.hits[0].synonyms
    assert r.to_dict()["synonyms"][0]["word"] == "入退室"


def test_a_word_the_document_uses_keeps_its_own_criteria_first(engine):
    assert engine.search("暗号化").ids[0] == "実15"  # the only record holding 暗号
    assert engine.search("パスワード").ids[0] == "実26"


def test_mfa_finds_the_two_factor_criteria(engine):
    r = engine.search("MFA")
    assert set(r.ids[:3]) <= TWO_FACTOR
    assert any(t == "2要素認証" for _, t in r.hits[0].synonyms)


@pytest.mark.parametrize("term", ["社員食堂", "育児休業の取得状況"])
def test_a_terms_verdict_reads_its_words_in_hybrid_mode_too(engine, term):
    """A term the document does not address: hybrid mode judges it as keyword mode does (the keyword
    model on keyword ranking's evidence), since none of the hits shown holds its words."""
    hybrid, keyword = engine.search(term), engine.search(term, mode="keyword")
    assert hybrid.match.found_by == "meaning" and hybrid.match.score == keyword.match.score
    assert_clearly(hybrid, "no_match")


def test_an_english_plural_finds_the_rule_for_its_singular(engine):
    r = engine.search("Where are your data centers located?")
    assert [s.word for s in r.synonyms] == ["data centers"] and "データセンター" in r.synonyms[0].terms


def test_keyword_mode_lists_documents_holding_a_synonym(engine):
    r = engine.search("入退室", mode="keyword")  # no document writes 入退室: each hit holds a synonym of it
    assert r.hits and r.ids[0] in PHYSICAL_ACCESS
    assert all(h.synonyms and {w for w, _ in h.synonyms} == {"入退室"} for h in r.hits)


def test_a_team_thesaurus_changes_results_with_no_rebuild(engine, data_root, tmp_path):
    from search.engine import Engine

    team = tmp_path / "team.txt"
    team.write_text("稟議, 承認申請\n", encoding="utf-8")
    before = engine.search("稟議")
    generation = engine.keyword.dir
    with_team = Engine(data_dir=data_root, thesaurus_files=[team])
    after = with_team.search("稟議")
    assert with_team.keyword.dir == generation  # the same index, not rebuilt
    assert [s.word for s in after.synonyms] == ["稟議"] and after.synonyms[0].terms == ("承認申請",)
    assert before.synonyms == () and after.ids != before.ids


def test_explain_names_the_rules_that_fired(engine, data_root):
    done = CliRunner().invoke(cli.main, ["search", "入退室", "--explain", "--limit", "3", "--data-dir", str(data_root)])
    assert done.exit_code == 0, done.output
    assert "also searched by synonyms: 入退室 → " in done.output and "synonyms.txt:" in done.output
    assert "thesaurus #" in done.output  # each hit's rank on the synonyms' signal


def test_suggest_proposes_the_pair_a_returned_sheet_confirms(data_root):
    from search.engine import Engine
    from search.suggestions import render, suggest

    bare = Engine(data_dir=data_root, thesaurus=Thesaurus(parse_rules("稟議, 承認申請\n", "team.txt")[0]))
    confirmed = Entry("L1", "データセンターへの入退室は記録されていますか。", ("実38",), "記録しています。", ANSWERED,
                      Source("cloud_回答.xlsx", "チェックシート", 6, "0" * 64, "2026-12-07T10:00:00"))
    found = suggest(bare, [confirmed])
    pair = next(s for s in found if (s.word, s.term) == ("入退室", "物理的アクセス"))
    assert pair.evidence[0].criterion == "実38" and "物理的アクセス" in pair.evidence[0].sentence
    text = render(found)
    assert "入退室, 物理的アクセス" in text and "cloud_回答.xlsx「チェックシート」6行目" in text
    # the shipped thesaurus links them already: nothing to suggest for that pair
    shipped = Engine(data_dir=data_root)
    assert all((s.word, s.term) != ("入退室", "物理的アクセス") for s in suggest(shipped, [confirmed]))


def test_kijun_thesaurus_suggest_prints_rules_with_their_evidence(data_root, tmp_path):
    from search.library.store import Library, entry_id

    library = Library(tmp_path / "library.sqlite3")
    source = Source("監視_回答.xlsx", "チェックシート", 4, "0" * 64, "2026-12-07T10:00:00")
    library.replace({source.file: [Entry(entry_id(source.file, source.sheet, source.row),
                                         "サーバールームの映像を録画していますか。", ("実56",), "録画しています。",
                                         ANSWERED, source)]})
    done = CliRunner().invoke(cli.main, ["thesaurus", "suggest", "--data-dir", str(data_root)],
                              env={"KIJUN_LIBRARY": str(library.path)})
    assert done.exit_code == 0, done.output
    assert "Nothing here is applied" in done.output
    rules = [line for line in done.stdout.splitlines() if line and not line.startswith("#")]
    assert rules and all(line.count(",") == 1 for line in rules)  # `word, term` lines to copy into a file
    assert "監視_回答.xlsx「チェックシート」4行目) → 実56" in done.stdout  # each with the answer behind it
