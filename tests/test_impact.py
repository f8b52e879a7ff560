"""The impact arrays score exactly as Whoosh's BM25F scorer does; their pure functions on hand-made arrays."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from indexer import impact
from search.evaluation import load_eval_set
from search.query import parse_query

DEV = load_eval_set(Path(__file__).resolve().parents[1] / "eval" / "dev.jsonl")


def _same(numpy_hits, whoosh_hits):
    assert [h.doc_key for h in numpy_hits] == [h.doc_key for h in whoosh_hits]
    assert np.allclose([h.score for h in numpy_hits], [h.score for h in whoosh_hits], rtol=0, atol=1e-5)


def test_every_dev_query_scores_as_whoosh_scores_it(engine):
    ix = engine.keyword
    compared = 0
    for q in DEV:
        parsed = parse_query(q.query)
        if parsed.phrases:
            continue  # required phrases are Whoosh's own job
        kw = {"text": parsed.text, "excludes": parsed.excludes, "limit": 20}
        _same(ix.search(**kw), ix.whoosh_search(**kw))
        compared += 1
    assert compared >= 150


@pytest.mark.parametrize("filters", [{"aws_role": "primary"}, {"customer_role": "info", "series": "実務基準"},
                                     {"series": "変更履歴"}])
def test_filters_and_exclusions_as_whoosh(engine, filters):
    ix = engine.keyword
    for text, excludes in (("アクセス 管理 ログ", ["IAM"]), ("データセンター 物理的 アクセス", []),
                           ("準拠法 裁判所", [])):
        kw = {"text": text, "excludes": excludes, "filters": filters, "limit": 20}
        _same(ix.search(**kw), ix.whoosh_search(**kw))


def test_a_word_the_index_lacks_matches_nothing(engine):
    assert engine.keyword.search(text="食堂") == engine.keyword.whoosh_search(text="食堂") == []


def _matrix() -> impact.ImpactMatrix:
    # term 0 in documents 0 and 2, term 1 in document 2 only
    return impact.ImpactMatrix(terms={"a": 0, "b": 1}, indptr=np.array([0, 2, 3]), docs=np.array([0, 2, 2]),
                               weights=np.array([1.5, 0.5, 2.0]), df_max=np.array([2, 1]))


def test_scores_sum_the_rows_of_the_query_terms():
    m = _matrix()
    assert impact.scores([(m, [0, 1])], 4).tolist() == [1.5, 0.0, 2.5, 0.0]
    assert impact.scores([(m, m.ids(["b", "unknown"]))], 4).tolist() == [0.0, 0.0, 2.0, 0.0]
    assert impact.containing([(m, [0])], 4).tolist() == [True, False, True, False]


def test_top_k_best_first_ties_in_document_order():
    values = np.array([0.0, 2.0, 5.0, 2.0, 2.0, 1.0])
    assert impact.top_k(values, 3) == [2, 1, 3]
    assert impact.top_k(values, 10) == [2, 1, 3, 4, 5, 0]
    assert impact.top_k(values, 10, values > 0) == [2, 1, 3, 4, 5]
    mask = np.array([True, True, False, True, True, True])
    assert impact.top_k(values, 2, mask) == [1, 3]


def test_merge_adds_a_terms_weights_over_fields():
    docs, weights = impact._merge([(np.array([0, 3]), np.array([1.0, 2.0])), (np.array([3, 5]), np.array([0.5, 4.0]))])
    assert docs.tolist() == [0, 3, 5] and weights.tolist() == [1.0, 2.5, 4.0]


def test_save_and_load_round_trip(tmp_path):
    m = _matrix()
    impact.save(tmp_path / "i.npz", {"c": m}, {"doc_key": ["実1", "実2", "実3", "実4"]})
    matrices, columns = impact.load(tmp_path / "i.npz")
    assert matrices["c"].terms == m.terms and matrices["c"].weights.tolist() == m.weights.tolist()
    assert columns["doc_key"].tolist() == ["実1", "実2", "実3", "実4"]


def test_load_refuses_another_format(tmp_path):
    np.savez(tmp_path / "i.npz", format_version=np.array(99))
    with pytest.raises(ValueError, match="format 99"):
        impact.load(tmp_path / "i.npz")
