"""Measuring calibration: the Brier score and the expected calibration error (numpy only).

Fitting a calibration (Platt scaling, with scikit-learn) is training's work:
`app.core.training.platt`.
"""

from __future__ import annotations

import numpy as np


def brier_score(probabilities: np.ndarray, labels: np.ndarray) -> float:
    return float(np.mean((np.asarray(probabilities, float) - np.asarray(labels, float)) ** 2))


def expected_calibration_error(
    probabilities: np.ndarray, labels: np.ndarray, bins: int = 15
) -> float:
    """Weighted mean |confidence - observed rate| over equal-width probability bins."""
    p = np.asarray(probabilities, float)
    y = np.asarray(labels, float)
    which = np.minimum((p * bins).astype(int), bins - 1)
    error = 0.0
    for b in range(bins):
        mask = which == b
        if mask.any():
            error += mask.sum() * abs(p[mask].mean() - y[mask].mean())
    return float(error / len(p))
