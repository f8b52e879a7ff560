"""The answer library's memory: each entry's vector and profile are worked out when it is added,
stored beside the library file, read (never worked out) by searches, dropped with the entry, and
worked out again by `kijun library refresh` after the model or index changes; recall over the k
closest entries equals the brute-force computation; an import never holds up a search."""
from __future__ import annotations

import hashlib
import io
import os
import threading
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from search import fusion
from search.app import cli
from search.library import jsonl, recall
from search.library.memory import Sidecar
from search.library.recall import RecallParams
from search.library.store import ANSWERED, NOT_IN_DOCUMENT, Entry, Library, Source

LOCAL = "http://localhost"
ROOT = Path(__file__).resolve().parents[1]
DC = "データセンターへの入退室を記録していますか。"
PASSWORD = "パスワードの最低文字数を定めていますか。"
LOG = "取得したログを1年以上保存していますか。"


def entry(row: int, question: str, criteria: tuple[str, ...], file: str = "returned.xlsx") -> Entry:
    return Entry(f"L{file[:3]}{row:04d}", question, criteria, "回答" if criteria else "対象外",
                 ANSWERED if criteria else NOT_IN_DOCUMENT, Source(file, "チェックシート", row, "0" * 64,
                                                                "2026-12-01T10:00:00+09:00"))


ENTRIES = [entry(6, DC, ("実59", "実38")), entry(9, PASSWORD, ("実26",)), entry(14, LOG, ())]


def counting(engine) -> list[str]:
    """Every text the engine embeds from now on, but the thesaurus's terms (a query's synonyms, embedded once
    per engine beside it: a bounded set, not the library's)."""
    encoded: list[str] = []
    original = engine.encode_queries
    terms = {t for r in engine.thesaurus.rules for t in (*r.terms, *r.targets)}

    def encode_queries(texts):
        encoded.extend(t for t in texts if t not in terms)
        return original(texts)

    engine.encode_queries = encode_queries
    return encoded


@pytest.fixture
def added(engine, data_root, tmp_path) -> Library:
    """A library of ENTRIES, added as an import adds them (rows worked out first, then committed)."""
    from search.engine import Engine

    library = Library(tmp_path / "library.sqlite3")
    e = Engine(data_dir=data_root, library=library)
    e.memory().commit(ENTRIES, lambda: library.replace({"returned.xlsx": ENTRIES}))
    return library


def stored_ids(library: Library) -> list[str]:
    [path] = Sidecar(library.path).dir.glob("rows-*.npz")
    with np.load(path) as z:
        return sorted(map(str, z["ids"]))


def test_an_import_works_out_each_entrys_rows_and_stores_them_beside_the_library(engine, added, data_root):
    from search.engine import Engine

    e = Engine(data_dir=data_root, library=added)
    sidecar = e.memory().sidecar
    assert sidecar.dir == added.path.with_name("library.sqlite3.memory")
    rows = sidecar.load(e._recall_cache_key())
    assert sorted(rows.ids) == sorted(x.id for x in ENTRIES)
    assert rows.vectors.shape == (3, 384) and rows.profiles.shape == (3, len(engine.table))
    assert rows.profiles.dtype == np.float16
    at = {str(i): n for n, i in enumerate(rows.ids)}
    for x in ENTRIES:  # the question's own query vector, as a search for it has it
        assert float(rows.vectors[at[x.id]] @ engine.encode_query(x.question)) > 0.999
    assert not (data_root / "library").exists()  # nothing in the data directory (make clean deletes it)


def test_a_fresh_engine_reads_the_stored_rows_and_embeds_only_the_query(added, data_root):
    from search.engine import Engine

    fresh = Engine(data_dir=data_root, library=added)
    encoded = counting(fresh)
    result = fresh.search(DC)
    assert encoded == [DC]  # the query; no entry's question
    first = result.library[0]
    assert first.entry.id == ENTRIES[0].id and first.entry.criteria == ("実59", "実38")
    assert first.similarity == pytest.approx(1.0, abs=1e-3) and first.reused
    assert not [w for w in result.warnings if w.code.startswith("library")]


def test_kijun_library_add_works_rows_out_and_remove_drops_them(engine, data_root, tmp_path):
    library = Library(tmp_path / "library.sqlite3")
    backup = tmp_path / "backup.jsonl"
    with backup.open("w", encoding="utf-8") as f:
        jsonl.write(ENTRIES, f)
    env = {"KIJUN_LIBRARY": str(library.path), "KIJUN_DATA_DIR": str(data_root)}
    runner = CliRunner()
    done = runner.invoke(cli.main, ["library", "add", str(backup)], env=env)
    assert done.exit_code == 0, done.output
    assert stored_ids(library) == sorted(x.id for x in ENTRIES)
    done = runner.invoke(cli.main, ["library", "remove", ENTRIES[1].id], env=env)
    assert done.exit_code == 0, done.output
    assert stored_ids(library) == sorted([ENTRIES[0].id, ENTRIES[2].id])  # its row went with it
    done = runner.invoke(cli.main, ["library", "remove", "--source", "returned.xlsx"], env=env)
    assert done.exit_code == 0, done.output
    assert stored_ids(library) == []


def test_a_sheet_kept_beside_another_of_its_name_gets_rows_under_the_ids_the_import_gave_it(engine, data_root,
                                                                                           tmp_path):
    library = Library(tmp_path / "library.sqlite3")
    env = {"KIJUN_LIBRARY": str(library.path), "KIJUN_DATA_DIR": str(data_root)}
    for k, (question, criteria) in enumerate([(DC, "実59、実38"), (PASSWORD, "実26")]):
        folder = tmp_path / f"customer{k}"
        folder.mkdir()
        sheet = folder / "チェックシート_回答.csv"  # two customers' sheets, one file name
        sheet.write_text(f"質問,該当基準,回答案\n{question},{criteria},回答{k}\n", encoding="utf-8")
        done = CliRunner().invoke(cli.main, ["library", "add", str(sheet)], env=env)
        assert done.exit_code == 0, done.output
    entries = library.entries()
    assert len(entries) == 2  # the second kept beside the first, its ID salted by the import
    assert stored_ids(library) == sorted(e.id for e in entries)
    from search.engine import Engine

    result = Engine(data_dir=data_root, library=library).search(PASSWORD)
    assert result.library[0].entry.question == PASSWORD and not result.warnings


def test_re_importing_a_file_keeps_only_the_rows_of_its_new_entries(engine, added, data_root):
    from search.engine import Engine

    e = Engine(data_dir=data_root, library=added)
    encoded = counting(e)
    again = [ENTRIES[0], replace(ENTRIES[1], question="パスワードは何文字以上ですか。")]  # row 14 is gone
    e.memory().commit(again, lambda: added.replace({"returned.xlsx": again}))
    assert encoded == ["パスワードは何文字以上ですか。"]  # the unchanged question is not worked out again
    assert stored_ids(added) == sorted(x.id for x in again)
    rows = e.memory().sidecar.load(e._recall_cache_key())
    assert sorted(map(str, rows.questions)) == sorted(hashlib.sha256(x.question.encode()).hexdigest()[:16]
                                                      for x in again)


def test_a_running_engine_sees_another_processs_add_without_a_search_waiting_for_it(added, data_root):
    from search.engine import Engine

    serving = Engine(data_dir=data_root, library=added)
    serving.warm()
    encoded = counting(serving)
    late = entry(20, "ウイルス対策ソフトを導入していますか。", ("実14",), file="late.xlsx")
    adding = Engine(data_dir=data_root, library=Library(added.path))  # another process: `kijun library add`
    adding.memory().commit([late], lambda: adding.library.replace({"late.xlsx": [late]}))
    first = serving.search(late.question)  # answered by the memory it had; the new one loads meanwhile
    assert [p.entry.id for p in first.library if p.entry.id == late.id] == [] and not first.warnings
    assert serving.memory().settled()
    second = serving.search(late.question)
    assert second.library[0].entry.id == late.id
    assert encoded == [late.question, late.question]  # the queries; the new entry was read, not worked out


def test_entries_without_rows_are_left_out_and_the_search_says_so_until_refreshed(added, data_root):
    from search.engine import Engine

    late = entry(20, "ウイルス対策ソフトを導入していますか。", ("実14",), file="late.xlsx")
    added.replace({"late.xlsx": [late]})  # committed, its rows never stored (an add interrupted after the commit)
    e = Engine(data_dir=data_root, library=added)
    result = e.search(DC)
    assert [w.code for w in result.warnings if w.code.startswith("library")] == ["library_not_in_memory"]
    assert "1 entry of the answer library is not in its memory" in str(result.to_dict()["warnings"])
    assert result.library[0].entry.id == ENTRIES[0].id  # the rows it has still count
    worked_out, total = e.memory().refresh()
    assert (worked_out, total) == (1, 4)
    result = e.search(late.question)
    assert result.library[0].entry.id == late.id and not result.warnings


def test_a_changed_key_leaves_the_library_out_until_refresh_works_it_out_again(added, data_root, monkeypatch):
    from search.engine import Engine

    before = hashlib.sha256(added.path.read_bytes()).hexdigest()
    sidecar = Sidecar(added.path)
    [old] = sidecar.dir.glob("rows-*.npz")
    monkeypatch.setattr(fusion, "PROFILE", replace(fusion.PROFILE, passage=0.5))  # how profiles are made changed
    e = Engine(data_dir=data_root, library=added)
    result = e.search(DC)
    assert result.library == ()
    assert [w.code for w in result.warnings] == ["library_memory_stale"]
    assert "its 3 entries out until `kijun library refresh`" in str(result.warnings[0])
    encoded = counting(e)
    assert e.memory().refresh() == (3, 3)
    assert sorted(encoded) == sorted(x.question for x in ENTRIES)  # every entry worked out again
    assert not old.exists() and len(list(sidecar.dir.glob("rows-*.npz"))) == 1  # the old key's rows are gone
    result = e.search(DC)
    assert result.library[0].entry.id == ENTRIES[0].id and not result.warnings
    assert hashlib.sha256(added.path.read_bytes()).hexdigest() == before  # user data untouched


def test_where_rows_cannot_be_stored_the_process_keeps_them_and_says_so(engine, data_root, tmp_path):
    from search.engine import Engine

    library = Library(tmp_path / "library.sqlite3")
    Path(str(library.path) + ".memory").write_text("not a folder")  # the sidecar cannot be made here
    e = Engine(data_dir=data_root, library=library)
    room = e.memory()
    room.commit(ENTRIES, lambda: library.replace({"returned.xlsx": ENTRIES}))
    assert [n.code for n in room.notes] == ["library_memory_not_stored"]
    assert len(library) == 3  # the entries were added all the same
    result = e.search(DC)
    assert result.library[0].entry.id == ENTRIES[0].id and not result.warnings


# As root, write permission is not checked (CAP_DAC_OVERRIDE): the probe runs without those capabilities.
WITHOUT_OVERRIDES = ["setpriv", "--bounding-set=-dac_override,-dac_read_search,-fowner", "--"] \
    if os.geteuid() == 0 else []
READ_ONLY_PROBE = """
import json, sys
from search.engine import Engine
from search.library.store import Library
engine = Engine(data_dir=sys.argv[2], library=Library(sys.argv[1]))
first = engine.search(sys.argv[3])
engine.warm()  # what `kijun serve` does at start-up
settled = engine.memory().settled(300)
second = engine.search(sys.argv[3])
print(json.dumps({"first": [[w.code for w in first.warnings], [p.entry.id for p in first.library]],
                  "settled": settled, "notes": [n.code for n in engine.memory().notes],
                  "second": [[w.code for w in second.warnings], [p.entry.id for p in second.library]]}))
"""


def test_a_read_only_location_works_the_rows_out_for_the_process_and_never_crashes(engine, data_root, tmp_path):
    """A library without rows (written before its memory existed) in a folder this user cannot write: a
    search says the entries are not in memory; a server's start-up works them out for itself, with a
    note that they cannot be stored, and its searches then recall them. Run without root's overrides."""
    import json
    import subprocess
    import sys

    folder = tmp_path / "shared"
    folder.mkdir()
    library = Library(folder / "library.sqlite3")
    library.replace({"returned.xlsx": ENTRIES})
    library.entries()
    before = hashlib.sha256(library.path.read_bytes()).hexdigest()
    os.chmod(library.path, 0o444)
    os.chmod(folder, 0o555)
    try:
        done = subprocess.run([*WITHOUT_OVERRIDES, sys.executable, "-c", READ_ONLY_PROBE, str(library.path),
                               str(data_root), DC], capture_output=True, text=True, cwd=ROOT,
                              env={**os.environ, "PYTHONPATH": str(ROOT)})
        assert done.returncode == 0, done.stderr
        out = json.loads(done.stdout.splitlines()[-1])
    finally:
        os.chmod(folder, 0o755)
        os.chmod(library.path, 0o644)
    assert out["first"] == [["library_not_in_memory"], []]
    assert out["settled"] and out["notes"] == ["library_memory_not_stored"]
    assert out["second"][0] == [] and out["second"][1][0] == ENTRIES[0].id
    assert not Sidecar(library.path).dir.exists() and hashlib.sha256(library.path.read_bytes()).hexdigest() == before


def test_kijun_index_refreshes_the_library_memory(engine, added, data_root, monkeypatch):
    monkeypatch.setattr(fusion, "PROFILE", replace(fusion.PROFILE, passage=0.5))
    done = CliRunner().invoke(cli.main, ["index", "--data-dir", str(data_root)], env={"KIJUN_LIBRARY": str(added.path)})
    assert done.exit_code == 0, done.output
    assert "answer library memory: 3 of 3 entries worked out" in done.stderr


# ------------------------------------------------------------------ top-k recall against the oracle


def _random_library(n: int, dim: int = 48, docs: int = 30, seed: int = 0):
    rng = np.random.default_rng(seed)
    vectors = rng.standard_normal((n, dim)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    profiles = np.array([recall.profile(p) for p in rng.standard_normal((n, docs))])
    entry_docs = [[list(rng.choice(docs, rng.integers(1, 3), replace=False)) for _ in range(rng.integers(0, 4))]
                  for _ in range(n)]
    answered = rng.random(n) < 0.8
    entries = [Entry(f"e{j}", f"q{j}", (), "", ANSWERED, Source("f", None, j, "", "")) for j in range(n)]
    return vectors, recall.stored_profiles(profiles), recall.Support.of(entry_docs), answered, entries, rng


def _oracle(vectors, profiles, answered, support, n_docs, v, prof, params, allowed, entries) -> recall.Recalled:
    """Every entry's s, every close entry's support: the computation recall_top shortens."""
    s = recall.similarity(vectors, profiles, v, prof, params.profile)
    return recall.recalled(s, allowed, answered, support, n_docs, params, entries)


def _same(a: recall.Recalled, b: recall.Recalled) -> None:
    assert a.signal == pytest.approx(b.signal, rel=1e-6, abs=1e-9)
    assert (a.similarity, a.verdict, a.reused) == (pytest.approx(b.similarity, rel=1e-6), b.verdict, b.reused)
    assert [(p.entry.id, p.reused) for p in a.precedents] == [(p.entry.id, p.reused) for p in b.precedents]


@pytest.mark.parametrize("seed", range(5))
def test_top_k_recall_equals_the_oracle_when_the_close_entries_are_among_the_k(seed):
    n, docs = 3000, 30
    vectors, profiles, support, answered, entries, rng = _random_library(n, docs=docs, seed=seed)
    params = RecallParams(profile=0.6, threshold=0.85, steepness=2.0, reuse=0.93)
    checked = recalling = 0
    for q in range(40):
        near = rng.choice(n, rng.integers(1, 3), replace=False)  # a query close to one entry or two
        v = vectors[near].sum(axis=0) + 0.05 * rng.standard_normal(vectors.shape[1]).astype(np.float32)
        v = (v / np.linalg.norm(v)).astype(np.float32)
        prof = profiles[near[0]].astype(np.float32)
        allowed = rng.random(n) < 0.9
        want = _oracle(vectors, profiles, answered, support, docs, v, prof, params, allowed, entries)
        got = recall.recall_top(vectors, profiles, answered, support, docs, v, prof, params, allowed=allowed,
                                entries=entries, k=64)
        s = recall.similarity(vectors, profiles, v, prof, params.profile)
        top = set(np.argsort(-np.where(allowed, vectors @ v, -np.inf))[:64])
        close = set(np.flatnonzero(allowed & (s > params.threshold))) | {int(np.argmax(np.where(allowed, s, -np.inf)))}
        if close <= top:  # the true top entries: all that count, and the closest
            _same(got, want)
            checked += 1
            recalling += bool(want.precedents)
    assert checked >= 30 and recalling >= 10  # the condition held for most queries, and many recalled something


def test_with_k_at_least_the_library_recall_is_the_oracle_on_any_data():
    vectors, profiles, support, answered, entries, rng = _random_library(200, dim=8, docs=12, seed=7)
    params = RecallParams(profile=0.6, threshold=0.2, steepness=2.0, reuse=0.5)  # many entries count
    for _ in range(20):
        v = rng.standard_normal(8).astype(np.float32)
        v /= np.linalg.norm(v)
        prof = recall.profile(rng.standard_normal(12))
        allowed = rng.random(200) < 0.7
        want = _oracle(vectors, profiles, answered, support, 12, v, prof, params, allowed, entries)
        got = recall.recall_top(vectors, profiles, answered, support, 12, v, prof, params, allowed=allowed,
                                entries=entries, k=200)
        _same(got, want)
        assert want.signal.any()


# ------------------------------------------------------------------ imports never hold up a search


def test_searches_answer_while_an_import_commits_and_see_it_once_it_has(data_root, tmp_path, monkeypatch):
    """The import is held inside its final step (storing the rows, after its transaction committed):
    a search started then returns at once, without the new entries; after the import, it sees them."""
    from search.app.web import create_app
    from search.engine import Engine

    library = Library(tmp_path / "library.sqlite3")
    e = Engine(data_dir=data_root, library=library)
    e.memory().commit(ENTRIES[:1], lambda: library.replace({"first.xlsx": ENTRIES[:1]}))
    e.warm()
    storing, release = threading.Event(), threading.Event()
    original = Sidecar.store

    def held_store(self, *args, **kwargs):
        storing.set()
        assert release.wait(60), "the test never released the import"
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Sidecar, "store", held_store)
    sheet = "質問,該当基準,回答案\n" + f"{PASSWORD},実26,最低12文字です。\n"
    answer: dict[str, object] = {}
    with TestClient(create_app(e), base_url=LOCAL) as c:
        def add() -> None:
            r = c.post("/api/library", files={"file": ("second.csv", io.BytesIO(sheet.encode("utf-8")))},
                       data={"criteria_column": "該当基準", "answer_column": "回答案"})
            answer["status"], answer["body"] = r.status_code, r.text

        importer = threading.Thread(target=add)
        importer.start()
        try:
            assert storing.wait(60), "the import never reached its final step"
            assert len(library) == 2  # committed, and held
            r = c.get("/api/search", params={"q": PASSWORD})
            assert r.status_code == 200 and importer.is_alive()  # answered while the import is still held
            assert [p["question"] for p in r.json()["library"]] in ([], [DC])
        finally:
            release.set()
            importer.join(60)
        assert answer["status"] == 200, answer["body"]
        r = c.get("/api/search", params={"q": PASSWORD})
        assert r.json()["library"][0]["question"] == PASSWORD


def test_a_server_adding_a_document_works_out_the_librarys_memory_for_the_new_set(added, data_root, doc, tmp_path):
    """A document added (on the web, or by `kijun documents add` beside a running server) makes a new set of
    documents, for which the library has no rows: the server works them out itself, and its searches recall
    the past answers again without anybody running `kijun library refresh`."""
    from documents import MAPPING_MD

    from search.documents.live import LiveEngine
    from search.documents.store import DocumentStore
    from search.engine import Engine

    store = DocumentStore(tmp_path / "documents", bundled=doc)
    live = LiveEngine(Engine(data_dir=data_root, library=added), store)
    before = live.engine.search(PASSWORD)
    assert [p.entry.question for p in before.library][:1] == [PASSWORD] and not before.warnings, before.warnings

    store.add(MAPPING_MD.encode("utf-8"), "fisc-mapping.md", title="基盤 FISC対応表", label="基盤")
    assert live.refresh(wait=600) and live.engine.sources and live.settled(600)
    after = live.engine.search(PASSWORD)
    assert [p.entry.question for p in after.library][:1] == [PASSWORD]
    assert not [w for w in after.warnings if w.code.startswith("library")], after.warnings
    rows = Sidecar(added.path).load(live.engine._recall_cache_key())
    assert sorted(rows.ids) == sorted(e.id for e in ENTRIES) and rows.profiles.shape[1] == len(live.engine.table)


def test_only_really_close_past_questions_are_listed_though_nearer_ones_count_in_ranking():
    """s above τ counts a little in the ranking signal; only from `listed` is a past question shown as 近い質問."""
    entries = [entry(row, f"質問{row}", ("実26",)) for row in range(3)]
    support = recall.Support.of([[[0]], [[1]], [[2]]])
    params = RecallParams(threshold=0.8, steepness=1.0, reuse=0.95, listed=0.9)
    s = np.array([0.93, 0.85, 0.97])
    got = recall.recalled(s, np.ones(3, dtype=bool), np.ones(3, dtype=bool), support, 3, params, entries)
    assert [p.entry.question for p in got.precedents] == ["質問2", "質問0"]  # 0.85 is not listed …
    assert got.signal[1] == pytest.approx(0.25)  # … yet counts: (0.85 − 0.8) / (1 − 0.8)
    assert got.precedents[0].reused and not got.precedents[1].reused
    never_above_reuse = recall.recalled(s, np.ones(3, dtype=bool), np.ones(3, dtype=bool), support, 3,
                                        replace(params, listed=0.99), entries)
    assert [p.entry.question for p in never_above_reuse.precedents] == ["質問2"]  # the reused one is always shown
