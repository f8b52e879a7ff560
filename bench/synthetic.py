"""A deterministic synthetic corpus for timing the duplicate finder at scale.

Records are recombinations of the real document's passages (so repeats,
boilerplate and lengths look like the real thing), with a small word edit in
some of them to plant near-duplicates.

    python bench/synthetic.py --sizes 1000 10000
"""
from __future__ import annotations

import argparse
import random
import re
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from corpus.parser import parse_file  # noqa: E402
from corpus.passages import document_passages  # noqa: E402
from corpus.records import Criterion, Document  # noqa: E402
from corpus.vocabulary import INFO, PRIMARY, SERIES  # noqa: E402

EDIT_RATE = 0.2  # share of records with one edited passage
_WORD = re.compile(r"[A-Za-z]+|\d+")


def _edit(text: str, rng: random.Random) -> str:
    """Change one ASCII word or number (A. 8 → A. 11 style), or else one character."""
    words = list(_WORD.finditer(text))
    if words:
        m = rng.choice(words)
        new = str(rng.randint(1, 99)) if m.group().isdigit() else m.group()[::-1] + "s"
        if new == m.group():
            new += "0"
        return text[:m.start()] + new + text[m.end():]
    k = rng.randrange(len(text))
    return text[:k] + ("の" if text[k] != "の" else "を") + text[k + 1:]


def synthetic_document(n: int, seed: int = 0, source: Document | None = None,
                       edit_rate: float = EDIT_RATE) -> Document:
    """n criteria 実1…実n, each 1–6 passages drawn (with their field) from the real pool.

    The pool is every non-revision passage occurrence, so a passage repeated
    136 times in the real document is drawn about as often here and stays
    boilerplate. Same n and seed → the same document.
    """
    source = source or parse_file()
    pool = [(p.field, p.text) for p in document_passages(source) if p.field != "revision"]
    rng = random.Random(seed)
    criteria = []
    for i in range(1, n + 1):
        chosen = [rng.choice(pool) for _ in range(rng.randint(1, 6))]
        if rng.random() < edit_rate:
            k = rng.randrange(len(chosen))
            chosen[k] = (chosen[k][0], _edit(chosen[k][1], rng))
        fields = {"aws_status": [], "customer_controls": []}
        for field, text in chosen:
            fields[field].append(text)
        criteria.append(Criterion(
            id=f"実{i}", series=SERIES["実"], number=i,
            aws_role=rng.choice((PRIMARY, INFO)), customer_role=rng.choice((PRIMARY, INFO)),
            aws_status="\n".join(fields["aws_status"]), customer_controls="\n".join(fields["customer_controls"]),
            references=(), urls=(), page=None, same_as=None, line_start=i, line_end=i))
    return Document(tuple(criteria))


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threshold", type=float, default=0.8)
    args = ap.parse_args(argv)

    from corpus.duplicates import find_duplicates

    source = parse_file()
    find_duplicates(source)  # warm up imports (datasketch pulls in scipy)
    print(f"{'criteria':>9} {'build s':>8} {'find s':>8} {'groups':>7} {'near grp':>8} {'pairs':>7} "
          f"{'skipped':>7} {'peak RSS MB':>11}")
    for n in args.sizes:
        t0 = time.perf_counter()
        doc = synthetic_document(n, args.seed, source)
        t1 = time.perf_counter()
        report = find_duplicates(doc, threshold=args.threshold)
        t2 = time.perf_counter()
        near = sum(1 for g in report.passages if g.variants)
        print(f"{n:>9} {t1 - t0:>8.2f} {t2 - t1:>8.2f} {len(report.passages):>7} {near:>8} "
              f"{len(report.criteria_pairs):>7} {len(report.boilerplate_only):>7} {_peak_rss_mb():>11.0f}",
              flush=True)


if __name__ == "__main__":
    main()
