"""Scoring, explanations and text normalisation."""

from __future__ import annotations

import math

import numpy as np
import pytest

from app.core.engine.explain import find_spans
from app.core.engine.normalize import URL_TOKEN, USER_TOKEN, dedupe_key, normalize_text
from app.core.engine.scoring import ABUSIVE, BENIGN, Scorer, label_for


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("@USER go home URL", f"{USER_TOKEN} go home {URL_TOKEN}"),
        ("RT @someone: look http://t.co/abc", f"{USER_TOKEN} look {URL_TOKEN}"),
        ("@a @b @c hi", f"{USER_TOKEN} hi"),
        ("fish &amp; chips &amp;#8220;", "fish & chips \u201c"),
        ("ART and RTX stay", "ART and RTX stay"),
        ("a url is not a URL", f"a url is not a {URL_TOKEN}"),
    ],
)
def test_normalization_maps_dataset_artifacts_to_one_placeholder(raw, expected):
    assert normalize_text(raw) == expected


def test_davidson_and_olid_spellings_normalize_identically():
    assert dedupe_key("RT @jack: You idiot http://t.co/x") == dedupe_key("@USER You idiot URL")


def test_label_rule_is_score_at_or_above_threshold():
    assert label_for(0.45, 0.45) == ABUSIVE
    assert label_for(np.nextafter(0.45, 0), 0.45) == BENIGN


def test_empty_text_is_an_explicit_result(tiny_training):
    scorer = Scorer.load(tiny_training.bundle_path)
    for text in ("", "   \n\t"):
        result = scorer.score_text(text, 0.45)
        assert result.empty and result.score is None and result.label == "empty"


def test_long_text_is_scored_truncated_and_marked(tiny_training):
    scorer = Scorer.load(tiny_training.bundle_path, max_chars=50)
    long_text = "you stupid idiot " * 20
    result = scorer.score_text(long_text, 0.45)
    assert result.truncated and result.chars == len(long_text)
    assert result.score == pytest.approx(scorer.model.predict_proba([long_text[:50]])[0], abs=0)
    assert not scorer.score_text("short", 0.45).truncated


def test_score_many_matches_single_scores(tiny_training):
    scorer = Scorer.load(tiny_training.bundle_path)
    texts = ["you idiot", "", "lovely coffee with a friend", "  "]
    scores, truncated, empty = scorer.score_many(texts)
    assert empty.tolist() == [False, True, False, True]
    assert np.isnan(scores[1]) and np.isnan(scores[3])
    assert scores[0] == pytest.approx(scorer.score_text(texts[0], 0.5).score, abs=1e-15)
    assert not truncated.any()


@pytest.mark.parametrize(
    "text",
    [
        "You are a stupid moron @USER http://x.y",
        "lovely sunny garden, thanks friend!!",
        "don't be dumb-dumb",
    ],
)
def test_explanation_adds_up_to_the_score(tiny_training, text):
    scorer = Scorer.load(tiny_training.bundle_path)
    explanation = scorer.explain(text, top_k=None)
    total = explanation.bias + sum(t.contribution for t in explanation.terms)
    assert 1 / (1 + math.exp(-total)) == pytest.approx(
        scorer.model.predict_proba([text])[0], abs=1e-9
    )
    strengths = [abs(t.contribution) for t in explanation.terms]
    assert strengths == sorted(strengths, reverse=True)


def test_explanation_points_at_the_abusive_word(tiny_training):
    scorer = Scorer.load(tiny_training.bundle_path)
    explanation = scorer.explain("our team meeting with a moron today", top_k=None)
    by_share = sorted(explanation.terms, key=lambda t: t.contribution)
    assert by_share[-1].term == "moron" and by_share[-1].contribution > 0
    assert by_share[0].term == "meeting" and by_share[0].contribution < 0


def test_find_spans_maps_terms_and_placeholders_back_to_the_text():
    text = "Idiot! you IDIOT, idiotic @bob see https://x.y/z"
    assert find_spans(text, "idiot") == [(0, 5), (11, 16)]
    assert find_spans(text, USER_TOKEN) == [(26, 30)]
    assert [text[a:b] for a, b in find_spans(text, URL_TOKEN)] == ["https://x.y/z"]


def test_bundled_model_separates_obvious_cases(bundled_scorer):
    scores = bundled_scorer.model.predict_proba(
        ["Thank you so much for the lovely dinner", "shut up you stupid bitch"]
    )
    assert scores[0] < 0.3 < 0.7 < scores[1]
