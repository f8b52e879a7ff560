"""The PDF's page layout, as pure functions over extracted lines.

The extraction flattens the table: each row's AWS column lines (wrapped at
about 80 full-width characters), then its customer column lines (about 35),
then its reference column lines (about 17). Widths are measured in
"half-width units" (full-width = 2, capitals a little wider than lower case),
which is what decides where the PDF wrapped a line.
"""
from __future__ import annotations

import re
import unicodedata

# Column widths in half-width units, measured on this document's extraction.
AWS_FULL = 140.0  # a wrapped AWS-column line is at least this wide
CUSTOMER_MAX = 70.0  # no customer-column line is wider
CUSTOMER_FULL = 56.0  # a wrapped customer-column line is at least this wide
REFERENCE_MAX = 37.0  # no reference-column line is wider
HISTORY_FULL = 66.0  # change-history columns wrap at about this width

TERMINAL = tuple("。．.!！?？")
BROKEN_LINE_SHARE = 0.4
_BULLET = re.compile(r"^(?:[・■●◆※]|-\s|\d+[.)．]\S|\(参考訳\)|\[)")
_URL = re.compile(r"https?://[A-Za-z0-9._~:/?#@!$&'*+,;=%-]+")


def width(text: str) -> float:
    """Approximate printed width: what the PDF's line wrapping responds to."""
    total = 0.0
    for ch in text:
        if unicodedata.east_asian_width(ch) in "WF":
            total += 2.0
        elif ch == " ":
            total += 0.5
        elif ch.isupper():
            total += 1.3
        else:
            total += 1.0
    return total


def is_ascii_word_char(ch: str) -> bool:
    return ch.isascii() and (ch.isalnum() or ch in ",;:)]}%&'\"-/")


def is_bullet(line: str) -> bool:
    """A line that starts a paragraph of its own (・, -, 1., ■, 参考訳)."""
    return bool(_BULLET.match(line))


def ends_sentence(line: str) -> bool:
    return line.rstrip().endswith(TERMINAL)


def join_pair(left: str, right: str) -> str:
    """Rejoin a wrapped line: no space inside Japanese, one between English words."""
    if left and right and left[-1].isascii() and (left[-1].isalnum() or left[-1] in ",;:)") \
            and right[0].isascii() and right[0].isalnum():
        return f"{left} {right}"
    return left + right


def continues(line: str, nxt: str, full: float) -> bool:
    """Does `nxt` continue the paragraph that `line` was wrapped out of?"""
    if not nxt or is_bullet(nxt):
        return False
    if nxt[0].isascii() and nxt[0].isalnum() and line[-1:].isascii() and line[-1:].isalnum():
        return True  # an English phrase broken between words
    if nxt[0].isascii() and nxt[0].islower() and not ends_sentence(line):
        return True
    if ends_sentence(line) or line.endswith((":", ":")):
        return False
    # a full line wrapped; a line broken early mid-sentence (PDF quirk) is still at
    # least a good part of the column wide, unlike a short heading
    return width(line) >= full * BROKEN_LINE_SHARE


def paragraphs(lines: list[str], full: float) -> list[str]:
    """Rejoin wrapped lines into paragraphs; bullets and short lines end one."""
    out: list[str] = []
    previous = ""
    for line in lines:
        if out and continues(previous, line, full):
            out[-1] = join_pair(out[-1], line)
        else:
            out.append(line)
        previous = line
    return out


def urls_in(text: str) -> list[str]:
    return [u.rstrip(").,、。") for u in _URL.findall(text)]
