"""Which model judges a search, and what it reads (no engine: evidence and models set explicitly)."""
from __future__ import annotations

from dataclasses import replace

import math

import numpy as np
import pytest

from search import fitting
from search.answerability import (ANSWERED, FOUND_MEANING, FOUND_SYNONYMS, FOUND_WORDS, NO_MATCH, Evidence, Logistic,
                                  Models, judge, load_models, sigmoid)


def constant(bias: float) -> Logistic:
    """A model that says the same whatever it reads: p = σ(bias), answered from 0.5."""
    return Logistic(("coverage",), (0.0,), bias, (0.0,), (1.0,), threshold=0.5, high=0.9)


MODELS = Models(semantic=constant(4.0), keyword=constant(-4.0))  # the semantic one answers, the keyword one does not
WORDS_SEEN = Evidence(coverage=0.4, unknown=0.0, missing=0.5, keyword_strength=0.6, words=0.7, latin=0.0)
SEMANTIC = replace(WORDS_SEEN, cosine_top=0.88, sentence_top=0.87, cosine_z=3.0, cosine_gap=0.01, agreement=0.0)


def test_a_longer_text_is_judged_by_the_semantic_model_a_keyword_search_by_the_keyword_one():
    assert judge(SEMANTIC, MODELS).status == ANSWERED and judge(SEMANTIC, MODELS).score == sigmoid(4.0)
    assert judge(WORDS_SEEN, MODELS).status == NO_MATCH and judge(WORDS_SEEN, MODELS).score == sigmoid(-4.0)
    lower = replace(MODELS, keyword=replace(MODELS.keyword, threshold=0.01))
    assert (judge(WORDS_SEEN, lower).threshold, judge(SEMANTIC, lower).threshold) == (0.01, 0.5)


def test_a_term_with_semantic_scores_is_judged_on_what_keyword_ranking_saw():
    term = replace(SEMANTIC, term=True, found_by=FOUND_MEANING, by_keyword=replace(WORDS_SEEN, term=True))
    m = judge(term, MODELS)
    assert (m.status, m.score, m.found_by) == (NO_MATCH, sigmoid(-4.0), FOUND_MEANING)
    assert MODELS.judging(term) == (MODELS.keyword, term.by_keyword)
    assert MODELS.model_for(semantic=True, term=True) is MODELS.keyword
    assert MODELS.model_for(semantic=True, term=False) is MODELS.semantic
    # keyword ranking found nothing: nothing to read, score 0
    assert judge(replace(term, by_keyword=None), MODELS).score == 0.0


def test_a_term_whose_words_a_hit_holds_is_answered_whichever_hits_hold_them():
    term = replace(SEMANTIC, term=True, found_by=FOUND_MEANING, by_keyword=replace(WORDS_SEEN, term=True))
    shown = judge(replace(term, found_by=FOUND_WORDS), MODELS)  # the hits shown hold its words
    assert (shown.status, shown.score, shown.found_by) == (ANSWERED, 0.5, FOUND_WORDS)
    seen = judge(replace(term, by_keyword=replace(term.by_keyword, found_by=FOUND_SYNONYMS)), MODELS)
    assert (seen.status, seen.found_by) == (ANSWERED, FOUND_SYNONYMS)  # keyword ranking's hits hold a synonym:
    # the document has the words, so the page must not say it does not
    assert judge(replace(term, by_keyword=None, found_by=FOUND_SYNONYMS), MODELS).status == ANSWERED


def test_a_term_has_a_threshold_of_its_own_in_either_mode():
    lenient = replace(constant(-4.0), threshold=0.01)  # the keyword model's weights, a lower threshold
    models = replace(MODELS, term=lenient)
    term = replace(WORDS_SEEN, term=True, found_by=FOUND_MEANING)
    assert judge(term, models).status == ANSWERED  # keyword mode
    assert judge(replace(SEMANTIC, term=True, found_by=FOUND_MEANING, by_keyword=term), models).status == ANSWERED
    assert judge(WORDS_SEEN, models).status == NO_MATCH  # a longer text: the keyword model's own threshold
    assert Models.from_dict(models.to_dict()) == models and Models.from_dict(MODELS.to_dict()).term is None


def test_the_terms_threshold_is_chosen_over_terms_as_they_are_judged(monkeypatch):
    """p = σ(10 · (coverage − 0.5)); at most 4 % of the answerable terms may be flagged: none of these six."""
    monkeypatch.setattr(fitting, "MAX_FLAGGED_ANSWERABLE_TERMS", 0.04)
    keyword = Logistic(("coverage",), (1.0,), 0.0, (0.5,), (0.1,), threshold=0.5, high=0.9)

    def searched(coverage: float, *, term: bool = True, found_by: str = FOUND_MEANING) -> Evidence:
        seen = replace(WORDS_SEEN, coverage=coverage, term=term)
        return replace(SEMANTIC, coverage=coverage, term=term, found_by=found_by if term else None,
                       by_keyword=seen if term else None)

    cases = [(0.9, True), (0.8, True), (0.7, True), (0.6, True), (0.45, True), (0.2, False), (0.3, False),
             (0.55, False)]
    evidence = [searched(c) for c, _ in cases] + [
        searched(0.1, found_by=FOUND_WORDS),  # answerable, its words held: answered whatever its score
        searched(0.0, term=False)]  # a longer text: not the terms' to judge
    y = np.array([a for _, a in cases] + [True, True])
    term = fitting.fit_term(keyword, evidence, y, np.ones(len(y), dtype=bool))
    assert term.threshold == pytest.approx(sigmoid(-0.5))  # the lowest answerable term's score: flags 0.2, 0.3
    assert (term.features, term.weights, term.bias) == (keyword.features, keyword.weights, keyword.bias)
    assert term.high == pytest.approx(sigmoid(0.5) + 1e-6)  # above every unanswerable term's score
    assert fitting.fit_term(keyword, evidence, y, np.zeros(len(y), dtype=bool)) is keyword  # no training terms


def test_a_search_that_found_nothing_is_flagged_whatever_the_threshold():
    assert fitting.scored(None, MODELS) == (0.0, math.inf)
    assert fitting.scored(SEMANTIC, MODELS) == (sigmoid(4.0), 0.5)


def test_the_shipped_models_judge_terms_with_the_keyword_models_weights():
    models = load_models()
    assert models.term is not None and models.term is not models.keyword
    assert (models.term.features, models.term.weights) == (models.keyword.features, models.keyword.weights)
    assert 0.0 < models.term.threshold < models.term.high < 1.0
