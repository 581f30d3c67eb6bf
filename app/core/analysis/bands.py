"""A three-band policy: clear / review / escalate, and its cut points found on data.

An item is escalated iff ``score >= escalate_at``, sent to review iff ``review_at <= score <
escalate_at``, cleared below ``review_at`` (the same ``score >= t`` rule as every threshold).
A row without a score (a blank text, NaN) is in no band.

The finder escalates at the lowest threshold whose precision at the expected prevalence reaches
a target (escalations should be nearly always right) and reviews down to the highest threshold
whose recall reaches a floor (what must not be missed).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from app.core.analysis.planning import fmt_percent
from app.core.analysis.thresholds import ThresholdAnalysis, ThresholdInputError
from app.core.analysis.workload import (
    Workload,
    candidates,
    check_prevalence,
    recall_floor_threshold,
    workload_at,
    workload_curves,
)
from app.core.common.messages import fmt_threshold

BANDS = ("clear", "review", "escalate")
NO_BAND = ""  # what band_of gives a row without a score


@dataclass(frozen=True, slots=True)
class BandPolicy:
    review_at: float
    escalate_at: float

    def __post_init__(self) -> None:
        for name in ("review_at", "escalate_at"):
            value = getattr(self, name)
            if not (isinstance(value, int | float) and 0.0 <= value <= 1.0):  # refuses NaN
                raise ThresholdInputError(f"{name} must be a number from 0 to 1, got {value!r}")
        if self.review_at > self.escalate_at:
            raise ThresholdInputError(
                f"review_at ({self.review_at:g}) must not be above escalate_at "
                f"({self.escalate_at:g})"
            )


def band_codes(scores: ArrayLike, policy: BandPolicy) -> np.ndarray:
    """-1 (no score), 0 clear, 1 review, 2 escalate, per score (int8, vectorised)."""
    s = np.asarray(scores, dtype=np.float64)
    codes = (s >= policy.review_at).astype(np.int8) + (s >= policy.escalate_at)
    codes[np.isnan(s)] = -1
    return codes


def band_of(scores: ArrayLike, policy: BandPolicy) -> np.ndarray:
    """The band's name per score ("clear", "review", "escalate"; "" for NaN)."""
    names = np.array([*BANDS, NO_BAND])  # index -1 is NO_BAND
    return names[band_codes(scores, policy)]


def band_counts_per_day(
    analysis: ThresholdAnalysis, policy: BandPolicy, prevalence: float, volume: float
) -> dict[str, float]:
    """Items per day in each band at (prevalence, volume), re-weighted as `workload` does."""
    c = workload_curves(analysis, [policy.review_at, policy.escalate_at], prevalence, volume)
    at_review, at_escalate = (float(x) for x in c["flagged"])
    return {
        "clear": float(volume) - at_review,
        "review": at_review - at_escalate,
        "escalate": at_escalate,
    }


@dataclass(frozen=True)
class BandFinding:
    """The finder's answer: a policy, or None with the reason the targets cannot be met."""

    policy: BandPolicy | None
    escalate: Workload | None  # the escalate cut point's day
    review: Workload | None  # the review cut point's day
    reason: str = ""  # why there is no policy
    notes: tuple[str, ...] = ()


def find_bands(
    analysis: ThresholdAnalysis,
    prevalence: float,
    volume: float,
    *,
    min_precision: float,
    min_recall: float,
) -> BandFinding:
    """Escalate at the lowest threshold whose precision at ``prevalence`` is >= min_precision;
    review down to the highest threshold whose recall is >= min_recall."""
    p = check_prevalence(prevalence)
    for name, value in (("precision target", min_precision), ("recall floor", min_recall)):
        if not 0.0 <= float(value) <= 1.0:
            raise ThresholdInputError(f"{name} must be from 0 to 1, got {value!r}")
    t = candidates(analysis)[:-1]  # precision is undefined where nothing is flagged
    prec = workload_curves(analysis, t, p, volume)["precision"]
    ok = np.flatnonzero(np.nan_to_num(prec, nan=-1.0) >= min_precision)
    review = recall_floor_threshold(analysis, min_recall, p, volume)
    if not len(ok):
        best = int(np.nanargmax(prec))
        return BandFinding(None, None, review, reason=(
            f"no threshold reaches precision {fmt_percent(min_precision)} at {fmt_percent(p)} "
            f"abusive: the highest is {fmt_percent(prec[best])}, at ≥ {fmt_threshold(t[best])}"
        ))  # fmt: skip
    escalate = workload_at(analysis, float(t[ok[0]]), p, volume)
    notes: tuple[str, ...] = ()
    review_at = review.threshold
    if review_at > escalate.threshold:  # the escalate band alone already meets the floor
        review_at = escalate.threshold
        review = workload_at(analysis, review_at, p, volume)
        notes = (
            f"the escalate band alone catches {fmt_percent(escalate.recall)} of the abuse "
            f"(recall floor {fmt_percent(min_recall)}): the review band is empty",
        )
    return BandFinding(BandPolicy(review_at, escalate.threshold), escalate, review, notes=notes)


def band_warnings(
    policy: BandPolicy,
    counts: dict[str, float],
    *,
    capacity: float | None = None,
    app_wide: float | None = None,
) -> list[str]:
    """What makes a band policy useless or unworkable, said before it is applied: more review
    and escalation per day than the ``capacity`` (``counts`` per day; pass no capacity when
    they are not), an empty review band, an escalate cut below the ``app_wide`` threshold."""
    warnings = []
    need = counts["review"] + counts["escalate"]
    if capacity is not None and need > capacity:
        warnings.append(
            f"bands need {need:,.0f} items/day; capacity {capacity:,.0f}: "
            f"+{need - capacity:,.0f} a day to the backlog"
        )
    cut = fmt_threshold(policy.escalate_at)
    if policy.review_at == policy.escalate_at:
        warnings.append(
            f"the review band is empty (review = escalate ≥ {cut}): every flagged item is "
            "escalated, none reviewed"
        )
    if app_wide is not None and policy.escalate_at < app_wide:
        warnings.append(
            f"escalate ≥ {cut} is below the app-wide threshold {fmt_threshold(app_wide)}: "
            "items the app does not flag now would be escalated"
        )
    return warnings
