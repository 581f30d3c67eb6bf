"""WeightedThresholdAnalysis: the weighted confusion matrix by hand, and weights of 1 giving
exactly ThresholdAnalysis's numbers."""

from __future__ import annotations

import math

import numpy as np
import pytest

from app.core.analysis.thresholds import ThresholdAnalysis, ThresholdInputError
from app.core.analysis.weighted import Estimated, WeightedThresholdAnalysis
from app.core.audit.estimate import band_weights, estimate

# Five items: scores, labels (1 abusive) and how many batch items each stands for.
S = [0.1, 0.3, 0.5, 0.7, 0.9]
Y = [0, 1, 0, 1, 1]
W = [10.0, 10.0, 4.0, 2.0, 1.0]


def test_hand_computed_weighted_matrix() -> None:
    a = WeightedThresholdAnalysis(S, Y, W)
    m = a.at(0.5)  # flagged: 0.5 (benign, w 4), 0.7 (abusive, 2), 0.9 (abusive, 1)
    assert (m.tp, m.fp, m.fn, m.tn) == (3.0, 4.0, 10.0, 10.0)
    assert m.precision == pytest.approx(3 / 7)
    assert m.recall == pytest.approx(3 / 13)
    assert m.f1 == pytest.approx(6 / (6 + 4 + 10))
    assert m.accuracy == pytest.approx(13 / 27)
    assert m.specificity == pytest.approx(10 / 14)
    assert m.queue_rate == pytest.approx(7 / 27)
    assert (a.n, a.positives, a.negatives, a.n_items) == (27.0, 13.0, 14.0, 5)
    # AUC: P(score of a random abusive > benign), weighted: pairs (w_pos * w_neg)
    pairs = sum(
        wp * wn * (1.0 if sp > sn else 0.5 if sp == sn else 0.0)
        for sp, yp, wp in zip(S, Y, W, strict=True) if yp == 1
        for sn, yn, wn in zip(S, Y, W, strict=True) if yn == 0
    )  # fmt: skip
    assert a.roc_auc() == pytest.approx(pairs / (13 * 14))
    # cost finder: fn costs 1, fp 1 -> minimise fn + fp over the candidates
    costs = {t: a.at(t).fn + a.at(t).fp for t in [*S, a.flag_nothing_threshold]}
    assert a.cost_threshold(1.0).fn + a.cost_threshold(1.0).fp == min(costs.values())


def test_counts_are_estimates_and_say_so() -> None:
    m = WeightedThresholdAnalysis(S, Y, [1234.4, 1, 1, 1, 1]).at(0.0)
    assert isinstance(m.tn, Estimated) and isinstance(m.flagged, Estimated)
    assert f"{m.fp:,}" == "≈ 1,235" and f"{m.n:,}" == "≈ 1,238" and f"{m.tn}" == "≈ 0"
    delta = WeightedThresholdAnalysis(S, Y, W).compare(0.5, 0.9)
    assert f"{delta.queue_change:+,d}" == "≈ +6"
    assert "catches ≈ 2 more abusive items" in delta.describe()
    assert "raises ≈ 4 more false alarms" in delta.describe()
    assert f"{m.queue_rate:.1%}" == "100.0%"
    assert WeightedThresholdAnalysis(S, Y, W).at(0.5).matrix_abusive_first().dtype == np.float64


def test_weights_of_one_equal_the_unweighted_analysis_on_the_bundled_set(bundled_scorer) -> None:
    arrays = bundled_scorer.bundle.arrays
    s, y = arrays["eval_scores.npy"], arrays["eval_labels.npy"]
    plain, weighted = ThresholdAnalysis(s, y), WeightedThresholdAnalysis(s, y, np.ones(len(s)))
    grid = np.linspace(0, 1, 101)
    for key, values in plain.many(grid).items():
        assert np.array_equal(values, weighted.many(grid)[key]), key
    for curve in ("pr_curve", "roc_curve"):
        for p, w in zip(getattr(plain, curve)(), getattr(weighted, curve)(), strict=True):
            assert np.array_equal(p, w), curve
    assert plain.roc_auc() == weighted.roc_auc()
    assert plain.best_f1().threshold == weighted.best_f1().threshold
    assert plain.cost_threshold(3.0).threshold == weighted.cost_threshold(3.0).threshold
    assert plain.recall_floor(0.9).threshold == weighted.recall_floor(0.9).threshold  # type: ignore[union-attr]
    assert plain.at(0.45).as_dict() == weighted.at(0.45).as_dict()


def test_band_weights_are_the_estimates_weights() -> None:
    strata = ["clear_low", "clear_low", "clear_low", "high", "high"]
    labels = [0, None, 1, 1, 0]
    population = {"clear_low": 300, "high": 20}
    weights, missing = band_weights(strata, labels, population)
    assert weights.tolist() == [150.0, 0.0, 150.0, 10.0, 10.0] and missing == []
    scores = [0.1, 0.2, 0.3, 0.8, 0.9]
    keep = [i for i, v in enumerate(labels) if v is not None]
    a = WeightedThresholdAnalysis(
        [scores[i] for i in keep], [labels[i] for i in keep], weights[keep]
    )
    est = estimate(scores, strata, labels, population, [0.5], n_boot=10).thresholds[0]
    m = a.at(0.5)
    assert m.precision == pytest.approx(est.precision.estimate)
    assert m.recall == pytest.approx(est.recall.estimate)
    assert m.queue_rate == pytest.approx(est.flag_rate.estimate)
    _, missing = band_weights(strata, [None, None, None, 1, 0], population)
    assert missing == ["clear_low (300 batch rows)"]


def test_bad_weights_are_refused() -> None:
    for bad in ([1, 1], [1, 1, 1, 1, math.nan], [1, 1, 1, 1, 0]):
        with pytest.raises(ThresholdInputError):
            WeightedThresholdAnalysis(S, Y, bad)
