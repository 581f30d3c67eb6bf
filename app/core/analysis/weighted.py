"""Threshold analysis of a weighted sample: each item stands for ``weight`` items of a batch.

An audit sample (`app.core.audit`) over-samples some score bands on purpose; an item of band h
stands for N_h / n_h_labelled batch rows (the weights come from `app.core.audit.estimate`, the
one place that computes them). Weighted, the confusion matrix's counts become weighted sums —
TP = Σ w·y·f and so on — and every derived number (rates, curves, finders, PR and ROC curves,
AUC) follows by the very formulas of `ThresholdAnalysis`, which this class reuses through its
two hooks (``_mass``: the weight of the i lowest scores; ``_metrics``: the result type).

The counts are *estimates for the batch*, not items one can count: they are floats of type
`Estimated`, which formats as "≈ 1,234" wherever a count is written with ``:,`` or ``:,d``, so
no display can pass an estimate off as a count. With every weight 1 the numbers equal
`ThresholdAnalysis`'s (a test checks it on the bundled evaluation set), but use that class then.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from app.core.analysis.thresholds import ThresholdAnalysis, ThresholdInputError, ThresholdMetrics


class Estimated(float):
    """A weighted count: an estimate for the batch, written "≈ 1,234" (rounded to a whole item).

    Sums, differences and absolute values stay `Estimated`, so ``tp + fp`` still says "≈".
    """

    def __format__(self, spec: str) -> str:
        if spec and spec[-1] in "eEfFgG%":  # ".1f", "%"…: the caller asked for decimals
            return format(float(self), spec)
        # "", ",", "+,d": a count's format, so a whole number, marked as an estimate
        return "≈ " + format(round(float(self)), spec.rstrip("dn") or ",")

    def __add__(self, other: Any) -> Any:
        return _keep(float(self) + other)

    __radd__ = __add__

    def __sub__(self, other: Any) -> Any:
        return _keep(float(self) - other)

    def __rsub__(self, other: Any) -> Any:
        return _keep(other - float(self))

    def __neg__(self) -> Estimated:
        return Estimated(-float(self))

    def __abs__(self) -> Estimated:
        return Estimated(abs(float(self)))


def _keep(x: Any) -> Any:
    """A scalar result stays an estimate; an array (a curve's counts) is left as it is."""
    return Estimated(x) if isinstance(x, float) else x


def _estimated(x: Any) -> Estimated:
    # Sums of weights may leave -1e-12 where the truth is 0: never show "≈ -0" items.
    return Estimated(max(0.0, float(x)))


@dataclass(frozen=True, slots=True)
class WeightedThresholdMetrics(ThresholdMetrics):
    """`ThresholdMetrics` whose counts are `Estimated` (weighted sums for the batch)."""

    def matrix_abusive_first(self) -> np.ndarray:
        """[[tp, fn], [fp, tn]] as float64: estimates, not whole counts."""
        return np.array([[self.tp, self.fn], [self.fp, self.tn]], dtype=np.float64)


class WeightedThresholdAnalysis(ThresholdAnalysis):
    """`ThresholdAnalysis` over weighted items (the interface is the same; counts are floats).

    ``n``, ``positives`` and ``negatives`` are the estimated batch sizes; ``n_items`` is the
    number of (labelled) items the estimates rest on.
    """

    def __init__(self, scores: ArrayLike, labels: ArrayLike, weights: ArrayLike) -> None:
        super().__init__(scores, labels)
        w = np.asarray(weights)
        if w.ndim != 1 or len(w) != self.n_items:
            raise ThresholdInputError(
                f"weights must be one per score: {w.shape} for {self.n_items} scores"
            )
        if w.dtype.kind not in "biuf":
            raise ThresholdInputError(f"weights must be numbers, got dtype {w.dtype}")
        w = w.astype(np.float64)
        if not (np.isfinite(w).all() and (w > 0).all()):
            raise ThresholdInputError("weights must be finite and > 0")
        # The same stable order as the base class sorted the scores in.
        order = np.argsort(np.asarray(scores, dtype=np.float64), kind="stable")
        is_pos = (np.asarray(labels) == 1)[order]
        self._cum_w = np.zeros(self.n_items + 1)
        np.cumsum(w[order], out=self._cum_w[1:])
        cum_pos = np.zeros(self.n_items + 1)  # weighted: the base class's formulas use it
        np.cumsum(np.where(is_pos, w[order], 0.0), out=cum_pos[1:])
        self._cum_pos = cum_pos  # type: ignore[assignment]
        # Totals summed exactly (fsum: independent of order), so two models' analyses of the
        # same weighted items agree on n and positives although they sort the items differently.
        self._total = _estimated(math.fsum(w))
        self._pos = _estimated(math.fsum(w[np.asarray(labels) == 1]))  # type: ignore[assignment]
        self._weights = w

    @property
    def n_items(self) -> int:
        """The items (not their weight) the estimates rest on."""
        return self._n

    @property
    def n(self) -> Estimated:  # type: ignore[override]
        return self._total

    @property
    def weights(self) -> np.ndarray:
        return self._weights.copy()

    def _mass(self, below: Any) -> Any:
        return self._cum_w[below]

    def _metrics(self, t: float, tn: Any, fp: Any, fn: Any, tp: Any) -> ThresholdMetrics:
        counts = (_estimated(c) for c in (tn, fp, fn, tp))
        return WeightedThresholdMetrics.from_counts(t, *counts)  # type: ignore[arg-type]
