"""Which model judges a search, and what it reads (no engine: evidence and models set explicitly)."""
from __future__ import annotations

from dataclasses import replace

from search.answerability import (ANSWERED, FOUND_MEANING, FOUND_SYNONYMS, FOUND_WORDS, NO_MATCH, Evidence, Logistic,
                                  Models, judge, sigmoid)


def constant(bias: float) -> Logistic:
    """A model that says the same whatever it reads: p = σ(bias), answered from 0.5."""
    return Logistic(("coverage",), (0.0,), bias, (0.0,), (1.0,), threshold=0.5, high=0.9)


MODELS = Models(semantic=constant(4.0), keyword=constant(-4.0))  # the semantic one answers, the keyword one does not
WORDS_SEEN = Evidence(coverage=0.4, unknown=0.0, missing=0.5, keyword_strength=0.6, words=0.7, latin=0.0)
SEMANTIC = replace(WORDS_SEEN, cosine_top=0.88, sentence_top=0.87, cosine_z=3.0, cosine_gap=0.01, agreement=0.0)


def test_a_longer_text_is_judged_by_the_semantic_model_a_keyword_search_by_the_keyword_one():
    assert judge(SEMANTIC, MODELS).status == ANSWERED and judge(SEMANTIC, MODELS).score == sigmoid(4.0)
    assert judge(WORDS_SEEN, MODELS).status == NO_MATCH and judge(WORDS_SEEN, MODELS).score == sigmoid(-4.0)


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
    assert (seen.status, seen.found_by) == (ANSWERED, FOUND_MEANING)  # keyword ranking's hits hold a synonym
    assert judge(replace(term, by_keyword=None, found_by=FOUND_SYNONYMS), MODELS).status == ANSWERED


def test_a_term_has_a_threshold_of_its_own_in_either_mode():
    lenient = replace(constant(-4.0), threshold=0.01)  # the keyword model's weights, a lower threshold
    models = replace(MODELS, term=lenient)
    term = replace(WORDS_SEEN, term=True, found_by=FOUND_MEANING)
    assert judge(term, models).status == ANSWERED  # keyword mode
    assert judge(replace(SEMANTIC, term=True, found_by=FOUND_MEANING, by_keyword=term), models).status == ANSWERED
    assert judge(WORDS_SEEN, models).status == NO_MATCH  # a longer text: the keyword model's own threshold
    assert Models.from_dict(models.to_dict()) == models and Models.from_dict(MODELS.to_dict()).term is None
