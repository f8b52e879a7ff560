"""The engine on a synthetic corpus of 1,000 criteria: IDs past 999, and gates (exclusions,
required phrases, filters) that must hold over the whole document set, not the first
few hundred keyword matches."""
from __future__ import annotations

import importlib.util
import shutil
import unicodedata
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from search.app.cli import main
from indexer import keyword_index
from search.engine import Engine
from search.query import parse_query

pytestmark = pytest.mark.scored

N = 1000


def _synthetic_module():
    spec = importlib.util.spec_from_file_location("synthetic", Path(__file__).parents[1] / "bench" / "synthetic.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def big(engine: Engine, tmp_path_factory: pytest.TempPathFactory) -> Engine:
    """1,000 criteria recombined from the real passages (unedited, so the session's embedding
    cache covers every passage and nothing is embedded again), indexed as a large corpus is:
    by parallel writers into several Whoosh segments."""
    root = tmp_path_factory.mktemp("big")
    shutil.copytree(engine.root / "embeddings" / "index" / "cache", root / "embeddings" / "index" / "cache")
    doc = _synthetic_module().synthetic_document(N, seed=1, source=engine.doc, edit_rate=0.0)
    e = Engine(data_dir=root, document=doc)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(keyword_index, "PARALLEL_FROM", 100)
        e.build()
    return e


def test_a_multi_segment_index_scores_as_whoosh(big: Engine):
    ix = big.keyword
    assert len(ix._ix.reader().leaf_readers()) > 1  # several segments, so document numbers are offsets
    for text in ("アクセス権限の管理", "データセンター 物理的 アクセス 監視", "バックアップ 暗号化", "パスワード"):
        ours, whoosh = ix.search(text=text, limit=20), ix.whoosh_search(text=text, limit=20)
        assert [h.doc_key for h in ours] == [h.doc_key for h in whoosh]
        assert all(abs(a.score - b.score) < 1e-6 for a, b in zip(ours, whoosh))
        sig = big.signals(parse_query(text), {}, "keyword")
        assert np.array_equal(sig.keyword[[big._position[h.doc_key] for h in whoosh]],
                              np.array([h.score for h in whoosh])) or \
            all(abs(sig.keyword[big._position[h.doc_key]] - h.score) < 1e-6 for h in whoosh)
        if sig.holding is not None and sig.holding.any():
            continue  # a term ranks the documents holding its words as written first (test_thesaurus_search)
        # the engine's own path (table order, masks, top k) ranks the same; equal scores may sit in
        # another order, as it breaks ties by the document table rather than by Whoosh's numbering
        scores = sig.keyword
        ranked = big.search(text, mode="keyword", limit=20).ranking[:20]
        ours = _by_score((i, scores[big._position[i]]) for i in ranked)
        theirs = _by_score((h.id, h.score) for h in whoosh)
        cut = min(ours)  # the last score group may be cut at a different member
        assert {k: v for k, v in ours.items() if k > cut} == {k: v for k, v in theirs.items() if k > cut}


def _by_score(pairs) -> dict[float, set[str]]:
    groups: dict[float, set[str]] = {}
    for cid, score in pairs:
        groups.setdefault(round(float(score), 6), set()).add(cid)
    return groups


def _text(engine: Engine, key: str) -> str:
    d = engine.table[key]
    return unicodedata.normalize("NFKC", "\n".join(t for _, t in d.display_passages)).lower()


@pytest.mark.parametrize("mode", ["semantic", "hybrid"])
@pytest.mark.parametrize("word", ["AWS", "aws"])
def test_exclusion_holds_over_every_document(big: Engine, mode: str, word: str):
    containing = [d.key for d in big.table if word.lower() in _text(big, d.key)]
    assert len(containing) > 500  # more than any cut-off candidate list
    r = big.search(f"アクセス権限の管理 -{word}", mode=mode, limit=200)
    assert r.hits
    assert [h.id for h in r.hits if word.lower() in _text(big, h.id)] == []


def test_required_phrase_keeps_every_document_that_has_it(big: Engine):
    having = {d.key for d in big.table if "監視" in _text(big, d.key)}
    assert 200 < len(having) < N
    r = big.search('"監視" データの暗号化', mode="semantic", limit=200)
    assert len(r.hits) == 200 and {h.id for h in r.hits} <= having


def test_ids_past_999_are_ids(big: Engine):
    r = big.search("実1000", mode="keyword")
    assert r.hits[0].id == "実1000" and r.warnings == ()
    r = big.search("実1001", mode="keyword")
    assert "実1001" not in r.ids and tuple(map(str, r.warnings)) == ("no criterion 実1001 in this document (it has "
                                                                     "実1–実1000)",)


def test_cli_warns_about_a_criterion_the_document_lacks(data_root: Path, engine: Engine):
    out = CliRunner().invoke(main, ["search", "実1000", "--mode", "keyword", "--data-dir", str(data_root)])
    assert out.exit_code == 0, out.output
    assert "! no criterion 実1000 in this document" in out.output


def test_an_id_respects_the_filters(engine: Engine):
    assert engine.search("実26", mode="keyword").hits[0].id == "実26"
    r = engine.search("実26", mode="keyword", aws="info")
    assert "実26" not in r.ids and tuple(map(str, r.warnings)) == (
        "実26 does not match the filters, phrases or exclusions, so it is not listed",)
    r = engine.search("実26 パスワード", mode="hybrid", aws="info")
    assert "実26" not in r.ids and r.hits  # other criteria still answer the words
    assert all(h.aws_role == "info" for h in r.hits)
