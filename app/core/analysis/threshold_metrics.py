"""The confusion matrix at one threshold (`ThresholdMetrics`), what a move changes
(`ThresholdDelta`), which items fall in a matrix cell, and the input error of the threshold
analysis (`app.core.analysis.thresholds`, which re-exports all of them).

Convention (as there): an item is FLAGGED iff ``score >= threshold``; label 1 is abusive.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
from numpy.typing import ArrayLike

from app.core.common.errors import InputError
from app.core.common.messages import fmt_threshold


class ThresholdInputError(InputError, ValueError):
    """Bad scores, labels or arguments. A ValueError for callers, an InputError for the CLI."""


def _div(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """num/den with 0.0 where den == 0 (sklearn's zero_division=0), without warnings."""
    num = np.asarray(num, dtype=np.float64)
    den = np.asarray(den, dtype=np.float64)
    return np.divide(num, den, out=np.zeros(np.broadcast(num, den).shape), where=den != 0)


def _fraction(num: int, den: int) -> float:
    return num / den if den else 0.0


def _check_unit(name: str, value: float) -> float:
    value = float(value)
    if not 0.0 <= value <= 1.0:  # also rejects NaN
        raise ThresholdInputError(f"{name} must be between 0 and 1, got {value}")
    return value


@dataclass(frozen=True, slots=True)
class ThresholdMetrics:
    """The confusion matrix and derived rates at one threshold."""

    threshold: float
    tn: int
    fp: int
    fn: int
    tp: int
    precision: float
    recall: float
    f1: float
    accuracy: float
    specificity: float
    queue_rate: float

    @classmethod
    def from_counts(cls, threshold: float, tn: int, fp: int, fn: int, tp: int) -> ThresholdMetrics:
        # F1 as one division of integers (2tp / (2tp+fp+fn)) so equal F1 values compare equal
        # exactly, which keeps best_f1's tie-breaking deterministic.
        n = tn + fp + fn + tp
        return cls(
            float(threshold), tn, fp, fn, tp,
            precision=_fraction(tp, tp + fp),
            recall=_fraction(tp, tp + fn),
            f1=_fraction(2 * tp, 2 * tp + fp + fn),
            accuracy=_fraction(tp + tn, n),
            specificity=_fraction(tn, tn + fp),
            queue_rate=_fraction(tp + fp, n),
        )  # fmt: skip

    @property
    def flagged(self) -> int:
        return self.tp + self.fp

    @property
    def n(self) -> int:
        return self.tn + self.fp + self.fn + self.tp

    @property
    def flagged_per_1000(self) -> float:
        return 1000.0 * self.queue_rate

    def matrix_abusive_first(self) -> np.ndarray:
        """[[tp, fn], [fp, tn]]: rows actual (abusive, benign), columns predicted (same order)."""
        return np.array([[self.tp, self.fn], [self.fp, self.tn]], dtype=np.int64)

    def as_dict(self) -> dict[str, float | int]:
        """Plain Python numbers only, for JSON export."""
        return {f.name: getattr(self, f.name) for f in fields(self)} | {"flagged": self.flagged}


def count_change(k: int, verb: str, thing: str) -> str:
    """ "catches 5 fewer abusive items", "raises 1 more false alarm", "catches as many ..."."""
    if k == 0:
        return f"{verb} as many {thing}s"
    plural = "" if round(abs(k)) == 1 else "s"  # round: an estimate "≈ 1" is one item too
    return f"{verb} {abs(k):,} {'more' if k > 0 else 'fewer'} {thing}{plural}"


@dataclass(frozen=True, slots=True)
class ThresholdDelta:
    """What moving from ``reference`` to ``new`` changes, in counts a supervisor can act on."""

    new: ThresholdMetrics
    reference: ThresholdMetrics
    extra_caught: int
    extra_false_alarms: int
    extra_missed: int
    queue_change: int

    @property
    def queue_change_per_1000(self) -> float:
        return _fraction(1000 * self.queue_change, self.new.n)

    def describe(self, max_decimals: int = 4) -> str:
        """One plain-English sentence, e.g. "At 0.45 instead of 0.50: catches 36 more ..."."""
        caught = count_change(self.extra_caught, "catches", "abusive item")
        alarms = count_change(self.extra_false_alarms, "raises", "false alarm")
        if self.queue_change == 0:
            queue = "review queue unchanged"
        else:
            queue = f"review queue {self.queue_change:+,d}, {self.queue_change_per_1000:+,.1f} per 1,000"
        new_t = fmt_threshold(self.new.threshold, max_decimals)
        ref_t = fmt_threshold(self.reference.threshold, max_decimals)
        if new_t == ref_t and self.new.threshold != self.reference.threshold:
            new_t, ref_t = repr(self.new.threshold), repr(self.reference.threshold)
        return f"At {new_t} instead of {ref_t}: {caught} and {alarms} ({queue})."


def cell_mask(
    scores: ArrayLike, labels: ArrayLike, threshold: float, row: int, col: int
) -> np.ndarray:
    """Which items fall in one cell of the abusive-first matrix (row: actual, col: predicted;
    0 = abusive, 1 = benign), by the same rule as everything else: flagged iff score >= t."""
    if row not in (0, 1) or col not in (0, 1):
        raise ThresholdInputError(f"matrix cell ({row}, {col}) does not exist")
    actual = np.asarray(labels) == (1 if row == 0 else 0)
    flagged = np.asarray(scores, dtype=np.float64) >= float(threshold)
    return actual & (flagged if col == 0 else ~flagged)
