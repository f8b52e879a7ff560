"""Find text the document repeats: exact and near-identical passages, and near-identical records.

A compliance response is written by copy and paste; the repeats say which
criteria AWS answers the same way, and the *near* repeats are where a
copy-paste error hides (実49 cites 附属書 A. 11 where 実50's otherwise
identical paragraph cites A. 8).

Units are the passages of `corpus.passages` (the same splitting the indexes
use; change-history passages are left out) and boilerplate is
`corpus.passages.boilerplate_keys` — the one definition, imported, not redefined.

Similarity is the Jaccard index of character 5-gram shingle sets of the
normalised text (`normalize_passage`: NFKC, lower case, no whitespace).
MinHash LSH (datasketch) only *proposes* candidate pairs; every candidate is
verified with the exact Jaccard of the shingle sets, so nothing below the
threshold is ever reported. Nothing compares all pairs, so it scales to
corpora of 10,000+ criteria.
"""
from __future__ import annotations

import csv
import re
import textwrap
import threading
import unicodedata
from collections import OrderedDict, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from difflib import SequenceMatcher
from functools import cached_property
from typing import IO, TYPE_CHECKING, Any

from corpus.documents import CRITERION, TITLE, DocumentTable
from corpus.passages import Passage, boilerplate_keys, document_passages, normalize_passage, own_passages
from corpus.records import Document, document_hash
from corpus.vocabulary import id_sort_key

if TYPE_CHECKING:
    from datasketch import MinHash

# datasketch is imported where it is used: it pulls in scipy.integrate (~0.45 s),
# which commands that never look for duplicates should not pay for.

SHINGLE = 5
DEFAULT_THRESHOLD = 0.8
DEFAULT_NUM_PERM = 128
LSH_RECALL = 0.995  # chance that a pair exactly at the threshold becomes a candidate
DIFF_CONTEXT = 6  # tokens of context either side of a difference


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class Difference:
    """One place where a variant differs from its group's text, with a little context.

    `a` is the fragment in the group's text, `b` the same place in the variant
    (e.g. a="附属書 A. 8を参照して", b="附属書 A. 11を参照して").
    """

    a: str
    b: str

    def to_dict(self) -> dict[str, str]:
        return {"a": self.a, "b": self.b}


@dataclass(frozen=True)
class Variant:
    """A distinct wording inside a near-duplicate group, compared with the group's text."""

    text: str
    criteria: tuple[str, ...]
    similarity: float  # exact Jaccard with the group's text
    differences: tuple[Difference, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"text": self.text, "criteria": list(self.criteria), "similarity": round(self.similarity, 4),
                "differences": [d.to_dict() for d in self.differences]}


@dataclass(frozen=True)
class PassageGroup:
    """Passages that ≥ 2 criteria share, word for word or nearly.

    `text` is the most widely shared wording; every other wording is a
    `Variant` whose exact Jaccard with `text` is ≥ the threshold, and
    `similarity` is the lowest of those (1.0 when all members are identical
    after normalisation).
    """

    text: str
    key: str
    criteria: tuple[str, ...]
    similarity: float
    boilerplate: bool
    variants: tuple[Variant, ...]
    members: tuple[Passage, ...] = field(repr=False, default=())
    keys: frozenset[str] = field(repr=False, default=frozenset())  # passage_key of every wording

    def to_dict(self) -> dict[str, Any]:
        return {"text": self.text, "criteria": list(self.criteria), "similarity": round(self.similarity, 4),
                "boilerplate": self.boilerplate, "variants": [v.to_dict() for v in self.variants]}


@dataclass(frozen=True)
class CriteriaPair:
    """Two records whose whole (non-boilerplate) text is the same or nearly the same."""

    a: str
    b: str
    similarity: float

    def to_dict(self) -> dict[str, Any]:
        return {"a": self.a, "b": self.b, "similarity": round(self.similarity, 4)}


@dataclass(frozen=True)
class DuplicateReport:
    """Everything `find_duplicates` found.

    `boilerplate_only` lists the records skipped by the record-level
    comparison because all their text is boilerplate (they would otherwise
    all pair with one another); it is not part of `to_dict()`.
    """

    passages: tuple[PassageGroup, ...]
    criteria_pairs: tuple[CriteriaPair, ...]
    threshold: float = DEFAULT_THRESHOLD
    boilerplate_only: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"passages": [g.to_dict() for g in self.passages],
                "criteria_pairs": [p.to_dict() for p in self.criteria_pairs]}

    def groups_with(self, key: str) -> list[PassageGroup]:
        """The groups that contain a passage with this `passage_key`."""
        return self._by_key.get(key, [])

    @cached_property
    def _by_key(self) -> dict[str, list[PassageGroup]]:
        index: dict[str, list[PassageGroup]] = {}
        for g in self.passages:
            for k in g.keys:
                index.setdefault(k, []).append(g)
        return index


# --------------------------------------------------------------------------- similarity


def shingles(text: str, k: int = SHINGLE) -> frozenset[str]:
    """Character k-grams of the normalised text (a text shorter than k is one shingle)."""
    norm = normalize_passage(text)
    if len(norm) < k:
        return frozenset([norm]) if norm else frozenset()
    return frozenset(norm[i:i + k] for i in range(len(norm) - k + 1))


def jaccard(a: frozenset[str] | set[str], b: frozenset[str] | set[str]) -> float:
    """Exact Jaccard index; two empty sets are not similar (0.0)."""
    if not a or not b:
        return 0.0
    inter = len(a & b)
    return inter / (len(a) + len(b) - inter)


def lsh_params(threshold: float, num_perm: int, recall: float = LSH_RECALL) -> tuple[int, int]:
    """Bands and rows so that a pair exactly at `threshold` is a candidate with probability ≥ `recall`.

    datasketch's own choice for 0.8 / 128 (b=9, r=13) proposes a pair of
    Jaccard 0.8 only 40 % of the time; since candidates are verified exactly,
    extra false positives only cost time, so we take the most rows per band
    (fewest false positives) that still keeps recall at the threshold.
    """
    best = (num_perm, 1)
    for r in range(1, num_perm // 2 + 1):
        b = num_perm // r
        if b < 2:
            break
        if 1 - (1 - threshold ** r) ** b >= recall:
            best = (b, r)
    return best


def _minhashes(sets: Sequence[frozenset[str]], num_perm: int) -> list["MinHash"]:
    from datasketch import MinHash

    return list(MinHash.generator(([s.encode("utf-8") for s in x] for x in sets), num_perm=num_perm))


def _near_pairs(sets: Sequence[frozenset[str]], sketches: Sequence["MinHash"], threshold: float,
                num_perm: int) -> list[tuple[int, int, float]]:
    """Verified pairs (i < j, exact Jaccard ≥ threshold) among the sets, proposed by LSH."""
    from datasketch import MinHashLSH

    lsh = MinHashLSH(threshold=threshold, num_perm=num_perm, params=lsh_params(threshold, num_perm))
    with lsh.insertion_session() as session:
        for i, m in enumerate(sketches):
            if sets[i]:
                session.insert(i, m, check_duplication=False)
    out: list[tuple[int, int, float]] = []
    for i, m in enumerate(sketches):
        if not sets[i]:
            continue
        for j in lsh.query(m):
            if j > i:
                sim = jaccard(sets[i], sets[j])
                if sim >= threshold:
                    out.append((i, j, sim))
    out.sort()
    return out


class _UnionFind:
    def __init__(self, n: int) -> None:
        self.parent = list(range(n))

    def find(self, x: int) -> int:
        while self.parent[x] != x:
            self.parent[x] = self.parent[self.parent[x]]
            x = self.parent[x]
        return x

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def member_key(member: str) -> tuple[bool, str, tuple[int, int, int]]:
    """Where a member of a group sorts: the bundled document's criteria (実26) first, in natural order, then
    each added document's (mapping:実26) by document, then in natural order."""
    document, _, cid = member.rpartition(":")
    return bool(document), document, id_sort_key(cid)


def sort_ids(ids: Iterable[str]) -> tuple[str, ...]:
    """Criterion IDs in natural order: 実2 before 実10, 実 before 監 (an added document's after the bundled)."""
    return tuple(sorted(set(ids), key=member_key))


# --------------------------------------------------------------------------- differences

_TOKEN = re.compile(r"[A-Za-z0-9]+|\S")


def differences(a: str, b: str, *, context: int = DIFF_CONTEXT) -> tuple[Difference, ...]:
    """Where two near-identical texts differ, as short fragments of each with context.

    Compared token by token (ASCII words and numbers whole, any other
    character alone; case, width and whitespace ignored, as in the
    normalised text), but the fragments are cut from the displayed text, so
    they read 「附属書 A. 8」 rather than 「附属書a.8」.
    """
    a, b = unicodedata.normalize("NFKC", a), unicodedata.normalize("NFKC", b)
    ta, tb = list(_TOKEN.finditer(a)), list(_TOKEN.finditer(b))
    sm = SequenceMatcher(None, [m.group().lower() for m in ta], [m.group().lower() for m in tb], autojunk=False)
    out: list[Difference] = []
    for ops in sm.get_grouped_opcodes(context):
        if all(op[0] == "equal" for op in ops):
            continue
        out.append(Difference(_span(a, ta, ops[0][1], ops[-1][2]), _span(b, tb, ops[0][3], ops[-1][4])))
    return tuple(out)


def _span(text: str, tokens: list[re.Match[str]], i: int, j: int) -> str:
    if i >= j:
        return ""
    return text[tokens[i].start():tokens[j - 1].end()]


# --------------------------------------------------------------------------- passages


def group_passages(passages: Sequence[Passage], *, threshold: float = DEFAULT_THRESHOLD, min_criteria: int = 2,
                   num_perm: int = DEFAULT_NUM_PERM, boilerplate: frozenset[str] | set[str] = frozenset()
                   ) -> tuple[PassageGroup, ...]:
    """Exact and near repeats among these passages, shared by ≥ `min_criteria` criteria.

    Exact repeats are passages with one `passage_key`. Near repeats are
    found among the *distinct* texts (a sentence repeated 136 times is
    sketched once): LSH candidates, verified exactly, joined with union-find.
    A joined component is then cut into stars around its most widely shared
    text, so every wording in a group is within the threshold of the group's
    text even when a chain (A≈B≈C, A≉C) joined them. `boilerplate` is a set
    of passage keys (from `boilerplate_keys`); a group containing one is flagged.
    Change-history passages are left out.
    """
    _check(threshold, min_criteria)
    by_key: dict[str, list[Passage]] = {}
    for p in passages:
        if p.field != "revision":
            by_key.setdefault(p.key, []).append(p)
    keys = list(by_key)  # first-occurrence order
    first = {k: n for n, k in enumerate(keys)}
    owners = {k: sort_ids(p.criterion_id for p in ps) for k, ps in by_key.items()}
    sets = [shingles(by_key[k][0].text) for k in keys]
    pairs = _near_pairs(sets, _minhashes(sets, num_perm), threshold, num_perm)

    uf = _UnionFind(len(keys))
    for i, j, _ in pairs:
        uf.union(i, j)
    components: dict[int, list[int]] = defaultdict(list)
    for i in range(len(keys)):
        components[uf.find(i)].append(i)

    groups: list[PassageGroup] = []
    for members in components.values():
        remaining = sorted(members, key=lambda i: (-len(owners[keys[i]]), i))
        while remaining:
            rep, rest = remaining[0], remaining[1:]
            star = [(i, jaccard(sets[rep], sets[i])) for i in rest]
            inside = [(i, s) for i, s in star if s >= threshold]
            remaining = [i for i, s in star if s < threshold]
            group = _passage_group(keys[rep], [(keys[i], s) for i, s in inside], by_key, owners, boilerplate)
            if len(group.criteria) >= min_criteria:
                groups.append(group)
    groups.sort(key=lambda g: (-len(g.criteria), member_key(g.criteria[0]), first[g.key]))
    return tuple(groups)


def _passage_group(rep: str, others: list[tuple[str, float]], by_key: Mapping[str, list[Passage]],
                   owners: Mapping[str, tuple[str, ...]], boilerplate: frozenset[str] | set[str]) -> PassageGroup:
    text = by_key[rep][0].text
    variants = tuple(Variant(by_key[k][0].text, owners[k], s, differences(text, by_key[k][0].text))
                     for k, s in others)
    all_keys = [rep] + [k for k, _ in others]
    return PassageGroup(
        text=text,
        key=rep,
        criteria=sort_ids(c for k in all_keys for c in owners[k]),
        similarity=min((s for _, s in others), default=1.0),
        boilerplate=any(k in boilerplate for k in all_keys),
        variants=variants,
        members=tuple(p for k in all_keys for p in by_key[k]),
        keys=frozenset(all_keys),
    )


# --------------------------------------------------------------------------- records


def pair_records(records: Mapping[str, Sequence[Passage]], *, threshold: float = DEFAULT_THRESHOLD,
                 num_perm: int = DEFAULT_NUM_PERM, boilerplate: frozenset[str] | set[str] = frozenset()
                 ) -> tuple[tuple[CriteriaPair, ...], tuple[str, ...]]:
    """Pairs of records whose text, boilerplate passages left out, is the same or nearly.

    A record's shingle set is the union of its non-boilerplate passages'
    shingles (so paragraph order does not matter), and its MinHash is the
    merge of theirs, so each distinct passage is hashed once. Records whose
    every passage is boilerplate are *skipped* — the 94 rows that say only the
    shared customer sentence would otherwise make ~4,500 pairs — and returned
    as the second element. Records with no text at all are skipped silently.
    Identical records are grouped first, so only distinct texts go through LSH.
    Change-history passages are left out.
    """
    _check(threshold, 2)
    pset: dict[str, frozenset[str]] = {}
    signature: dict[str, tuple[str, ...]] = {}
    skipped: list[str] = []
    for cid, ps in records.items():
        keys: list[str] = []
        boiler = False
        for p in ps:
            if p.field == "revision":
                continue
            key = p.key
            if key in boilerplate:
                boiler = True
                continue
            if key not in pset:
                pset[key] = shingles(p.text)
            if pset[key] and key not in keys:
                keys.append(key)
        if keys:
            signature[cid] = tuple(sorted(keys))
        elif boiler:
            skipped.append(cid)

    by_sig: dict[tuple[str, ...], list[str]] = {}
    for cid, sig in signature.items():
        by_sig.setdefault(sig, []).append(cid)
    sigs = list(by_sig)
    key_list = list(pset)
    key_hash = dict(zip(key_list, _minhashes([pset[k] for k in key_list], num_perm)))
    sets: list[frozenset[str]] = []
    sketches: list["MinHash"] = []
    for sig in sigs:
        sets.append(frozenset().union(*(pset[k] for k in sig)))
        m = key_hash[sig[0]].copy()
        for k in sig[1:]:
            m.merge(key_hash[k])
        sketches.append(m)

    found: dict[tuple[str, str], float] = {}

    def add(x: str, y: str, sim: float) -> None:
        a, b = sorted((x, y), key=member_key)
        found[(a, b)] = max(sim, found.get((a, b), 0.0))

    for ids in by_sig.values():
        for n, x in enumerate(ids):
            for y in ids[n + 1:]:
                add(x, y, 1.0)
    for i, j, sim in _near_pairs(sets, sketches, threshold, num_perm):
        for x in by_sig[sigs[i]]:
            for y in by_sig[sigs[j]]:
                add(x, y, sim)
    pairs = tuple(CriteriaPair(a, b, s) for (a, b), s in
                  sorted(found.items(), key=lambda kv: (member_key(kv[0][0]), member_key(kv[0][1]))))
    return pairs, sort_ids(skipped)


# --------------------------------------------------------------------------- document


def find_duplicates(doc: Document, *, threshold: float = DEFAULT_THRESHOLD, min_criteria: int = 2,
                    num_perm: int = DEFAULT_NUM_PERM) -> DuplicateReport:
    """Repeated passages (exact and near) and near-identical records of a document.

    Passages are `document_passages(doc)` without the change history, so 実88
    (「実87と同様」) carries 実87's AWS text and (実87, 実88) pair as identical.
    `min_criteria` (≥ 2) filters the passage groups only.
    """
    everything = document_passages(doc)
    boiler = boilerplate_keys(everything)
    # group_passages and pair_records both leave the change-history passages out themselves
    groups = group_passages(everything, threshold=threshold, min_criteria=min_criteria, num_perm=num_perm,
                            boilerplate=boiler)
    records: dict[str, list[Passage]] = {c.id: [] for c in doc.criteria}
    for p in everything:
        records.setdefault(p.criterion_id, []).append(p)
    pairs, skipped = pair_records(records, threshold=threshold, num_perm=num_perm, boilerplate=boiler)
    return DuplicateReport(groups, pairs, threshold, skipped)


def find_table_duplicates(table: DocumentTable, *, threshold: float = DEFAULT_THRESHOLD, min_criteria: int = 2,
                          num_perm: int = DEFAULT_NUM_PERM) -> DuplicateReport:
    """`find_duplicates` over every document of a table of several: its criteria's passages (their own and their
    boilerplate; titles left out), each named by its key (実26, mapping:実26), so a passage one document repeats
    from another is found as any repeat is. Boilerplate is each document's own."""
    everything: list[Passage] = []
    boiler: set[str] = set()
    records: dict[str, list[Passage]] = {}
    for d in table:
        if d.kind != CRITERION:
            continue
        mine = [replace(p, criterion_id=d.key) for p in (*d.written, *d.boilerplate) if p.field != TITLE]
        mine.sort(key=lambda p: (p.field != "aws_status", p.field, p.index))
        everything += mine
        records[d.key] = mine
        boiler |= {p.key for p in d.boilerplate}
    groups = group_passages(everything, threshold=threshold, min_criteria=min_criteria, num_perm=num_perm,
                            boilerplate=boiler)
    pairs, skipped = pair_records(records, threshold=threshold, num_perm=num_perm, boilerplate=boiler)
    return DuplicateReport(groups, pairs, threshold, skipped)


_CACHE: OrderedDict[tuple[str, float, int], DuplicateReport] = OrderedDict()
MIN_CRITERIA_RANGE = (2, 200)  # what a front end accepts for "at least this many criteria"
THRESHOLD_RANGE = (0.5, 1.0)  # … and for the similarity threshold (below 0.5 lists unrelated text)
THRESHOLD_STEP = 0.05  # memoised thresholds: 0.5, 0.55 … 1.0 (what the duplicates page offers)
_CACHE_SIZE = 12  # every step of the page's range, and the default
_CACHE_LOCK = threading.Lock()


def cached_report(doc: Document | DocumentTable, *, threshold: float = DEFAULT_THRESHOLD,
                  num_perm: int = DEFAULT_NUM_PERM) -> DuplicateReport:
    """`find_duplicates(doc)` (all groups, min_criteria=2), memoised on the document's content hash; for a
    table of several documents, `find_table_duplicates` memoised on the table's.

    The threshold is rounded to THRESHOLD_STEP, so a server computes each report (seconds) at most
    once however many thresholds it is asked for; the lock is held only to look up and store, so a
    report being computed never holds up the pages that read one already made."""
    threshold = round(round(threshold / THRESHOLD_STEP) * THRESHOLD_STEP, 2)
    key = (doc.corpus_hash if isinstance(doc, DocumentTable) else document_hash(doc), threshold, num_perm)
    with _CACHE_LOCK:  # a web server asks from several threads
        if key in _CACHE:
            _CACHE.move_to_end(key)
            return _CACHE[key]
    report = find_table_duplicates(doc, threshold=threshold, num_perm=num_perm) if isinstance(doc, DocumentTable) \
        else find_duplicates(doc, threshold=threshold, num_perm=num_perm)
    with _CACHE_LOCK:
        report = _CACHE.setdefault(key, report)
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    return report


def shared_passages(doc: Document, criterion_id: str, *, threshold: float = DEFAULT_THRESHOLD) -> list[dict[str, Any]]:
    """For each passage of one criterion, the other criteria that repeat it exactly or nearly.

    `similarity` is the lowest, over the other criteria listed, of the best
    exact Jaccard between this passage and that criterion's wording; a
    criterion is listed only if that is ≥ the threshold. Passages nobody else
    shares are left out. Uses the cached report, so `kijun show` stays fast.
    """
    cid = doc.get(criterion_id).id
    report = cached_report(doc, threshold=threshold)
    own = [p for c in doc.criteria if c.id == cid for p in own_passages(doc, c)]
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    for p in own:
        if p.key in seen:
            continue
        seen.add(p.key)
        mine = shingles(p.text)
        best: dict[str, float] = {}
        boiler = False
        for g in report.groups_with(p.key):
            boiler = boiler or g.boilerplate
            sims: dict[str, float] = {}
            for m in g.members:
                if m.criterion_id == cid:
                    continue
                if m.criterion_id not in best or best[m.criterion_id] < 1.0:
                    s = 1.0 if m.text == p.text else sims.setdefault(m.text, jaccard(mine, shingles(m.text)))
                    best[m.criterion_id] = max(s, best.get(m.criterion_id, 0.0))
        others = {c: s for c, s in best.items() if s >= threshold}
        if others:
            out.append({"text": p.text, "field": p.field, "criteria": list(sort_ids(others)),
                        "similarity": round(min(others.values()), 4), "boilerplate": boiler})
    return out


# --------------------------------------------------------------------------- formatting


def _short(text: str, width: int = 80) -> str:
    return text if len(text) <= width else text[:width - 1] + "…"


def format_text(report: DuplicateReport, *, width: int = 80) -> str:
    """Plain-text report for `kijun dupes`: groups, then near-identical record pairs."""
    lines = [f"■ 共通の段落: {len(report.passages)} グループ (類似度 ≥ {report.threshold:g})"]
    for g in report.passages:
        tag = "  [定型文]" if g.boilerplate else ""
        lines.append(f"\n{len(g.criteria)} 基準  類似度 {g.similarity:.2f}{tag}")
        lines += textwrap.wrap(" ".join(g.criteria), width=width, initial_indent="  ", subsequent_indent="  ")
        lines.append(f"  「{_short(g.text, width)}」")
        for v in g.variants:
            lines.append(f"    異文 ({' '.join(v.criteria)}, 類似度 {v.similarity:.2f}):")
            for d in v.differences:
                lines.append(f"      {d.a or '(なし)'}  ⇔  {d.b or '(なし)'}")
    lines.append(f"\n■ ほぼ同一の基準: {len(report.criteria_pairs)} 組")
    for p in report.criteria_pairs:
        lines.append(f"  {p.a} ≈ {p.b}  類似度 {p.similarity:.2f}")
    if report.boilerplate_only:
        lines.append(f"  (定型文のみの基準 {len(report.boilerplate_only)} 件は比較から除外)")
    return "\n".join(lines) + "\n"


_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any) -> Any:
    """Neutralise spreadsheet formulas (CSV injection) by prefixing a single quote."""
    if isinstance(value, str) and value.startswith(_FORMULA):
        return "'" + value
    return value


CSV_HEADER = ("kind", "criteria_count", "criteria", "similarity", "boilerplate", "text")


def write_csv(report: DuplicateReport, fp: IO[str]) -> None:
    """One row per passage group, then one per record pair (kind 'passage' / 'pair')."""
    w = csv.writer(fp, lineterminator="\n")
    w.writerow(CSV_HEADER)
    for g in report.passages:
        w.writerow([_cell(x) for x in ("passage", len(g.criteria), " ".join(g.criteria), f"{g.similarity:.4f}",
                                       "true" if g.boilerplate else "false", g.text)])
    for p in report.criteria_pairs:
        w.writerow([_cell(x) for x in ("pair", 2, f"{p.a} {p.b}", f"{p.similarity:.4f}", "", "")])


def _check(threshold: float, min_criteria: int) -> None:
    if not 0.0 < threshold <= 1.0:
        raise ValueError(f"threshold must be in (0, 1], got {threshold}")
    if min_criteria < 2:
        raise ValueError(f"min_criteria must be at least 2 (a repeat needs two criteria), got {min_criteria}")
