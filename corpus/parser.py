"""Parse the extracted PDF text into Criterion, Revision and Edition records.

The pipeline is a sequence of small passes over numbered lines:
clean (NFKC, drop blanks) → classify page furniture (legend, disclaimer,
column headers, footers) → cut rows at their "実N ◯ -" headers → split each
row's lines into its three columns by layout → rejoin wrapped lines.
"""
from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from corpus import layout
from corpus.records import Criterion, Document, Edition, Revision
from corpus.vocabulary import ID_PREFIXES, MARK_PATTERN, SERIES, normalize_mark

SOURCE = Path(__file__).with_name("fisc_aws_response.txt")
CRITERIA_JSONL = Path(__file__).with_name("criteria.jsonl")  # the parse, checked in for review
SOURCE_SHA256 = "7673a262e68f6899dffe002e0247f1229c7c3b0fe49bbe8df48e18ae99edadbc"


class CorpusFormatError(ValueError):
    """The source text is not the table this parser understands."""


@dataclass(frozen=True)
class Line:
    no: int  # 1-based line number in the source file
    text: str  # NFKC, stripped
    indented: bool


_PRACTICE = re.compile(rf"^(実)\s*(\d+(?:-\d+)?)\s+({MARK_PATTERN})\s+({MARK_PATTERN})(?:\s+(.*))?$")  # 実14-1: newer editions
_AUDIT = re.compile(rf"^(\d+)\s+({MARK_PATTERN})\s+({MARK_PATTERN})(?:\s+(.*))?$")
_FOOTER = re.compile(r"^(?:実務基準|監査基準)?\s*©\s*\d{4},\s*Amazon Web Services.*?(\d+)$")
_LEGEND = re.compile(r"^(?:「対応の主体」凡例|-\s*:\s*必要に応じて情報を提供する$|AWS お客様$)")
_HEADERS = {"補足情報基準番号", "対応の主体", "AWSの対応状況 お客様が統制すべき内容", "基準番号 枝番 AWSの対応状況(旧) AWSの対応状況(新)"}
_SAME_AS = re.compile(rf"^\(?\s*([{ID_PREFIXES}]\d+(?:-\d+)?)\s*と同様\s*\)?$")  # the source writes IDs compactly
_REF_START = re.compile(r"^(?:アマゾン|AWS|Amazon|PCI|ISO|SOC|NIST|CAIQ|https?://|・)")
_HISTORY_ID = re.compile(rf"^([{ID_PREFIXES}]\d+)(?:\s+(.*))?$")
_BRANCH = re.compile(r"^(\d+-\(\d+\)|\d+(?:\s*,\s*\d+)*|-)(?:\s+(.*))?$")


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def parse_file(path: Path = SOURCE, *, strict: bool = True) -> Document:
    """Read and parse a source file; errors say which file and what to do."""
    path = Path(path)
    if not path.exists():
        raise CorpusFormatError(f"{path}: no such file; pass the extracted text of the FISC response document")
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise CorpusFormatError(f"{path}: not UTF-8 text (byte {e.start}); re-extract the PDF as UTF-8") from e
    doc = parse(text, strict=strict)
    return Document(doc.criteria, doc.revisions, doc.editions, hashlib.sha256(raw).hexdigest())


def parse(text: str, *, strict: bool = True) -> Document:
    doc, lines, empty = _parse(text)
    if strict:
        _check(doc, lines, empty)
    return doc


def parse_any(text: str) -> tuple[Document, list[int]]:
    """Any text laid out like the bundled extraction, whoever published it and for whichever edition (実14-1
    rows too): its records, and the lines of row headers with no cells after them (garbled). Nothing more is
    required of it — another response may lack the audit criteria, a number, or the change history."""
    doc, _, empty = _parse(text)
    return doc, [ln.no for ln in empty]


def _parse(text: str) -> tuple[Document, list[Line], list[Line]]:
    lines = _clean(text)
    if not lines:
        raise CorpusFormatError("the source is empty; expected the extracted text of the FISC response document")
    pages = _pages(lines)
    body, history = _split_history(lines)
    furniture = _furniture(body)
    rows = _rows(body)
    criteria = [_criterion(row, pages, furniture) for row in rows]
    revisions, editions = _history([ln for ln in history if ln.no not in _furniture(history)])
    doc = Document(tuple(criteria), tuple(revisions), tuple(editions))
    empty = [head for (h, head, tail) in rows if not h[4] and all(ln.no in furniture for ln in tail)]
    return doc, lines, empty


# ---------------------------------------------------------------- passes


def _clean(text: str) -> list[Line]:
    """NFKC every line (⽴ → 立, full-width digits → ASCII) and drop blank ones."""
    out = []
    for no, raw in enumerate(text.splitlines(), 1):
        norm = unicodedata.normalize("NFKC", raw).replace("\u3000", " ")
        if norm.strip():
            out.append(Line(no, norm.strip(), norm[:1].isspace()))
    return out


def _furniture(lines: list[Line]) -> set[int]:
    """Line numbers of page furniture: legend, disclaimer, column headers, footers."""
    drop: set[int] = set()
    i = 0
    while i < len(lines):
        t = lines[i].text
        if _LEGEND.match(t) or t in _HEADERS or _FOOTER.match(t):
            drop.add(lines[i].no)
        elif t.startswith("注意:") and "本文書" in t:
            # the disclaimer runs over up to four wrapped lines, ending "…変更されることもありません。"
            j = i
            while j < len(lines) and j < i + 5:
                drop.add(lines[j].no)
                if lines[j].text.endswith("変更されることもありません。"):
                    break
                j += 1
            i = j
        i += 1
    return drop


def _pages(lines: list[Line]) -> dict[int, int]:
    """Page number of every line: a legend starts a page, a footer names it.

    Pages 2 and 3 lost legend and footer in extraction; their first line still
    shows the page break: indented, with no blank line before it (every other
    line of the extraction is followed by one). Pages without a footer take the
    previous page + 1.
    """
    breaks = [k for k in range(1, len(lines)) if _page_break(lines[k - 1], lines[k])] \
        if _blank_separated(lines) else []
    legends = [k for k, ln in enumerate(lines) if ln.text.startswith("「対応の主体」凡例")
               and not any(0 < k - b <= LEGEND_AFTER_BREAK for b in breaks)]  # the same page's top
    starts = sorted({0, *breaks, *legends})
    bounds = starts[1:] + [len(lines)]
    numbers: list[int | None] = []
    for a, b in zip(starts, bounds):
        found = [int(m.group(1)) for ln in lines[a:b] if (m := _FOOTER.match(ln.text))]
        numbers.append(found[0] if found else None)
    for k, n in enumerate(numbers):
        if n is None and k and numbers[k - 1] is not None:
            numbers[k] = numbers[k - 1] + 1  # type: ignore[operator]
    for k in range(len(numbers) - 2, -1, -1):  # pages before the first footer count back from it
        if numbers[k] is None and numbers[k + 1] is not None and numbers[k + 1] > 1:  # type: ignore[operator]
            numbers[k] = numbers[k + 1] - 1  # type: ignore[operator]
    out: dict[int, int] = {}
    for (a, b), n in zip(zip(starts, bounds), numbers):
        for ln in lines[a:b]:
            if n is not None:
                out[ln.no] = n
    return out


LEGEND_AFTER_BREAK = 10  # lines: a disclaimer can sit above a page's legend


def _blank_separated(lines: list[Line]) -> bool:
    """True if most lines are followed by a blank one, as in this extraction: only then does
    a missing blank line mean anything."""
    gaps = [b.no - a.no for a, b in zip(lines, lines[1:])]
    return bool(gaps) and sum(g == 2 for g in gaps) >= len(gaps) / 2


def _page_break(previous: Line, line: Line) -> bool:
    return line.indented and previous.no == line.no - 1


def _split_history(lines: list[Line]) -> tuple[list[Line], list[Line]]:
    """The change history starts at its first ■ date line."""
    for k, ln in enumerate(lines):
        if ln.text.startswith("■") or ln.text == "変更履歴":
            return lines[:k], lines[k:]
    return lines, []


def _header(ln: Line, seen_practice: bool) -> tuple[str, str, str, str, str] | None:
    """(series, number as written: '26' or '14-1', AWS mark, customer mark, the rest of the line), or None."""
    m = _PRACTICE.match(ln.text)
    if m:
        return "実", m.group(2), m.group(3), m.group(4), m.group(5) or ""
    m = _AUDIT.match(ln.text)
    if m and seen_practice and not ln.indented:
        return "監", m.group(1), m.group(2), m.group(3), m.group(4) or ""
    return None


def _rows(lines: list[Line]) -> list[tuple[tuple[str, int, str, str, str], Line, list[Line]]]:
    """Cut the body at row headers; each row keeps its following lines (furniture included)."""
    rows: list = []
    seen_practice = False
    for ln in lines:
        h = _header(ln, seen_practice)
        if h:
            seen_practice = seen_practice or h[0] == "実"
            rows.append((h, ln, []))
        elif rows:
            rows[-1][2].append(ln)
    return rows


def _criterion(row, pages: dict[int, int], furniture: set[int]) -> Criterion:
    (series, number, aws_mark, cust_mark, rest), head, tail = row
    # page furniture splits a row into per-page segments; each restarts the column stream
    segments: list[list[Line]] = [[]]
    for ln in tail:
        if ln.no in furniture:
            if segments[-1]:
                segments.append([])
        else:
            segments[-1].append(ln)
    aws: list[str] = []
    cust: list[str] = []
    refs: list[str] = []
    first_aws, first_cust, aws_done, cust_done = _split_header_rest(rest)
    blocks = [b for seg in segments for b in _blocks([ln.text for ln in seg])] or [[]]
    for k, texts in enumerate(blocks):
        if k == 0:
            aws += first_aws if aws_done else []
            a, c, r = _columns(texts if aws_done else first_aws + texts, aws_done=aws_done,
                               cust_prefix=first_cust, cust_done=cust_done)
        else:
            a, c, r = _columns(texts, aws_done=False, cust_prefix=[], cust_done=False)
        aws += a
        cust += c
        refs += r
    aws_text = "\n".join(layout.paragraphs(aws, layout.AWS_FULL))
    cust_text = "\n".join(layout.paragraphs(cust, layout.CUSTOMER_FULL))
    references, ref_urls = _references(refs)
    urls = list(dict.fromkeys(ref_urls + layout.urls_in(aws_text) + layout.urls_in(cust_text)))
    m = _SAME_AS.match(aws_text)
    body_lines = [ln.no for ln in tail if ln.no not in furniture]
    main, _, sub = number.partition("-")
    cid = f"{series}{int(main)}" + (f"-{int(sub)}" if sub else "")
    return Criterion(
        id=cid,
        series=SERIES[series],
        number=int(main),
        aws_role=normalize_mark(aws_mark),
        customer_role=normalize_mark(cust_mark),
        aws_status=aws_text,
        customer_controls=cust_text,
        references=tuple(references),
        urls=tuple(urls),
        page=pages.get(head.no),
        same_as=m.group(1) if m else None,
        line_start=head.no,
        line_end=max([head.no] + body_lines),
    )


def _split_header_rest(rest: str) -> tuple[list[str], list[str], bool, bool]:
    """The header line may carry the first AWS line, or an empty AWS cell and the
    first customer line ('- お客様が…'), or a short AWS cell and the first
    customer line side by side ('(実87と同様) お客様が…')."""
    if not rest:
        return [], [], False, False
    if rest == "-":
        return [], [], True, False
    if rest.startswith("- "):
        tail = rest[2:].strip()
        if tail == "-":
            return [], [], True, True
        return [], [tail], True, False
    for m in re.finditer(r" ", rest):
        left, right = rest[: m.start()].strip(), rest[m.end():].strip()
        if (left.endswith((")", "。")) and layout.CUSTOMER_FULL * 0.9 <= layout.width(right) <= layout.CUSTOMER_MAX
                and layout.width(left) < layout.CUSTOMER_FULL):
            return [left], [right], True, False
    return [rest], [], False, False


def _blocks(texts: list[str]) -> list[list[str]]:
    """Split a page segment where AWS-column text resumes after the other columns.

    A long row's page can read AWS → customer → references → AWS again. The
    customer/reference stretch is a run of narrow lines containing a wrapped
    customer-width line (or opening with the empty-cell "-"); a wide line after
    such a run starts a new block, taking a bracketed heading just before it.
    """
    w = [layout.width(t) for t in texts]
    cuts: list[int] = []
    i, n = 0, len(texts)
    while i < n:
        if w[i] > layout.CUSTOMER_MAX:
            i += 1
            continue
        j = i
        while j < n and w[j] <= layout.CUSTOMER_MAX:
            j += 1
        run = range(i, j)
        wrapped = any(w[k] >= layout.CUSTOMER_FULL and not layout.ends_sentence(texts[k]) and k + 1 < j for k in run)
        if (wrapped or _is_empty_marker(texts[i])) and j < n and i > 0:
            cut = j
            while cut - 1 > i and re.match(r"^[\[【・■]", texts[cut - 1]):
                cut -= 1
            cuts.append(cut)
        i = j
    bounds = [0] + cuts + [n]
    return [texts[a:b] for a, b in zip(bounds, bounds[1:]) if b > a]


def _is_empty_marker(text: str) -> bool:
    return text == "-" or text.startswith("- ")


def _columns(texts: list[str], *, aws_done: bool, cust_prefix: list[str], cust_done: bool
             ) -> tuple[list[str], list[str], list[str]]:
    """Split one segment's lines into (AWS, customer, reference) lines by width.

    Columns come in order, so two boundaries suffice: after the last line too
    wide for the customer column (plus the wrapped remainder of a full line),
    and after the last line too wide for the reference column.
    """
    w = [layout.width(t) for t in texts]
    n = len(texts)
    a = 0
    if not aws_done:
        wide = [i for i in range(n) if w[i] > layout.CUSTOMER_MAX]
        a = wide[-1] + 1 if wide else 0
        if 0 < a < n and w[a - 1] >= layout.AWS_FULL and not layout.ends_sentence(texts[a - 1]) \
                and not _is_empty_marker(texts[a]):
            a += 1
    aws = texts[:a]
    rest = texts[a:]
    if cust_done:
        return aws, [], [t for t in rest if t != "-"]
    if not cust_prefix:
        # "- " (an empty customer cell) sharing its line with the first reference:
        # what stands before it can only be the AWS column's short last lines
        for m, t in enumerate(rest):
            if layout.width(t) >= layout.CUSTOMER_FULL:
                break
            if _is_empty_marker(t):
                first = t[1:].strip()
                return aws + rest[:m], [], ([first] if first and first != "-" else []) + rest[m + 1:]
    rest = cust_prefix + rest
    rw = [layout.width(t) for t in rest]
    wide = [i for i in range(len(rest)) if rw[i] > layout.REFERENCE_MAX]
    b = wide[-1] + 1 if wide else len(cust_prefix)
    if 0 < b < len(rest) and rw[b - 1] >= layout.CUSTOMER_FULL and not layout.ends_sentence(rest[b - 1]):
        b += 1
    cust, refs = rest[:b], rest[b:]
    if cust == ["-"]:
        cust = []
    return aws, cust, [t for t in refs if t != "-"]


def _references(lines: list[str]) -> tuple[list[str], list[str]]:
    """Rejoin the narrow reference column into entries; URLs go to their own list."""
    entries: list[str] = []
    urls: list[str] = []
    in_url = False
    for t in lines:
        if t.startswith(("http://", "https://")):
            urls.append(t)
            in_url = True
        elif in_url and " " not in t and t.isascii():
            urls[-1] += t
        elif entries and not in_url and not _REF_START.match(t):
            entries[-1] = entries[-1] + " " + t if t.startswith("-") else layout.join_pair(entries[-1], t)
        else:
            entries.append(t)
            in_url = False
    return [re.sub(r"\s+", " ", e.lstrip("・ ")) for e in entries], urls


# ---------------------------------------------------------------- change history


def _history(lines: list[Line]) -> tuple[list[Revision], list[Edition]]:
    dates = [ln.text.lstrip("■ ").strip() for ln in lines if ln.text.startswith("■")]
    descriptions: list[str] = []
    entries: list[list[Line]] = []
    in_editions = False
    for ln in lines:
        t = ln.text
        if t.startswith("■"):
            continue
        if t == "変更履歴":
            in_editions = True
            continue
        if in_editions:
            descriptions.append(t)
            continue
        m = _HISTORY_ID.match(t)
        if m and (not entries or not _is_id_group(entries[-1])):
            entries.append([ln])
        elif entries:
            entries[-1].append(ln)
    editions = [Edition(d, descriptions[k] if k < len(descriptions) else "") for k, d in enumerate(dates)]
    return [_revision(e) for e in entries], editions


def _is_id_group(entry: list[Line]) -> bool:
    """Entry so far is only bare IDs (統20 / 統21 / 統24 stacked in one cell)."""
    return all(_HISTORY_ID.match(ln.text) and not _HISTORY_ID.match(ln.text).group(2) for ln in entry)


def _revision(entry: list[Line]) -> Revision:
    ids: list[str] = []
    branches: list[str] = []
    note: list[str] = []
    old: list[str] = []
    new: list[str] = []
    urls: list[str] = []
    target = old
    k = 0
    while k < len(entry) and (m := _HISTORY_ID.match(entry[k].text)):
        ids.append(m.group(1))
        if m.group(2):
            b = _BRANCH.match(m.group(2))
            if b:
                branches.append(b.group(1))
                if b.group(2):
                    old.append(b.group(2))
            else:
                old.append(m.group(2))
        k += 1
    separator = any(re.fullmatch(r"-{5,}", ln.text) for ln in entry)
    if separator:
        target = note
    in_url = False
    for ln in entry[k:]:
        t = ln.text
        if in_url and " " not in t and t.isascii():
            urls[-1] += t
            continue
        in_url = False
        if re.fullmatch(r"-{5,}", t):
            target = new
        elif t in ("(新設)", "新設"):
            note.append("新設")
        elif re.fullmatch(r"-(\s+-)*", t):
            continue
        elif _BRANCH.fullmatch(t) and not old and not new:
            branches.append(t)
        elif t.startswith(("http://", "https://")):
            # a URL closes the old text: what follows is the new text
            urls.append(t)
            in_url = True
            if target is old:
                target = new
        else:
            target.append(t)
    join = lambda ls: "\n".join(layout.paragraphs(ls, layout.HISTORY_FULL))  # noqa: E731
    return Revision(tuple(ids), tuple(branches), join(old), join(new), join(note), tuple(urls),
                    entry[0].no, entry[-1].no)


# ---------------------------------------------------------------- checks


def _check(doc: Document, lines: list[Line], empty_rows: list[Line]) -> None:
    problems = [f"line {ln.no}: row {ln.text!r} has no cells after it (garbled or truncated?)" for ln in empty_rows]
    seen: dict[str, Criterion] = {}
    for c in doc.criteria:
        if c.id in seen:
            problems.append(f"line {c.line_start}: {c.id} appears twice (first at line {seen[c.id].line_start})")
        seen[c.id] = c
    for prefix in ("実", "監"):
        nums = sorted(c.number for c in doc.criteria if c.id.startswith(prefix))
        if not nums:
            problems.append(f"no {SERIES[prefix]} ({prefix}) criteria found; is this the FISC response document?")
            continue
        missing = sorted(set(range(1, nums[-1] + 1)) - set(nums))
        if missing:
            ids = ", ".join(f"{prefix}{n}" for n in missing[:10])
            problems.append(f"{SERIES[prefix]}: missing {ids}" + (" …" if len(missing) > 10 else ""))
    if not doc.revisions and lines:
        problems.append(f"no change history (変更履歴) after line {lines[-1].no}; the file looks truncated")
    if problems:
        raise CorpusFormatError("the source does not parse cleanly:\n  " + "\n  ".join(problems)
                                + "\nFix the source text, or pass strict=False (kijun parse --lenient) to keep what parses.")
