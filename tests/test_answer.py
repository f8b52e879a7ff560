"""Answering questionnaires: the engine's verdict used as is, identical criteria folded into one
slot, and a draft (回答案) that is only verbatim sentences of the document followed by their IDs."""
from __future__ import annotations

from dataclasses import replace

import pytest

from corpus.documents import document_table
from corpus.records import Document
from search.questionnaire import answer as qa
from search.questionnaire.answer import ANSWER_COLUMNS, Answer, Candidate, QuestionnaireError
from verdicts import assert_clear

pytestmark = pytest.mark.scored

PASSWORD = "パスワードの最低文字数や複雑さ、定期的な変更などのパスワードポリシーを定めていますか。"
CANTEEN = "社員食堂のメニューを公開していますか。"
BOILERPLATE = "お客様がAWS上で実装するシステムおよびサービスの管理は"


def sentences_of(text: str) -> list[str]:
    """The quoted sentences of one draft part, without its citation."""
    return qa.split_sentences(text.rsplit("[", 1)[0])


# ------------------------------------------------------------------ sentences


def test_split_sentences_keeps_the_text_verbatim():
    text = ("AWSではポリシーを定めています。パスワードは複雑です！変更されますか？\nISO 27001 認証を取得しています\n"
            "See the SOC 2 report. Then ask us.")
    assert qa.split_sentences(text) == ["AWSではポリシーを定めています。", "パスワードは複雑です！", "変更されますか？",
                                        "ISO 27001 認証を取得しています", "See the SOC 2 report.", "Then ask us."]
    assert qa.split_sentences("「はい。」と答えます。") == ["「はい。」と答えます。"]
    assert qa.split_sentences("保護機能の例としては:\n- 短い") == ["保護機能の例としては:"]  # list markers are no statements
    assert qa.split_sentences(None) == []


def test_join_sentences_as_the_document_writes_them():
    assert qa.join_sentences(["一つ目です。", "二つ目です。"]) == "一つ目です。二つ目です。"
    assert qa.join_sentences(["First one.", "Second one."]) == "First one. Second one."
    assert qa.join_sentences(["認証を取得しています", "次の文です。"]) == "認証を取得しています\n次の文です。"


def test_a_quoted_sentence_comes_with_what_it_needs_to_stand():
    s = ["AWS は変更を管理しています。", "そのため変更は検証されます。", "変更には、以下の対応が行われます:",
         "- 検証: 専門家が検証します。", "- テスト: 変更をテストします。", "詳細は以下のURLをご参照ください。",
         "(https://aws.amazon.com/jp/premiumsupport/ )", "また、記録を保管します。"]
    assert qa.units(s) == [(0,), (0, 1), (2, 3, 4), (2, 3, 4), (2, 3, 4), (), (), ()]
    # a connective opening a column has nothing to connect to; a list runs on over a line between its items
    assert qa.units(["また、記録します。", "これらは保管されます。"]) == [(), ()]
    steps = ["次の手順を完了する必要があります。", "1.文書化します。", "2.計画します。", "レビューを含めます。", "3.承認します。",
             "AWS は記録を保管します。"]
    assert qa.units(steps) == [(0, 1, 2, 3, 4)] * 5 + [(5,)]
    assert qa.units(["詳細は以下にも記載しております。", "Physical Security"]) == [(), (1,)]  # points at nothing quotable
    assert qa.units(["パスワードは 90 日以下の間隔で変更します。", "- 管理者: 30 日"]) == [(0, 1), (0, 1)]
    assert qa.units(["パスワードは 90 日以下の間隔で変更します。"]) == [(0,)]  # 以下 here is an amount's
    # picked by its words, the list item brings its lead-in and list; the connective its antecedent
    weights = {"テスト": 3.0, "検証": 1.0}
    assert qa.pick_sentences(s, {"テスト"}, weights, 1) == s[2:5]
    assert qa.join_sentences(s[2:5]) == "変更には、以下の対応が行われます:\n- 検証: 専門家が検証します。\n- テスト: 変更をテストします。"
    assert qa.pick_sentences(s, {"検証"}, weights, 1) == s[:2]  # 「そのため…検証されます」 with what it follows
    assert qa.pick_sentences(s, {"premiumsupport"}, {"premiumsupport": 5.0}, 1) == []  # a bare URL alone: never


def test_drafts_from_the_issue_are_whole_sentences(engine):
    """「そのため…」 alone, 「…以下の対応が行われます:[実43]」 with nothing after it, and
    「（お客様の統制）(https://aws.amazon.com/jp/premiumsupport/ )[実71]」 are never drafted."""
    def cand(cid: str) -> Candidate:
        d = engine.table[cid]
        return Candidate((cid,), 1.0, "", (), d.aws_role, d.customer_role)

    draft, _ = qa.compose_draft(engine.table, "本番環境への変更は、デプロイの前にテストし承認していますか。", cand("実43"))
    assert "以下の対応が行われます:\n- 検証:" in draft and "- 承認:" in draft and not draft.startswith("そのため")
    draft, _ = qa.compose_draft(engine.table, "サポートへの問い合わせ窓口やサポートの詳細を教えてください。", cand("実71"))
    assert "https://aws.amazon.com/jp/premiumsupport/" not in draft and "以下のURL" not in draft
    assert "（お客様の統制）" in draft


def test_no_draft_of_the_dev_set_opens_with_a_connective_or_leaves_a_colon_or_a_bare_url(engine):
    import json
    import re
    from pathlib import Path

    dev = Path(__file__).resolve().parents[1] / "eval" / "dev.jsonl"
    questions = [json.loads(line)["query"] for line in dev.read_text(encoding="utf-8").splitlines() if line.strip()]
    drafts = [a.draft for a in qa.answer_questions(engine, questions) if a.draft]
    assert len(drafts) > 100
    for draft in drafts:
        for part in draft.split("\n" + qa.CUSTOMER_MARK):
            lines = part.removeprefix(qa.CUSTOMER_MARK).rsplit("[", 1)[0].split("\n")
            assert not qa._CONNECTIVE.match(lines[0]), part
            assert not re.search(r"[:：]$", lines[-1]), part
            assert not any(qa._URL_ONLY.match(line.strip()) for line in lines), part


def test_pick_sentences_by_specific_words_in_document_order():
    sentences = ["管理を行います。", "パスワードは複雑である必要があります。", "ログを管理します。", "パスワードを定期的に変更します。"]
    weights = {"パスワード": 3.0, "複雑": 2.0, "変更": 1.0, "管理": 0.1}
    words = {"パスワード", "複雑", "変更", "管理"}
    assert qa.pick_sentences(sentences, words, weights, 3) == [sentences[1], sentences[3]]  # 管理 alone is too weak
    assert qa.pick_sentences(sentences, words, weights, 1) == [sentences[1]]
    assert qa.pick_sentences(sentences, {"食堂"}, weights, 3) == []


# ------------------------------------------------------------------ on the real engine


def test_password_policy_is_answered_with_a_verbatim_cited_draft(engine, doc):
    [a] = qa.answer_questions(engine, [PASSWORD])
    assert_clear(a.status, a.score, engine.search(PASSWORD).match.threshold, "answered")
    assert a.status_label == "回答候補あり"
    assert a.candidates[0].ids == ("実26",) and a.candidates[0].citation == "[実26]"
    aws_part, customer_part = a.draft.split("\n")
    assert aws_part.endswith("[実26]") and aws_part.startswith(
        "AWSではISO/IEC 27001およびPCI DSSに則り、AWSリソースへの論理的なアクセスのために必要なパスワードポリシーを定めています。")
    c = doc.get("実26")
    assert 1 <= len(sentences_of(aws_part)) <= qa.MAX_DRAFT_SENTENCES
    assert all(s in c.aws_status for s in sentences_of(aws_part))
    # the customer is responsible too (お客様 ◯): one sentence of theirs, never the boilerplate
    assert customer_part.startswith(qa.CUSTOMER_MARK) and customer_part.endswith("[実26]")
    [mine] = sentences_of(customer_part.removeprefix(qa.CUSTOMER_MARK))
    assert mine in c.customer_controls and BOILERPLATE not in mine and "パスワード" in mine
    # the quotes: each column as printed, without the boilerplate line
    assert c.customer_controls.startswith(BOILERPLATE)
    assert (a.aws_quote, a.customer_quote) == (c.aws_status, c.customer_controls.split("\n", 1)[1])


def test_the_verdict_is_the_engines(engine):
    questions = [PASSWORD, CANTEEN, "管理者権限を持つアカウントに多要素認証を必須としていますか。"]
    for a, q in zip(qa.answer_questions(engine, questions), questions):
        match = engine.search(q, limit=13).match
        assert (a.status, a.confidence, a.score) == (match.status, match.confidence, match.score)


def test_out_of_scope_question_is_flagged(engine):
    [a] = qa.answer_questions(engine, [CANTEEN])
    assert_clear(a.status, a.score, engine.search(CANTEEN).match.threshold, "no_match")
    assert (a.status_label, a.draft) == ("要確認", "")


def test_a_no_match_verdict_gets_candidates_but_no_draft(judged):
    [a] = qa.answer_questions(judged("no_match"), [PASSWORD])
    assert (a.status, a.confidence) == ("no_match", "low")
    assert (a.draft, a.aws_quote, a.customer_quote) == ("", "", "")
    assert len(a.candidates) == 3 and all(c.text for c in a.candidates)
    cells = qa.answer_cells(a)
    assert (cells["判定"], cells["確信度"], cells["回答案"]) == ("要確認", "低", "")
    # no 該当基準 (a returned sheet's 該当基準 is always one somebody confirmed): every candidate under 他の候補
    assert cells["該当基準"] == "" and cells["他の候補"] == "、".join(c.label for c in a.candidates)
    assert cells["回答の出典"] == ""
    assert cells["引用(AWSの対応状況)"] == cells["引用(お客様が統制すべき内容)"] == ""


def test_identical_criteria_share_one_slot_and_one_citation(engine):
    hits = engine.search("データセンターの物理的アクセスの申請と承認", mode="keyword", limit=20).hits
    hit = next(h for h in hits if {h.id, *h.same_text} == {"実57", "実58"})
    assert qa.folded_ids(engine, hit) == ("実57", "実58")
    best = Candidate(("実57", "実58"), 1.0, "", (), "primary", "info")
    assert (best.label, best.citation) == ("実57 / 実58", "[実57/実58]")
    draft, note = qa.compose_draft(engine.table, "データセンターへのアクセスの申請はどのように承認されますか。", best)
    assert note == "" and draft.endswith("[実57/実58]") and "\n" not in draft  # お客様 -: no customer part
    assert all(s in engine.doc.get("実57").aws_status for s in sentences_of(draft))


def test_a_lookup_by_id_quotes_the_criterion_from_its_start(engine):
    [a] = qa.answer_questions(engine, ["実26"])
    assert (a.status, a.score) == ("answered", None)
    assert a.draft.startswith("AWSではISO/IEC 27001およびPCI DSSに則り") and "[実26]" in a.draft


def test_a_question_asked_twice_is_answered_alike(engine):
    answers = qa.answer_questions(engine, [PASSWORD, "  ", PASSWORD])
    assert len(answers) == 2 and answers[0] == answers[1]  # the blank line is skipped


BACKUP = "バックアップの状況を定期的に確認し、復元できることを検証していますか。"
LABELS = ("（項目3）{q}", "No.12 {q}", "Q5. {q}", "3. {q}", "{q}【必須】", "{q}※必須", "(設問7){q}", "問12 {q}", "#4 {q}",
          "一. {q}", "{q}（項目137）")


def test_an_item_label_never_changes_the_answer(engine):
    """The labels a check sheet puts around a question are taken off before it is embedded, searched and
    drafted from: each labelled question, answered on its own, gets the answer of the bare question,
    which is the search's. (Before: the vector was of the labelled text, and 「（項目30）…」 went 要確認.)"""
    plain = engine.search(BACKUP, limit=8)
    [bare] = qa.answer_questions(engine, [BACKUP])
    assert (bare.status, bare.confidence, bare.score) == (plain.match.status, plain.match.confidence,
                                                          plain.match.score)
    assert bare.answered and bare.criteria[0] == plain.hits[0].id and bare.draft  # a clear case: 高, 0.93
    for label in LABELS:
        question = label.format(q=BACKUP)
        [a] = qa.answer_questions(engine, [question])  # one at a time: nothing shared with the bare one
        assert a.question == question
        assert (a.status, a.criteria, a.confidence, a.score, a.draft) == \
            (bare.status, bare.criteria, bare.confidence, bare.score, bare.draft), label
    many = qa.answer_questions(engine, [f.format(q=BACKUP) for f in LABELS])  # one sheet: one search, each its own row
    assert [a.question for a in many] == [f.format(q=BACKUP) for f in LABELS]
    assert {(a.status, a.criteria, a.draft) for a in many} == {(bare.status, bare.criteria, bare.draft)}


def test_keyword_mode_and_bad_settings(engine):
    [a] = qa.answer_questions(engine, ["パスワード"], mode="keyword")
    assert a.candidates[0].id == "実26"
    with pytest.raises(QuestionnaireError, match="unknown mode"):
        qa.answer_questions(engine, ["パスワード"], mode="fuzzy")
    with pytest.raises(QuestionnaireError, match="top must be a number from 1 to 10"):
        qa.answer_questions(engine, ["パスワード"], top=11)


# ------------------------------------------------------------------ what cannot be quoted


def _table_with(doc, cid: str, **fields):
    criteria = tuple(replace(c, **fields) if c.id == cid else c for c in doc.criteria)
    return document_table(Document(criteria, doc.revisions))


def test_a_criterion_without_aws_text_is_cited_through_its_customer_text(doc):
    own = "お客様は、アクセスログを定期的に確認する手順を定める必要があります。"
    table = _table_with(doc, "実1", aws_status="", customer_controls=doc.get("実1").customer_controls + "\n" + own)
    draft, note = qa.compose_draft(table, "アクセスログを確認していますか。", Candidate(("実1",), 1.0, "", (), "info", "primary"))
    assert (draft, note) == (f"{qa.CUSTOMER_MARK}{own}[実1]", "")


def test_a_column_of_boilerplate_only_is_quoted_as_it_is(doc):
    table = document_table(doc)
    assert qa.without_boilerplate(doc.get("実1").customer_controls, table["実1"]) == doc.get("実1").customer_controls
    assert qa.without_boilerplate(doc.get("実26").customer_controls, table["実26"]).startswith("お客様はAWS Identity")


def test_a_criterion_with_only_boilerplate_says_so(doc):
    c = doc.get("実1")
    assert c.aws_status == "" and c.customer_controls.startswith(BOILERPLATE)
    draft, note = qa.compose_draft(document_table(doc), "何かを実施していますか。",
                                   Candidate(("実1",), 1.0, "", (), "info", "primary"))
    assert draft == "" and "実1 には引用できる固有の記述がありません" in note
    a = Answer("q", "answered", "medium", 0.5, (Candidate(("実1",), 1.0, ""),), note=note)
    assert qa.answer_cells(a)["回答案"] == f"（{note}）"


# ------------------------------------------------------------------ tables


def test_table_rows_name_where_each_question_came_from():
    from search.questionnaire.checksheet import QuestionRow

    a = Answer("q1", "no_match", "low", 0.1, (Candidate(("実1",), 0.5, "x"), Candidate(("実57", "実58"), 0.4, "y")))
    assert qa.table_rows([a]) == [["No.", "質問", *ANSWER_COLUMNS],
                                  [1, "q1", "要確認", "", "低", "", "", "", "実1、実57 / 実58", ""]]
    rows = [QuestionRow("チェックシート", 9, "q1")]
    assert qa.table_rows([a], rows)[0][:4] == ["No.", "シート", "行", "質問"]
    assert qa.table_rows([a], rows)[1][:4] == [1, "チェックシート", 9, "q1"]
    assert qa.table_rows([a], [QuestionRow(None, 4, "q1")])[1][:3] == [1, 4, "q1"]


def test_a_cell_that_is_only_an_id(engine):
    known, unknown, history = qa.answer_questions(engine, ["実26", "実999", "統20"])
    assert (known.status, [c.ids for c in known.candidates][:1]) == ("answered", [("実26",)])
    assert known.draft.endswith("[実26]")
    for a in (unknown, history):  # nothing to cite: a person must look, and no draft is made up
        assert (a.status, a.candidates, a.draft) == ("no_match", (), "")


def test_a_sheet_row_without_text_is_refused_not_misaligned():
    """read_questionnaire never yields one, but a row without text would shift every answer after it
    (table_rows pairs answers and rows by position): answer_sheet says so instead."""
    from search.questionnaire.checksheet import QuestionRow

    with pytest.raises(QuestionnaireError, match="has no text"):
        qa.answer_sheet(None, [QuestionRow(None, 2, "  ")])  # type: ignore[arg-type]  (never searched)
