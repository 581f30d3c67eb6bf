"""Threshold analysis: what each possible decision threshold would do to a labelled sample.

Convention: an item is FLAGGED (predicted abusive) iff ``score >= threshold``, compared exactly
on float64 (scores and thresholds are converted to float64, never rounded). Label 1 means
abusive (the positive class), 0 benign.

The constructor sorts the scores once and precomputes cumulative positive counts, so any
threshold is answered with one binary search (``np.searchsorted``) instead of a pass over the
data: a supervisor dragging a slider over a million rows must get an answer per frame.

Every distinct confusion matrix is produced by some distinct score used as the threshold, or by
"flag nothing". The latter is represented by ``flag_nothing_threshold`` =
``np.nextafter(max_score, inf)``: the smallest float64 above every score, so it stays finite
(JSON-friendly) and sorts directly above the highest real candidate.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from app.core.analysis.threshold_metrics import (
    ThresholdDelta,
    ThresholdInputError,
    ThresholdMetrics,
    _check_unit,
    _div,
    cell_mask,
    count_change,
)

# The matrix at one threshold lives in `threshold_metrics`; its names are re-exported here,
# where they were defined before (callers import them from this module).
__all__ = [
    "ThresholdAnalysis",
    "ThresholdDelta",
    "ThresholdInputError",
    "ThresholdMetrics",
    "cell_mask",
    "count_change",
    "metrics_table",
]


class ThresholdAnalysis:
    """Answers "what happens at threshold t" for one labelled sample, in O(log n) per query."""

    def __init__(self, scores: ArrayLike, labels: ArrayLike) -> None:
        s = np.asarray(scores)
        y = np.asarray(labels)
        for name, arr in (("scores", s), ("labels", y)):
            if arr.ndim != 1:
                raise ThresholdInputError(f"{name} must be one-dimensional, got shape {arr.shape}")
            if arr.dtype.kind not in "biuf":
                raise ThresholdInputError(f"{name} must be numbers, got dtype {arr.dtype}")
        if len(s) != len(y):
            raise ThresholdInputError(
                f"scores and labels differ in length: {len(s)} scores, {len(y)} labels"
            )
        if len(s) == 0:
            raise ThresholdInputError("no data: need at least one score with a label")
        s = s.astype(np.float64, copy=False)
        bad = int(np.count_nonzero(~np.isfinite(s)))
        if bad:
            raise ThresholdInputError(
                f"{bad} score{' is' if bad == 1 else 's are'} NaN or infinite"
            )
        is_pos = y == 1
        odd = ~(is_pos | (y == 0))
        if k := int(odd.sum()):
            raise ThresholdInputError(
                f"labels must be 0 or 1 (or True/False); {k} {'is' if k == 1 else 'are'} not, "
                f"e.g. {y[odd][0].item()!r}"
            )

        order = np.argsort(s, kind="stable")
        self._sorted = s[order]
        # _cum_pos[i] = positives among the i lowest scores, i.e. the false negatives when the
        # threshold sits just above the i-th lowest score.
        self._cum_pos = np.zeros(len(s) + 1, dtype=np.int64)
        np.cumsum(is_pos[order], out=self._cum_pos[1:])
        self._n = len(s)
        self._pos = int(self._cum_pos[-1])
        first = np.ones(self._n, dtype=bool)
        first[1:] = self._sorted[1:] != self._sorted[:-1]
        self._starts = np.flatnonzero(first)  # index of each distinct score's first occurrence
        self._distinct = self._sorted[self._starts]
        with np.errstate(over="ignore"):  # only when max is the largest float: then it is inf
            self._flag_nothing = float(np.nextafter(self._sorted[-1], np.inf))

    @property
    def n(self) -> int:
        return self._n

    @property
    def positives(self) -> int:
        return self._pos

    @property
    def negatives(self) -> int:
        return self.n - self._pos

    @property
    def flag_nothing_threshold(self) -> float:
        """Smallest float64 above every score: the threshold that flags nothing."""
        return self._flag_nothing

    def at(self, threshold: float) -> ThresholdMetrics:
        t = float(threshold)
        if math.isnan(t):
            raise ThresholdInputError("threshold is NaN")
        # side="left" counts scores strictly below t: exactly the items NOT flagged by s >= t.
        below = int(np.searchsorted(self._sorted, t, side="left"))
        fn = self._cum_pos[below].item()
        tn = self._mass(below) - fn
        return self._metrics(t, tn, self.negatives - tn, fn, self._pos - fn)

    # Hooks for `app.core.analysis.weighted`, which counts weighted items with these same
    # formulas: here an item counts 1, so the mass of the i lowest scores is i.
    def _mass(self, below: Any) -> Any:
        """How many items (a weighted sum, there) lie among the ``below`` lowest scores."""
        return below

    def _metrics(self, t: float, tn: Any, fp: Any, fn: Any, tp: Any) -> ThresholdMetrics:
        return ThresholdMetrics.from_counts(t, tn, fp, fn, tp)

    def readable(self, threshold: float, max_decimals: int = 6) -> float:
        """The shortest decimal (2 to `max_decimals` places) at or below ``threshold`` that
        decides every item of this sample as ``threshold`` does: no score lies between them.
        A finder's exact threshold is a score (0.40705543868933947); a supervisor reads,
        applies and logs 0.4071. ``threshold`` itself when no shorter one is as good."""
        t = float(threshold)
        if not 0.0 <= t <= 1.0:
            return t
        below = int(np.searchsorted(self._sorted, t, side="left"))
        highest_below = float(self._sorted[below - 1]) if below else -math.inf
        for decimals in range(2, max_decimals + 1):
            scale = 10**decimals
            candidate = math.floor(t * scale) / scale
            if candidate > t:  # floating point: floor(0.29 * 100) / 100 may round up
                candidate = (math.floor(t * scale) - 1) / scale
            if highest_below < candidate <= t:
                return candidate
        return t

    def alike_range(self, threshold: float, max_decimals: int = 6) -> tuple[float, float] | None:
        """Two short decimals ``(low, high)``, both deciding every item of this sample as
        ``threshold`` does (no score lies between them and it), as far apart as the fewest
        decimals allow: a finder's note "any threshold from 0.39 to 0.97 decides these items
        alike". None when no two such decimals differ (the scores are too close)."""
        t = float(threshold)
        if not 0.0 <= t <= 1.0:
            return None
        below = int(np.searchsorted(self._sorted, t, side="left"))
        highest_below = float(self._sorted[below - 1]) if below else -math.inf
        for decimals in range(2, max_decimals + 1):
            scale = 10**decimals
            high = self.readable(t, decimals)  # the highest such decimal, or t itself
            low = 0.0  # no score below: 0 (flag everything) decides alike
            if below:
                low = (math.floor(highest_below * scale) + 1) / scale
                if low <= highest_below:  # floating point: one step more
                    low = (math.floor(highest_below * scale) + 2) / scale
            short = high != t or t == round(t, decimals)  # readable found a short one
            if short and highest_below < low < high <= t:
                return low, high
        return None

    def _curves(self, thresholds: np.ndarray, below: np.ndarray) -> dict[str, np.ndarray]:
        fn = self._cum_pos[below]
        tn = self._mass(below) - fn
        tp = self._pos - fn
        fp = self.negatives - tn
        n = np.full_like(tp, self.n)
        return {
            "threshold": thresholds, "tp": tp, "fp": fp, "fn": fn, "tn": tn,
            "precision": _div(tp, tp + fp),
            "recall": _div(tp, tp + fn),
            "f1": _div(2 * tp, 2 * tp + fp + fn),
            "accuracy": _div(tp + tn, n),
            "specificity": _div(tn, tn + fp),
            "queue_rate": _div(tp + fp, n),
        }  # fmt: skip

    def many(self, thresholds: ArrayLike) -> dict[str, np.ndarray]:
        """Vectorised ``at``: one array per metric, aligned with ``thresholds`` (for plotting)."""
        t = np.array(thresholds, dtype=np.float64, ndmin=1)  # a copy: it is returned to the caller
        if t.ndim != 1:
            raise ThresholdInputError(f"thresholds must be one-dimensional, got shape {t.shape}")
        if np.isnan(t).any():
            raise ThresholdInputError("thresholds contain NaN")
        below = np.searchsorted(self._sorted, t, side="left").astype(np.int64)
        return self._curves(t, below)

    def candidate_thresholds(self) -> np.ndarray:
        """Distinct scores, ascending. With ``flag_nothing_threshold`` they reach every matrix."""
        return self._distinct.copy()

    def _candidates(self, with_nothing: bool) -> dict[str, np.ndarray]:
        """Metrics at the distinct scores (ascending), optionally plus "flag nothing" last."""
        t, below = self._distinct.copy(), self._starts  # copy: callers may keep the arrays
        if with_nothing:
            t = np.append(t, self._flag_nothing)
            below = np.append(below, self._n)
        return self._curves(t, below)

    def _pick(self, c: dict[str, np.ndarray], i: int) -> ThresholdMetrics:
        # A candidate is a distinct score (or flag-nothing), so at() lands on exactly its matrix.
        return self.at(float(c["threshold"][i]))

    def best_f1(self) -> ThresholdMetrics:
        """Distinct score with the highest F1; ties go to the highest threshold (smallest queue)."""
        c = self._candidates(with_nothing=False)
        f1 = c["f1"]
        return self._pick(c, int(np.flatnonzero(f1 == f1.max())[-1]))

    def cost_threshold(self, fn_cost: float, fp_cost: float = 1.0) -> ThresholdMetrics:
        """Minimise fn_cost*FN + fp_cost*FP over distinct scores and "flag nothing".

        Ties go to the highest threshold: the same cost for less reviewing.
        """
        a, b = float(fn_cost), float(fp_cost)
        if not (math.isfinite(a) and math.isfinite(b) and a >= 0 and b >= 0):
            raise ThresholdInputError(f"costs must be finite and >= 0, got fn={a}, fp={b}")
        if a == 0 and b == 0:
            raise ThresholdInputError("fn_cost and fp_cost cannot both be 0")
        c = self._candidates(with_nothing=True)
        cost = a * c["fn"] + b * c["fp"]
        return self._pick(c, int(np.flatnonzero(cost == cost.min())[-1]))

    def recall_floor(self, min_recall: float) -> ThresholdMetrics | None:
        """Highest threshold (smallest queue) with recall >= min_recall; None if no positives.

        "Flag nothing" is a candidate, so min_recall == 0 returns it.
        """
        floor = _check_unit("min_recall", min_recall)
        if self._pos == 0:
            return None
        c = self._candidates(with_nothing=True)
        return self._pick(c, int(np.flatnonzero(c["recall"] >= floor)[-1]))

    def precision_floor(self, min_precision: float) -> ThresholdMetrics | None:
        """Lowest threshold (largest catch) with precision >= min_precision; None if none has."""
        floor = _check_unit("min_precision", min_precision)
        c = self._candidates(with_nothing=False)
        ok = np.flatnonzero(c["precision"] >= floor)
        return self._pick(c, int(ok[0])) if len(ok) else None

    def queue_rate_at_most(self, max_rate: float) -> ThresholdMetrics:
        """Lowest threshold whose share flagged is <= max_rate (always exists: flag nothing)."""
        limit = _check_unit("max_rate", max_rate)
        c = self._candidates(with_nothing=True)
        return self._pick(c, int(np.flatnonzero(c["queue_rate"] <= limit)[0]))

    def compare(self, new_threshold: float, reference_threshold: float) -> ThresholdDelta:
        new, ref = self.at(new_threshold), self.at(reference_threshold)
        return ThresholdDelta(
            new, ref, new.tp - ref.tp, new.fp - ref.fp, new.fn - ref.fn, new.flagged - ref.flagged
        )

    def roc_auc(self) -> float:
        """Mann-Whitney AUC with ties counted as half; NaN when only one class is present.

        Computed as an exact integer (2U) and divided once, so it does not drift with n.
        """
        neg = self.negatives
        if self._pos == 0 or neg == 0:
            return float("nan")
        bounds = np.append(self._starts, self._n)
        pos_below, mass = self._cum_pos[bounds], self._mass(bounds)
        pos_in = np.diff(pos_below)
        neg_in = np.diff(mass) - pos_in
        neg_below = mass[:-1] - pos_below[:-1]
        twice_u = np.sum(2 * neg_below * pos_in + pos_in * neg_in).item()  # int when unweighted
        return twice_u / (2 * self._pos * neg)

    def pr_curve(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(precision, recall, thresholds) at the distinct scores, thresholds ascending."""
        c = self._candidates(with_nothing=False)
        return c["precision"], c["recall"], c["threshold"]

    def roc_curve(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(fpr, tpr, thresholds) with thresholds descending, starting at "flag nothing" (0, 0).

        Same order as sklearn.metrics.roc_curve, whose first threshold is inf instead.
        """
        c = self._candidates(with_nothing=True)
        fpr = _div(c["fp"], np.full_like(c["fp"], self.negatives))
        return fpr[::-1], c["recall"][::-1], c["threshold"][::-1]


def metrics_table(analysis: ThresholdAnalysis, thresholds: ArrayLike) -> list[ThresholdMetrics]:
    """``analysis.at`` for each threshold, in order (rows for a table or an export)."""
    return [analysis.at(t) for t in np.atleast_1d(np.asarray(thresholds, dtype=np.float64))]
