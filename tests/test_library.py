"""The answer library's store and files: user data kept whole, one transaction per file, a damaged
file reported and never emptied, export → add round-tripping exactly."""
from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import subprocess
import threading
from pathlib import Path

import numpy as np
import pytest

from corpus.vocabulary import ids_in_cell
from search.library import jsonl, recall
from search.library.store import (ANSWERED, NOT_IN_DOCUMENT, Entry, Library, LibraryDamaged, LibraryError, Source,
                                  UnknownEntry, default_path, entry_id)

ROOT = Path(__file__).resolve().parents[1]


def entry(file: str, row: int, question: str, criteria: tuple[str, ...] = ("実26",), answer: str = "回答",
          verdict: str = ANSWERED) -> Entry:
    return Entry(entry_id(file, "シート", row), question, criteria, answer, verdict,
                 Source(file, "シート", row, "0" * 64, "2026-12-01T09:00:00+09:00"))


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def library(tmp_path: Path) -> Library:
    return Library(tmp_path / "user" / "library.sqlite3")


# ------------------------------------------------------------------ the store


def test_reading_a_library_that_does_not_exist_creates_nothing(library):
    assert (library.entries(), len(library), library.revision()) == ([], 0, 0)
    assert not library.path.exists() and not library.path.parent.exists()
    with pytest.raises(UnknownEntry, match="no entry L1 in the answer library"):
        library.get("L1")


def test_removing_from_a_library_that_does_not_exist_creates_nothing(library):
    assert library.remove(source_file="a.xlsx") == 0
    with pytest.raises(UnknownEntry, match="L1"):
        library.remove(["L1"])
    assert not library.path.parent.exists()


def test_a_library_whose_path_holds_url_characters_opens(tmp_path):
    # the read-only connection goes through an sqlite URI, where ? # % would otherwise cut the path
    odd = Library(tmp_path / "回答 #1 ?50%" / "library.sqlite3")
    odd.replace({"a.xlsx": [entry("a.xlsx", 6, "質問A6")]})
    assert [e.question for e in Library(odd.path).entries()] == ["質問A6"] and len(odd) == 1


def test_reimporting_a_file_replaces_its_entries_and_leaves_other_files_alone(library):
    assert library.replace({"a.xlsx": [entry("a.xlsx", 6, "質問A6"), entry("a.xlsx", 7, "質問A7")],
                            "b.xlsx": [entry("b.xlsx", 6, "質問B6")]}) == {"a.xlsx": (2, 0), "b.xlsx": (1, 0)}
    first = library.revision()
    assert library.replace({"a.xlsx": [entry("a.xlsx", 7, "質問A7 改", ("実27",))]}) == {"a.xlsx": (1, 2)}
    assert library.revision() == first + 1
    got = {e.question: e for e in library.entries()}
    assert set(got) == {"質問A7 改", "質問B6"}  # never duplicated, b.xlsx untouched
    assert got["質問A7 改"].id == entry_id("a.xlsx", "シート", 7) and got["質問A7 改"].criteria == ("実27",)


def test_an_import_that_fails_half_way_leaves_the_library_as_it_was(library, monkeypatch):
    from search.library import store

    library.replace({"a.xlsx": [entry("a.xlsx", 6, "質問A6")]})
    before, revision = library.entries(), library.revision()
    rows = []

    def failing_row(e: Entry) -> tuple:  # the disk fills up at the third row, inside the transaction
        rows.append(e)
        if len(rows) == 3:
            raise OSError(28, "No space left on device")
        return store_row(e)

    store_row = store._row
    monkeypatch.setattr(store, "_row", failing_row)
    with pytest.raises(OSError, match="No space left"):
        library.replace({"a.xlsx": [], "b.xlsx": [entry("b.xlsx", r, f"B{r}") for r in range(5)]})
    assert library.entries() == before and library.revision() == revision


def test_the_same_entry_twice_in_one_import_is_refused(library):
    twice = entry("b.xlsx", 9, "二重")
    with pytest.raises(LibraryError, match="appears twice"):
        library.replace({"b.xlsx": [twice, twice]})
    assert not library.path.exists()


@pytest.mark.parametrize("bad, message", [
    (entry("a.xlsx", 6, "q", criteria=()), "needs at least one confirmed criterion"),
    (entry("a.xlsx", 6, "q", verdict=NOT_IN_DOCUMENT), "has no criteria"),
    (entry("a.xlsx", 6, "  "), "the question is empty"),
    (entry("a.xlsx", 6, "q", verdict="maybe"), "verdict must be one of"),
])
def test_entries_that_say_nothing_consistent_are_refused_before_anything_is_written(library, bad, message):
    with pytest.raises(ValueError, match=message):
        library.replace({"a.xlsx": [entry("a.xlsx", 5, "良い"), bad]})
    assert not library.path.exists()


def test_remove_by_id_is_all_or_nothing_and_by_source_file(library):
    library.replace({"a.xlsx": [entry("a.xlsx", 6, "A6"), entry("a.xlsx", 7, "A7")],
                     "b.xlsx": [entry("b.xlsx", 6, "B6")]})
    a6 = entry_id("a.xlsx", "シート", 6)
    with pytest.raises(UnknownEntry, match="nothing was removed"):
        library.remove([a6, "Lnope"])
    assert len(library) == 3
    assert library.remove([a6]) == 1 and library.remove(source_file="b.xlsx") == 1
    assert [e.question for e in library.entries()] == ["A7"]


def test_a_damaged_library_is_reported_and_never_emptied(tmp_path):
    path = tmp_path / "library.sqlite3"
    path.write_bytes(b"this is not a database " * 100)
    before = sha(path)
    lib = Library(path)
    for action in (lib.entries, lib.revision, lambda: lib.replace({"a.xlsx": [entry("a.xlsx", 6, "q")]})):
        with pytest.raises(LibraryDamaged) as e:
            action()
        assert "kijun has not changed it" in str(e.value) and "kijun library add BACKUP.jsonl" in str(e.value)
        assert "書き出したバックアップからの復元" in e.value.text("web")
    assert sha(path) == before


def test_an_sqlite_file_of_something_else_is_not_taken_for_a_library(tmp_path):
    path = tmp_path / "other.sqlite3"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE customers (name TEXT)")
    before = sha(path)
    with pytest.raises(LibraryDamaged, match="not a kijun answer library .*customers"):
        Library(path).entries()
    assert sha(path) == before


def test_a_library_from_a_newer_kijun_is_refused(tmp_path):
    lib = Library(tmp_path / "l.sqlite3")
    lib.replace({"a.xlsx": [entry("a.xlsx", 6, "q")]})
    with sqlite3.connect(lib.path) as db:
        db.execute("PRAGMA user_version = 99")
    with pytest.raises(LibraryError, match="made by a newer kijun"):
        Library(lib.path).entries()


def test_writers_wait_for_each_other_and_readers_read_beside_them(library):
    errors = []

    def write(n: int) -> None:
        try:
            for k in range(5):
                library.replace({f"f{n}.xlsx": [entry(f"f{n}.xlsx", r, f"質問{n}-{r}") for r in range(20)]})
                library.entries()
        except Exception as e:  # pragma: no cover - the assertion below reports it
            errors.append(e)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and len(library) == 80 and library.revision() == 20


def test_the_default_place_is_outside_what_make_clean_and_rebuilds_delete(monkeypatch, tmp_path):
    monkeypatch.delenv("KIJUN_LIBRARY", raising=False)
    monkeypatch.delenv("XDG_DATA_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert default_path() == tmp_path / ".local" / "share" / "kijun" / "library.sqlite3"
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert default_path() == tmp_path / "xdg" / "kijun" / "library.sqlite3"
    monkeypatch.setenv("KIJUN_LIBRARY", str(tmp_path / "mine.db"))
    assert default_path() == tmp_path / "mine.db"
    # `make clean` removes only the virtual environment and ./data
    # (run as a top-level make: under `make test` an inherited MAKELEVEL adds "Entering directory" lines)
    env = {k: v for k, v in os.environ.items() if k not in {"MAKELEVEL", "MAKEFLAGS", "MFLAGS"}}
    dry = subprocess.run(
        ["make", "--no-print-directory", "-n", "clean"], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    ).stdout
    assert dry.split() == ["rm", "-rf", ".venv", "data"]


# ------------------------------------------------------------------ JSONL


def test_export_then_add_restores_the_same_library(tmp_path, library):
    library.replace({"a.xlsx": [entry("a.xlsx", 6, "質問A6", ("実57", "実58"), "回答\n二行目"),
                                entry("a.xlsx", 7, "質問A7", (), "該当なし", NOT_IN_DOCUMENT)],
                     "b.csv": [Entry(entry_id("b.csv", None, 3), "質問B3", ("監3",), "", ANSWERED,
                                     Source("b.csv", None, 3, "f" * 64, "2026-11-30T10:00:00+09:00"))]})
    backup = tmp_path / "backup.jsonl"
    with backup.open("w", encoding="utf-8") as f:
        assert jsonl.write(library.entries(), f) == 3
    restored = Library(tmp_path / "restored.sqlite3")
    entries = jsonl.read(backup)
    by_file: dict[str, list[Entry]] = {}
    for e in entries:
        by_file.setdefault(e.source.file, []).append(e)
    restored.replace(by_file)
    assert restored.entries() == library.entries()
    again = tmp_path / "again.jsonl"
    with again.open("w", encoding="utf-8") as f:
        jsonl.write(restored.entries(), f)
    assert again.read_bytes() == backup.read_bytes()


def test_graded_queries_become_entries_best_grade_first(tmp_path):
    path = tmp_path / "past.jsonl"
    path.write_text("\n".join([
        json.dumps({"query": "MFAは必須ですか", "relevant": {"実23": 1, "実27": 2, "実99": 0}, "kind": "questionnaire"},
                   ensure_ascii=False),
        "",
        json.dumps({"query": "保険に入っていますか", "relevant": {}, "answerable": False}, ensure_ascii=False),
    ]), encoding="utf-8")
    a, b = jsonl.read(path)
    assert (a.question, a.criteria, a.verdict, a.source.row, a.source.file) == \
        ("MFAは必須ですか", ("実27", "実23"), ANSWERED, 1, "past.jsonl")
    assert (b.criteria, b.verdict, b.source.row) == ((), NOT_IN_DOCUMENT, 3)
    assert a.source.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("line, message", [
    ("{not json", r"past.jsonl:2: not valid JSON"),
    ('["a"]', r"past.jsonl:2: expected a JSON object"),
    ('{"query": "q", "relevant": {"実26": "high"}}', r"past.jsonl:2: relevant must map"),
    ('{"query": "q", "relevant": {"26番": 2}}', r"past.jsonl:2: '26番' is not a criterion ID"),
    ('{"id": "L1", "question": "q", "criteria": [], "answer": "", "verdict": "answered", "source": {}}',
     r"past.jsonl:2: missing 'file'"),
])
def test_a_bad_line_refuses_the_whole_file_naming_it(tmp_path, line, message):
    path = tmp_path / "past.jsonl"
    path.write_text('{"query": "良い", "relevant": {"実26": 2}}\n' + line + "\n", encoding="utf-8")
    with pytest.raises(jsonl.LibraryFileError, match=message):
        jsonl.read(path)


# ------------------------------------------------------------------ criteria in a cell, recall's arithmetic


@pytest.mark.parametrize("cell, ids", [
    ("実26、実27", ["実26", "実27"]), ("実57・実58", ["実57", "実58"]), ("26", ["実26"]), ("監 3", ["監3"]),
    ("実57 / 実58", ["実57", "実58"]), ("実２６，２７", ["実26", "実27"]), ("実第26号", ["実26"]), ("統20", ["統20"]),
    ("", []), ("該当なし", []),
])
def test_the_criteria_a_person_writes_in_a_cell(cell, ids):
    assert ids_in_cell(cell) == ids


def test_closeness_is_zero_below_the_threshold_and_one_for_the_same_question():
    s = np.array([0.5, 0.85, 0.925, 1.0])
    assert recall.closeness(s, 0.85, 2.0).tolist() == pytest.approx([0.0, 0.0, 0.25, 1.0])


def test_the_signal_is_each_documents_best_support_and_later_criteria_count_less():
    w = np.array([0.5, 1.0, 0.0])
    docs = [[[0], [2]], [[2, 3]], [[1]]]
    got = recall.signal(w, recall.Support.of(docs), 5)
    assert got.tolist() == pytest.approx([0.5, 0.0, 1.0, 1.0, 0.0])  # doc 1's entry is not close at all
    assert recall.signal(np.array([1.0]), recall.Support.of([[[0], [1]]]), 2)[1] == pytest.approx(1 / (1 + recall.RANK_DECAY))


def test_nearest_says_which_verdict_the_closest_allowed_entry_had():
    s = np.array([0.9, 0.95, 0.97])
    answered = np.array([True, False, True])
    assert recall.nearest(s, np.array([True, True, False]), answered) == (pytest.approx(0.95), -1.0)
    assert recall.nearest(s, np.zeros(3, dtype=bool), answered) == (0.0, 0.0)
