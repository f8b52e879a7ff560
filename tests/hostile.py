"""Hostile inputs, built in code: what an attacker or a careless export sends the server.

Shared by the tests (at sizes that keep the suite fast) and `bench/probes.py` (at the sizes
issue #20 measured). Every builder returns the file's bytes; none writes to disk.
"""
from __future__ import annotations

import io
import zipfile

QUESTION = "パスワードの最低文字数や複雑さ、定期的な変更などのパスワードポリシーを定めていますか。"


def _workbook(rows: list[list[object]]) -> bytes:
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet("チェックシート")
    for row in rows:
        ws.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def long_cell_xlsx(chars: int) -> bytes:
    """A small xlsx whose one question cell holds `chars` characters (the question, repeated), far past
    the 32,767 Excel allows in a cell (so written into the XML by hand): 44 KB on disk for 12 million."""
    marker = "@@LONG@@"
    text = (QUESTION * (chars // len(QUESTION) + 1))[:chars]
    data = _workbook([["No.", "質問", "回答"], [1, marker, None], [2, QUESTION, None]])
    src = zipfile.ZipFile(io.BytesIO(data))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for info in src.infolist():
            z.writestr(info.filename, src.read(info.filename).replace(marker.encode(), text.encode()))
    return buf.getvalue()


def questions_xlsx(n: int) -> bytes:
    """A plain check sheet of `n` distinct questions (distinct once their item labels 「質問1:」 are taken
    off, as the search reads them: each is searched on its own)."""
    return _workbook([["No.", "質問", "回答"]] + [[i, f"質問{i}: アクセスログを{i}日ごとに確認していますか。", None]
                                                for i in range(1, n + 1)])


def zip_bomb_xlsx(inflated: int) -> bytes:
    """A valid workbook whose sheet XML inflates to about `inflated` bytes of whitespace between two
    rows (deflate packs it about 1000:1): 1.1 MB on disk for 1.15 GB."""
    base = _workbook([["No.", "質問", "回答"], [1, QUESTION, None]])
    src = zipfile.ZipFile(io.BytesIO(base))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for info in src.infolist():
            part = src.read(info.filename)
            if info.filename != "xl/worksheets/sheet1.xml":
                z.writestr(info.filename, part)
                continue
            head, tail = part.split(b"</row>", 1)
            with z.open(info.filename, "w", force_zip64=True) as out:
                out.write(head + b"</row>")
                chunk = b" " * (1 << 20)
                for _ in range(inflated // len(chunk)):
                    out.write(chunk)
                out.write(tail)
    return buf.getvalue()


def wide_csv(columns: int) -> bytes:
    """A CSV with `columns` columns: a header of short labels, and one row with a question in column 2."""
    header = ",".join(["No.", "質問"] + [f"項目{i}" for i in range(3, columns + 1)])
    row = ",".join(["1", QUESTION] + [""] * (columns - 2))
    return (header + "\n" + row + "\n").encode("utf-8")


def formula_csv() -> bytes:
    """A CSV whose question cells start like formulas, in ASCII and full width."""
    lines = ["No.,質問,回答"] + [f"{i},{start}{QUESTION},"
                                for i, start in enumerate(("=", "＝", "＋", "－", "＠", "+"), start=1)]
    return ("\n".join(lines) + "\n").encode("utf-8")
