"""Confidence intervals of the rates the app reports.

Wilson's score interval where a rate is one binomial proportion (recall = caught / abusive,
precision = caught / flagged): it stays inside [0, 1] and behaves at 0 and n, where the normal
approximation does not. Bootstrap intervals (resampling the data source) live beside it for
quantities that are not one proportion (counts re-weighted to a prevalence, a finder's threshold).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from app.core.analysis.thresholds import ThresholdAnalysis, ThresholdInputError, ThresholdMetrics
from app.core.analysis.weighted import WeightedThresholdAnalysis
from app.core.analysis.workload import check_capacity, check_prevalence, check_volume, reweight

Z95 = 1.959963984540054  # the standard normal's 97.5th percentile
SMALL_CELL = 30  # a confusion-matrix cell with fewer items than this carries a warning


def wilson(successes: float, trials: float, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval of ``successes / trials`` (95 % by default); ``(nan, nan)`` when
    there are no trials (the rate is undefined, so is its interval)."""
    if trials < 0 or successes < 0 or successes > trials:
        raise ValueError(f"wilson: need 0 <= successes <= trials, got {successes}/{trials}")
    if trials == 0:
        return (math.nan, math.nan)
    p = successes / trials
    z2 = z * z
    centre = (p + z2 / (2 * trials)) / (1 + z2 / trials)
    half = z * math.sqrt(p * (1 - p) / trials + z2 / (4 * trials * trials)) / (1 + z2 / trials)
    # at 0 and n the bounds are exactly 0 and 1 (rounding would leave 1 - 1e-16)
    lo = 0.0 if successes == 0 else max(0.0, centre - half)
    hi = 1.0 if successes == trials else min(1.0, centre + half)
    return (lo, hi)


# --- bootstrap over the data source -------------------------------------------------------------
#
# Resampling n items with replacement is, for anything computed from counts, the same as drawing
# how many times each group of identical items is picked: Multinomial(n, group sizes / n). At one
# threshold the groups are the matrix's four cells: a 4-column draw per replicate, 2,000 of them
# in about a millisecond. A finder needs every (distinct score, label) group (`_Groups.draw`).
# Its cost grows as reps × n when most scores are distinct: ~0.15 s for 1,000 replicates of the
# bundled set's 5,650 items, ~10 s for 100,000 items (pass fewer ``reps`` there).

DEFAULT_REPS = 2000  # rates at one threshold: ~1 ms
FINDER_REPS = 1000  # a finder's threshold: ~0.2 s on the bundled set (5,650 items)
_CHUNK_CELLS = 2_000_000  # replicate × group cells drawn at once: bounds memory (~16 MB)

Interval = tuple[float, float]


def _quantiles(values: np.ndarray) -> Interval:
    """The 2.5 % and 97.5 % points over replicates, NaN replicates (undefined rates) left out."""
    finite = values[np.isfinite(values)]
    if len(finite) == 0:
        return (math.nan, math.nan)
    lo, hi = np.quantile(finite, [0.025, 0.975])
    return (float(lo), float(hi))


def _rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


def _items_only(analysis: ThresholdAnalysis) -> None:
    """The i.i.d. bootstrap redraws whole items: weighted counts (an audit sample's estimates)
    are resampled within their bands instead (`app.core.analysis.resampled`)."""
    if isinstance(analysis, WeightedThresholdAnalysis):
        raise ThresholdInputError(
            "weighted counts (an audit sample) are resampled within their bands, "
            "not item by item: use the stratified bootstrap"
        )


def wilson_rates(m: ThresholdMetrics) -> dict[str, Interval]:
    """Closed-form intervals where a rate is one proportion of the data source's own items:
    TPR (recall) = caught / abusive, FPR = false alarms / benign, precision at the source's own
    prevalence = caught / flagged."""
    return {
        "tpr": wilson(m.tp, m.tp + m.fn),
        "fpr": wilson(m.fp, m.fp + m.tn),
        "precision_source": wilson(m.tp, m.tp + m.fp),
    }


CELL_NAMES = {"tp": "caught (TP)", "fn": "missed (FN)", "fp": "false alarms (FP)",
              "tn": "cleared (TN)"}  # fmt: skip


def small_cells(m: ThresholdMetrics, limit: int = SMALL_CELL) -> list[str]:
    """Warnings, one per matrix cell with fewer than ``limit`` items: its rates are shaky."""
    return [
        f"{CELL_NAMES[k]} has only {getattr(m, k):,} item{'' if getattr(m, k) == 1 else 's'} "
        f"(under {limit}): rates resting on it are uncertain"
        for k in ("tp", "fn", "fp", "tn")
        if getattr(m, k) < limit
    ]


def bootstrap_rates(
    analysis: ThresholdAnalysis,
    threshold: float,
    prevalence: float,
    volume: float,
    *,
    reps: int = DEFAULT_REPS,
    seed: int = 0,
) -> dict[str, Interval]:
    """95 % bootstrap intervals of TPR, FPR, precision at ``prevalence`` and the per-day counts
    (flagged, caught, missed, false_alarms, cleared) at one threshold. The prevalence and volume
    are the supervisor's assumptions, not estimates: only the rates vary."""
    if reps < 1:
        raise ValueError(f"reps must be at least 1, got {reps}")
    _items_only(analysis)
    m = analysis.at(threshold)
    cells = np.array([m.tp, m.fn, m.fp, m.tn], dtype=np.float64)
    draw = _rng(seed).multinomial(m.n, cells / m.n, size=reps).astype(np.float64)
    tp, fn, fp, tn = draw.T
    with np.errstate(invalid="ignore", divide="ignore"):  # a replicate without abuse: NaN
        tpr, fpr = tp / (tp + fn), fp / (fp + tn)
    return rate_intervals(tpr, fpr, prevalence, volume)


def rate_intervals(
    tpr: np.ndarray, fpr: np.ndarray, prevalence: float, volume: float
) -> dict[str, Interval]:
    """The intervals of `bootstrap_rates` from replicates of TPR and FPR (NaN: a replicate
    without a class), however they were drawn (an audit sample draws them per band)."""
    day = reweight(np.nan_to_num(tpr), np.nan_to_num(fpr), prevalence, volume)
    ok = np.isfinite(tpr) & np.isfinite(fpr)  # replicates that lost a class say nothing
    out = {"tpr": _quantiles(tpr[ok]), "fpr": _quantiles(fpr[ok])}
    for key in ("precision", "flagged", "caught", "missed", "false_alarms", "cleared"):
        out[key] = _quantiles(day[key][ok])
    return out


# --- the interval of a finder's threshold -------------------------------------------------------


class Finder:
    """A rule that picks one candidate threshold from counts, vectorised over replicates.

    ``pick`` gets, per replicate (rows) and candidate (columns: the distinct scores ascending,
    then "flag nothing"), the flagged abusive ``tp`` and flagged benign ``fp`` counts, each row's
    totals ``pos`` and ``neg`` (column vectors), and ``present`` (the candidate's score was drawn,
    or it is "flag nothing"). It returns each row's column, or -1 when the row has no answer.
    Ties and edges follow ThresholdAnalysis's finders, so on the source's own counts it returns
    the same threshold they do."""

    name = "finder"

    def pick(self, tp: np.ndarray, fp: np.ndarray, pos: np.ndarray, neg: np.ndarray,
             present: np.ndarray) -> np.ndarray:  # fmt: skip
        raise NotImplementedError


def _last(ok: np.ndarray) -> np.ndarray:
    """Each row's highest True column, -1 if none."""
    k = ok.shape[1]
    idx = k - 1 - np.argmax(ok[:, ::-1], axis=1)
    return np.where(ok.any(axis=1), idx, -1)


def _first(ok: np.ndarray) -> np.ndarray:
    """Each row's lowest True column, -1 if none."""
    return np.where(ok.any(axis=1), np.argmax(ok, axis=1), -1)


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    num, den = np.broadcast_arrays(np.asarray(num, np.float64), np.asarray(den, np.float64))
    return np.divide(num, den, out=np.zeros(num.shape), where=den != 0)


class BestF1(Finder):
    """Highest F1 over the distinct scores; ties to the highest threshold (`best_f1`)."""

    name = "best F1"

    def pick(self, tp, fp, pos, neg, present):  # type: ignore[no-untyped-def]
        f1 = _ratio(2 * tp, tp + fp + pos)  # 2tp / (2tp + fp + fn), fn = pos - tp
        f1 = np.where(present, f1, -1.0)[:, :-1]  # not "flag nothing"
        return _last(f1 == f1.max(axis=1, keepdims=True))


@dataclass(frozen=True)
class CostRatio(Finder):
    """Least fn_cost·FN + fp_cost·FP; ties to the highest threshold (`cost_threshold`)."""

    fn_cost: float
    fp_cost: float = 1.0
    name = "cost ratio"

    def pick(self, tp, fp, pos, neg, present):  # type: ignore[no-untyped-def]
        cost = self.fn_cost * (pos - tp) + self.fp_cost * fp.astype(np.float64)
        cost = np.where(present, cost, np.inf)
        return _last(cost == cost.min(axis=1, keepdims=True))


@dataclass(frozen=True)
class RecallFloor(Finder):
    """Highest threshold with recall >= min_recall (`recall_floor`)."""

    min_recall: float
    name = "recall floor"

    def pick(self, tp, fp, pos, neg, present):  # type: ignore[no-untyped-def]
        ok = (_ratio(tp, pos) >= self.min_recall) & present & (pos > 0)
        return _last(ok)


@dataclass(frozen=True)
class Capacity(Finder):
    """Lowest threshold whose flagged/day at (prevalence, volume) fits the capacity
    (`workload.capacity_threshold`)."""

    prevalence: float
    volume: float
    capacity: float
    name = "capacity"

    def __post_init__(self) -> None:
        check_prevalence(self.prevalence), check_volume(self.volume), check_capacity(self.capacity)

    def pick(self, tp, fp, pos, neg, present):  # type: ignore[no-untyped-def]
        # the same expression as reweight's flagged (caught + false alarms), only that array
        p, v = self.prevalence, self.volume
        flagged = v * p * _ratio(tp, pos) + v * (1.0 - p) * _ratio(fp, neg)
        ok = (flagged <= self.capacity) & present & (pos > 0) & (neg > 0)
        return _first(ok)


@dataclass(frozen=True)
class PrecisionAt(Finder):
    """Lowest threshold whose precision at ``prevalence`` is >= min_precision (the bands'
    escalate cut point); never "flag nothing", where precision is undefined."""

    prevalence: float
    min_precision: float
    name = "precision target"

    def pick(self, tp, fp, pos, neg, present):  # type: ignore[no-untyped-def]
        prec = reweight(_ratio(tp, pos), _ratio(fp, neg), self.prevalence, 1.0)["precision"]
        ok = (np.nan_to_num(prec, nan=-1.0) >= self.min_precision) & present & (pos > 0)
        return _first(ok[:, :-1] & (neg > 0))


@dataclass(frozen=True)
class ThresholdInterval:
    """A finder's threshold on the data source and its 95 % bootstrap interval. ``low`` and
    ``high`` are candidate thresholds (scores); NaN when too few replicates had an answer."""

    finder: str
    threshold: float  # NaN when the finder has no answer on the source itself
    low: float
    high: float
    reps: int
    answered: int  # replicates in which the finder found a threshold


class _Groups:
    """The source as (distinct score, label) groups, and draws of how often each is picked."""

    def __init__(self, analysis: ThresholdAnalysis) -> None:
        c = analysis.many(analysis.candidate_thresholds())
        # items at each distinct score: the difference of the counts flagged there and above
        tp = np.append(c["tp"], 0)
        fp = np.append(c["fp"], 0)
        self.pos_at, self.neg_at = -np.diff(tp), -np.diff(fp)
        self.thresholds = np.append(
            analysis.candidate_thresholds(), analysis.flag_nothing_threshold
        )
        self.n = analysis.n
        # each item's group: d for an abusive item at the d-th distinct score, D + d for benign
        counts = np.concatenate([self.pos_at, self.neg_at])
        self.item_group = np.repeat(np.arange(len(counts)), counts)

    def counts(self, pos_at: np.ndarray, neg_at: np.ndarray) -> tuple[np.ndarray, ...]:
        """(tp, fp, pos, neg, present) for rows of per-score counts."""
        rows = pos_at.shape[0]
        tp = np.zeros((rows, pos_at.shape[1] + 1), np.int64)
        fp = np.zeros_like(tp)
        tp[:, :-1] = np.cumsum(pos_at[:, ::-1], axis=1)[:, ::-1]  # flagged: this score and above
        fp[:, :-1] = np.cumsum(neg_at[:, ::-1], axis=1)[:, ::-1]
        present = np.ones_like(tp, dtype=bool)
        present[:, :-1] = (pos_at + neg_at) > 0
        return tp, fp, tp[:, :1], fp[:, :1], present

    def draw(self, rng: np.random.Generator, reps: int) -> tuple[np.ndarray, np.ndarray]:
        """Per-score counts of ``reps`` resamples. Many items per group (tied scores): one
        Multinomial(n, group shares) per replicate, O(groups). Else n item indices per replicate
        counted per group with one bincount, O(n) but ~4x cheaper per element than a binomial
        draw (measured: 7x faster than the multinomial on the bundled set's 5,650 groups)."""
        d2 = 2 * len(self.pos_at)
        counts = np.concatenate([self.pos_at, self.neg_at])
        nonzero = np.flatnonzero(counts)
        if 4 * len(nonzero) < self.n:
            flat = np.zeros((reps, d2), np.int64)
            flat[:, nonzero] = rng.multinomial(self.n, counts[nonzero] / self.n, size=reps)
        else:
            picks = self.item_group[rng.integers(0, self.n, size=(reps, self.n))]
            picks += np.arange(reps)[:, None] * d2
            flat = np.bincount(picks.ravel(), minlength=reps * d2).reshape(reps, d2)
        return flat[:, : d2 // 2], flat[:, d2 // 2 :]


def threshold_interval(
    analysis: ThresholdAnalysis, finder: Finder, *, reps: int = FINDER_REPS, seed: int = 0
) -> ThresholdInterval:
    """The 95 % interval of the threshold ``finder`` returns when the data source is resampled
    (items with replacement, ``reps`` times, reproducible from ``seed``)."""
    if reps < 1:
        raise ValueError(f"reps must be at least 1, got {reps}")
    _items_only(analysis)
    g = _Groups(analysis)
    own = finder.pick(*g.counts(g.pos_at[None, :], g.neg_at[None, :]))[0]
    point = float(g.thresholds[own]) if own >= 0 else math.nan
    rng, picked = _rng(seed), []
    per_chunk = max(1, _CHUNK_CELLS // max(g.n, 2 * len(g.pos_at)))
    for start in range(0, reps, per_chunk):
        idx = finder.pick(*g.counts(*g.draw(rng, min(per_chunk, reps - start))))
        picked.append(idx[idx >= 0])
    found = g.thresholds[np.concatenate(picked)]
    if len(found) < max(1, reps // 2):  # mostly no answer: an interval would mislead
        return ThresholdInterval(finder.name, point, math.nan, math.nan, reps, len(found))
    lo = float(np.quantile(found, 0.025, method="lower"))  # ends are candidate thresholds
    hi = float(np.quantile(found, 0.975, method="higher"))
    return ThresholdInterval(finder.name, point, lo, hi, reps, len(found))
