"""The engine on a synthetic corpus of 1,000 criteria: IDs past 999, and gates (exclusions,
required phrases, filters) that must hold over the whole document set, not the first
few hundred keyword matches."""
from __future__ import annotations

import importlib.util
import shutil
import unicodedata
from pathlib import Path

import pytest
from click.testing import CliRunner

from search.app.cli import main
from search.engine import Engine

N = 1000


def _synthetic_module():
    spec = importlib.util.spec_from_file_location("synthetic", Path(__file__).parents[1] / "bench" / "synthetic.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def big(engine: Engine, tmp_path_factory: pytest.TempPathFactory) -> Engine:
    """1,000 criteria recombined from the real passages (unedited, so the session's embedding
    cache covers every passage and nothing is embedded again)."""
    root = tmp_path_factory.mktemp("big")
    shutil.copytree(engine.root / "embeddings" / "index" / "cache", root / "embeddings" / "index" / "cache")
    doc = _synthetic_module().synthetic_document(N, seed=1, source=engine.doc, edit_rate=0.0)
    e = Engine(data_dir=root, document=doc)
    e.build()
    return e


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
    assert "実1001" not in r.ids and r.warnings == ("no criterion 実1001 in this document",)


def test_cli_warns_about_a_criterion_the_document_lacks(data_root: Path, engine: Engine):
    out = CliRunner().invoke(main, ["search", "実1000", "--mode", "keyword", "--data-dir", str(data_root)])
    assert out.exit_code == 0, out.output
    assert "! no criterion 実1000 in this document" in out.output


def test_an_id_respects_the_filters(engine: Engine):
    assert engine.search("実26", mode="keyword").hits[0].id == "実26"
    r = engine.search("実26", mode="keyword", aws="info")
    assert "実26" not in r.ids and r.warnings == ("実26 does not match the filters, so it is not listed",)
    r = engine.search("実26 パスワード", mode="hybrid", aws="info")
    assert "実26" not in r.ids and r.hits  # other criteria still answer the words
    assert all(h.aws_role == "info" for h in r.hits)
