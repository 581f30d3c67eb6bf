"""Explanations come from the fast scorers' own counts, and equal the scikit-learn ones.

`old_explain` below is the explanation as it was computed before (scikit-learn's vectorisers,
verbatim): for both bundled models and many texts, the fast path gives the same terms, each
contribution within 1e-9, the same bias and logit; and each block's feature values equal the
vectoriser's row. The scikit-learn path stays for models no fast scorer covers.
"""

from __future__ import annotations

import re
import string
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.core.engine.explain import Explanation, TermContribution, _token_keys, explain_text
from app.core.engine.model import PROBE_TEXTS, LinearTextModel
from app.core.engine.normalize import normalize_text
from app.core.engine.reference import block_features
from app.core.engine.scoring import Scorer

MODELS = Path(__file__).resolve().parents[1] / "models"
BUNDLES = ("abuse-lr-1.0.0", "abuse-lr-2.0.0")


def old_explain(model: LinearTextModel, text: str) -> Explanation:
    """The scikit-learn computation explain_text used before the fast path (kept verbatim)."""
    normalized = normalize_text(text)
    slope = model.calibration_slope
    shares: dict[str, float] = defaultdict(float)
    total = 0.0
    for block in model.blocks:
        row = block.vectorizer.transform([normalized])
        weights = np.asarray(row.data) * model.coef[block.offset + row.indices] * slope
        per_feature = dict(zip(row.indices.tolist(), weights.tolist(), strict=True))
        total += float(weights.sum())
        analyzer = block.vectorizer.build_analyzer()
        vocab = block.vectorizer.vocabulary_
        if block.vectorizer.analyzer == "word":
            grams = [g for g in analyzer(normalized) if g in vocab]
            counts: dict[str, int] = defaultdict(int)
            for gram in grams:
                counts[gram] += 1
            for gram in grams:
                share = per_feature[vocab[gram]] / counts[gram]
                words = gram.split(" ")
                for word in words:
                    shares[word] += share / len(words)
        else:
            preprocessed = block.vectorizer.build_preprocessor()(normalized)
            per_token = [
                (tok, [g for g in analyzer(tok) if g in vocab]) for tok in preprocessed.split()
            ]
            counts = defaultdict(int)
            for _, grams in per_token:
                for gram in grams:
                    counts[gram] += 1
            for token, grams in per_token:
                token_share = sum(per_feature[vocab[g]] / counts[g] for g in grams)
                keys = _token_keys(token)
                for key in keys:
                    shares[key] += token_share / len(keys)
    logit = slope * (total / slope + model.intercept) + model.calibration_offset
    bias = slope * model.intercept + model.calibration_offset
    terms = [TermContribution(term, value) for term, value in shares.items() if value != 0.0]
    terms.sort(key=lambda t: abs(t.contribution), reverse=True)
    return Explanation(logit=logit, bias=bias, terms=terms)


@pytest.fixture(scope="module", params=BUNDLES)
def model(request: pytest.FixtureRequest) -> LinearTextModel:
    loaded = Scorer.load(MODELS / request.param).model
    assert loaded.fast is not None  # both bundled models explain on the fast path
    return loaded


def assert_same(new: Explanation, old: Explanation) -> None:
    assert new.bias == old.bias
    assert new.logit == pytest.approx(old.logit, abs=1e-9, rel=0)
    got = {t.term: t.contribution for t in new.terms}
    want = {t.term: t.contribution for t in old.terms}
    # A share that is 0.0 in one summation order may be ~1e-17 in the other: only those differ.
    for term in set(got) ^ set(want):
        assert abs(got.get(term, 0.0) - want.get(term, 0.0)) <= 1e-9, term
    for term in set(got) & set(want):
        assert got[term] == pytest.approx(want[term], abs=1e-9, rel=0), term
    # strongest first: the order agrees wherever the contributions are not within rounding
    strengths = [abs(t.contribution) for t in new.terms]
    assert strengths == sorted(strengths, reverse=True)


def check(model: LinearTextModel, text: str) -> None:
    assert_same(explain_text(model, text), old_explain(model, text))
    normalized = normalize_text(text)
    assert model.fast is not None
    for block, part in zip(model.blocks, model.fast.text_features(normalized), strict=True):
        reference = block_features(block, normalized)
        np.testing.assert_array_equal(part.features, reference.features)
        np.testing.assert_allclose(part.values, reference.values, rtol=0, atol=1e-12)
        assert sorted(part.rows.tolist()) == sorted(reference.rows.tolist())
        assert part.chunks == reference.chunks


HAND_TEXTS = [
    *PROBE_TEXTS,
    "",
    "   ",
    "!!!",
    "you are an idiot",
    "RT @bob: lovely day http://t.co/x https://example.com/a?b=c @alice",
    "xxurl xxuser xxurl idiot idiot idiot xxuser",
    "idiot idiot idiot idiot stupid stupid idiot",
    "ﬁne ǅ ß ΣΑΣ 🙂 café naïve résumé Ångström",
    "you're a f*cking m0ron!!! stop it... NOW",
    "a" * 300 + " " + "ab" * 200,
    "supercalifragilisticexpialidocious" * 20,
    "hello\tworld\nnew line\r\nand\u00a0nbsp\u2003em-space",
    "word-with-hyphens and under_scores and 123 numbers 4ever",
    "I'll kill it at the gym 💪💪 #goals #GOALS @friend",
]


@pytest.mark.parametrize("text", HAND_TEXTS)
def test_the_fast_explanation_equals_the_scikit_learn_one(model, text):
    check(model, text)


_WORDS = st.sampled_from(
    [
        "idiot", "you", "are", "an", "stupid", "hate", "love", "xxurl", "xxuser", "the",
        "café", "naïve", "ÉCOLE", "straße", "Ωmega", "😂", "🤬", "fuck", "b*tch", "RT",
        "@someone", "http://t.co/abc", "www.example.org", "#tag", "&amp;", "don't", "ok",
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "x_y", "42", "s.o.b.",
    ]
)  # fmt: skip
_NOISE = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=40)
_PIECES = st.one_of(
    _WORDS,
    _WORDS.map(str.upper),
    _NOISE,
    st.text(alphabet=string.punctuation + " ", max_size=10),
    st.text(alphabet="abcdéèêàç", min_size=30, max_size=120),  # very long tokens
)
_SEPARATORS = st.sampled_from([" ", "  ", "\n", "\t", "", ", ", "!", " ... "])


@st.composite
def texts(draw: st.DrawFn) -> str:
    pieces = draw(st.lists(st.tuples(_PIECES, _SEPARATORS), max_size=30))
    text = "".join(p + s for p, s in pieces)
    if draw(st.booleans()):  # repeated words
        text += (" " + draw(_WORDS)) * draw(st.integers(1, 8))
    return text


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=texts())
def test_generated_texts_explain_the_same_way(model, text):
    check(model, text)


def test_a_model_no_fast_scorer_covers_still_explains_with_scikit_learn(model, monkeypatch):
    """The reference path (`block_features`) gives the old explanation too."""
    monkeypatch.setattr(model, "fast", None)
    for text in HAND_TEXTS:
        assert_same(explain_text(model, text), old_explain(model, text))


def test_a_char_block_without_integer_keys_explains_chunk_by_chunk(model):
    """A char alphabet too large for integer keys: `rows_of` falls back to `chunk_rows`."""
    part_blocks = [b for b in model.blocks if b.analyzer == "char_wb"]
    from app.core.engine.fast_chars import CharBlock

    for block in part_blocks:
        zeros = np.zeros(len(block.terms))
        fast = CharBlock(block, block.terms, zeros, zeros)
        slow = CharBlock(block, block.terms, zeros, zeros)
        slow.table = None
        chunks = normalize_text("You are an IDIOT!! café 💪 xxurl " + "z" * 50).lower().split()
        got, want = slow.rows_of(chunks), fast.rows_of(chunks)
        by_chunk = np.argsort(want[1], kind="stable")  # the same order within each chunk
        np.testing.assert_array_equal(got[0], want[0][by_chunk])
        np.testing.assert_array_equal(got[1], want[1][by_chunk])


def test_terms_and_logit_agree_with_the_score(model):
    text = "you are an idiot and everyone hates you"
    explanation = explain_text(model, text)
    logit = float(model.calibrated_logits([text])[0])
    assert explanation.logit == pytest.approx(logit, abs=1e-9)
    parts = explanation.bias + sum(t.contribution for t in explanation.terms)
    assert parts == pytest.approx(logit, abs=1e-9)
    assert re.fullmatch(r"\w+", explanation.terms[0].term)
