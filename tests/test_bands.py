"""The three-band policy (clear / review / escalate) on crafted scores."""

from __future__ import annotations

import math

import numpy as np
import pytest

from app.core.analysis.bands import (
    BandPolicy,
    band_codes,
    band_counts_per_day,
    band_of,
    find_bands,
)
from app.core.analysis.thresholds import ThresholdAnalysis, ThresholdInputError

POS = [0.9, 0.8, 0.6, 0.3]
NEG = [0.7, 0.5, 0.4, 0.2]


@pytest.fixture
def small() -> ThresholdAnalysis:
    return ThresholdAnalysis(POS + NEG, [1] * 4 + [0] * 4)


def test_band_of_uses_score_at_or_above_each_cut_and_nan_has_no_band() -> None:
    policy = BandPolicy(0.6, 0.8)
    scores = [0.9, 0.7, 0.5, math.nan, 0.6, 0.8, 0.0, 1.0]
    assert band_of(scores, policy).tolist() == [
        "escalate", "review", "clear", "", "review", "escalate", "clear", "escalate"
    ]  # fmt: skip
    assert band_codes(scores, policy).tolist() == [2, 1, 0, -1, 1, 2, 0, 2]
    assert band_of([0.5, 0.6], BandPolicy(0.6, 0.6)).tolist() == ["clear", "escalate"]
    assert band_of(np.array([], dtype=float), policy).tolist() == []


@pytest.mark.parametrize(
    ("review", "escalate"), [(0.8, 0.6), (-0.1, 0.5), (0.2, 1.5), (math.nan, 0.5), ("0.2", 0.5)]
)
def test_band_policy_is_validated(review, escalate) -> None:
    with pytest.raises(ThresholdInputError):
        BandPolicy(review, escalate)


def test_find_bands_escalates_on_precision_and_reviews_down_to_the_recall_floor(small) -> None:
    found = find_bands(small, 0.5, 800, min_precision=0.9, min_recall=0.75)
    # precision at p = 0.5 (equal class sizes: the source's own) is 1 at 0.9 and 0.8, 2/3 at 0.7
    assert found.policy == BandPolicy(0.6, 0.8) and found.reason == ""
    assert found.escalate is not None and found.escalate.precision == 1.0
    assert found.review is not None and found.review.recall == 0.75
    counts = band_counts_per_day(small, found.policy, 0.5, 800)
    assert counts == pytest.approx({"escalate": 200, "review": 200, "clear": 400})


def test_precision_target_depends_on_prevalence(small) -> None:
    # at p = 0.8 the threshold 0.6 (TPR 3/4, FPR 1/4) has precision 0.6 / (0.6 + 0.2·0.25)
    # = 0.923 and 0.5 (FPR 2/4) 0.6 / 0.7 = 0.857; at p = 0.5 the lowest reaching 0.9 is 0.8
    found = find_bands(small, 0.8, 800, min_precision=0.9, min_recall=1.0)
    assert found.policy == BandPolicy(0.3, 0.6)
    assert found.escalate is not None and found.escalate.precision == pytest.approx(0.6 / 0.65)
    assert find_bands(small, 0.5, 800, min_precision=0.9, min_recall=1.0).policy == BandPolicy(
        0.3, 0.8
    )


def test_a_recall_floor_met_by_escalation_alone_leaves_the_review_band_empty(small) -> None:
    found = find_bands(small, 0.5, 800, min_precision=0.9, min_recall=0.25)
    assert found.policy == BandPolicy(0.8, 0.8)
    assert found.notes == (
        "the escalate band alone catches 50% of the abuse (recall floor 25%): the review band "
        "is empty",
    )


def test_an_unreachable_precision_target_gives_none_and_the_reason() -> None:
    a = ThresholdAnalysis([0.95, 0.9, 0.8, 0.3], [0, 1, 1, 0])  # the top score is benign
    found = find_bands(a, 0.05, 1000, min_precision=0.99, min_recall=0.5)
    assert found.policy is None and found.escalate is None
    # the app's wording: percent, "≥", thresholds as elsewhere. Best at 0.8: TPR 1, FPR 0.5,
    # precision 0.05 / (0.05 + 0.95·0.5) = 9.5%
    assert found.reason == (
        "no threshold reaches precision 99% at 5% abusive: the highest is 9.5%, at ≥ 0.80"
    )
    assert found.review is not None  # the recall floor alone is still answered


def test_band_warnings_by_hand() -> None:
    from app.core.analysis.bands import band_warnings

    counts = {"clear": 18_952.0, "review": 531.0, "escalate": 517.0}
    assert band_warnings(BandPolicy(0.843, 0.99), counts, capacity=450, app_wide=0.45) == [
        "bands need 1,048 items/day; capacity 450: +598 a day to the backlog"
    ]
    assert band_warnings(BandPolicy(0.843, 0.99), counts, capacity=1_048, app_wide=0.45) == []
    assert band_warnings(BandPolicy(0.94, 0.94), counts, app_wide=0.95) == [
        "the review band is empty (review = escalate ≥ 0.94): every flagged item is escalated, "
        "none reviewed",
        "escalate ≥ 0.94 is below the app-wide threshold 0.95: items the app does not flag now "
        "would be escalated",
    ]
