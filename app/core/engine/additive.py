"""The "count-idf-sqrt" feature map: TF-IDF whose every term adds to the score on its own.

Version 1 bundles use scikit-learn's TF-IDF with sublinear tf and L2 normalisation: a term's
value depends on how often it occurs (``1 + log(count)``) and the L2 norm of the whole document,
so a text can only be scored by building its full feature vector. This map is

    x_f = count_f * idf_f / sqrt(sum_g count_g * idf_g**2)        (per feature block)

which equals L2-normalised TF-IDF whenever no term repeats, and keeps both sums additive over
the occurrences of terms. The logit of a block is then ``sum(count_f * idf_f * coef_f) /
sqrt(sum(count_f * idf_f**2))``: two running sums per text. Character n-grams (``char_wb``) never
cross a space, so each word's two sums can be computed once and cached (`app.core.engine.fast_scorer`).
On validation it costs nothing measurable in ROC-AUC (see the model card of the first bundle
that uses it), and it scores an order of magnitude faster.

``CountIdfVectorizer`` is the reference implementation, used for training and explanations and
to check the fast scorer; it is a scikit-learn CountVectorizer whose output is reweighted.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import CountVectorizer


def smooth_idf(counts: sp.csr_matrix) -> np.ndarray:
    """scikit-learn's smoothed idf: ``log((1 + n) / (1 + df)) + 1``."""
    n = counts.shape[0]
    df = np.bincount(counts.indices, minlength=counts.shape[1])
    return np.log((1.0 + n) / (1.0 + df)) + 1.0


def reweight(counts: sp.csr_matrix, idf: np.ndarray) -> sp.csr_matrix:
    """``count * idf / sqrt(sum(count * idf**2))`` per row (rows without terms stay empty)."""
    counts = sp.csr_matrix(counts, dtype=np.float64)
    norm2 = counts @ (idf * idf)
    scale = np.zeros_like(norm2)
    np.divide(1.0, np.sqrt(norm2), out=scale, where=norm2 > 0)
    return sp.csr_matrix(sp.diags(scale) @ counts @ sp.diags(idf))


class CountIdfVectorizer(CountVectorizer):
    """A CountVectorizer whose output is the count-idf-sqrt feature map (``idf_`` after fit)."""

    idf_: np.ndarray

    def fit(self, raw_documents: Iterable[str], y: Any = None) -> CountIdfVectorizer:
        self.fit_transform(raw_documents)
        return self

    def fit_transform(self, raw_documents: Iterable[str], y: Any = None) -> sp.csr_matrix:
        counts = super().fit_transform(raw_documents)
        self.idf_ = smooth_idf(counts)
        return reweight(counts, self.idf_)

    def transform(self, raw_documents: Iterable[str]) -> sp.csr_matrix:
        return reweight(super().transform(raw_documents), self.idf_)
