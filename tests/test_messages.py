"""The message catalogue: every condition renders for every audience; the web's words are Japanese and
never name a command-line option; the API's name its fields; a highlight is never grammar."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from messages import AUDIENCES, CATALOGUE, Explained, Message, placeholders, render

ROOT = Path(__file__).resolve().parents[1]


def _filled(code: str) -> dict[str, object]:
    entry = CATALOGUE[code]
    names = placeholders(entry.en) | placeholders(entry.ja) | placeholders(entry.en_other or "") | \
        placeholders(entry.api or "")
    return {n: (3 if n in ("n", "count", "limit", "length", "rows", "row", "max", "scan", "line", "limit_mb", "ratio",
                           "width")
                else 1.5 if n == "size_mb" else "x") for n in names}


@pytest.mark.parametrize("code", sorted(CATALOGUE))
def test_every_condition_renders_for_every_audience(code):
    params = _filled(code)
    texts = {a: render(code, a, **params) for a in AUDIENCES}
    assert "--" not in texts["web"] and "--" not in texts["api"]  # only the command line has options
    assert re.search(r"[\u3040-\u30ff\u4e00-\u9fff]", texts["web"]) or code in ("at_file", "index_unreadable")
    assert "{" not in texts["cli"] + texts["web"]


def test_every_code_raised_or_reported_is_in_the_catalogue():
    used = set()
    for path in [*ROOT.glob("messages/*.py"), *ROOT.glob("corpus/*.py"), *ROOT.glob("search/**/*.py")]:
        text = path.read_text(encoding="utf-8")
        used |= set(re.findall(r'\bcode = "(\w+)"', text))
        used |= set(re.findall(r'Message\("([\w ]+)"', text))
        used |= set(re.findall(r'(?:Error|Table|Row|File|Format|Column|Sheet|Query|Questions|Expired|Filter|Large|'
                               r'Workbook|Mode|Range)\("(\w+)"', text))
    assert used and used - set(CATALOGUE) == set()


def test_nested_messages_and_lists_render_in_the_same_language():
    m = Message("unknown_ids", {"ids": ["実999"], "ranges": ("実1–実148", "監1–監5")})
    assert str(m) == "no criterion 実999 in this document (it has 実1–実148, 監1–監5)"
    assert m.text("web") == "実999 はこの文書にありません（この文書の基準は 実1–実148、監1–監5）。"
    at = Message("at_sheet", {"filename": "a.xlsx", "sheet": "S"})
    assert render("no_header_row", "web", at=at, scan=30).startswith("a.xlsx のシート「S」: 先頭 30 行に")
    assert render("image", "cli", n=2) == "2 images" and render("image", "cli", n=1) == "1 image"


def test_an_explained_error_keeps_its_condition():
    from search.questionnaire.checksheet import UnknownSheet

    e = UnknownSheet(filename="a.xlsx", sheet="X", names=["「S」"])
    assert isinstance(e, Explained) and e.condition == "unknown_sheet"
    assert "--sheet NAME" in str(e) and "the `sheet` field" in e.text("api") and "「シート」欄" in e.text("web")


def _function_word_spans(text: str, spans) -> list[str]:
    """Highlighted spans made only of words the analyzer treats as grammar, or of a lone affix."""
    from indexer.analyzer import SudachiTokenizer, sudachi_morphemes

    stopped = {(t.startchar, t.endchar) for t in SudachiTokenizer("A")(text, chars=True, removestops=False)
               if t.stopped}
    bad = []
    for a, b in spans:
        inside = [m for m in sudachi_morphemes(text, "A") if m.start < b and m.end > a and text[m.start:m.end].strip()]
        grammar = [m for m in inside if (m.start, m.end) in stopped or m.pos.startswith(("補助記号", "空白"))]
        affixes = [m for m in inside if m.pos.startswith(("接尾辞", "接頭辞"))]
        if inside and len(grammar) == len(inside):
            bad.append(text[a:b])
        elif inside and len(affixes) == len(inside):
            bad.append(text[a:b])
    return bad


def test_no_highlight_on_any_dev_query_is_a_function_word(engine):
    queries = [json.loads(line)["query"] for line in (ROOT / "eval/dev.jsonl").read_text(encoding="utf-8").splitlines()
               if line.strip()]
    found = {}
    for q in queries:
        for h in engine.search(q, mode="hybrid", limit=10).hits:
            bad = _function_word_spans(h.snippet, h.highlights)
            if bad:
                found[q[:30]] = bad
    assert found == {}


def test_the_examples_highlight_content_words_only(engine):
    r = engine.search("サイバー保険に加入していますか。")
    assert all(not h.highlights for h in r.hits)  # nothing in the document says サイバー保険 or 加入
    r = engine.search("管理者の権限を定期的に見直していますか。")
    marked = {h.snippet[a:b] for h in r.hits for a, b in h.highlights}
    assert "者" not in marked and "ています" not in marked and "管理者" in marked


def test_no_condition_is_written_twice():
    """The catalogue is a dict literal: a second entry of one code would silently replace the first."""
    import ast

    tree = ast.parse((ROOT / "messages" / "catalogue.py").read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Dict):
            keys = [k.value for k in node.keys if isinstance(k, ast.Constant)]
            assert len(keys) == len(set(keys)), sorted({k for k in keys if keys.count(k) > 1})
