"""One text's features as explanations need them: every n-gram occurrence and each feature's value.

A fast scorer (`app.core.engine.fast_scorer`, `app.core.engine.tfidf_fast`) fills this from its
own counts, and `app.core.engine.reference` from scikit-learn's vectorisers for models no fast
scorer covers; `app.core.engine.explain` turns either into term shares. numpy only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class BlockFeatures:
    """One feature block's view of one normalised text.

    ``rows``: the block's vocabulary row of every n-gram occurrence found in the vocabulary, in
    the analyser's order (word blocks: unigrams in text order, then bigrams; char_wb: within
    each chunk by n, then by offset). ``chunk``: for char_wb, the index in ``chunks`` (the
    text's lower-cased whitespace chunks) each occurrence was cut from; empty for word blocks.
    ``features``: the distinct rows, sorted; ``values``: their feature values, exactly what the
    block's vectoriser puts in the text's row (before the coefficients).
    """

    rows: np.ndarray
    chunk: np.ndarray
    chunks: list[str]
    features: np.ndarray
    values: np.ndarray


def distinct(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct rows (sorted) and how often each occurs."""
    features, counts = np.unique(np.asarray(rows, dtype=np.int64), return_counts=True)
    return features, counts


def count_idf_sqrt(rows: np.ndarray, idf: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``count * idf / sqrt(sum(count * idf**2))`` of each distinct row (the count-idf-sqrt map,
    `app.core.engine.additive`)."""
    features, counts = distinct(rows)
    weighted = counts * idf[features]
    norm2 = float(np.dot(counts, idf[features] * idf[features]))
    values = weighted / np.sqrt(norm2) if norm2 > 0 else np.zeros(len(features))
    return features, values


def sublinear_l2(rows: np.ndarray, idf: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(1 + ln count) * idf``, L2-normalised, of each distinct row (scikit-learn's
    TfidfVectorizer with ``sublinear_tf``)."""
    features, counts = distinct(rows)
    value = (1.0 + np.log(counts)) * idf[features]
    norm = float(np.sqrt(np.dot(value, value)))
    return features, (value / norm if norm > 0 else np.zeros(len(features)))
