"""Documents for searching several at once: a title list of boilerplate-only criteria, and a store holding the
tests' documents (tests/documents.py) as a team would add them.

The titles are our own short summaries of each criterion's subject, written for these tests (the bundled
document says only the customer boilerplate for them, so it gives them no words of its own).
"""
from __future__ import annotations

from pathlib import Path

from documents import MAPPING_MD, POLICY_CSV, merged_xlsx

TITLES_9 = """\
FISC安全対策基準 第9版 基準タイトル（チームの要約、抜粋）

実9 利用者IDの不正使用を防ぐ機能
実11 取引の種類・金額・時間帯による取引制限の機能
実12 紛失・盗難の届け出があったカードや口座の取引を止める機能
実13 暗証番号の連続誤入力による利用停止
実17 偽造キャッシュカードによる不正な払戻しの防止
"""
TITLED = ("実9", "実11", "実12", "実13", "実17")
"""The criteria TITLES_9 names: each carries only the customer boilerplate in the bundled document."""


def fill(store, *, titles: bool = True, policy: bool = False) -> None:  # noqa: ANN001 — a DocumentStore
    """The mapping table (基盤), the merged-header workbook (委託先) and, if asked, the 9th edition's titles and the
    firm's policy table (which cites 実150 and 実14-1, IDs the 9th edition lacks)."""
    store.add(MAPPING_MD.encode("utf-8"), "fisc-mapping.md", title="基盤 FISC対応表", label="基盤")
    store.add(merged_xlsx(), "委託先対応表.xlsx", title="委託先の対応表", label="委託先", doc_id="vendor")
    if titles:
        store.add(TITLES_9.encode("utf-8"), "titles9.txt", title="第9版 基準タイトル", kind="titles", edition="9",
                  label="表題")
    if policy:
        store.add(POLICY_CSV.encode("utf-8"), "policy.csv", title="社内規程との対応", edition="9", label="規程")


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path
