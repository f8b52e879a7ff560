"""The document store as user data: add → list → show → remove through `kijun documents`, the original kept
byte for byte, all or nothing, damage reported and left, and nothing that rebuilds or cleans touching it."""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner
from documents import MAPPING_MD, POLICY_CSV, TITLES_13, merged_xlsx

from corpus.records import DocumentError
from indexer import files
from search.app.cli import main
from search.documents import store as store_module
from search.documents.store import BUNDLED_ID, DocumentStore, DocumentStoreError, default_path
from search.library import store as library_store

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def folder(tmp_path, monkeypatch):
    """A store of the test's own, where `kijun documents` looks for it."""
    path = tmp_path / "documents"
    monkeypatch.setenv("KIJUN_DOCUMENTS", str(path))
    return path


@pytest.fixture
def mapping_file(tmp_path):
    path = tmp_path / "sample-fisc.md"
    path.write_text(MAPPING_MD, encoding="utf-8")
    return path


def _run(*args: str, ok: bool = True):
    result = CliRunner().invoke(main, ["documents", *args])
    if ok:
        assert result.exit_code == 0, (result.output, result.exception)
    return result


def _tree(path: Path) -> dict[str, str]:
    """Every file under `path` with its sha256: what must not change."""
    return {str(p.relative_to(path)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(path.rglob("*")) if p.is_file()}


def test_add_list_show_remove_round_trip(folder, mapping_file):
    added = _run("add", str(mapping_file), "--title", "サンプル基盤 FISC対応表", "--publisher", "アーキテクチャチーム",
                 "--date", "2024-04-01", "--version", "1.2", "--fields", "利用者側での追加の対策=customer_controls")
    assert added.output.splitlines()[0] == "sample-fisc.md: table, 6 criteria, 第9版"
    assert "  「利用者側での追加の対策」: 3 criteria → customer_controls" in added.output
    assert "→ added as sample-fisc in " in added.output
    kept = folder / "sample-fisc" / "original" / "sample-fisc.md"
    assert kept.read_bytes() == mapping_file.read_bytes()  # the original, byte for byte

    listed = json.loads(_run("list", "--format", "json").output)
    assert [(d["id"], d["bundled"], d["kind"], d["edition"]) for d in listed] == [
        (BUNDLED_ID, True, "bundled", "9"), ("sample-fisc", False, "table", "9")]
    assert listed[0]["date"] == "2022年5月" and listed[0]["criteria"] == 153
    mine = listed[1]
    assert (mine["title"], mine["publisher"], mine["date"], mine["version"], mine["file"], mine["criteria"]) == \
        ("サンプル基盤 FISC対応表", "アーキテクチャチーム", "2024-04-01", "1.2", "sample-fisc.md", 6)
    assert mine["sha256"] == hashlib.sha256(mapping_file.read_bytes()).hexdigest()
    assert mine["fields"] == {"利用者側での追加の対策": "customer_controls"}
    assert [w["code"] for w in mine["warnings"]] == ["document_link_missing", "document_edition_from_file"]
    assert _run("list").output.splitlines() == [
        "aws-fisc  bundled  第9版  153 criteria  FISC安全対策基準 AWSの対応状況  (bundled)",
        "sample-fisc  table  第9版  6 criteria  サンプル基盤 FISC対応表"]

    shown = json.loads(_run("show", "sample-fisc", "--format", "json").output)
    assert shown["field_counts"] == {"共通統制環境の対策内容": 6, "ワークロードの対策内容": 5, "利用者側での追加の対策": 3}
    text = _run("show", "sample-fisc").output
    assert "版: 第9版" in text and "  「利用者側での追加の対策」: 3 → customer_controls" in text
    assert "  ! 1 link names a criterion the document does not have: 実18 → 実17" in text

    removed = _run("remove", "sample-fisc")
    assert "sample-fisc removed (サンプル基盤 FISC対応表, sample-fisc.md)" in removed.output
    assert not (folder / "sample-fisc").exists() and list(folder.iterdir()) == []
    assert [d["id"] for d in json.loads(_run("list", "--format", "json").output)] == [BUNDLED_ID]
    assert mapping_file.read_bytes() == MAPPING_MD.encode("utf-8")  # the user's file is never modified


def test_the_bundled_document_is_listed_and_cannot_be_removed(folder):
    result = _run("remove", BUNDLED_ID, ok=False)
    assert result.exit_code == 1 and "Error: 'aws-fisc' is the bundled document; it cannot be removed" in result.output
    shown = json.loads(_run("show", BUNDLED_ID, "--format", "json").output)
    assert shown["bundled"] and shown["field_counts"]["AWSの対応状況"] > 0
    unknown = _run("show", "nothing", ok=False)
    assert "Error: no document 'nothing'; the documents are aws-fisc" in unknown.output


def test_a_bad_file_adds_nothing(folder, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text(POLICY_CSV.replace("実150,", "合計,"), encoding="utf-8")
    result = _run("add", str(bad), "--title", "x", ok=False)
    assert result.exit_code == 1
    assert result.output.strip() == ("Error: bad.csv: row 4: '合計' in the ID column is not a criterion ID (write IDs "
                                     "as 実26, 監3 or 実14-1); nothing from this file was added")
    assert not folder.exists()  # not even the store's folder


def test_a_write_that_fails_part_way_leaves_nothing(folder, mapping_file, monkeypatch):
    real = files.write_whole

    def failing(path: Path, body: bytes) -> None:
        if path.name == store_module.META:
            raise OSError(28, "No space left on device")
        real(path, body)

    monkeypatch.setattr(files, "write_whole", failing)
    with pytest.raises(DocumentStoreError, match="No space left on device"):
        DocumentStore().add(mapping_file, title="x")
    assert list(folder.iterdir()) == []  # no document, no half-written temporary folder


def test_the_same_file_twice_and_a_taken_id_are_refused(folder, mapping_file, tmp_path):
    store = DocumentStore()
    store.add(mapping_file, title="a")
    with pytest.raises(DocumentStoreError, match=r"sample-fisc\.md is already in the store as 'sample-fisc'"):
        store.add(mapping_file, title="b")
    other = tmp_path / "sample-fisc.csv"
    other.write_text(POLICY_CSV, encoding="utf-8")
    assert store.add(other, title="c").info.id == "sample-fisc-2"  # the name's ID was taken
    third = tmp_path / "third.csv"
    third.write_text(POLICY_CSV.replace("第3条", "第4条"), encoding="utf-8")
    with pytest.raises(DocumentStoreError, match="there is already a document 'sample-fisc'"):
        store.add(third, title="d", doc_id="sample-fisc")
    with pytest.raises(DocumentStoreError, match="'Policy!' cannot be a document ID"):
        store.add(third, title="d", doc_id="Policy!")
    with pytest.raises(DocumentStoreError, match="a document needs a title"):
        store.add(third, title=" ")
    assert [i.id for i in store.documents()] == [BUNDLED_ID, "sample-fisc", "sample-fisc-2"]


def test_a_dry_run_reads_and_writes_nothing(folder, mapping_file):
    result = _run("add", str(mapping_file), "--title", "x", "--dry-run")
    assert "(dry run: nothing added; it would be sample-fisc)" in result.output
    assert not folder.exists()


def test_a_damaged_document_is_reported_and_left_as_it_is(folder, mapping_file, tmp_path):
    store = DocumentStore()
    store.add(mapping_file, title="a")
    other = tmp_path / "policy.csv"
    other.write_text(POLICY_CSV, encoding="utf-8")
    store.add(other, title="b", edition="9")
    kept = folder / "sample-fisc" / "original" / "sample-fisc.md"
    kept.write_bytes(kept.read_bytes().replace("実 8".encode(), "実 9".encode()))
    (folder / "policy" / "document.json").write_text("{not json", encoding="utf-8")
    before = _tree(folder)
    shown = _run("show", "sample-fisc", ok=False)
    assert "its bytes no longer match the sha256 it was added with" in shown.output
    listed = _run("list")
    assert "sample-fisc  table" in listed.output and "policy" not in listed.output.split("!")[0]
    assert "the document " in listed.output and "policy/document.json cannot be read" in listed.output
    assert _tree(folder) == before  # nothing changed


def test_the_default_place_is_beside_the_answer_library(monkeypatch, tmp_path):
    monkeypatch.delenv("KIJUN_DOCUMENTS", raising=False)
    monkeypatch.delenv("KIJUN_LIBRARY", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert default_path() == tmp_path / "xdg" / "kijun" / "documents"
    assert library_store.default_path().parent == default_path().parent


def test_a_title_list_added_for_an_edition_checks_the_tables_added_after_it(folder, tmp_path):
    store = DocumentStore()
    titles = tmp_path / "titles13.txt"
    titles.write_text(TITLES_13, encoding="utf-8")
    listed = store.add(titles, title="第13版 基準タイトル")
    assert listed.info.kind == "titles" and listed.info.edition == "13"
    policy = tmp_path / "policy.csv"
    policy.write_text(POLICY_CSV, encoding="utf-8")
    added = store.add(policy, title="規程対応", edition="第13版")
    assert [str(w) for w in added.info.warnings] == [
        "3 IDs it cites are not criteria of 第13版: 実1 (3), 実26 (6), 実150 (4) (as known from titles13; IDs are "
        "never mapped across editions)"]
    assert store.load("policy")[1].warnings == added.info.warnings  # kept with it, as they were said


def test_an_xlsx_round_trips_through_the_store(folder, tmp_path):
    path = tmp_path / "対応表.xlsx"
    path.write_bytes(merged_xlsx())
    store = DocumentStore()
    added = store.add(path, title="対応表", doc_id="landing-zone")
    info, doc = store.load("landing-zone")
    assert info.file == "対応表.xlsx" and doc.records == added.document.records
    shown = _run("show", "landing-zone").output
    assert "  ! 1 row without an ID was skipped as a heading or note: sheet '対応表' row 7" in shown


# ---------------------------------------------------------------- nothing that rebuilds or cleans touches it


def test_index_rebuild_leaves_the_documents_untouched(folder, mapping_file, tmp_path):
    DocumentStore().add(mapping_file, title="a")
    before = _tree(folder)
    result = CliRunner().invoke(main, ["index", "--rebuild", "--keyword-only", "--data-dir", str(tmp_path / "data")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "data").exists() and _tree(folder) == before


def test_make_clean_leaves_the_documents_untouched(tmp_path):
    project = tmp_path / "project"
    (project / "data" / "keyword").mkdir(parents=True)
    (project / ".venv").mkdir()
    shutil.copy(ROOT / "Makefile", project / "Makefile")
    xdg = tmp_path / "xdg"
    env = {k: v for k, v in os.environ.items() if k not in ("KIJUN_DOCUMENTS", "KIJUN_LIBRARY")}
    env["XDG_DATA_HOME"] = str(xdg)
    documents = xdg / "kijun" / "documents"
    source = tmp_path / "sample-fisc.md"
    source.write_text(MAPPING_MD, encoding="utf-8")
    saved = os.environ.copy()
    try:
        os.environ.clear()
        os.environ.update(env)
        DocumentStore().add(source, title="a")
    finally:
        os.environ.clear()
        os.environ.update(saved)
    before = _tree(documents)
    assert before
    subprocess.run(["make", "clean"], cwd=project, env=env, check=True, capture_output=True)
    assert not (project / "data").exists() and not (project / ".venv").exists()  # make clean ran
    assert _tree(documents) == before


def test_reading_never_makes_the_store(folder):
    store = DocumentStore()
    assert [i.id for i in store.documents()] == [BUNDLED_ID] and store.problems() == []
    with pytest.raises(DocumentError):
        store.add(b"", "empty.csv", title="x")
    assert not folder.exists()
