"""A file a user gives kijun — a check sheet, a document a team adds: the bounds on what reading it may
cost, and its text decoded.

The limits are one set for every such file (the questionnaire's check sheets and the document store's
tables alike), checked before the work they bound: the file's size before it is read, an .xlsx's parts and
cells from its zip directory before openpyxl opens it. What is wrong is an `Explained` condition (the
catalogue's words); each reader raises it as its own error type (`search.questionnaire.checksheet`,
`corpus.tables`), so its messages stay what its users know.
"""
from __future__ import annotations

import io
import re
import unicodedata
from typing import Any

from messages import Explained

MAX_FILE_BYTES = 5 * 1024 * 1024
MAX_UNZIPPED_BYTES = 32 * 1024 * 1024  # every part of an .xlsx together, inflated (as its zip directory says)
MAX_COMPRESSION_RATIO = 100  # a part that inflates more than this is a zip bomb, not a spreadsheet
RATIO_CHECKED_FROM = 1024 * 1024  # parts smaller than this, inflated, cannot hurt whatever their ratio
MAX_CELLS = 200_000  # cells of a workbook (counted in its sheets' XML, and as rows × columns read) or of a CSV
MAX_COLUMNS = 16_384  # Excel's widest sheet (XFD)
MAX_CELL_CHARS = 32_767  # Excel's limit for one cell

OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_MAGIC = b"PK\x03\x04"


class FileRefused(Explained, ValueError):
    """A user's file past a limit, or not text where text was expected; `condition` says which."""

    code = "workbook_unreadable"


# ----------------------------------------------------------------- text


def decode_text(data: bytes, filename: str) -> tuple[str, str]:
    """(the text, its encoding) of a CSV/TSV/text file: UTF-16 with a BOM, UTF-8 with or without one, or
    Shift_JIS (cp932) — what Excel and Japanese tools write. A workbook or binary data is refused."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16"), "utf-16"
        except UnicodeDecodeError:
            pass
    if data.startswith(ZIP_MAGIC) or data.startswith(OLE2_MAGIC):
        raise FileRefused("csv_is_workbook", filename=filename)
    if b"\x00" in data[:8192]:
        raise FileRefused("csv_binary", filename=filename)
    for encoding in ("utf-8-sig", "cp932"):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        controls = sum(1 for ch in text[:8192] if unicodedata.category(ch) in ("Cc", "Co")
                       and ch not in "\t\r\n")
        if controls > max(8, len(text[:8192]) // 100):
            raise FileRefused("csv_binary", filename=filename)
        if encoding == "utf-8-sig" and not data.startswith(b"\xef\xbb\xbf"):
            encoding = "utf-8"
        return text, encoding
    raise FileRefused("csv_encoding", filename=filename)


# ----------------------------------------------------------------- workbooks


def check_package(data: bytes, filename: str, *, max_cells: int = MAX_CELLS) -> None:
    """Refuse an .xlsx that would make openpyxl inflate or build too much, before it opens the file:
    the parts' sizes and compression ratios from the zip directory, then the cells in the sheets' XML
    (counted while inflating, which is fast and holds one chunk at a time). A broken zip is left for
    the reader to report."""
    from zipfile import BadZipFile, ZipFile

    try:
        z = ZipFile(io.BytesIO(data))
        infos = z.infolist()
    except (BadZipFile, OSError, ValueError):
        return
    total = sum(i.file_size for i in infos)
    if total > MAX_UNZIPPED_BYTES:
        raise FileRefused("package_too_large", filename=filename, size_mb=total / 1024 / 1024,
                          limit_mb=MAX_UNZIPPED_BYTES // (1024 * 1024))
    for i in infos:
        ratio = i.file_size // max(i.compress_size, 1)
        if i.file_size >= RATIO_CHECKED_FROM and ratio > MAX_COMPRESSION_RATIO:
            raise FileRefused("package_ratio", filename=filename, part=i.filename, ratio=ratio,
                              limit=MAX_COMPRESSION_RATIO)
    cells = 0
    for i in infos:
        if i.filename.startswith("xl/worksheets/") and i.filename.endswith(".xml"):
            cells += _count_cells(z, i)
            if cells > max_cells:
                raise FileRefused("too_many_cells", filename=filename, limit=max_cells)


_CELL_TAG = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?c[\s/>]")


def _count_cells(z: Any, info: Any) -> int:
    """The <c> elements of one sheet part; a tag cut by a chunk boundary is counted with the next chunk."""
    n, tail = 0, b""
    with z.open(info) as f:
        while chunk := f.read(1 << 20):
            buf = tail + chunk
            cut = buf.rfind(b"<")
            n += len(_CELL_TAG.findall(buf, 0, cut if cut >= 0 else len(buf)))
            tail = buf[cut:] if cut >= 0 else b""
    return n + len(_CELL_TAG.findall(tail + b" "))
