"""The reference featurisation with scikit-learn and SciPy: what explanations, the tests and
models no fast scorer covers use (`app.core.engine.fast_scorer` and `tfidf_fast` reproduce it
within 1e-9 without either library).

scikit-learn and SciPy take ~0.9 s and ~90 MB to import, so every import here is inside the
function that needs it: importing this module costs nothing, and a count-idf-sqrt model scores
in the GUI and in every batch worker without loading them. With `app.core.engine.additive` this
is the only runtime module allowed to import them (the import-linter contract in pyproject.toml).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, TypeAlias

import numpy as np

from app.core.bundles.token_patterns import NAME_KEY, TEXT_KEY, resolve
from app.core.engine.feature_settings import check_settings

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


def sigmoid(logits: np.ndarray) -> np.ndarray:
    """SciPy's ``expit``: the probability of each logit (exact for large magnitudes)."""
    from scipy.special import expit

    return np.asarray(expit(logits), dtype=np.float64)
