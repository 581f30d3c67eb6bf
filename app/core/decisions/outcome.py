"""What a decision record says a policy does: its matrix and rates, and its day at the traffic
the supervisor assumed.

Counted outcomes (a labelled CSV, the evaluation set) hold whole items and Wilson 95 %
intervals, recomputed from the counts when read back. An audit sample's outcome holds the
*weighted* matrix — estimates for the whole batch, `Estimated` counts written "≈ 1,234" — with
intervals from the sample's stratified bootstrap (`app.core.analysis.resampled`), which cannot be
recomputed from the counts, so they are stored and checked when read back (numbers in [0, 1]
around the estimate); it also keeps how many labelled items the estimates rest on. Floats are
accepted only for a source of kind "sample": a CSV's matrix with fractional items is damaged.

The day (``day_of``) is `workload.workload_at`'s answer, stored when the record is made so the
report shows what the supervisor saw, as are the per-day band counts of a band policy.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from app.core.analysis.bands import BandPolicy, band_counts_per_day
from app.core.analysis.intervals import Interval, wilson
from app.core.analysis.planning import logged_count
from app.core.analysis.resampled import Resampler, resampled_rates
from app.core.analysis.thresholds import ThresholdAnalysis, ThresholdInputError
from app.core.analysis.weighted import Estimated, WeightedThresholdAnalysis
from app.core.analysis.workload import workload_at
from app.core.common.errors import InputError

# the rates' keys in `resampled_rates`' answer
RESAMPLED_KEYS = {"recall": "tpr", "precision": "precision_source", "fpr": "fpr",
                  "flag_rate": "flag_rate"}  # fmt: skip
DAY_KEYS = ("flagged", "caught", "missed", "false_alarms", "precision")
DAY_WORDS = {
    "flagged": "flagged per day",
    "caught": "caught per day",
    "missed": "missed per day",
    "false_alarms": "false alarms per day",
    "precision": "precision at the prevalence",
}
BANDS = ("clear", "review", "escalate")


class DecisionError(InputError):
    """A record cannot be built or read (blank rationale, bad policy, damaged record)."""


@dataclass(frozen=True)
class Rate:
    estimate: float | None  # None: undefined (no items in its denominator)
    lo: float | None
    hi: float | None
    successes: float  # whole items, or an estimate (`Estimated`) for an audit sample
    trials: float


def _rate(successes: int, trials: int) -> Rate:
    if trials == 0:
        return Rate(None, None, None, successes, trials)
    lo, hi = wilson(successes, trials)
    return Rate(successes / trials, lo, hi, successes, trials)


def _estimated_rate(successes: float, trials: float, ci: Interval) -> Rate:
    """A weighted rate with its bootstrap interval (widened to hold the estimate, as
    `audit estimate` does: a percentile interval may miss a point at 0 or 1)."""
    if trials <= 0:
        return Rate(None, None, None, successes, trials)
    est = successes / trials
    lo, hi = ci
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return Rate(est, None, None, successes, trials)
    return Rate(est, min(lo, est), max(hi, est), successes, trials)


def _counted(raw: Any) -> bool:
    return isinstance(raw, int) and not isinstance(raw, bool) and raw >= 0


def _number(raw: Any) -> bool:
    return isinstance(raw, int | float) and not isinstance(raw, bool) and math.isfinite(raw)


@dataclass(frozen=True)
class Outcome:
    """The matrix and rates of one policy on the data source (weighted estimates for the batch
    when ``n_labelled`` is set: an audit sample)."""

    tp: float
    fp: float
    fn: float
    tn: float
    rates: dict[str, Rate]
    n_labelled: int | None = None  # labelled items the estimates rest on (audit sample)

    @property
    def n(self) -> float:
        return self.tp + self.fp + self.fn + self.tn

    @property
    def estimated(self) -> bool:
        return self.n_labelled is not None

    @classmethod
    def from_counts(cls, tp: int, fp: int, fn: int, tn: int) -> Outcome:
        n = tp + fp + fn + tn
        rates = {
            "recall": _rate(tp, tp + fn),
            "precision": _rate(tp, tp + fp),
            "fpr": _rate(fp, fp + tn),
            "flag_rate": _rate(tp + fp, n),
        }
        return cls(tp, fp, fn, tn, rates)

    @classmethod
    def from_estimates(
        cls, counts: tuple[float, float, float, float], cis: dict[str, Interval], n_labelled: int
    ) -> Outcome:
        """Weighted (tp, fp, fn, tn) with their bootstrap intervals (keys of `RATES`). The
        counts are kept as the activity event logs them (`planning.logged_count`: 1 decimal,
        float noise such as 2.27e-12 as 0), and the rates are those of the kept counts, so a
        record read back gives the same rates and intervals."""
        tp, fp, fn, tn = (Estimated(logged_count(max(0.0, float(c)))) for c in counts)
        n = tp + fp + fn + tn
        rates = {
            "recall": _estimated_rate(tp, tp + fn, cis["recall"]),
            "precision": _estimated_rate(tp, tp + fp, cis["precision"]),
            "fpr": _estimated_rate(fp, fp + tn, cis["fpr"]),
            "flag_rate": _estimated_rate(tp + fp, n, cis["flag_rate"]),
        }
        return cls(tp, fp, fn, tn, rates, n_labelled)

    def as_dict(self) -> dict[str, Any]:
        out = {
            "tp": self.tp, "fp": self.fp, "fn": self.fn, "tn": self.tn, "n": self.n,
            **{k: {"estimate": r.estimate, "ci95": [r.lo, r.hi]} for k, r in self.rates.items()},
        }  # fmt: skip
        if self.estimated:
            out |= {"estimated": True, "n_labelled": self.n_labelled}
        return out

    @classmethod
    def from_dict(cls, raw: Any, kind: str = "") -> Outcome:
        """Read back; estimates only for a source of ``kind`` "sample"."""
        if not isinstance(raw, dict):
            raise DecisionError("an outcome is not an object")
        counts = [raw.get(k) for k in ("tp", "fp", "fn", "tn")]
        if raw.get("estimated") is not None:
            return cls._estimates_from_dict(raw, counts, kind)
        if not all(_counted(c) for c in counts):
            raise DecisionError("an outcome's counts are not counts")
        # the rates are recomputed from the counts: a hand-edited rate cannot be shown as true
        return cls.from_counts(*counts)  # type: ignore[arg-type]

    @classmethod
    def _estimates_from_dict(cls, raw: dict[str, Any], counts: list[Any], kind: str) -> Outcome:
        if raw.get("estimated") is not True or kind != "sample":
            raise DecisionError("an outcome holds estimates but its source is not an audit sample")
        if not all(_number(c) and c >= 0 for c in counts):
            raise DecisionError("an outcome's estimates are not numbers ≥ 0")
        if not _counted(raw.get("n_labelled")):
            raise DecisionError("an outcome's labelled items are not a count")
        cis: dict[str, Interval] = {}
        for key in RESAMPLED_KEYS:
            ci = raw.get(key, {}).get("ci95") if isinstance(raw.get(key), dict) else None
            if not (isinstance(ci, list) and len(ci) == 2):
                raise DecisionError(f"an outcome's {key} has no interval")
            if ci == [None, None]:
                cis[key] = (math.nan, math.nan)
            elif all(_number(x) and 0.0 <= x <= 1.0 for x in ci) and ci[0] <= ci[1]:
                cis[key] = (float(ci[0]), float(ci[1]))
            else:
                raise DecisionError(f"an outcome's {key} interval is not two rates")
        out = cls.from_estimates(tuple(counts), cis, raw["n_labelled"])  # type: ignore[arg-type]
        for key, rate in out.rates.items():  # the stored interval must hold the estimate
            if rate.lo is not None and (rate.lo, rate.hi) != cis[key]:
                raise DecisionError(f"an outcome's {key} interval does not hold its estimate")
        return out


def outcome_at(
    analysis: ThresholdAnalysis, threshold: float, resampler: Resampler | None = None
) -> Outcome:
    """The matrix at a flag cut: counted with Wilson intervals, or — an audit sample's weighted
    analysis, which needs its ``resampler`` — estimated with stratified-bootstrap intervals."""
    m = analysis.at(threshold)
    if not isinstance(analysis, WeightedThresholdAnalysis):
        return Outcome.from_counts(m.tp, m.fp, m.fn, m.tn)
    if resampler is None:
        raise DecisionError("weighted estimates need their audit sample's bootstrap")
    ci = resampled_rates(resampler, threshold)
    cis = {key: ci[name] for key, name in RESAMPLED_KEYS.items()}
    return Outcome.from_estimates((m.tp, m.fp, m.fn, m.tn), cis, analysis.n_items)


def day_of(
    analysis: ThresholdAnalysis, threshold: float, prevalence: float, volume: float
) -> dict[str, float | None] | None:
    """The day at ``threshold`` the panel showed (flagged, caught, missed, false alarms per
    day; precision at the prevalence, None if nothing is flagged); None when the source lacks
    a class (the panel then shows the source's own counts)."""
    try:
        w = workload_at(analysis, threshold, prevalence, volume)
    except ThresholdInputError:
        return None
    precision = None if math.isnan(w.precision) else float(w.precision)
    return {"flagged": float(w.flagged_per_day), "caught": float(w.caught_per_day),
            "missed": float(w.missed_per_day), "false_alarms": float(w.false_alarms_per_day),
            "precision": precision}  # fmt: skip


def bands_of(
    analysis: ThresholdAnalysis, review_at: float, escalate_at: float,
    prevalence: float, volume: float,
) -> dict[str, float] | None:  # fmt: skip
    """Items per day in each band (`bands.band_counts_per_day`); None if not computable."""
    try:
        counts = band_counts_per_day(analysis, BandPolicy(review_at, escalate_at), prevalence,
                                     volume)  # fmt: skip
    except ThresholdInputError:
        return None
    return {k: max(0.0, float(counts[k])) for k in BANDS}  # never -1e-12 items


def check_day(raw: Any, volume: float | None) -> dict[str, float | None] | None:
    """A stored day, checked: counts in [0, volume], precision a rate or None."""
    if raw is None:
        return None
    if not isinstance(raw, dict) or set(raw) != set(DAY_KEYS) or volume is None:
        raise DecisionError("the day is not flagged, caught, missed, false alarms, precision")
    top = volume * (1 + 1e-9) + 1e-9
    for key in DAY_KEYS[:-1]:
        if not (_number(raw[key]) and 0.0 <= raw[key] <= top):
            raise DecisionError(f"the day's {key} is not a count within the volume")
    p = raw["precision"]
    if p is not None and not (_number(p) and 0.0 <= p <= 1.0):
        raise DecisionError("the day's precision is not a rate")
    return {k: (None if raw[k] is None else float(raw[k])) for k in DAY_KEYS}


def check_bands(raw: Any, volume: float | None) -> dict[str, float] | None:
    """Stored per-day band counts, checked: each in [0, volume]."""
    if raw is None:
        return None
    if not isinstance(raw, dict) or set(raw) != set(BANDS) or volume is None:
        raise DecisionError("the band counts are not clear, review and escalate per day")
    top = volume * (1 + 1e-9) + 1e-9
    if not all(_number(raw[k]) and 0.0 <= raw[k] <= top for k in BANDS):
        raise DecisionError("a band count is not a count within the volume")
    return {k: float(raw[k]) for k in BANDS}
