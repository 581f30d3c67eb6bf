"""The cascade band: which fast scores the thorough engine re-scores.

The fast (linear) model scores every row; rows whose fast score lies in [low, high] are scored
again by the encoder and take its score. The band is chosen on validation only: the narrowest
(fewest rows re-scored) whose cascade keeps ROC-AUC within ``tolerance`` of the encoder's alone
on every dataset. The candidates are bands between quantiles of the fast validation scores, so
the search is over how many rows to re-score, not over raw score values.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from app.core.analysis.thresholds import ThresholdAnalysis

CASCADE_TOLERANCE = 0.005  # the limit on the cascade's loss of ROC-AUC
SEARCH_MARGIN = 0.002  # chosen to lose at most 0.003 on validation, so unseen data has room
QUANTILE_STEPS = 50


def cascade_scores(fast: np.ndarray, thorough: np.ndarray, low: float, high: float) -> np.ndarray:
    """The cascade's score of each row: the thorough score where the fast one is in the band."""
    band = (fast >= low) & (fast <= high)
    return np.where(band, thorough, fast)


def _auc_by_origin(scores: np.ndarray, labels: np.ndarray, origins: np.ndarray) -> dict[str, float]:
    return {
        str(o): ThresholdAnalysis(scores[origins == o], labels[origins == o]).roc_auc()
        for o in sorted(set(origins.tolist()))
    }


def choose_band(
    fast: np.ndarray,
    thorough: np.ndarray,
    labels: np.ndarray,
    origins: np.ndarray,
    tolerance: float = CASCADE_TOLERANCE - SEARCH_MARGIN,
) -> dict[str, Any]:
    """The narrowest quantile band whose cascade AUC is within ``tolerance`` of the thorough
    engine's on every origin (validation scores of both engines, calibrated probabilities)."""
    target = _auc_by_origin(thorough, labels, origins)
    edges = np.quantile(fast, np.linspace(0.0, 1.0, QUANTILE_STEPS + 1))
    best: dict[str, Any] | None = None
    for i in range(QUANTILE_STEPS):
        for j in range(i + 1, QUANTILE_STEPS + 1):
            low, high = float(edges[i]), float(edges[j])
            share = float(np.mean((fast >= low) & (fast <= high)))
            if best is not None and share >= best["rescored_share"]:
                continue
            aucs = _auc_by_origin(cascade_scores(fast, thorough, low, high), labels, origins)
            if all(aucs[o] >= target[o] - tolerance for o in target):
                best = {"low": low, "high": high, "rescored_share": share, "auc_by_origin": aucs}
    if best is None:  # cannot happen: the full band is the thorough engine itself
        raise ValueError("no cascade band holds the thorough engine's AUC")
    best["thorough_auc_by_origin"] = target
    best["tolerance"] = tolerance
    return best
