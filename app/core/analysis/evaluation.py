"""Evaluation summaries of scores against labels: what the CLI's ``evaluate`` and the model card show.

Every number is either true or absent: a metric that the labels leave undefined (ROC-AUC and the
best-F1 threshold with only one class, recall without abusive items, precision when nothing is
flagged, specificity without benign items) is None (JSON null) and a note says why, never NaN
(which is not JSON) and never a made-up 0.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from app.core.analysis.calibration import brier_score, expected_calibration_error
from app.core.analysis.thresholds import ThresholdAnalysis
from app.core.common.messages import fmt_threshold

# What a model's shipped evaluation set is made of, in words: the panels and reports show
# these, while settings, the CLI and the bundle keep the stable ids ("davidson", "olid").
EVAL_SET_NAMES = {
    "davidson": "Tweets labelled for hate and offence (Davidson et al.)",
    "olid": "Tweets labelled offensive or not (OLID)",
}
ALL_EVAL_SETS_NAME = "All evaluation sets shipped with the model"


def eval_set_name(origin: object) -> str:
    """The plain-language name of a shipped evaluation set (its id if it has none)."""
    return EVAL_SET_NAMES.get(str(origin), str(origin))


# A rate and the count its denominator is made of: None when that count is 0.
_UNDEFINED_WHEN = {
    "precision": ("tp", "fp"),
    "recall": ("tp", "fn"),
    "specificity": ("tn", "fp"),
}


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def _metrics_at(analysis: ThresholdAnalysis, threshold: float) -> dict[str, Any]:
    metrics: dict[str, Any] = analysis.at(threshold).as_dict()
    for name, (a, b) in _UNDEFINED_WHEN.items():
        if metrics[a] + metrics[b] == 0:
            metrics[name] = None
    if metrics["tp"] + metrics["fn"] == 0:  # no abusive item: F1 says nothing
        metrics["f1"] = None
    return metrics


def summarize(
    scores: np.ndarray, labels: np.ndarray, thresholds: Sequence[float]
) -> dict[str, Any]:
    """AUC, calibration, best-F1 threshold and the metrics at each threshold, JSON-ready.

    ``notes`` lists, in words, every metric left undefined (None) by the labels.
    """
    analysis = ThresholdAnalysis(scores, labels)
    notes: list[str] = []
    one_class = analysis.positives == 0 or analysis.positives == analysis.n
    best_threshold: float | None = None
    best_f1: float | None = None
    if one_class:
        kind = "abusive" if analysis.positives else "benign"
        notes.append(
            f"all {analysis.n:,} labelled rows are {kind}: ROC-AUC and the best-F1 threshold "
            "are undefined (null); recall, F1 or specificity are null where they would divide "
            "by zero"
        )
    else:
        best = analysis.best_f1()  # a score; reported as the shortest decimal deciding alike
        best_threshold, best_f1 = analysis.readable(best.threshold), best.f1
        span = analysis.alike_range(best.threshold)
        if span is not None and span[1] - span[0] >= 0.01:  # a wide tie: say it
            notes.append(
                f"best F1: any threshold from {fmt_threshold(span[0])} to "
                f"{fmt_threshold(span[1])} decides these items alike"
            )
    metrics = [_metrics_at(analysis, t) for t in thresholds]
    if any(m["precision"] is None for m in metrics):
        notes.append("precision is null at thresholds that flag nothing")
    return {
        "n": analysis.n,
        "positives": analysis.positives,
        "auc": _finite(analysis.roc_auc()),
        "brier": _finite(brier_score(scores, labels)),
        "ece": _finite(expected_calibration_error(scores, labels)),
        "best_f1_threshold": best_threshold,
        "best_f1": best_f1,
        "thresholds": metrics,
        "notes": notes,
    }


def evaluate_scores(
    scores: np.ndarray,
    labels: np.ndarray,
    origins: np.ndarray | None = None,
    *,
    thresholds: Sequence[float] = (0.45, 0.5),
) -> dict[str, Any]:
    """Summary over all items and, when origins are given, per dataset of origin.

    Without ``notes``: these go into a bundle's manifest, whose keys a reproduced bundle must
    keep (null metrics there speak for themselves).
    """

    def part(mask: Any) -> dict[str, Any]:
        summary = summarize(scores[mask], labels[mask], thresholds)
        del summary["notes"]
        return summary

    result: dict[str, Any] = {"all": part(slice(None))}
    if origins is not None:
        for origin in sorted(set(np.asarray(origins).tolist())):
            result[str(origin)] = part(origins == origin)
    return result
