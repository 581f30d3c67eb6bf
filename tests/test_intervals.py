"""Confidence intervals: Wilson's against hand-computed values."""

from __future__ import annotations

import math

import pytest

from app.core.analysis.intervals import wilson


def _roots(k: int, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    """Wilson's bounds as the roots of (p - k/n)^2 = z^2 p (1 - p) / n, solved independently."""
    ph = k / n
    a, b, c = 1 + z * z / n, -(2 * ph + z * z / n), ph * ph
    d = math.sqrt(b * b - 4 * a * c)
    return ((-b - d) / (2 * a), (-b + d) / (2 * a))


@pytest.mark.parametrize(("k", "n"), [(81, 263), (1, 3), (1620, 1821), (50, 100)])
def test_wilson_is_the_root_of_its_defining_equation(k: int, n: int) -> None:
    assert wilson(k, n) == pytest.approx(_roots(k, n), abs=1e-12)
    assert wilson(81, 263) == pytest.approx((0.25529, 0.36621), abs=1e-5)  # by hand


def test_wilson_stays_inside_zero_and_one_at_the_edges() -> None:
    lo, hi = wilson(0, 10)
    assert lo == 0.0 and hi == pytest.approx(0.27753, abs=1e-4)
    lo, hi = wilson(10, 10)
    assert hi == 1.0 and lo == pytest.approx(0.72247, abs=1e-4)


def test_wilson_of_nothing_is_undefined_and_bad_counts_are_refused() -> None:
    assert all(math.isnan(v) for v in wilson(0, 0))
    with pytest.raises(ValueError):
        wilson(5, 3)


# --- bootstrap ----------------------------------------------------------------------------------

import numpy as np  # noqa: E402

from app.core.analysis.intervals import (  # noqa: E402
    BestF1,
    Capacity,
    CostRatio,
    PrecisionAt,
    RecallFloor,
    bootstrap_rates,
    small_cells,
    threshold_interval,
    wilson_rates,
)
from app.core.analysis.thresholds import ThresholdAnalysis  # noqa: E402
from app.core.analysis.workload import capacity_threshold, workload_at  # noqa: E402


def _sample(rng: np.random.Generator, n_pos: int, n_neg: int, tpr: float, fpr: float):
    """Scores whose share >= 0.5 is `tpr` among abusive items and `fpr` among benign, on
    average: flagged items score in [0.5, 1), the others in [0, 0.5)."""
    flag = np.concatenate([rng.random(n_pos) < tpr, rng.random(n_neg) < fpr])
    scores = np.where(flag, 0.5, 0.0) + rng.random(n_pos + n_neg) * 0.5
    return ThresholdAnalysis(scores, np.r_[np.ones(n_pos, int), np.zeros(n_neg, int)])


def test_bootstrap_intervals_cover_the_true_rates_about_95_percent_of_the_time() -> None:
    """Known TPR 0.8, FPR 0.2: across 300 independent samples the 95 % interval covers them
    about 95 % of the time (binomial sd at 300 is 1.3 points)."""
    rng = np.random.default_rng(2024)
    covered = {"tpr": 0, "fpr": 0, "caught": 0}
    runs = 300
    for seed in range(runs):
        a = _sample(rng, 150, 150, 0.8, 0.2)
        ci = bootstrap_rates(a, 0.5, 0.05, 10_000, reps=1000, seed=seed)
        covered["tpr"] += ci["tpr"][0] <= 0.8 <= ci["tpr"][1]
        covered["fpr"] += ci["fpr"][0] <= 0.2 <= ci["fpr"][1]
        covered["caught"] += ci["caught"][0] <= 10_000 * 0.05 * 0.8 <= ci["caught"][1]
    for name, hits in covered.items():
        assert 0.90 <= hits / runs <= 0.985, (name, hits)


def test_bootstrap_is_reproducible_by_seed_and_brackets_the_estimate() -> None:
    a = _sample(np.random.default_rng(1), 200, 300, 0.7, 0.1)
    one = bootstrap_rates(a, 0.5, 0.05, 10_000, seed=5)
    assert one == bootstrap_rates(a, 0.5, 0.05, 10_000, seed=5)
    assert one != bootstrap_rates(a, 0.5, 0.05, 10_000, seed=6)
    w = workload_at(a, 0.5, 0.05, 10_000)
    assert one["tpr"][0] <= w.tpr <= one["tpr"][1]
    assert one["precision"][0] <= w.precision <= one["precision"][1]
    assert one["flagged"][0] <= w.flagged_per_day <= one["flagged"][1]
    # missed + caught = V·p in every replicate, so their intervals mirror each other
    assert one["missed"][0] == pytest.approx(500 - one["caught"][1])


def test_wilson_rates_and_small_cell_warnings() -> None:
    a = ThresholdAnalysis([0.9] * 40 + [0.1] * 10 + [0.8] * 5 + [0.2] * 100, [1] * 50 + [0] * 105)
    m = a.at(0.5)  # tp 40, fn 10, fp 5, tn 100
    rates = wilson_rates(m)
    assert rates["tpr"] == wilson(40, 50) and rates["fpr"] == wilson(5, 105)
    assert rates["precision_source"] == wilson(40, 45)
    warnings = small_cells(m)
    assert len(warnings) == 2
    assert warnings[0].startswith("missed (FN) has only 10 items (under 30)")
    assert warnings[1].startswith("false alarms (FP) has only 5 items")


def test_finders_on_the_source_itself_agree_with_the_analysis() -> None:
    rng = np.random.default_rng(3)
    scores = np.round(rng.random(400), 2)  # ties on purpose
    labels = (rng.random(400) < scores).astype(int)
    a = ThresholdAnalysis(scores, labels)
    cases = [
        (BestF1(), a.best_f1().threshold),
        (CostRatio(5.0), a.cost_threshold(5.0).threshold),
        (RecallFloor(0.9), a.recall_floor(0.9).threshold),  # type: ignore[union-attr]
        (Capacity(0.05, 10_000, 700), capacity_threshold(a, 0.05, 10_000, 700).threshold),
    ]
    for finder, expected in cases:
        found = threshold_interval(a, finder, reps=200, seed=1)
        assert found.threshold == expected, finder
        assert found.low <= found.threshold <= found.high and found.answered == 200
        assert found == threshold_interval(a, finder, reps=200, seed=1)  # reproducible
        assert {found.low, found.high} <= set(scores.tolist()) | {a.flag_nothing_threshold}


def test_precision_finder_agrees_with_the_bands_and_says_when_there_is_no_answer() -> None:
    from app.core.analysis.bands import find_bands

    a = _sample(np.random.default_rng(4), 300, 300, 0.8, 0.1)
    found = threshold_interval(a, PrecisionAt(0.2, 0.6), reps=100)
    bands = find_bands(a, 0.2, 1000, min_precision=0.6, min_recall=0.9)
    assert bands.escalate is not None and found.threshold == bands.escalate.threshold
    # three benign items above every other score: precision 0.999 at p = 0.001 is out of reach,
    # except in the few replicates that draw none of them
    top = ThresholdAnalysis([0.999, 0.998, 0.997, 0.9, 0.8, 0.1], [0, 0, 0, 1, 1, 0])
    never = threshold_interval(top, PrecisionAt(0.001, 0.999), reps=200)
    assert math.isnan(never.threshold) and math.isnan(never.low) and math.isnan(never.high)
    assert never.answered < 100


def test_heavily_tied_scores_take_the_multinomial_path_alike() -> None:
    """11 distinct scores over 4,000 items: the draw is one multinomial over 22 groups per
    replicate; the finder's answer on the source and its interval stay candidate scores."""
    rng = np.random.default_rng(11)
    scores = np.round(rng.random(4000), 1)
    labels = (rng.random(4000) < scores).astype(int)
    a = ThresholdAnalysis(scores, labels)
    found = threshold_interval(a, RecallFloor(0.8), reps=500, seed=2)
    assert found.threshold == a.recall_floor(0.8).threshold  # type: ignore[union-attr]
    assert found.low <= found.threshold <= found.high
    assert {found.low, found.high} <= set(scores.tolist())
    assert found == threshold_interval(a, RecallFloor(0.8), reps=500, seed=2)
