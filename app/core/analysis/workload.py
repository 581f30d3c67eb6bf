"""Prevalence and workload: what a threshold does to a real day's traffic.

A data source (the bundled evaluation set is 65.8 % abusive) gives each threshold's true- and
false-positive rates (TPR = recall, FPR = false alarms / benign). Those rates do not depend on
the share of abuse, so they carry over to traffic where abuse is a share ``p`` of ``V`` messages
a day; the counts are re-weighted:

    flagged/day       = V·(p·TPR + (1−p)·FPR)
    caught/day        = V·p·TPR
    missed/day        = V·p·(1−TPR)
    false alarms/day  = V·(1−p)·FPR
    precision at p    = p·TPR / (p·TPR + (1−p)·FPR)   (NaN when nothing is flagged)

Finders search the analysis's candidate thresholds (its distinct scores and "flag nothing"), so
the threshold they return is a score, exact, never a grid point.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from app.core.analysis.thresholds import ThresholdAnalysis, ThresholdInputError

PREVALENCE_CAVEAT = (
    "estimated as the mean calibrated score of this batch: right on average only if the model "
    "is calibrated on traffic like it; a labelled audit sample measures it without that assumption"
)


def check_prevalence(p: float) -> float:
    """0 < p < 1. At 0 or 1 one class is absent: precision or the false alarms say nothing, and
    a supervisor who plans for "no abuse at all" has mistyped, so both are refused."""
    value = _number("prevalence", p)
    if not 0.0 < value < 1.0:
        raise ThresholdInputError(f"prevalence must be above 0 and below 1, got {value:g}")
    return value


def check_volume(v: float) -> float:
    """Messages per day: a finite number above 0."""
    value = _number("daily volume", v)
    if not value > 0.0:
        raise ThresholdInputError(f"daily volume must be above 0, got {value:g}")
    return value


def check_capacity(c: float) -> float:
    """Items the reviewers can handle per day: finite, 0 or more (0: nothing may be flagged)."""
    value = _number("capacity", c)
    if value < 0.0:
        raise ThresholdInputError(f"capacity must be 0 or more, got {value:g}")
    return value


def _number(name: str, value: float) -> float:
    try:
        x = float(value)
    except (TypeError, ValueError, OverflowError):
        raise ThresholdInputError(f"{name} must be a number, got {value!r}") from None
    if not math.isfinite(x):
        raise ThresholdInputError(f"{name} must be a finite number, got {x}")
    return x


def capacity_of(reviewers: int, items_per_reviewer: float) -> float:
    """Reviewers × items per reviewer per day, validated (each 0 or more, finite)."""
    r = check_capacity(reviewers)
    if r != int(r):
        raise ThresholdInputError(f"reviewers must be a whole number, got {reviewers!r}")
    return r * check_capacity(items_per_reviewer)


def reweight(
    tpr: ArrayLike, fpr: ArrayLike, prevalence: float, volume: float
) -> dict[str, np.ndarray]:
    """The per-day counts and precision at ``prevalence`` and ``volume``, vectorised over rates.

    Keys: flagged, caught, missed, false_alarms, cleared (benign not flagged), precision (NaN
    where nothing would be flagged: undefined, never a division error), recall (= TPR)."""
    p, v = check_prevalence(prevalence), check_volume(volume)
    t = np.asarray(tpr, dtype=np.float64)
    f = np.asarray(fpr, dtype=np.float64)
    caught = v * p * t
    false_alarms = v * (1.0 - p) * f
    flagged = caught + false_alarms
    hit, alarm = p * t, (1.0 - p) * f
    den = hit + alarm
    precision = np.divide(hit, den, out=np.full(np.shape(den), np.nan), where=den > 0)
    return {
        "flagged": flagged, "caught": caught, "missed": v * p * (1.0 - t),
        "false_alarms": false_alarms, "cleared": v * (1.0 - p) * (1.0 - f),
        "precision": precision, "recall": t,
    }  # fmt: skip


@dataclass(frozen=True, slots=True)
class Workload:
    """One threshold's day at prevalence ``p`` and volume ``V`` (counts per day, floats)."""

    threshold: float
    prevalence: float
    volume: float
    tpr: float
    fpr: float
    flagged_per_day: float
    caught_per_day: float
    missed_per_day: float
    false_alarms_per_day: float
    cleared_per_day: float
    precision: float  # at the prevalence; NaN when nothing would be flagged

    @property
    def recall(self) -> float:
        return self.tpr

    def matrix_abusive_first(self) -> np.ndarray:
        """[[caught, missed], [false alarms, cleared]] per day, like ThresholdMetrics'."""
        return np.array(
            [[self.caught_per_day, self.missed_per_day],
             [self.false_alarms_per_day, self.cleared_per_day]], dtype=np.float64,
        )  # fmt: skip

    def backlog_per_day(self, capacity: float) -> float:
        """Items that pile up each day at this threshold: max(0, flagged − capacity)."""
        return max(0.0, self.flagged_per_day - check_capacity(capacity))


def rates(analysis: ThresholdAnalysis, thresholds: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """(TPR, FPR) at each threshold. Re-weighting needs both classes in the data source."""
    if analysis.positives == 0 or analysis.negatives == 0:
        kind = "abusive" if analysis.negatives == 0 else "benign"
        raise ThresholdInputError(
            f"all {analysis.n:,} labelled items are {kind}: re-weighting to a prevalence needs "
            "both abusive and benign items"
        )
    c = analysis.many(thresholds)
    return c["tp"] / analysis.positives, c["fp"] / analysis.negatives


def workload_curves(
    analysis: ThresholdAnalysis, thresholds: ArrayLike, prevalence: float, volume: float
) -> dict[str, np.ndarray]:
    """``reweight`` at each threshold, plus "threshold", "tpr" and "fpr" (for plots)."""
    tpr, fpr = rates(analysis, thresholds)
    t = np.array(thresholds, dtype=np.float64, ndmin=1)
    return {"threshold": t, "tpr": tpr, "fpr": fpr} | reweight(tpr, fpr, prevalence, volume)


def curves_at_prevalence(
    analysis: ThresholdAnalysis, thresholds: ArrayLike, prevalence: float
) -> dict[str, np.ndarray]:
    """The plotted metrics at ``thresholds`` re-weighted to ``prevalence``: "threshold",
    "precision" (NaN where nothing is flagged), "recall" (= TPR, unchanged), "f1" and
    "queue_rate" (the share flagged, p·TPR + (1−p)·FPR). F1 = 2pTPR / (pTPR + (1−p)FPR + p),
    from TP, FP and FN as shares of a day. Keys as ``ThresholdAnalysis.many``'s, so a plot of
    the data source's curves takes these unchanged."""
    c = workload_curves(analysis, thresholds, prevalence, 1.0)  # volume 1: shares of a day
    p, tpr = float(prevalence), c["tpr"]
    return {
        "threshold": c["threshold"], "precision": c["precision"], "recall": tpr,
        "f1": 2 * p * tpr / (c["flagged"] + p), "queue_rate": c["flagged"],
    }  # fmt: skip


def pr_at_prevalence(
    analysis: ThresholdAnalysis, prevalence: float
) -> tuple[np.ndarray, np.ndarray]:
    """(precision, recall) at each distinct score, precision re-weighted to ``prevalence``
    (recall does not depend on it): the precision-recall curve of a day at that share."""
    c = curves_at_prevalence(analysis, analysis.candidate_thresholds(), prevalence)
    return c["precision"], c["recall"]


def workload_at(
    analysis: ThresholdAnalysis, threshold: float, prevalence: float, volume: float
) -> Workload:
    c = workload_curves(analysis, [threshold], prevalence, volume)
    return Workload(
        float(threshold), float(prevalence), float(volume),
        tpr=float(c["tpr"][0]), fpr=float(c["fpr"][0]),
        flagged_per_day=float(c["flagged"][0]), caught_per_day=float(c["caught"][0]),
        missed_per_day=float(c["missed"][0]), false_alarms_per_day=float(c["false_alarms"][0]),
        cleared_per_day=float(c["cleared"][0]), precision=float(c["precision"][0]),
    )  # fmt: skip


def candidates(analysis: ThresholdAnalysis) -> np.ndarray:
    """Every threshold that gives a distinct matrix: the distinct scores, then flag-nothing."""
    return np.append(analysis.candidate_thresholds(), analysis.flag_nothing_threshold)


def capacity_threshold(
    analysis: ThresholdAnalysis, prevalence: float, volume: float, capacity: float
) -> Workload:
    """The lowest threshold whose flagged/day fits ``capacity`` (catches the most that can be
    reviewed). Always exists: "flag nothing" flags 0 a day."""
    cap = check_capacity(capacity)
    t = candidates(analysis)
    flagged = workload_curves(analysis, t, prevalence, volume)["flagged"]
    return workload_at(analysis, float(t[np.flatnonzero(flagged <= cap)[0]]), prevalence, volume)


def recall_floor_threshold(
    analysis: ThresholdAnalysis, min_recall: float, prevalence: float, volume: float
) -> Workload:
    """The highest threshold (smallest queue) whose recall is at least ``min_recall``. Always
    exists once the source has abusive items (the lowest score flags every one of them)."""
    rates(analysis, [0.5])  # both classes, or a clear error
    found = analysis.recall_floor(min_recall)
    assert found is not None  # positives > 0, checked above
    return workload_at(analysis, found.threshold, prevalence, volume)


@dataclass(frozen=True, slots=True)
class PrevalenceEstimate:
    value: float  # NaN when the batch has no scored row
    n: int  # scored rows the mean is over
    caveat: str = PREVALENCE_CAVEAT


def estimate_prevalence(scores: ArrayLike) -> PrevalenceEstimate:
    """ "Estimate from this batch": the mean calibrated score of its scored rows (NaN and blank
    rows, which have no score, left out), with the caveat the UI shows beside it."""
    s = np.asarray(scores, dtype=np.float64).ravel()
    s = s[np.isfinite(s)]
    return PrevalenceEstimate(float(s.mean()) if len(s) else math.nan, int(len(s)))
