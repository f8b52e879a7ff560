"""The document's vocabulary: criterion IDs, series, responsibility roles.

Every other module asks here, so an ID past 実999 or a new role spelling is
changed in one place. Roles have two spellings: the mark the document prints
(◯ / -) and the name the indexes, filters and API use (primary / info).
"""
from __future__ import annotations

import re
import unicodedata

# ---------------------------------------------------------------- series

SERIES: dict[str, str] = {"実": "実務基準", "監": "監査基準", "統": "統制基準", "設": "設備基準"}
"""ID prefix → series name; 統 and 設 only occur in the change history."""

REVISION_SERIES = "変更履歴"
"""The series of change-history entries, which are searchable documents of their own."""

SERIES_ALIASES: dict[str, str] = {"実": "実務基準", "監": "監査基準", "実務基準": "実務基準", "監査基準": "監査基準",
                                  REVISION_SERIES: REVISION_SERIES, "revision": REVISION_SERIES}
"""What a user may type to filter by series → the series name."""

# ---------------------------------------------------------------- IDs

ID_PREFIXES = "".join(SERIES)  # 実監統設
SUB_HYPHENS = "-‐‑−"
"""A sub-number's hyphen as people write it, after NFKC (which makes －, the full-width one, '-'). Not the en
dash: 実14–16 is a range, as kijun writes 実1–実148."""
ID_PATTERN = rf"([{ID_PREFIXES}])[ \t]*[-第]?[ \t]*(\d+)(?:号)?(?:[{SUB_HYPHENS}]\d+)?"
"""The one ID grammar: a series prefix, optional spaces, a 第 or hyphen, any number of digits, an optional
号, and a sub-number of newer editions right after a hyphen (実26, 監 3, 実第26号, 実1000, 実14-1, 実103－1).
Matched after NFKC, which makes full-width digits and spaces ASCII. Two groups, the prefix and the number;
the sub-number is read from what follows them (`canonical_id`). A hyphen and digits straight after the number
are always a sub-number: 「実14-16」 is the ID 実14-16 (which an edition check then names if the edition lacks
it), never the range 実14–実16 — a range is written 実14～実16 and its ends are read as two IDs."""

_SUB = re.compile(rf"(?:号)?[{SUB_HYPHENS}](\d+)")
_ID_ALONE = re.compile(rf"^\s*{ID_PATTERN}\s*$")
# In running text an ID is not part of a longer word: 開設 2020 is not 設2020.
_ID_IN_TEXT = re.compile(rf"(?<![A-Za-z0-9\u3400-\u9fff]){ID_PATTERN}(?![0-9])")


def canonical_id(m: re.Match[str]) -> str:
    """The ID an ID_PATTERN match names, written as kijun writes it: 実26, 監3, 実14-1."""
    sub = _SUB.match(m.string, m.end(2), m.end())
    return f"{m.group(1)}{int(m.group(2))}" + (f"-{int(sub.group(1))}" if sub else "")


def normalize_id(raw: str) -> str | None:
    """'実２６', '実 26', ' 監3 ' → '実26'; '実14－1' → '実14-1'; anything else → None."""
    m = _ID_ALONE.match(unicodedata.normalize("NFKC", raw or ""))
    return canonical_id(m) if m else None


def ids_in(text: str) -> list[str]:
    """Every ID written in a text (NFKC first), normalised, in order, without repeats."""
    return list(dict.fromkeys(canonical_id(m) for m in _ID_IN_TEXT.finditer(unicodedata.normalize("NFKC", text))))


_ID_OR_NUMBER = re.compile(rf"{_ID_IN_TEXT.pattern}|(?<![0-9])([0-9]+)(?![0-9])")
CELL_SERIES = "実"
"""The series of a bare number in a spreadsheet's criterion cell (26 → 実26): the practice criteria."""


def ids_in_cell(text: str) -> list[str]:
    """The criteria a person wrote in a spreadsheet cell, in order, without repeats: 実26、実27 /
    実57・実58 / 実57 / 実58 / 監 3 as IDs, and a bare number (26) as a practice criterion."""
    out = []
    for m in _ID_OR_NUMBER.finditer(unicodedata.normalize("NFKC", text or "")):
        out.append(f"{m.group(1)}{int(m.group(2))}" if m.group(1) else f"{CELL_SERIES}{int(m.group(3))}")
    return list(dict.fromkeys(out))


def strip_ids(text: str) -> str:
    """The text without its IDs (what is left to search for)."""
    return _ID_IN_TEXT.sub(" ", text)


def id_sort_key(cid: str) -> tuple[int, int, int]:
    """Document order: 実 before 監 before 統 before 設, then by number, then by sub-number (実14, 実14-1, 実15)."""
    order = list(SERIES)
    prefix, (number, _, sub) = cid[:1], cid[1:].partition("-")
    return (order.index(prefix) if prefix in order else len(order), int(number) if number.isdigit() else 0,
            int(sub) if sub.isdigit() else 0)


# ---------------------------------------------------------------- roles

PRIMARY = "◯"  # 主体として対応する
INFO = "-"  # 必要に応じて情報を提供する
ROLE_LABELS: dict[str, str] = {PRIMARY: "主体として対応する", INFO: "必要に応じて情報を提供する"}
ROLE_NAMES: dict[str, str] = {PRIMARY: "primary", INFO: "info"}
"""Mark → the name indexes, filters and the API use."""

MARK_SPELLINGS: dict[str, str] = {PRIMARY: PRIMARY, "〇": PRIMARY, "○": PRIMARY, INFO: INFO}
"""Every way a role mark is written (in the source after NFKC, or by a user) → the mark."""

MARK_PATTERN = "[" + "".join(re.escape(s) for s in MARK_SPELLINGS) + "]"
"""A regular-expression character class matching one spelling of a role mark."""

_ROLE_SPELLINGS: dict[str, str] = {**{s: ROLE_NAMES[mark] for s, mark in MARK_SPELLINGS.items()},
                                   **{name: name for name in ROLE_NAMES.values()}}
"""Every spelling a user may type (mark or name) → the name."""


def normalize_mark(spelling: str) -> str:
    """Any spelling of a role mark (◯, 〇, ○, -) → the mark (◯ or -)."""
    return MARK_SPELLINGS[spelling]


def role_name(mark: str) -> str:
    """◯ → 'primary', - → 'info'."""
    return ROLE_NAMES[mark]


def role_mark(name: str) -> str:
    """'primary' → ◯, 'info' → -; anything else (a revision's empty role) → ''."""
    return next((mark for mark, n in ROLE_NAMES.items() if n == name), "")


def parse_role(value: str) -> str | None:
    """A role a user typed (primary, info, ◯, -) → its name, or None if it is not one."""
    return _ROLE_SPELLINGS.get(value.strip().lower() if value.isascii() else value.strip())
