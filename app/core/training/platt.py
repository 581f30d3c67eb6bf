"""Platt scaling: fitting the calibration a bundle carries, and checking that it helps.

Platt scaling maps the linear model's logit ``z`` to ``sigmoid(a*z + b)``. It keeps the model
linear, so explanations stay exact, and it is monotone, so rankings (ROC-AUC) do not change.
The fit uses scikit-learn, so it lives with training; measuring calibration (Brier score,
expected calibration error) is `app.core.analysis.calibration`, which runtime evaluation uses.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.special import expit
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold

from app.core.analysis.calibration import brier_score, expected_calibration_error


def fit_platt(logits: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    """(a, b) of the 1-D logistic regression of labels on logits (effectively unregularised)."""
    fit = LogisticRegression(C=1e6, max_iter=1000).fit(np.asarray(logits).reshape(-1, 1), labels)
    return float(fit.coef_[0, 0]), float(fit.intercept_[0])


def compare_platt(
    logits: np.ndarray,
    labels: np.ndarray,
    seed: int,
    folds: int = 5,
    origins: np.ndarray | None = None,
) -> dict[str, Any]:
    """Out-of-fold comparison of raw vs Platt-scaled probabilities on held-out data.

    The folds are shuffled (seeded): the held-out data is grouped by dataset in no order we rely
    on, and unshuffled folds would fit one dataset's calibration and test it on the other's.
    """
    logits = np.asarray(logits, float)
    calibrated = np.empty_like(logits)
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    for fit_idx, eval_idx in splitter.split(logits.reshape(-1, 1), labels):
        a, b = fit_platt(logits[fit_idx], labels[fit_idx])
        calibrated[eval_idx] = expit(a * logits[eval_idx] + b)
    raw = expit(logits)
    result: dict[str, Any] = {
        "raw_brier": brier_score(raw, labels),
        "raw_ece": expected_calibration_error(raw, labels),
        "platt_brier_cv": brier_score(calibrated, labels),
        "platt_ece_cv": expected_calibration_error(calibrated, labels),
    }
    if origins is not None:  # one calibration for all: how well it fits each dataset
        result["by_origin"] = {
            str(origin): {
                "raw_ece": expected_calibration_error(raw[mask], labels[mask]),
                "platt_ece_cv": expected_calibration_error(calibrated[mask], labels[mask]),
            }
            for origin in sorted(set(np.asarray(origins).tolist()))
            for mask in [np.asarray(origins) == origin]
        }
    return result
