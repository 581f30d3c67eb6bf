"""The Threshold panel's planning inputs and the words it shows for them (Qt-free glue).

A supervisor states their traffic (the share of abuse, messages a day) and review capacity
(reviewers × items each a day); `Planning` holds those inputs as the settings keep them, and
the functions here turn `workload` and `intervals` answers into what the panel writes, so the
widgets compute nothing. Unset inputs (None) mean "show the data source's own counts", the
panel's behaviour before planning existed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from app.core.analysis.intervals import (
    Finder,
    Interval,
    bootstrap_rates,
    small_cells,
    threshold_interval,
    wilson_rates,
)
from app.core.analysis.resampled import (
    METHOD,
    Resampler,
    resampled_rates,
    resampled_threshold_interval,
    warnings,
)
from app.core.analysis.thresholds import ThresholdAnalysis
from app.core.analysis.workload import Workload, capacity_of, workload_at
from app.core.common.messages import fmt_threshold

# the settings' field of each planning input (app.core.context.settings.Settings)
SETTINGS_FIELDS = {
    "prevalence": "expected_prevalence",
    "volume": "daily_volume",
    "reviewers": "reviewers",
    "items_per_reviewer": "items_per_reviewer_per_day",
    "review_at": "band_review_at",
    "escalate_at": "band_escalate_at",
}


@dataclass(frozen=True)
class Planning:
    """The supervisor's traffic, capacity and band cut points; None: not set."""

    prevalence: float | None = None  # share of abusive messages, 0 < p < 1
    volume: float | None = None  # messages per day
    reviewers: int | None = None
    items_per_reviewer: float | None = None
    review_at: float | None = None
    escalate_at: float | None = None

    @classmethod
    def from_settings(cls, settings: Any) -> Planning:
        """Read from a Settings object (validated when it was loaded)."""
        return cls(**{key: getattr(settings, name) for key, name in SETTINGS_FIELDS.items()})

    def settings_values(self) -> dict[str, Any]:
        """{settings field: value}, for AppContext.save_settings."""
        return {name: getattr(self, key) for key, name in SETTINGS_FIELDS.items()}

    def with_(self, **changes: Any) -> Planning:
        return replace(self, **changes)

    @property
    def reweighting(self) -> bool:
        """Counts are shown per day at the supervisor's traffic (both inputs set)."""
        return self.prevalence is not None and self.volume is not None

    @property
    def capacity(self) -> float | None:
        """Reviewers × items per reviewer per day, None unless both are set."""
        if self.reviewers is None or self.items_per_reviewer is None:
            return None
        return capacity_of(self.reviewers, self.items_per_reviewer)

    def traffic_words(self) -> str:
        """ "per day at 5% abusive, 20,000 messages" (call only when reweighting)."""
        return (
            f"per day at {fmt_percent(self.prevalence or 0.0)} abusive, {self.volume:,.0f} messages"
        )


def fmt_percent(x: float) -> str:
    """5% / 2.5% / 0.25%: as many decimals as a small share needs, never a rounded 0%."""
    pct = round(100 * x, 9)  # 100 * 0.21 is 21.000000000000004, a whole 21 to a reader
    if pct >= 10 or pct == round(pct):
        return f"{pct:.0f}%" if pct == round(pct) else f"{pct:.1f}%"
    return f"{pct:.2g}%"


def fmt_interval(iv: Interval, percent: bool = False) -> str:
    """ "68.1–74.0%" or "1,100–1,380"; "n/a" when undefined."""
    lo, hi = iv
    if math.isnan(lo) or math.isnan(hi):
        return "n/a"
    if percent:
        return f"{100 * lo:.1f}–{100 * hi:.1f}%"
    return f"{lo:,.0f}–{hi:,.0f}"


def day_matrix(w: Workload) -> np.ndarray:
    """The per-day matrix as the panel writes it: whole items, [[caught, missed], [false
    alarms, cleared]]."""
    return np.rint(w.matrix_abusive_first()).astype(np.int64)


def day_words(w: Workload) -> str:
    """ "flagged 1,234 · caught 432 · missed 68 · false alarms 802 · precision 35.0%"."""
    precision = "n/a" if math.isnan(w.precision) else f"{100 * w.precision:.1f}%"
    return (
        f"flagged {w.flagged_per_day:,.0f} · caught {w.caught_per_day:,.0f} · "
        f"missed {w.missed_per_day:,.0f} · false alarms {w.false_alarms_per_day:,.0f} · "
        f"precision {precision}"
    )


def capacity_words(
    fit: Workload, capacity: float, analysis: ThresholdAnalysis | None = None
) -> str:
    """ "fits capacity (500/day) at ≥ 0.62: recall 71%" for capacity_threshold's answer. The
    threshold reads as ``plan`` prints it: ``analysis.readable`` (a short decimal deciding
    every item alike), never rounded to one that decides otherwise (0.9999989647934867 is
    not "1", which would flag nothing)."""
    flags_nothing = fit.flagged_per_day == 0 and fit.tpr == 0
    t = fit.threshold if analysis is None else analysis.readable(fit.threshold)
    where = "only by flagging nothing" if flags_nothing else f"at ≥ {fmt_threshold(t)}"
    return (
        f"Fits capacity ({capacity:,.0f}/day) {where}: recall {100 * fit.recall:.0f}%, "
        f"{fit.flagged_per_day:,.0f} flagged/day"
    )


def backlog_words(w: Workload, capacity: float) -> str:
    """ "+340 items/day over capacity" or "within capacity (160 spare/day)"."""
    backlog = w.backlog_per_day(capacity)
    if backlog > 0:
        return f"+{backlog:,.0f} items/day over capacity: the backlog grows"
    return f"Within capacity ({capacity - w.flagged_per_day:,.0f} spare/day)"


@dataclass(frozen=True)
class Confidence:
    """The 95 % intervals at one threshold: Wilson on the source (or, for a resampled source
    such as an audit sample, its stratified bootstrap), bootstrap per day."""

    threshold: float
    wilson: dict[str, Interval]  # tpr, fpr, precision_source; {} until a resampler answered
    day: dict[str, Interval] | None  # bootstrap_rates' answer; None without prevalence/volume
    warnings: list[str]
    method: str = "Wilson"  # how ``wilson`` was found: "Wilson" or resampled.METHOD


def wilson_confidence(
    analysis: ThresholdAnalysis, threshold: float, resampler: Resampler | None = None
) -> Confidence:
    """The closed-form part (instant): what the panel shows before the bootstrap is back.
    A resampled source's counts are weighted estimates, where Wilson does not apply: its
    source intervals are left to `bootstrap_confidence` (empty here)."""
    m = analysis.at(threshold)
    if resampler is not None:  # warnings count the labelled items, as `plan` does
        return Confidence(threshold, {}, None, warnings(analysis, threshold, resampler), METHOD)
    return Confidence(threshold, wilson_rates(m), None, small_cells(m))


def bootstrap_confidence(
    analysis: ThresholdAnalysis,
    threshold: float,
    planning: Planning,
    seed: int = 0,
    resampler: Resampler | None = None,
) -> Confidence:
    """The whole answer, bootstrap included (seconds at worst: run it on a worker). With a
    ``resampler`` (an audit sample) every interval comes from its stratified bootstrap."""
    base = wilson_confidence(analysis, threshold, resampler)
    if resampler is not None:
        p, v = (planning.prevalence, planning.volume) if planning.reweighting else (None, None)
        rates = resampled_rates(resampler, threshold, p, v, seed=seed)
        source = {k: rates[k] for k in ("tpr", "fpr", "precision_source")}
        return replace(base, wilson=source, day=rates if p is not None else None)
    if not planning.reweighting or analysis.positives == 0 or analysis.negatives == 0:
        return base
    day = bootstrap_rates(
        analysis, threshold, planning.prevalence or 0.0, planning.volume or 0.0, seed=seed
    )
    return replace(base, day=day)


def source_confidence_words(c: Confidence, share: float | None = None) -> str:
    """ "95% intervals (…): recall 68.1–74.0%, false-alarm rate …, precision in the data source
    (65.8% abusive) …" — ``share``: the source's own share of abuse, said beside its precision
    so it is never read as the precision at the supervisor's traffic."""
    w = c.wilson
    if c.method != "Wilson":
        where = f"{c.method}, estimates for the batch"
        if not w:
            return f"95% intervals ({where}): …"
    else:
        where = "Wilson, on the data source"
    which = "in the batch" if c.method != "Wilson" else "in the data source"
    if share is not None:
        which += f" ({fmt_percent(share)} abusive)"
    return (
        f"95% intervals ({where}): recall {fmt_interval(w['tpr'], True)}, "
        f"false-alarm rate {fmt_interval(w['fpr'], True)}, precision {which} "
        f"{fmt_interval(w['precision_source'], True)}"
    )


def day_confidence_words(c: Confidence, prevalence: float | None = None) -> str:
    """The bootstrap intervals of precision at the supervisor's traffic (first: the one that
    describes their day) and of the per-day counts."""
    d = c.day or {}
    if not d:
        return ""
    how = "bootstrap" if c.method == "Wilson" else c.method
    at = "" if prevalence is None else f" ({fmt_percent(prevalence)} abusive)"
    return (
        f"95% intervals ({how}): <b>precision at your traffic{at} "
        f"{fmt_interval(d['precision'], True)}</b>; per day: flagged {fmt_interval(d['flagged'])}, caught "
        f"{fmt_interval(d['caught'])}, missed {fmt_interval(d['missed'])}, false alarms "
        f"{fmt_interval(d['false_alarms'])}"
    )


def finder_interval_words(
    analysis: ThresholdAnalysis, finder: Finder, resampler: Resampler | None = None
) -> str:
    """ "95% interval of this threshold: 0.58–0.66" for a finder's answer (bootstrap: run it
    on a worker); an audit sample's is resampled within its bands."""
    if resampler is None:
        iv, how = threshold_interval(analysis, finder), ""
    else:
        iv, how = resampled_threshold_interval(analysis, resampler, finder), f" ({METHOD})"
    if math.isnan(iv.low) or math.isnan(iv.high):
        return f"too few resamples ({iv.answered:,} of {iv.reps:,}) had an answer: no interval"
    return f"95% interval of this threshold{how}: {iv.low:.4g}–{iv.high:.4g}"


def planning_day(analysis: ThresholdAnalysis, threshold: float, planning: Planning) -> Workload:
    """The day at ``threshold`` under the planning inputs (call only when reweighting)."""
    return workload_at(analysis, threshold, planning.prevalence or 0.0, planning.volume or 0.0)


def day_comparison_words(now: Workload, reference: Workload, traffic: str) -> str:
    """The reference comparison in per-day counts: "+12 abusive caught, −340 false alarms,
    review queue −328 per day (per day at 5% abusive, 20,000 messages)"."""
    return (
        f"<b>{now.caught_per_day - reference.caught_per_day:+,.0f} abusive caught, "
        f"{now.false_alarms_per_day - reference.false_alarms_per_day:+,.0f} false alarms, "
        f"review queue {now.flagged_per_day - reference.flagged_per_day:+,.0f}</b> "
        f"{traffic}, at {now.threshold:.4g} instead of {reference.threshold:.4g}"
    )


def logged_count(x: float) -> float | int:
    """A count as logged and shown: whole counts as they are; an audit sample's weighted
    estimate to 1 decimal, with float noise (|x| < 1e-9, e.g. 2.27e-12) as 0."""
    if isinstance(x, int | np.integer):
        return int(x)
    value = float(x)
    return 0.0 if abs(value) < 1e-9 else round(value, 1) + 0.0  # + 0.0: never "-0.0"


def logged_counts(m: Any) -> dict[str, float | int]:
    """{"n", "tp", "fp", "fn", "tn"} of a ThresholdMetrics, for an activity event."""
    return {key: logged_count(getattr(m, key)) for key in ("n", "tp", "fp", "fn", "tn")}


def sample_prevalence(
    analysis: ThresholdAnalysis, resampler: Resampler, seed: int = 0, reps: int = 2_000
) -> tuple[float, Interval]:
    """An audit sample's weighted estimate of its batch's share of abuse and the 95 % interval
    of its stratified bootstrap (clipped to [0, 1]): "from this batch" for an audit-sample
    source, measured by the verdicts, no calibration assumed."""
    _, draw, total = resampler.counts(np.asarray([0.0]), reps, seed)  # ≥ 0 flags every item
    share = (draw[:, 0, 0] + draw[:, 2, 0]) / total  # (TP + FN) / population
    finite = share[np.isfinite(share)]
    if not len(finite):
        return analysis.positives / analysis.n, (math.nan, math.nan)
    lo, hi = np.clip(np.quantile(finite, [0.025, 0.975]), 0.0, 1.0)
    return analysis.positives / analysis.n, (float(lo), float(hi))
