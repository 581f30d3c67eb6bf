"""Bootstrap intervals of a data source that is not resampled item by item (an audit sample).

`intervals` resamples the data source i.i.d. (a multinomial over its items): right for a
labelled CSV or the evaluation set, wrong for an audit sample, whose items were drawn per score
band and stand for ``N_h / n_h`` batch rows each (its counts are weighted estimates, not whole
items: a multinomial over them is meaningless, and Wilson's interval assumes counted trials).
Such a source carries a `Resampler` (`app.core.audit.sample_source.StratifiedResampler`: the
stratified bootstrap of ``audit estimate``) that redraws its weighted (TP, FP, FN); the rates,
per-day counts and a finder's threshold interval are computed here from those replicates, by
the same formulas as `intervals` (`rate_intervals`, `Finder.pick`).
"""

from __future__ import annotations

import math
from typing import Any, Protocol

import numpy as np

from app.core.analysis.intervals import (
    DEFAULT_REPS,
    FINDER_REPS,
    Finder,
    Interval,
    ThresholdInterval,
    _quantiles,
    rate_intervals,
    small_cells,
)
from app.core.analysis.threshold_metrics import ThresholdMetrics
from app.core.analysis.thresholds import ThresholdAnalysis
from app.core.analysis.workload import reweight

METHOD = "stratified bootstrap"  # how the intervals were drawn, in the words shown


class Resampler(Protocol):
    """Redraws a weighted data source's counts (an audit sample: within each band)."""

    def counts(
        self, thresholds: np.ndarray, reps: int, seed: int
    ) -> tuple[np.ndarray, np.ndarray, float]:
        """The weighted (TP, FP, FN) at each threshold (shape (3, k)), ``reps`` replicates of
        them (shape (reps, 3, k)), and the population they are counts of."""
        ...

    def labelled_at(self, threshold: float) -> ThresholdMetrics:
        """The matrix of the labelled items themselves (whole items, not weighted): what the
        small-sample warnings count (`warnings`)."""
        ...


def warnings(
    analysis: ThresholdAnalysis, threshold: float, resampler: Resampler | None = None
) -> list[str]:
    """The small-sample warnings at `threshold`, one rule for the Threshold panel and ``plan``:
    the cells of the items actually labelled (a resampled source's weighted estimates are not
    items: "only ≈ 0 items" says nothing), under `intervals.SMALL_CELL`."""
    m = analysis.at(threshold) if resampler is None else resampler.labelled_at(threshold)
    return small_cells(m)


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    out = np.full(np.broadcast(num, den).shape, np.nan)
    np.divide(num, den, out=out, where=den > 0)
    return out


def resampled_rates(
    resampler: Resampler,
    threshold: float,
    prevalence: float | None = None,
    volume: float | None = None,
    *,
    reps: int = DEFAULT_REPS,
    seed: int = 0,
) -> dict[str, Interval]:
    """95 % intervals of TPR, FPR, the flag rate and precision at the source's own (estimated)
    prevalence ("precision_source"); with ``prevalence`` and ``volume`` also `rate_intervals`' precision
    at that prevalence and per-day counts."""
    if reps < 1:
        raise ValueError(f"reps must be at least 1, got {reps}")
    point, draw, total = resampler.counts(np.asarray([threshold], dtype=np.float64), reps, seed)
    out = _rates(draw[:, :, 0], total, prevalence, volume)
    estimates = _rates(point[None, :, 0], total, prevalence, volume, own=True)
    # the estimate counts the verdicts seen, the smoothed replicates also what they could have
    # missed (recall 1.0 when no labelled abusive item was missed): the percentile interval may
    # leave its own estimate out. Every caller (panel, `plan`, decision records) shows the
    # estimate beside its interval, so the interval is widened here, once, to hold it.
    return {key: hold(iv, estimates[key][0]) for key, iv in out.items()}


def hold(iv: Interval, point: float) -> Interval:
    """``iv`` widened to hold ``point`` (as is, when either is undefined)."""
    lo, hi = iv
    if not (math.isfinite(lo) and math.isfinite(hi) and math.isfinite(point)):
        return iv
    return (min(lo, point), max(hi, point))


def _rates(
    c: np.ndarray, total: float, prevalence: float | None, volume: float | None, own: bool = False
) -> dict[str, Any]:
    """The rates of weighted (TP, FP, FN) rows ``c`` (shape (rows, 3)): their 95 % intervals,
    or with ``own`` the rows' values themselves (the point estimate: one row)."""
    tp, fp, fn = c[:, 0], c[:, 1], c[:, 2]
    tn = total - tp - fp - fn
    tpr, fpr = _ratio(tp, tp + fn), _ratio(fp, fp + tn)  # NaN: a replicate without a class
    values = {"tpr": tpr, "fpr": fpr, "precision_source": _ratio(tp, tp + fp),
              "flag_rate": (tp + fp) / total}  # fmt: skip
    if own:
        if prevalence is not None and volume is not None:
            values |= reweight(np.nan_to_num(tpr), np.nan_to_num(fpr), prevalence, volume)
        return values
    out: dict[str, Any] = {key: _quantiles(v) for key, v in values.items()}
    if prevalence is not None and volume is not None:
        out |= rate_intervals(tpr, fpr, prevalence, volume)
    return out


def resampled_threshold_interval(
    analysis: ThresholdAnalysis,
    resampler: Resampler,
    finder: Finder,
    *,
    reps: int = FINDER_REPS,
    seed: int = 0,
) -> ThresholdInterval:
    """`intervals.threshold_interval` for a resampled source: the finder picks among the same
    candidates (the distinct scores, then "flag nothing") in each stratified replicate."""
    if reps < 1:
        raise ValueError(f"reps must be at least 1, got {reps}")
    thresholds = np.append(analysis.candidate_thresholds(), analysis.flag_nothing_threshold)
    point, draw, total = resampler.counts(thresholds, reps, seed)

    def pick(c: np.ndarray) -> np.ndarray:  # c: (rows, 3, k) weighted TP, FP, FN
        tp, fp, fn = c[:, 0, :], c[:, 1, :], c[:, 2, :]
        pos = (tp + fn)[:, :1]
        # every candidate is present: a replicate reweighs the labelled items, never drops one
        present = np.ones(tp.shape, dtype=bool)
        return finder.pick(tp, fp, pos, total - pos, present)

    own = pick(point[None, :, :])[0]
    found_at = pick(draw)
    found = thresholds[found_at[found_at >= 0]]
    threshold = float(thresholds[own]) if own >= 0 else math.nan
    if len(found) < max(1, reps // 2):  # mostly no answer: an interval would mislead
        return ThresholdInterval(finder.name, threshold, math.nan, math.nan, reps, len(found))
    lo = float(np.quantile(found, 0.025, method="lower"))  # ends are candidate thresholds
    hi = float(np.quantile(found, 0.975, method="higher"))
    return ThresholdInterval(finder.name, threshold, lo, hi, reps, len(found))
