"""The reference featurisation with scikit-learn and SciPy: what the tests, training and models
no fast scorer covers use (`app.core.engine.fast_scorer` and `tfidf_fast` reproduce it
within 1e-9 without either library).

scikit-learn and SciPy take ~0.9 s and ~90 MB to import, so every import here is inside the
function that needs it: importing this module costs nothing, and a count-idf-sqrt model scores
in the GUI and in every batch worker without loading them. With `app.core.engine.additive` this
is the only runtime module allowed to import them (the import-linter contract in pyproject.toml).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, TypeAlias

import numpy as np

from app.core.bundles.token_patterns import NAME_KEY, TEXT_KEY, resolve
from app.core.engine.feature_settings import check_settings
from app.core.engine.occurrences import BlockFeatures

if TYPE_CHECKING:  # for the type checker only: the feature matrix's type, named for other modules
    import scipy.sparse as sp

    FeatureMatrix: TypeAlias = sp.csr_matrix


def vectorizer_from_settings(
    settings: dict[str, Any], vocabulary: list[str], idf: np.ndarray
) -> Any:
    """Rebuild a fitted vectoriser from its settings, vocabulary and idf weights: scikit-learn's
    TfidfVectorizer, or the count-idf-sqrt map when the settings say ``weighting``."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    from app.core.engine.additive import CountIdfVectorizer

    check_settings(settings, vocabulary, idf)
    additive = "weighting" in settings
    kwargs = dict(settings)
    kwargs.pop("weighting", None)
    kwargs.pop(NAME_KEY, None)
    kwargs[TEXT_KEY] = resolve(settings)  # the code's own pattern (app.core.bundles.token_patterns)
    kwargs["ngram_range"] = tuple(kwargs.get("ngram_range", (1, 1)))
    vocabulary_map = {term: i for i, term in enumerate(vocabulary)}
    kind = CountIdfVectorizer if additive else TfidfVectorizer
    vectorizer = kind(vocabulary=vocabulary_map, dtype=np.float64, **kwargs)
    vectorizer.idf_ = idf
    return vectorizer


def stacked_features(vectorizers: Iterable[Any], normalized_texts: list[str]) -> FeatureMatrix:
    """Every block's features of already-normalised texts, side by side (one CSR matrix)."""
    import scipy.sparse as sp

    parts = [vectorizer.transform(normalized_texts) for vectorizer in vectorizers]
    return sp.hstack(parts, format="csr")


def block_features(block: Any, normalized: str) -> BlockFeatures:
    """One block's occurrences and feature values in one normalised text, by its scikit-learn
    vectoriser: explanations of models no fast scorer covers. ``block``: a model.FeatureBlock."""
    vectorizer = block.vectorizer
    row = vectorizer.transform([normalized])
    order = np.argsort(row.indices, kind="stable")
    features = np.asarray(row.indices, dtype=np.int64)[order]
    values = np.asarray(row.data, dtype=np.float64)[order]
    analyzer, vocab = vectorizer.build_analyzer(), vectorizer.vocabulary_
    if vectorizer.analyzer == "word":
        rows = [vocab[g] for g in analyzer(normalized) if g in vocab]
        return BlockFeatures(np.array(rows, np.int64), np.zeros(0, np.int64), [], features, values)
    # char_wb: each whitespace chunk on its own; the union is the document's n-grams
    chunks = vectorizer.build_preprocessor()(normalized).split()
    rows, owner = [], []
    for i, chunk in enumerate(chunks):
        found = [vocab[g] for g in analyzer(chunk) if g in vocab]
        rows += found
        owner += [i] * len(found)
    return BlockFeatures(
        np.array(rows, np.int64), np.array(owner, np.int64), chunks, features, values
    )


def sigmoid(logits: np.ndarray) -> np.ndarray:
    """The probability of each logit, bit for bit SciPy's ``expit`` (``1 / (1 + exp(-x))``
    with the C library's exp, which is also Python's ``math.exp``; numpy's vectorised exp
    differs in the last bit for ~2% of inputs), without importing SciPy."""
    z = np.asarray(logits, dtype=np.float64)
    negated = -z.reshape(-1)
    near = ~(negated < _EXP_SAFE)  # exp may overflow (or NaN): one at a time, rare
    exp = np.fromiter(
        map(math.exp, np.where(near, 0.0, negated).tolist()), np.float64, count=negated.size
    )
    for i in np.flatnonzero(near).tolist():
        exp[i] = _exp_or_inf(float(negated[i]))
    return (1.0 / (1.0 + exp)).reshape(z.shape)


_EXP_SAFE = 709.0  # math.exp overflows just above 709.78


def _exp_or_inf(x: float) -> float:
    try:
        return math.exp(x)
    except OverflowError:
        return math.inf
