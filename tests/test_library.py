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

from corpus.vocabulary import ids_in_cell, read_cell
from messages import Message
from search.library import jsonl, recall
from search.library.store import (ANSWERED, KEEP_BOTH, MAX_VARIABLES, MIGRATIONS, NOT_IN_DOCUMENT, REPLACE,
                                  SAME_SHEET_SHARE, Entry, Incoming, Library, LibraryDamaged, LibraryError,
                                  LibraryReadOnly, Source, UnknownEntry, default_path, entry_id, fingerprint)

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


def test_messages_show_the_librarys_path_only_on_the_command_line_and_quote_ids_short(tmp_path):
    path = tmp_path / "srv-kijun" / "library.sqlite3"
    path.parent.mkdir()
    path.write_bytes(b"this is not a database " * 100)
    with pytest.raises(LibraryDamaged) as e:
        Library(path).entries()
    assert f"the answer library {path} cannot be read" in str(e.value)
    assert e.value.text("api").startswith("the answer library cannot be read (file is not a database)")
    assert "srv-kijun" not in e.value.text("api") + e.value.text("web")
    lib = Library(tmp_path / "library.sqlite3")
    lib.replace({"a.xlsx": [entry("a.xlsx", 6, "q")]})
    with pytest.raises(UnknownEntry) as e:
        lib.get("L" * 12_000)
    assert "L" * 80 + "…" in e.value.text("api") and len(e.value.text("api")) < 250
    with pytest.raises(UnknownEntry) as e:
        lib.remove([f"Lnope{k}" for k in range(8)])
    assert "Lnope4, … (+3)" in str(e.value) and "Lnope5" not in str(e.value)


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


EXPORTED = ('{"id": "L1", "question": "q", "criteria": ["実26"], "answer": "", "verdict": "answered", "source": '
            '{"file": "a.xlsx", "sheet": null, "row": 1, "sha256": "x", "imported_at": "t"}, "unread": []}')


@pytest.mark.parametrize("line, message", [
    ("{not json", r"past.jsonl:2: not valid JSON"),
    ('["a"]', r"past.jsonl:2: expected a JSON object"),
    ('{"query": "q", "relevant": {"実26": "high"}}', r"past.jsonl:2: relevant must map"),
    ('{"query": "q", "relevant": {"26番": 2}}', r"past.jsonl:2: '26番' is not a criterion ID"),
    ('{"id": "L1", "question": "q", "criteria": [], "answer": "", "verdict": "answered", "source": {}}',
     r"past.jsonl:2: missing 'file'"),
    ("[" * 100_000 + "]" * 100_000, r"past.jsonl:2: the JSON is nested too deeply"),
    ("[" * 200_000 + "]" * 200_000, r"past.jsonl:2: the line is 400,000 characters"),
    ('{"query": "q\\ud800", "relevant": {"実26": 2}}', r"past.jsonl:2: holds \\ud800, half of a character"),
    (EXPORTED.replace('"row": 1', '"row": 1e40'), r"past.jsonl:2: source.row must be a row number from 1 to"),
    (EXPORTED.replace('"row": 1', '"row": 1' + "0" * 40), r"past.jsonl:2: source.row must be a row number"),
    (EXPORTED.replace('"row": 1', '"row": -5'), r"past.jsonl:2: source.row must be a row number"),
    (EXPORTED.replace('"row": 1', '"row": 0'), r"past.jsonl:2: source.row must be a row number"),
    (EXPORTED.replace('"unread": []', '"unread": ["x", 3]'), r"past.jsonl:2: unread must be a list of strings"),
    (EXPORTED.replace('"answer": ""', '"answer": "' + "あ" * 300_000 + '"'),
     r"past.jsonl:2: the line is 300,\d+ characters; a library entry is at most 262,144"),
])
def test_a_bad_line_refuses_the_whole_file_naming_it(tmp_path, line, message):
    path = tmp_path / "past.jsonl"
    path.write_text('{"query": "良い", "relevant": {"実26": 2}}\n' + line + "\n", encoding="utf-8")
    with pytest.raises(jsonl.LibraryFileError, match=message) as e:
        jsonl.read(path)
    assert "\n" not in str(e.value) and len(str(e.value)) < 400  # one line, quoting nothing of the input


def test_bad_jsonl_is_one_line_on_the_command_line_and_adds_nothing(tmp_path):
    from click.testing import CliRunner

    from search.app import cli

    lib = tmp_path / "library.sqlite3"
    for n, line in enumerate(["[" * 100_000 + "]" * 100_000, '{"query": "q\\ud800", "relevant": {"実26": 2}}',
                              EXPORTED.replace('"row": 1', '"row": 1' + "0" * 40)]):
        path = tmp_path / f"bad{n}.jsonl"
        path.write_text(EXPORTED + "\n" + line + "\n", encoding="utf-8")
        done = CliRunner().invoke(cli.main, ["library", "add", str(path)], env={"KIJUN_LIBRARY": str(lib)})
        assert done.exit_code == 1 and done.output.startswith(f"Error: bad{n}.jsonl:2: ")
        assert done.output.count("\n") == 1 and "Traceback" not in done.output
    assert not lib.exists()


# ------------------------------------------------------------------ criteria in a cell, recall's arithmetic


@pytest.mark.parametrize("cell, ids", [
    ("実26、実27", ["実26", "実27"]), ("実57・実58", ["実57", "実58"]), ("26", ["実26"]), ("監 3", ["監3"]),
    ("実57 / 実58", ["実57", "実58"]), ("実２６，２７", ["実26", "実27"]), ("実第26号", ["実26"]), ("統20", ["統20"]),
    ("", []), ("該当なし", []),
])
def test_the_criteria_a_person_writes_in_a_cell(cell, ids):
    assert ids_in_cell(cell) == ids


@pytest.mark.parametrize("cell, ids, unread", [
    ("実59（注3参照）", ("実59",), ("(注3参照)",)),  # a note is not 実3
    ("実26 他2件", ("実26",), ("他2件",)),  # a count is not 実2
    ("実15 ※5年保存", ("実15",), ("※5年保存",)),
    ("実38（2024年改訂）", ("実38",), ("(2024年改訂)",)),  # a year is not 実2024
    ("実38 2024年改訂", ("実38",), ("2024年改訂",)),
    ("26、27", ("実26", "実27"), ()), ("26・27", ("実26", "実27"), ()),  # a cell of bare numbers: practice criteria
    ("監3、4", ("監3", "監4"), ()),  # a bare number takes the series of the ID before it
    ("実57・実58", ("実57", "実58"), ()), ("実57 / 実58", ("実57", "実58"), ()), ("[実26][実27]", ("実26", "実27"), ()),
    ("実26、実27 など", ("実26", "実27"), ("など",)), ("実26～28", ("実26",), ("~28",)),
    ("該当なし", (), ("該当なし",)), ("実" + "9" * 5000, (), ("実" + "9" * 5000,)),
])
def test_a_cell_keeps_the_ids_it_can_read_and_names_the_rest(cell, ids, unread):
    got = read_cell(cell)
    assert (got.ids, got.unread) == (ids, unread)


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


# ------------------------------------------------------------------ imports of one file name


def incoming(file: str, sha: str, questions: list[str], skipped: list[str] = (), criteria: tuple[str, ...] = ("実26",),
             *, restore: bool = False) -> Incoming:
    """A file to add: an entry per question (rows 1…), and skipped rows that are question rows too."""
    entries = tuple(Entry(entry_id(file, "シート", r), q, criteria, f"回答{r}", ANSWERED,
                          Source(file, "シート", r, sha, "2026-12-01T09:00:00+09:00")) for r, q in enumerate(questions, 1))
    rows = frozenset() if restore else frozenset(fingerprint(q) for q in [*questions, *skipped])  # an export has none
    return Incoming(file, sha, entries, rows, restore=restore)


QS = [f"質問{k}について対応していますか。" for k in range(10)]


def test_the_same_sheet_replaces_itself_and_another_of_its_name_is_kept_beside(library):
    [plan] = library.add([incoming("回答.xlsx", "a" * 64, QS[:5], skipped=QS[5:])])
    assert (plan.entries, plan.replaces, plan.beside) == (5, (), ())
    # the same sheet with more rows confirmed: 10 of 10 question rows shared
    [plan] = library.add([incoming("回答.xlsx", "b" * 64, QS, criteria=("実27",))])
    assert [(i.sha256[:1], i.rows, s) for i, s in plan.replaces] == [("a", 5, 1.0)] and plan.beside == ()
    assert len(library) == 10 and {e.criteria for e in library.entries()} == {("実27",)}
    assert library.entries()[0].id == entry_id("回答.xlsx", "シート", 1)  # alone under its name: the stable ID
    # another customer's sheet of the same name: 2 of 10 questions shared
    other = ["別の質問その一ですか。", "別の質問その二ですか。", *QS[:2]]
    [plan] = library.add([incoming("回答.xlsx", "c" * 64, other, criteria=("実15",))])
    assert plan.replaces == () and [(i.sha256[:1], round(s, 2)) for i, s in plan.beside] == [("b", 0.2)]
    assert len(library) == 14 and len({e.id for e in library.entries()}) == 14
    assert Message("import_beside", plan.beside[0][0].described(0.2)).text("web").startswith("同じ名前の別のシート（")
    # asked for: REPLACE takes every import of the name; KEEP_BOTH none but the very same bytes
    assert [i.sha256[:1] for i, _ in library.plan(incoming("回答.xlsx", "d" * 64, QS), REPLACE).replaces] == ["b", "c"]
    assert library.plan(incoming("回答.xlsx", "d" * 64, QS), KEEP_BOTH).replaces == ()
    assert [i.sha256[:1] for i, _ in library.plan(incoming("回答.xlsx", "c" * 64, other), KEEP_BOTH).replaces] == ["c"]
    with pytest.raises(ValueError, match="on_same_name must be one of"):
        library.plan(incoming("回答.xlsx", "d" * 64, QS), "sometimes")


def test_the_share_is_of_the_larger_file_so_a_short_follow_up_replaces_nothing(library):
    library.add([incoming("回答.xlsx", "a" * 64, QS)])
    # 3 questions asked again in a follow-up sheet of the same name: all of its own, 30% of the first
    plan = library.plan(incoming("回答.xlsx", "b" * 64, QS[:3]))
    assert plan.replaces == () and [round(s, 2) for _, s in plan.beside] == [0.3]
    assert SAME_SHEET_SHARE == 0.6
    assert [round(s, 2) for _, s in library.plan(incoming("回答.xlsx", "b" * 64, QS[:6])).replaces] == [0.6]


def test_an_import_whose_rows_were_not_recorded_is_compared_by_its_entries(library):
    # restored from an export (or made before schema 2): only its 4 entries are known
    library.add([incoming("回答.xlsx", "a" * 64, QS[:4], restore=True)])
    [earlier] = library.imports("回答.xlsx")
    assert (earlier.recorded, earlier.rows) == (False, 4)
    [(imp, share)] = library.plan(incoming("回答.xlsx", "b" * 64, QS)).replaces  # all 4 asked again
    assert share == 1.0
    assert library.plan(incoming("回答.xlsx", "b" * 64, QS[3:])).replaces == ()  # 1 of 4


def test_an_export_is_restored_beside_what_the_library_has_and_replaces_only_itself(tmp_path, library):
    library.add([incoming("回答.xlsx", "a" * 64, QS[:5])])
    library.add([incoming("回答.xlsx", "b" * 64, QS[:5], criteria=("実27",))], KEEP_BOTH)
    backup = tmp_path / "backup.jsonl"
    with backup.open("w", encoding="utf-8") as f:
        jsonl.write(library.entries(), f)
    restored = Library(tmp_path / "restored.sqlite3")
    plans = restored.add(jsonl.imports(backup))  # two imports of one name, the second as close as can be
    assert [len(p.replaces) for p in plans] == [0, 0] and restored.entries() == library.entries()
    plans = restored.add(jsonl.imports(backup))  # again: each takes its own place
    assert [len(p.replaces) for p in plans] == [1, 1] and restored.entries() == library.entries()


def test_removing_every_entry_of_an_import_forgets_its_rows(library):
    library.add([incoming("回答.xlsx", "a" * 64, QS[:2], skipped=QS[2:])])
    assert library.imports("回答.xlsx")[0].recorded
    assert library.remove(source_file="回答.xlsx") == 2
    with sqlite3.connect(library.path) as db:
        assert db.execute("SELECT count(*) FROM sheets").fetchone()[0] == 0


# ------------------------------------------------------------------ schema 2, read-only, limits


def schema_1(path: Path, rows: int = 2) -> None:
    """A library as kijun made it before schema 2 (no unread, no sheets)."""
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode = WAL")
    for statement in MIGRATIONS[0].split(";"):
        if statement.strip():
            db.execute(statement)
    db.execute("PRAGMA user_version = 1")
    for r in range(1, rows + 1):
        e = entry("古い.xlsx", r, f"古い質問{r}")
        db.execute("INSERT INTO entries VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                   (e.id, e.question, '["実26"]', e.answer, e.verdict, "古い.xlsx", "シート", r, "0" * 64,
                    e.source.imported_at))
    db.close()


def test_a_library_of_schema_1_is_brought_up_to_date_keeping_its_entries(tmp_path):
    schema_1(tmp_path / "old.sqlite3")
    lib = Library(tmp_path / "old.sqlite3")
    assert [(e.question, e.unread) for e in lib.entries()] == [("古い質問1", ()), ("古い質問2", ())]
    with sqlite3.connect(lib.path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS) == 3
    assert [e.documents for e in lib.entries()] == [("aws-fisc",), ("aws-fisc",)]  # the one document there was
    lib.add([incoming("新しい.xlsx", "a" * 64, QS[:1])])
    assert len(lib) == 3


def test_a_read_only_library_is_read_and_says_it_cannot_be_written(tmp_path, monkeypatch, data_root):
    """Opened read-only (SQLite's mode=ro): entries, export and searches read it; a write is refused as
    read-only — not "damaged" — and the file is left as it was. (As root, permissions do not stop a
    write, so here the library is told it may not write; the next test takes the permissions away.)"""
    from search.engine import Engine

    lib = Library(tmp_path / "library.sqlite3")
    added = [entry("a.xlsx", 6, "データセンターへの入退室を記録していますか。", ("実59",))]
    Engine(data_dir=data_root, library=lib).memory().commit(added, lambda: lib.replace({"a.xlsx": added}))  # as an add
    before = sha(lib.path)
    monkeypatch.setattr(Library, "writable", property(lambda self: False))
    ro = Library(lib.path)
    assert [e.question for e in ro.entries()] == ["データセンターへの入退室を記録していますか。"]
    for write in (lambda: ro.replace({"b.xlsx": [entry("b.xlsx", 1, "q")]}), lambda: ro.remove(source_file="a.xlsx"),
                  lambda: ro.add([incoming("b.xlsx", "b" * 64, QS[:1])])):
        with pytest.raises(LibraryReadOnly) as e:
            write()
        assert "cannot be written" in str(e.value) and "damaged" not in str(e.value) and str(lib.path) in str(e.value)
        assert str(lib.path) not in e.value.text("api") and "read-only on the server" in e.value.text("api")
        assert "読み取り専用" in e.value.text("web")
    found = Engine(data_dir=data_root, library=ro).search("データセンターの入退室を記録していますか")
    assert found.library and found.library[0].entry.criteria == ("実59",) and not found.warnings
    assert sha(lib.path) == before


# As root, write permission is not checked (CAP_DAC_OVERRIDE): the probe runs without those capabilities.
WITHOUT_OVERRIDES = ["setpriv", "--bounding-set=-dac_override,-dac_read_search,-fowner", "--"] \
    if os.geteuid() == 0 else []
PROBE = """
import json, sys
from click.testing import CliRunner
from search.app import cli
from search.library.store import Library, LibraryError
lib = Library(sys.argv[1])
out = {"writable": lib.writable, "questions": [e.question for e in lib.entries()]}
done = CliRunner().invoke(cli.main, ["library", "export"], env={"KIJUN_LIBRARY": sys.argv[1]})
out["export"] = (done.exit_code, done.stdout)
try:
    lib.remove(source_file="a.xlsx")
except LibraryError as e:
    out["write"] = (e.condition, str(e))
print(json.dumps(out, ensure_ascii=False))
"""


@pytest.mark.parametrize("folder_writable", [False, True])
def test_a_library_this_user_may_not_write_exports_and_refuses_writes(tmp_path, folder_writable):
    """The real thing: the file (and its folder) without write permission, read in another process (as
    root, without the capabilities that skip permission checks). A WAL library in a read-only folder has
    no shared-memory file to open: it is read immutable."""
    import subprocess
    import sys

    folder = tmp_path / "shared"
    folder.mkdir()
    lib = Library(folder / "library.sqlite3")
    lib.replace({"a.xlsx": [entry("a.xlsx", 6, "質問A6")]})
    lib.entries()
    before = sha(lib.path)
    os.chmod(lib.path, 0o444)
    os.chmod(folder, 0o755 if folder_writable else 0o555)
    try:
        done = subprocess.run([*WITHOUT_OVERRIDES, sys.executable, "-c", PROBE, str(lib.path)], capture_output=True,
                              text=True, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
        assert done.returncode == 0, done.stderr
        out = json.loads(done.stdout)
        assert (out["writable"], out["questions"]) == (False, ["質問A6"])
        code, exported = out["export"]
        assert code == 0 and [json.loads(line)["question"] for line in exported.splitlines()] == ["質問A6"]
        condition, message = out["write"]
        assert condition == "library_read_only" and "cannot be written" in message and "damaged" not in message
    finally:
        os.chmod(folder, 0o755)
        os.chmod(lib.path, 0o644)
    assert sha(lib.path) == before and len(lib) == 1


def test_a_large_restore_stays_under_sqlites_stock_limit_on_parameters(tmp_path, monkeypatch):
    """50,000 entries exported and added back, with every connection held to 999 parameters a statement
    (SQLite's default before 3.32; 32,766 since): restored exactly, and restored again in place."""
    real = sqlite3.connect

    def limited(*args, **kwargs):
        db = real(*args, **kwargs)
        db.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, 999)
        return db

    monkeypatch.setattr(sqlite3, "connect", limited)
    big = Library(tmp_path / "big.sqlite3")
    n = 50_000
    big.replace({f"f{k}.xlsx": [entry(f"f{k}.xlsx", r, f"質問{k}-{r}") for r in range(1, n // 2 + 1)] for k in (1, 2)})
    backup = tmp_path / "backup.jsonl"
    with backup.open("w", encoding="utf-8") as f:
        assert jsonl.write(big.entries(), f) == n
    restored = Library(tmp_path / "restored.sqlite3")
    restored.add(jsonl.imports(backup))
    restored.add(jsonl.imports(backup))  # every ID taken again: deleted in chunks
    again = tmp_path / "again.jsonl"
    with again.open("w", encoding="utf-8") as f:
        jsonl.write(restored.entries(), f)
    assert len(restored) == n and again.read_bytes() == backup.read_bytes()
    assert MAX_VARIABLES < 999
