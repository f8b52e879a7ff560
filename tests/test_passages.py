"""Passage splitting on real records: the unit embeddings, snippets and duplicates share."""
from __future__ import annotations

from corpus.passages import MAX_CHARS, criterion_passages, document_passages, split_text


def texts(doc, cid: str, field: str) -> list[str]:
    return [p.text for p in criterion_passages(doc.get(cid)) if p.field == field]


def test_lead_in_and_its_bullets_are_one_passage(doc):
    pieces = texts(doc, "実14", "aws_status")
    bullets = next(p for p in pieces if p.startswith("保護機能の例:"))
    assert bullets.splitlines()[1:6] == ["- 分散サービス拒否(DDoS)攻撃", "- 中間者(MITM)による攻撃",
                                         "- IPスプーフィング", "- ポートスキャン", "- 第三者によるパケットスニッフィング"]
    assert "- ポートスキャン" not in pieces


def test_a_heading_stays_with_its_paragraph(doc):
    pieces = texts(doc, "実55", "aws_status")
    fire = next(p for p in pieces if p.startswith("火災検出と鎮火"))
    assert fire.splitlines()[1].startswith("自動火災検出および鎮火装置が取り付けられ")
    assert "電力" not in pieces and any(p.startswith("電力\nデータセンターの電力システムは") for p in pieces)


def test_sentences_are_not_joined_and_long_paragraphs_are_cut_at_sentence_ends(doc):
    pieces = texts(doc, "実14", "aws_status")
    assert pieces[0] == "・AWSネットワークは、従来のネットワークセキュリティ問題に対する強力な保護機能を提供します。"
    every = [p.text for p in document_passages(doc)]
    assert max(len(t) for t in every) <= MAX_CHARS
    long_paragraph = "あ" * 200 + "。" + "い" * 200 + "。"
    assert split_text(long_paragraph) == ["あ" * 200 + "。", "い" * 200 + "。"]


def test_short_lines_never_overflow_the_bound():
    lines = [f"- 項目{i:03d}" for i in range(100)]
    pieces = split_text("\n".join(lines))
    assert all(len(p) <= MAX_CHARS for p in pieces)
    assert "\n".join(pieces).splitlines() == lines  # nothing lost, order kept


def test_blank_lines_and_edges():
    assert split_text("") == []
    assert split_text("\n  \n") == []
    assert split_text("見出し") == ["見出し"]
    assert split_text("見出し\n\n本文です。") == ["見出し\n本文です。"]


def test_a_heading_goes_with_the_first_piece_of_a_long_paragraph():
    body = "あ" * 200 + "。" + "い" * 200 + "。"
    assert split_text("保護機能の例:\n" + body) == ["保護機能の例:\n" + "あ" * 200 + "。", "い" * 200 + "。"]


def test_own_passages_are_a_criterions_share_of_document_passages(doc):
    from corpus.passages import own_passages

    every = document_passages(doc)
    assert [p for c in doc.criteria for p in own_passages(doc, c)] == [p for p in every if p.field != "revision"]
    jitsu88 = own_passages(doc, doc.get("実88"))  # borrows 実87's AWS text, as its own passages
    assert [p.text for p in jitsu88 if p.field == "aws_status"] == texts(doc, "実87", "aws_status")
    assert {p.criterion_id for p in jitsu88} == {"実88"}
