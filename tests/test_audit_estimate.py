"""Weighted estimates from a labelled audit sample (`app.core.audit.estimate`): a hand-computed
case, undefined rates, and the coverage simulation the issue asks for (the weighted 95% interval
covers the truth about 95% of the time; the unweighted estimate does not)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from app.core.audit.estimate import estimate, estimate_json
from app.core.audit.sample import draw_sample

# Two bands: clear_low (N=100; 3 of 4 labelled → w=100/3) and high (N=10; 4 labelled → w=2.5).
SCORES = [0.1, 0.1, 0.2, 0.2, 0.9, 0.8, 0.7, 0.95]
STRATA = ["clear_low"] * 4 + ["high"] * 4
LABELS = [0, 0, 1, None, 1, 1, 0, 1]
POP = {"clear_low": 100, "high": 10}


def test_hand_computed_weighted_rates() -> None:
    result = estimate(SCORES, STRATA, LABELS, POP, [0.5, 0.15], volume=1000, n_boot=200)
    assert (result.n_labelled, result.n_unlabelled, result.population) == (7, 1, 110)
    at = result.thresholds[0]
    # TP = 3 × 2.5 = 7.5, FP = 1 × 2.5 = 2.5, FN = 1 × 100/3.
    fn = 100 / 3
    assert at.precision.estimate == pytest.approx(0.75)
    assert at.recall.estimate == pytest.approx(7.5 / (7.5 + fn))
    assert at.prevalence.estimate == pytest.approx((7.5 + fn) / 110)
    assert at.flag_rate.estimate == pytest.approx(10 / 110)
    assert at.false_alarms_per_day is not None and at.misses_per_day is not None
    assert at.false_alarms_per_day.estimate == pytest.approx(1000 * 2.5 / 110)
    assert at.misses_per_day.estimate == pytest.approx(1000 * fn / 110)
    low = result.thresholds[1]  # 0.15: the labelled abusive 0.2 is now caught
    assert low.precision.estimate == pytest.approx((7.5 + fn) / (10 + fn))
    assert low.recall.estimate == pytest.approx(1.0)
    for est in (at.precision, at.recall, at.prevalence, at.flag_rate):
        assert est.low <= est.estimate <= est.high
    doc = estimate_json(result)
    assert doc["n_labelled"] == 7 and doc["thresholds"][0]["threshold"] == 0.5
    assert doc["thresholds"][0]["precision"]["estimate"] == pytest.approx(0.75)
    assert len(doc["thresholds"][0]["precision"]["ci95"]) == 2


def test_the_same_seed_gives_the_same_intervals() -> None:
    a, b = (estimate(SCORES, STRATA, LABELS, POP, [0.5], n_boot=300, seed=4) for _ in range(2))
    assert a.thresholds[0].recall == b.thresholds[0].recall


def test_undefined_rates_are_nan_with_a_reason() -> None:
    result = estimate(SCORES, STRATA, LABELS, POP, [0.99], n_boot=50)
    prec = result.thresholds[0].precision
    assert math.isnan(prec.estimate) and "no labelled item has a score ≥ 0.99" in prec.reason
    benign = estimate(SCORES, STRATA, [0, 0, 0, 0, 0, 0, 0, 0], POP, [0.5], n_boot=50)
    assert "no labelled item is abusive" in benign.thresholds[0].recall.reason
    assert benign.thresholds[0].prevalence.estimate == 0.0
    # A band of the batch without any labelled item: nothing can be estimated honestly.
    unlabelled = [None] * 4 + [1, 1, 0, 1]
    missing = estimate(SCORES, STRATA, unlabelled, POP, [0.5], n_boot=50).thresholds[0]
    assert math.isnan(missing.prevalence.estimate) and "clear_low" in missing.prevalence.reason
    assert (
        estimate_json(estimate(SCORES, STRATA, unlabelled, POP, [0.5], n_boot=5))["thresholds"][0][
            "recall"
        ]["estimate"]
        is None
    )


def _population(seed: int = 1, n: int = 20_000, prevalence: float = 0.05):
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < prevalence).astype(np.int64)
    scores = np.where(y == 1, rng.beta(2, 2, n), rng.beta(1.5, 6, n))
    return y, scores


def _coverage(seeds: range, size: int = 1000, n_boot: int = 1000) -> dict[str, float]:
    y, scores = _population()
    thresholds = [0.5, 0.35]
    truth = []
    for t in thresholds:
        f = scores >= t
        tp = int((f & (y == 1)).sum())
        truth.append({"precision": tp / f.sum(), "recall": tp / y.sum(), "prevalence": y.mean()})
    hits = dict.fromkeys(("precision", "recall", "prevalence", "unweighted"), 0)
    for seed in seeds:
        sample = draw_sample(scores, size, threshold=0.5, seed=seed)
        ys, ss = y[sample.indices], scores[sample.indices]
        result = estimate(ss, sample.strata, ys.tolist(), sample.population, thresholds,
                          n_boot=n_boot, seed=seed)  # fmt: skip
        for j, at in enumerate(result.thresholds):
            for name in ("precision", "recall", "prevalence"):
                est = getattr(at, name)
                hits[name] += est.low <= truth[j][name] <= est.high
        # Unweighted: the sample's plain share of abusive items, with a binomial 95% interval.
        p = ys.mean()
        half = 1.96 * math.sqrt(p * (1 - p) / ys.size)
        hits["unweighted"] += 2 * (p - half <= truth[0]["prevalence"] <= p + half)
    runs = 2 * len(seeds)
    return {name: count / runs for name, count in hits.items()}


def test_weighted_intervals_cover_the_truth_and_unweighted_ones_do_not() -> None:
    """400 samples of 1,000 from 20,000 items at 5% prevalence, two thresholds each.

    Misses hide in the large low band, where a sample finds only a few abusive items (or none):
    the smoothed Bayesian bootstrap still gives that band spread, so recall and prevalence cover
    near 95% as precision does (a plain bootstrap covered them ~90%)."""
    cov = _coverage(range(400))
    for name in ("precision", "recall", "prevalence"):
        assert 0.92 <= cov[name] <= 0.985, cov
    assert cov["unweighted"] < 0.05, cov  # the plain share over-counts the abusive bands


def test_a_band_with_no_abusive_label_still_has_spread() -> None:
    """20 benign labels in a band of 10,000: the band's misses are not known to be zero, so
    recall's interval reaches below 1 and prevalence's above the high band's share."""
    scores = [0.1] * 20 + [0.9] * 20
    strata = ["clear_low"] * 20 + ["high"] * 20
    labels = [0] * 20 + [1] * 20
    at = estimate(scores, strata, labels, {"clear_low": 10_000, "high": 100}, [0.5],
                  n_boot=2000).thresholds[0]  # fmt: skip
    assert at.recall.estimate == 1.0 and at.recall.low < 0.9
    assert at.prevalence.estimate == pytest.approx(100 / 10_100)
    assert at.prevalence.high > 0.02  # up to a few % of the low band could be abusive


@pytest.mark.slow
def test_coverage_with_many_seeds() -> None:
    cov = _coverage(range(1000, 3000))
    assert all(0.93 <= cov[k] <= 0.975 for k in ("precision", "recall", "prevalence")), cov
    small = _coverage(range(3000, 3800), size=200)
    assert all(0.92 <= small[k] <= 0.985 for k in ("precision", "recall", "prevalence")), small
