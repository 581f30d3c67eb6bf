"""Prevalence and workload: re-weighting, the capacity and recall-floor finders, the estimate
"from this batch", against hand-computed values."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from app.core.analysis.thresholds import ThresholdAnalysis, ThresholdInputError
from app.core.analysis.workload import (
    PREVALENCE_CAVEAT,
    capacity_of,
    capacity_threshold,
    check_capacity,
    check_prevalence,
    check_volume,
    curves_at_prevalence,
    estimate_prevalence,
    pr_at_prevalence,
    recall_floor_threshold,
    reweight,
    workload_at,
    workload_curves,
)

# Four abusive and four benign items; at p = 0.5 and V = 800 each item stands for 100 a day.
POS = [0.9, 0.8, 0.6, 0.3]
NEG = [0.7, 0.5, 0.4, 0.2]


@pytest.fixture
def small() -> ThresholdAnalysis:
    return ThresholdAnalysis(POS + NEG, [1] * 4 + [0] * 4)


def test_reweighting_the_issue_example_by_hand() -> None:
    day = reweight(0.9, 0.1, 0.05, 10_000)
    assert float(day["flagged"]) == pytest.approx(1400)  # 10000·(0.05·0.9 + 0.95·0.1)
    assert float(day["caught"]) == pytest.approx(450)
    assert float(day["missed"]) == pytest.approx(50)
    assert float(day["false_alarms"]) == pytest.approx(950)
    assert float(day["cleared"]) == pytest.approx(8550)
    assert float(day["precision"]) == pytest.approx(450 / 1400)
    assert float(day["recall"]) == 0.9


def test_workload_at_a_threshold_from_the_data_source() -> None:
    # 10 abusive, 9 of them >= 0.5 (TPR 0.9); 10 benign, 1 of them >= 0.5 (FPR 0.1)
    scores = [0.1] + [0.6] * 9 + [0.7] + [0.2] * 9
    a = ThresholdAnalysis(scores, [1] * 10 + [0] * 10)
    w = workload_at(a, 0.5, 0.05, 10_000)
    assert (w.tpr, w.fpr, w.recall) == (0.9, 0.1, 0.9)
    assert w.flagged_per_day == pytest.approx(1400) and w.caught_per_day == pytest.approx(450)
    assert w.missed_per_day == pytest.approx(50) and w.false_alarms_per_day == pytest.approx(950)
    assert w.precision == pytest.approx(450 / 1400)
    assert w.matrix_abusive_first() == pytest.approx(np.array([[450, 50], [950, 8550]]))
    assert w.backlog_per_day(1000) == pytest.approx(400) and w.backlog_per_day(2000) == 0.0


def test_precision_where_nothing_is_flagged_is_nan_without_a_warning(small) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        day = reweight([0.0, 0.5], [0.0, 0.0], 0.1, 100)
        w = workload_at(small, small.flag_nothing_threshold, 0.1, 100)
    assert math.isnan(day["precision"][0]) and day["precision"][1] == 1.0
    assert math.isnan(w.precision) and w.flagged_per_day == 0.0


def test_precision_moves_with_prevalence(small) -> None:
    assert workload_at(small, 0.7, 0.5, 800).precision == pytest.approx(2 / 3)  # tp 2, fp 1
    # p·TPR / (p·TPR + (1−p)·FPR) = 0.2·0.5 / (0.2·0.5 + 0.8·0.25)
    assert workload_at(small, 0.7, 0.2, 800).precision == pytest.approx(1 / 3)


@pytest.mark.parametrize(
    ("capacity", "threshold", "recall", "flagged"),
    [(300, 0.7, 0.5, 300), (299.9, 0.8, 0.5, 200), (250, 0.8, 0.5, 200), (800, 0.2, 1.0, 800),
     (10_000, 0.2, 1.0, 800), (100, 0.9, 0.25, 100)],
)  # fmt: skip
def test_capacity_picks_the_lowest_threshold_that_fits(small, capacity, threshold, recall, flagged):
    w = capacity_threshold(small, 0.5, 800, capacity)
    assert w.threshold == threshold and w.recall == recall
    assert w.flagged_per_day == pytest.approx(flagged)


def test_no_capacity_flags_nothing_and_backlog_builds_at_a_lower_threshold(small) -> None:
    w = capacity_threshold(small, 0.5, 800, 0)
    assert w.threshold == small.flag_nothing_threshold and w.flagged_per_day == 0
    assert workload_at(small, 0.5, 0.5, 800).backlog_per_day(300) == pytest.approx(200)
    assert capacity_of(3, 100) == 300 and capacity_of(0, 50) == 0


@pytest.mark.parametrize(("floor", "threshold"), [(0.75, 0.6), (0.5, 0.8), (1.0, 0.3), (0.26, 0.8)])
def test_recall_floor_picks_the_highest_threshold_that_reaches_it(small, floor, threshold):
    w = recall_floor_threshold(small, floor, 0.5, 800)
    assert w.threshold == threshold and w.recall >= floor


def test_recall_floor_of_zero_flags_nothing(small) -> None:
    assert recall_floor_threshold(small, 0.0, 0.5, 800).threshold == small.flag_nothing_threshold


def test_the_finders_return_exact_scores_not_grid_points() -> None:
    rng = np.random.default_rng(7)
    scores = rng.random(500)
    labels = (rng.random(500) < scores).astype(int)
    a = ThresholdAnalysis(scores, labels)
    for w in (capacity_threshold(a, 0.05, 1e4, 800), recall_floor_threshold(a, 0.8, 0.05, 1e4)):
        assert w.threshold in set(scores.tolist())
    # the capacity rule against a brute-force scan of every score
    c = workload_curves(a, np.sort(scores), 0.05, 1e4)
    fits = c["threshold"][c["flagged"] <= 800]
    assert capacity_threshold(a, 0.05, 1e4, 800).threshold == fits.min()


def test_one_class_sources_cannot_be_reweighted() -> None:
    only_abusive = ThresholdAnalysis([0.2, 0.8], [1, 1])
    with pytest.raises(ThresholdInputError, match="abusive and benign"):
        workload_at(only_abusive, 0.5, 0.05, 100)


@pytest.mark.parametrize("p", [0, 1, -0.1, 1.5, math.nan, math.inf, "x", None])
def test_prevalence_must_be_strictly_between_0_and_1(p) -> None:
    with pytest.raises(ThresholdInputError, match="prevalence"):
        check_prevalence(p)


@pytest.mark.parametrize("v", [0, -5, math.nan, math.inf])
def test_volume_must_be_finite_and_above_0(v) -> None:
    with pytest.raises(ThresholdInputError, match="volume"):
        check_volume(v)


@pytest.mark.parametrize("c", [-1, math.nan, math.inf])
def test_capacity_must_be_finite_and_not_negative(c) -> None:
    with pytest.raises(ThresholdInputError, match="capacity"):
        check_capacity(c)
    with pytest.raises(ThresholdInputError):
        capacity_of(2.5, 10)  # half a reviewer


def test_estimate_from_a_batch_is_the_mean_score_of_scored_rows_with_its_caveat() -> None:
    est = estimate_prevalence([0.1, 0.3, math.nan, 0.5, None])
    assert est.value == pytest.approx(0.3) and est.n == 3
    assert est.caveat == PREVALENCE_CAVEAT and "calibrated" in est.caveat
    empty = estimate_prevalence([math.nan])
    assert math.isnan(empty.value) and empty.n == 0


def test_curves_at_a_prevalence_by_hand() -> None:
    # TPR 0.9, FPR 0.1 at 0.5 (as above); at p = 0.05: flagged share 0.05·0.9 + 0.95·0.1 = 0.14,
    # precision 0.045 / 0.14, recall 0.9, F1 = 2·0.045 / (0.045 + 0.095 + 0.05) = 0.09 / 0.19.
    scores = [0.1] + [0.6] * 9 + [0.7] + [0.2] * 9
    a = ThresholdAnalysis(scores, [1] * 10 + [0] * 10)
    c = curves_at_prevalence(a, [0.5, 0.0, 0.95], 0.05)
    assert c["threshold"].tolist() == [0.5, 0.0, 0.95]
    assert c["queue_rate"][0] == pytest.approx(0.14)
    assert c["precision"][0] == pytest.approx(0.045 / 0.14)
    assert c["recall"][0] == pytest.approx(0.9)
    assert c["f1"][0] == pytest.approx(0.09 / 0.19)
    assert c["queue_rate"][1] == pytest.approx(1.0) and c["precision"][1] == pytest.approx(0.05)
    assert math.isnan(c["precision"][2]) and c["queue_rate"][2] == 0.0 and c["f1"][2] == 0.0
    # at the source's own share (50%) they are the source's curves
    own = a.many([0.5, 0.0])
    again = curves_at_prevalence(a, [0.5, 0.0], 0.5)
    for key in ("precision", "recall", "f1", "queue_rate"):
        np.testing.assert_allclose(again[key], own[key])
    precision, recall = pr_at_prevalence(a, 0.05)
    p_src, r_src, _ = a.pr_curve()
    np.testing.assert_allclose(recall, r_src)
    w = workload_curves(a, a.candidate_thresholds(), 0.05, 1.0)
    np.testing.assert_allclose(precision, w["precision"])
    assert np.all(np.nan_to_num(precision) <= p_src + 1e-12)  # 5% < 50%: lower everywhere
