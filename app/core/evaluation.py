"""Evaluation summaries of scores against labels: what the CLI's ``evaluate`` and the model card show."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from app.core.calibration import brier_score, expected_calibration_error
from app.core.thresholds import ThresholdAnalysis


def summarize(
    scores: np.ndarray, labels: np.ndarray, thresholds: Sequence[float]
) -> dict[str, Any]:
    """AUC, calibration, best-F1 threshold and the metrics at each threshold, JSON-ready."""
    analysis = ThresholdAnalysis(scores, labels)
    best = analysis.best_f1()
    return {
        "n": analysis.n,
        "positives": analysis.positives,
        "auc": analysis.roc_auc(),
        "brier": brier_score(scores, labels),
        "ece": expected_calibration_error(scores, labels),
        "best_f1_threshold": best.threshold,
        "best_f1": best.f1,
        "thresholds": [analysis.at(t).as_dict() for t in thresholds],
    }


def evaluate_scores(
    scores: np.ndarray,
    labels: np.ndarray,
    origins: np.ndarray | None = None,
    *,
    thresholds: Sequence[float] = (0.45, 0.5),
) -> dict[str, Any]:
    """Summary over all items and, when origins are given, per dataset of origin."""
    result: dict[str, Any] = {"all": summarize(scores, labels, thresholds)}
    if origins is not None:
        for origin in sorted(set(np.asarray(origins).tolist())):
            mask = origins == origin
            result[str(origin)] = summarize(scores[mask], labels[mask], thresholds)
    return result
