"""Damaged, half-written and concurrently rebuilt indexes.

Each test works on its own copy of the session's data directory, so damage
done here never reaches other tests.
"""
from __future__ import annotations

import json
import shutil
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner

from indexer import store
from indexer.keyword_index import KeywordIndex
from search.app.cli import main
from search.engine import Engine


@pytest.fixture
def data_copy(engine, tmp_path: Path) -> Path:
    dst = tmp_path / "data"
    shutil.copytree(engine.root, dst)
    return dst


def _largest_file(gen: Path) -> Path:
    return max((p for p in gen.iterdir() if p.name != store.META), key=lambda p: p.stat().st_size)


def _truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def test_truncated_keyword_file_is_named_in_a_clear_error(data_copy: Path):
    gen = store.current_generation(data_copy / "keyword")
    victim = _largest_file(gen)
    _truncate(victim)
    with pytest.raises(store.IndexCorrupted) as e:
        KeywordIndex(gen)
    assert victim.name in str(e.value) and "kijun index --rebuild" in str(e.value)


def test_truncated_index_is_rebuilt_with_a_message_and_search_still_answers(data_copy: Path):
    _truncate(_largest_file(store.current_generation(data_copy / "keyword")))
    said: list[str] = []
    e = Engine(data_dir=data_copy, notify=said.append)
    assert e.search("パスワード", mode="keyword").hits[0].id == "実26"
    assert any("damaged" in m and "rebuilding" in m for m in said)


def test_truncated_vectors_are_detected(data_copy: Path):
    gen = store.current_generation(data_copy / "embeddings" / "index")
    _truncate(gen / "vectors.npy")
    with pytest.raises(store.IndexCorrupted, match="vectors.npy"):
        store.read_meta(gen)
    said: list[str] = []
    e = Engine(data_dir=data_copy, notify=said.append)
    assert e.search("password policy", mode="semantic").hits
    assert any("vectors.npy" in m for m in said)


def test_index_from_another_format_version_is_rebuilt(data_copy: Path):
    gen = store.current_generation(data_copy / "keyword")
    meta = json.loads((gen / store.META).read_text(encoding="utf-8"))
    meta["format_version"] = 0
    (gen / store.META).write_text(json.dumps(meta), encoding="utf-8")
    said: list[str] = []
    e = Engine(data_dir=data_copy, notify=said.append)
    assert e.search("パスワード", mode="keyword").hits[0].id == "実26"
    assert said == ["keyword index is out of date (format_version changed); rebuilding"]
    assert store.current_generation(data_copy / "keyword") != gen


def test_pointer_to_a_missing_generation_is_reported(data_copy: Path):
    (data_copy / "keyword" / "CURRENT").write_text("gen-gone", encoding="utf-8")
    with pytest.raises(store.IndexCorrupted, match="gen-gone.*kijun index --rebuild"):
        store.current_generation(data_copy / "keyword")


def test_cli_rebuild_repairs_a_damaged_index(data_copy: Path):
    gen = store.current_generation(data_copy / "keyword")
    _truncate(_largest_file(gen))
    runner = CliRunner()
    r = runner.invoke(main, ["index", "--rebuild", "--keyword-only", "--data-dir", str(data_copy)])
    assert r.exit_code == 0, r.output
    new = store.current_generation(data_copy / "keyword")
    assert new != gen
    assert KeywordIndex(new).search(text="パスワード")[0].id == "実26"
    r = runner.invoke(main, ["search", "パスワード", "--mode", "keyword", "--data-dir", str(data_copy)])
    assert r.exit_code == 0 and r.output.lstrip().startswith("1. 実26")


def test_publish_leaves_another_builders_unfinished_generation_alone(tmp_path: Path):
    root = tmp_path / "idx"
    unfinished = store.new_generation(root)  # no meta.json yet: someone is still writing it
    done = []
    for _ in range(3):
        gen = store.new_generation(root)
        (gen / "f").write_text("x")
        store.publish(root, gen, {})
        done.append(gen)
    assert unfinished.exists()
    assert not done[0].exists() and done[1].exists() and done[2].exists()
    assert store.current_generation(root) == done[2]


def test_concurrent_builders_always_leave_a_live_finished_index(tmp_path: Path):
    """Builders racing to finish and publish (as two `kijun index` runs would) never
    delete each other's generation out from under `CURRENT`."""
    root = tmp_path / "idx"
    errors: list[str] = []

    def builder(n: int) -> None:
        for _ in range(5):
            gen = store.new_generation(root)
            (gen / "f").write_text(str(n))
            store.publish(root, gen, {"builder": n})
            name = store.live_name(root)
            try:
                store.read_meta(store.current_generation(root))
            except store.IndexCorrupted as e:
                if store.live_name(root) == name:  # not merely replaced twice since we looked
                    errors.append(str(e))

    threads = [threading.Thread(target=builder, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert store.read_meta(store.current_generation(root))["builder"] in range(6)
    assert len(list(root.glob("gen-*"))) == 2  # the live one and its predecessor


def test_searches_during_repeated_rebuilds_never_fail(data_copy: Path):
    """Readers in threads while another engine (as `kijun index --rebuild` would) rebuilds
    both indexes several times: every search sees the old or the new index."""
    reader = Engine(data_dir=data_copy)
    writer = Engine(data_dir=data_copy)
    queries = [("パスワード", "keyword", "実26"), ("パスワード", "hybrid", "実26"),
               ("password policy", "semantic", None), ("実55", "hybrid", "実55")]
    for q, mode, _ in queries:
        reader.search(q, mode=mode)
    stop = threading.Event()
    failures: list[str] = []
    done = [0]
    seen_generations: set[str] = set()

    def read() -> None:
        while not stop.is_set():
            for q, mode, top in queries:
                try:
                    hits = reader.search(q, mode=mode).hits
                    if not hits or (top and hits[0].id != top):
                        failures.append(f"{q}/{mode}: {[h.id for h in hits[:3]]}")
                    seen_generations.add(reader.keyword.dir.name)
                    done[0] += 1
                except Exception as e:  # counted, not raised: the point is to count them
                    failures.append(f"{q}/{mode}: {type(e).__name__}: {e}")

    threads = [threading.Thread(target=read) for _ in range(3)]
    for t in threads:
        t.start()
    try:
        for n in range(4):
            writer.build(rebuild=True, semantic=(n % 2 == 0))
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert failures == []
    assert done[0] > 20
    assert len(seen_generations) >= 2  # the readers really moved to rebuilt indexes


def test_a_fresh_index_is_used_as_is(engine):
    """Opening what was just built must not find it stale (a key clash once rebuilt it every time)."""
    said: list[str] = []
    e = Engine(data_dir=engine.root, notify=said.append)
    assert e.search("パスワード", mode="hybrid").hits[0].id == "実26"
    assert said == []
    assert e.keyword.dir == engine.keyword.dir and e.semantic().dir == engine.semantic().dir


def test_a_running_engine_does_not_undo_an_index_built_for_another_corpus(data_copy: Path, doc):
    """Another process indexes a changed document into the same directory: the running
    engine keeps serving what it opened and says so, instead of rebuilding over it."""
    from dataclasses import replace

    running = Engine(data_dir=data_copy)
    assert running.search("パスワード", mode="keyword").hits[0].id == "実26"
    served = running.keyword.dir
    changed = replace(doc, criteria=doc.criteria[:-1])  # 監5 dropped: another corpus hash
    Engine(data_dir=data_copy, document=changed).build(semantic=False)
    theirs = store.current_generation(data_copy / "keyword")
    said: list[str] = []
    running.notify = said.append
    for _ in range(3):
        assert running.search("パスワード", mode="keyword").hits[0].id == "実26"
    assert running.keyword.dir == served
    assert store.current_generation(data_copy / "keyword") == theirs  # not rebuilt over
    assert len(said) == 1 and "keeps the one it opened" in said[0]


def test_unreadable_index_is_a_clear_error_in_every_command_and_a_503_on_the_web(data_copy: Path, monkeypatch):
    from fastapi.testclient import TestClient

    from search.app.web import create_app

    def broken(*args, **kwargs):
        raise store.IndexCorrupted("the keyword index in /x cannot be read (OSError: disk)")

    monkeypatch.setattr(KeywordIndex, "search", broken)
    monkeypatch.setattr(KeywordIndex, "scores", broken)
    questions = data_copy / "questions.csv"
    questions.write_text("質問\nパスワードの規定はありますか\n", encoding="utf-8")
    evalset = data_copy / "eval.jsonl"
    evalset.write_text('{"query": "パスワード", "relevant": {"実26": 2}, "kind": "keyword"}\n', encoding="utf-8")
    runner = CliRunner()
    for args in (["search", "パスワード", "--mode", "keyword"],
                 ["answer", str(questions), "-o", str(data_copy / "out.csv"), "--mode", "keyword"],
                 ["eval", str(evalset), "--mode", "keyword"]):
        r = runner.invoke(main, [*args, "--data-dir", str(data_copy)])
        assert r.exit_code == 1, (args, r.output)
        error = r.output.strip().splitlines()[-1]  # `answer` says what it detected in the file first
        assert error.startswith("Error: the keyword index in /x cannot be read") and "kijun index --rebuild" in error
        assert "Traceback" not in r.output
    with TestClient(create_app(Engine(data_dir=data_copy)), raise_server_exceptions=False,
                    base_url="http://localhost") as client:
        api = client.get("/api/search", params={"q": "パスワード", "mode": "keyword"})
        assert api.status_code == 503 and "kijun index --rebuild" in api.json()["detail"]
        page = client.get("/", params={"q": "パスワード", "mode": "keyword"})
        assert page.status_code == 503 and "索引を読み込めません" in page.text


def test_same_size_damage_to_the_vectors_is_caught_by_its_checksum_and_rebuilt(data_copy: Path):
    gen = store.current_generation(data_copy / "embeddings" / "index")
    vectors = gen / "vectors.npy"
    data = bytearray(vectors.read_bytes())
    data[-4096:] = bytes(4096)  # zeros over the last vectors: same size, other numbers
    vectors.write_bytes(bytes(data))
    with pytest.raises(store.IndexCorrupted, match="vectors.npy has changed since it was built"):
        store.read_meta(gen)
    said: list[str] = []
    e = Engine(data_dir=data_copy, notify=said.append)
    assert e.search("パスワード", mode="hybrid").hits[0].id == "実26"
    assert any("vectors.npy has changed" in m and "rebuilding" in m for m in said)
    assert store.current_generation(data_copy / "embeddings" / "index") != gen


def test_an_index_without_checksums_is_rebuilt(data_copy: Path):
    gen = store.current_generation(data_copy / "keyword")
    meta = json.loads((gen / store.META).read_text(encoding="utf-8"))
    del meta["sha256"]
    (gen / store.META).write_text(json.dumps(meta), encoding="utf-8")
    said: list[str] = []
    assert Engine(data_dir=data_copy, notify=said.append).search("パスワード", mode="keyword").hits[0].id == "実26"
    assert said == [f"the index in {gen} is damaged (meta.json lists no checksums (an index built by an older "
                    "kijun)); rebuilding"]


def test_a_phrase_query_on_an_index_damaged_while_serving_is_a_503(data_copy: Path):
    """Whoosh reads its table of contents again for every phrase query: damage made after the server
    opened the index shows there, and must be the README's 503, not a 500 with a pickle traceback."""
    from fastapi.testclient import TestClient

    from search.app.web import create_app

    engine = Engine(data_dir=data_copy)
    with TestClient(create_app(engine), raise_server_exceptions=False, base_url="http://localhost") as client:
        assert client.get("/api/search", params={"q": '"パスワード"', "mode": "keyword"}).status_code == 200
        toc = next(store.current_generation(data_copy / "keyword").glob("*.toc"))
        data = bytearray(toc.read_bytes())
        data[40:104] = bytes(range(64))
        toc.write_bytes(bytes(data))
        for q in ('"パスワード"', '"アクセス権限" ログ'):
            r = client.get("/api/search", params={"q": q, "mode": "keyword"})
            assert r.status_code == 503 and r.json()["code"] == "index_unreadable", r.text
            assert "kijun index --rebuild" in r.json()["detail"] and "Traceback" not in r.text
        page = client.get("/", params={"q": '"パスワード"'})
        assert page.status_code == 503 and "索引を読み込めません" in page.text


def test_a_damaged_index_in_a_folder_that_cannot_be_written_is_one_line(data_copy: Path, monkeypatch):
    """A read-only data directory (root can write anywhere, so the refusal is the OS's answer, simulated)."""
    _truncate(_largest_file(store.current_generation(data_copy / "keyword")))

    def read_only(root: Path) -> Path:
        raise PermissionError(13, "Permission denied", str(root))

    monkeypatch.setattr(store, "new_generation", read_only)
    r = CliRunner().invoke(main, ["search", "パスワード", "--mode", "keyword", "--data-dir", str(data_copy)])
    assert r.exit_code == 1 and "Traceback" not in r.output
    assert r.output.strip().splitlines()[-1] == (
        f"Error: cannot build the keyword index in {data_copy / 'keyword'} (Permission denied); make the folder "
        "writable, or give a writable one with --data-dir or KIJUN_DATA_DIR")
