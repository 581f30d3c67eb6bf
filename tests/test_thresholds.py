"""Tests for app.core.analysis.thresholds: checked against scikit-learn and brute force, never snapshots."""

from __future__ import annotations

import json
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import (
    accuracy_score,
    confusion_matrix,
    f1_score,
    precision_score,
    recall_score,
    roc_auc_score,
)

from app.core.analysis.thresholds import (
    ThresholdAnalysis,
    ThresholdMetrics,
    metrics_table,
)
from app.core.common.errors import InputError

# ---------------------------------------------------------------- strategies

GRID = [i * 0.05 for i in range(21)]  # coarse grid: lots of ties, and thresholds equal to scores
tied_score = st.sampled_from(GRID)
any_score = st.floats(allow_nan=False, allow_infinity=False)
unit_score = st.floats(0.0, 1.0)


@st.composite
def samples(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray]:
    n = draw(st.integers(1, 40))
    score = draw(
        st.sampled_from([tied_score, unit_score, any_score, st.one_of(tied_score, any_score)])
    )
    scores = np.array(draw(st.lists(score, min_size=n, max_size=n)), dtype=np.float64)
    labels = np.array(draw(st.lists(st.integers(0, 1), min_size=n, max_size=n)), dtype=np.int64)
    return scores, labels


def _next(score: float, toward: float) -> float:
    """The adjacent float (past the largest finite one: infinity, without numpy's warning)."""
    with np.errstate(over="ignore"):
        return float(np.nextafter(score, toward))


@st.composite
def samples_and_threshold(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray, float]:
    scores, labels = draw(samples())
    t = draw(
        st.one_of(
            st.sampled_from(list(scores)),  # exactly on a score: the >= boundary
            st.sampled_from(GRID),
            any_score,
            st.sampled_from(list(scores)).map(lambda s: _next(s, np.inf)),
            st.sampled_from(list(scores)).map(lambda s: _next(s, -np.inf)),
            st.sampled_from([np.inf, -np.inf]),
        )
    )
    return scores, labels, t


# ---------------------------------------------------------------- brute force helpers


def counts(scores: np.ndarray, labels: np.ndarray, t: float) -> tuple[int, int, int, int]:
    """(tn, fp, fn, tp) by direct comparison, the definition the module must match."""
    pred = scores >= t
    pos = labels == 1
    return (
        int(np.sum(~pred & ~pos)),
        int(np.sum(pred & ~pos)),
        int(np.sum(~pred & pos)),
        int(np.sum(pred & pos)),
    )


def brute_candidates(scores: np.ndarray, with_nothing: bool) -> list[float]:
    cands = [float(x) for x in np.unique(scores)]
    if with_nothing:
        with np.errstate(over="ignore"):  # nextafter(float max) is inf, which is fine here
            cands.append(float(np.nextafter(scores.max(), np.inf)))
    return cands


def assert_is_at(analysis: ThresholdAnalysis, m: ThresholdMetrics | None) -> None:
    assert m is not None
    assert m == analysis.at(m.threshold)


# ---------------------------------------------------------------- properties vs scikit-learn


@settings(max_examples=200, deadline=None)
@given(samples_and_threshold())
def test_at_matches_sklearn(data: tuple[np.ndarray, np.ndarray, float]) -> None:
    scores, labels, t = data
    m = ThresholdAnalysis(scores, labels).at(t)
    pred = (scores >= t).astype(np.int64)
    tn, fp, fn, tp = confusion_matrix(labels, pred, labels=[0, 1]).ravel()
    assert (m.tn, m.fp, m.fn, m.tp) == (tn, fp, fn, tp)
    kw = {"labels": [0, 1], "zero_division": 0}
    assert m.precision == pytest.approx(precision_score(labels, pred, **kw), abs=1e-12)
    assert m.recall == pytest.approx(recall_score(labels, pred, **kw), abs=1e-12)
    assert m.f1 == pytest.approx(f1_score(labels, pred, **kw), abs=1e-12)
    assert m.accuracy == pytest.approx(accuracy_score(labels, pred), abs=1e-12)
    spec = tn / (tn + fp) if tn + fp else 0.0
    assert m.specificity == pytest.approx(spec, abs=1e-12)
    assert m.queue_rate == pytest.approx(pred.mean(), abs=1e-12)
    assert m.flagged == pred.sum() and m.n == len(scores)
    assert m.flagged_per_1000 == pytest.approx(1000 * pred.mean())
    np.testing.assert_array_equal(
        m.matrix_abusive_first(), confusion_matrix(labels, pred, labels=[1, 0])
    )


@settings(max_examples=200, deadline=None)
@given(samples(), st.lists(st.one_of(tied_score, any_score), min_size=1, max_size=10))
def test_many_agrees_with_at(data: tuple[np.ndarray, np.ndarray], extra: list[float]) -> None:
    scores, labels = data
    a = ThresholdAnalysis(scores, labels)
    ts = np.array(list(scores) + extra)
    curves = a.many(ts)
    for i, t in enumerate(ts):
        m = a.at(t)
        for key, values in curves.items():
            assert values[i] == getattr(m, key), key
    assert metrics_table(a, ts) == [a.at(t) for t in ts]


@settings(max_examples=200, deadline=None)
@given(samples())
def test_roc_auc_matches_sklearn(data: tuple[np.ndarray, np.ndarray]) -> None:
    scores, labels = data
    a = ThresholdAnalysis(scores, labels)
    if 0 < labels.sum() < len(labels):
        with np.errstate(invalid="ignore", over="ignore"):  # sklearn on +-1.8e308 scores
            expected = roc_auc_score(labels, scores)
        assert a.roc_auc() == pytest.approx(expected, abs=1e-12)
        fpr, tpr, _ = a.roc_curve()
        assert np.trapezoid(tpr, fpr) == pytest.approx(a.roc_auc(), abs=1e-12)
    else:
        assert np.isnan(a.roc_auc())


@settings(max_examples=200, deadline=None)
@given(samples())
def test_curves_and_candidates(data: tuple[np.ndarray, np.ndarray]) -> None:
    scores, labels = data
    a = ThresholdAnalysis(scores, labels)
    cands = a.candidate_thresholds()
    np.testing.assert_array_equal(cands, np.unique(scores))
    # Every reachable matrix is reached at a candidate or at "flag nothing".
    reachable = {counts(scores, labels, t) for t in list(scores) + [np.inf]}
    at_cands = {counts(scores, labels, t) for t in list(cands) + [a.flag_nothing_threshold]}
    assert reachable == at_cands
    assert a.at(a.flag_nothing_threshold).flagged == 0
    precision, recall, thr = a.pr_curve()
    np.testing.assert_array_equal(thr, cands)
    for p, r, t in zip(precision, recall, thr, strict=True):
        assert (p, r) == (a.at(t).precision, a.at(t).recall)
    fpr, tpr, thr = a.roc_curve()
    assert np.all(np.diff(thr) < 0) and (fpr[0], tpr[0]) == (0.0, 0.0)
    for f, r, t in zip(fpr, tpr, thr, strict=True):
        tn, fp, fn, tp = counts(scores, labels, t)
        assert f == (fp / (fp + tn) if fp + tn else 0.0)
        assert r == (tp / (tp + fn) if tp + fn else 0.0)


# ---------------------------------------------------------------- optimisers vs brute force


@settings(max_examples=200, deadline=None)
@given(samples())
def test_best_f1_is_brute_force_optimum(data: tuple[np.ndarray, np.ndarray]) -> None:
    scores, labels = data
    a = ThresholdAnalysis(scores, labels)

    def exact_f1(t: float) -> Fraction:
        _, fp, fn, tp = counts(scores, labels, t)
        return Fraction(2 * tp, 2 * tp + fp + fn) if tp else Fraction(0)

    cands = brute_candidates(scores, with_nothing=False)
    best = max(exact_f1(t) for t in cands)
    expected = max(t for t in cands if exact_f1(t) == best)  # ties -> highest threshold
    m = a.best_f1()
    assert m.threshold == expected
    assert_is_at(a, m)


@settings(max_examples=200, deadline=None)
@given(
    samples(),
    st.integers(0, 40).map(lambda k: k / 2),  # halves: float cost sums stay exact
    st.integers(0, 40).map(lambda k: k / 2),
)
def test_cost_threshold_is_brute_force_optimum(
    data: tuple[np.ndarray, np.ndarray], fn_cost: float, fp_cost: float
) -> None:
    scores, labels = data
    a = ThresholdAnalysis(scores, labels)
    if fn_cost == 0 and fp_cost == 0:
        with pytest.raises(ValueError, match="both be 0"):
            a.cost_threshold(fn_cost, fp_cost)
        return

    def cost(t: float) -> Fraction:
        _, fp, fn, _ = counts(scores, labels, t)
        return Fraction(fn_cost) * fn + Fraction(fp_cost) * fp

    cands = brute_candidates(scores, with_nothing=True)
    best = min(cost(t) for t in cands)
    m = a.cost_threshold(fn_cost, fp_cost)
    assert m.threshold == max(t for t in cands if cost(t) == best)
    assert_is_at(a, m)


@settings(max_examples=200, deadline=None)
@given(samples(), st.one_of(st.sampled_from([0.0, 0.5, 0.8, 1.0]), st.floats(0.0, 1.0)))
def test_floors_and_queue_limit_are_brute_force(
    data: tuple[np.ndarray, np.ndarray], level: float
) -> None:
    scores, labels = data
    a = ThresholdAnalysis(scores, labels)
    n, pos = len(scores), int(labels.sum())
    everything = brute_candidates(scores, with_nothing=True)

    def rates(t: float) -> tuple[float, float, float]:
        _, fp, fn, tp = counts(scores, labels, t)
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / pos if pos else 0.0
        return precision, recall, (tp + fp) / n

    got = a.recall_floor(level)
    if pos == 0:
        assert got is None
    else:
        assert got is not None
        assert got.threshold == max(t for t in everything if rates(t)[1] >= level)
        assert_is_at(a, got)

    ok = [t for t in brute_candidates(scores, with_nothing=False) if rates(t)[0] >= level]
    got = a.precision_floor(level)
    if not ok:
        assert got is None
    else:
        assert got is not None and got.threshold == min(ok)
        assert_is_at(a, got)

    got = a.queue_rate_at_most(level)
    assert got.threshold == min(t for t in everything if rates(t)[2] <= level)
    assert_is_at(a, got)


# ---------------------------------------------------------------- the product's documented example


def documented_example() -> tuple[np.ndarray, np.ndarray]:
    """3,586 items: at 0.50 [[1602,163],[181,1640]], at 0.45 [[1638,127],[201,1620]].

    Between 0.45 and 0.50 sit 1638-1602 = 36 abusive and 201-181 = 20 benign items.
    """
    rng = np.random.default_rng(7)
    parts = [  # (label, count, low, high) with scores uniform in [low, high)
        (1, 1602, 0.50, 1.00),
        (1, 36, 0.45, 0.50),
        (1, 127, 0.00, 0.45),
        (0, 181, 0.50, 1.00),
        (0, 20, 0.45, 0.50),
        (0, 1620, 0.00, 0.45),
    ]
    scores = np.concatenate([rng.uniform(lo, hi, k) for _, k, lo, hi in parts])
    labels = np.concatenate([np.full(k, lab) for lab, k, _, _ in parts])
    # Put a few items exactly on each threshold: they count as flagged (score >= threshold).
    scores[[0, 1602, 1765, 1765 + 181]] = [0.50, 0.45, 0.50, 0.45]
    perm = rng.permutation(len(scores))
    return scores[perm], labels[perm]


def test_documented_example() -> None:
    scores, labels = documented_example()
    a = ThresholdAnalysis(scores, labels)
    assert a.n == 3586
    for t, expected in ((0.50, [[1602, 163], [181, 1640]]), (0.45, [[1638, 127], [201, 1620]])):
        np.testing.assert_array_equal(a.at(t).matrix_abusive_first(), expected)
        pred = (scores >= t).astype(int)
        np.testing.assert_array_equal(confusion_matrix(labels, pred, labels=[1, 0]), expected)
    d = a.compare(0.45, 0.50)
    assert (d.extra_caught, d.extra_false_alarms, d.extra_missed) == (36, 20, -36)
    assert d.queue_change == 56
    assert d.queue_change_per_1000 == pytest.approx(56 * 1000 / 3586)
    text = d.describe()
    assert "36 more abusive" in text and "20 more false alarms" in text
    assert text == (
        "At 0.45 instead of 0.50: catches 36 more abusive items and raises 20 more false "
        "alarms (review queue +56, +15.6 per 1,000)."
    )


# ---------------------------------------------------------------- describe() wording


def test_describe_signs_and_singulars() -> None:
    # Scores ascending; moving the threshold between them changes exactly the listed items.
    scores = np.array([0.1, 0.2, 0.3, 0.4, 0.5, 0.6])
    labels = np.array([1, 0, 1, 1, 0, 0])
    a = ThresholdAnalysis(scores, labels)
    up = a.compare(0.35, 0.15).describe()  # drops the 0.2 benign and the 0.3 abusive item
    assert "catches 1 fewer abusive item and" in up and "raises 1 fewer false alarm " in up
    assert "review queue -2" in up
    down = a.compare(0.05, 0.55).describe()  # adds 0.1..0.5: 3 abusive, 2 benign
    assert "catches 3 more abusive items" in down and "raises 2 more false alarms" in down
    same = a.compare(0.3, 0.3).describe()
    assert "as many abusive items" in same and "as many false alarms" in same
    assert "review queue unchanged" in same
    mixed = a.compare(0.45, 0.35)  # drops the 0.4 abusive item only
    assert mixed.extra_caught == -1 and mixed.extra_false_alarms == 0
    assert "1 fewer abusive item " in mixed.describe()


# ---------------------------------------------------------------- inputs


@pytest.mark.parametrize(
    ("scores", "labels", "message"),
    [
        ([0.1, np.nan, 0.3], [0, 1, 0], "1 score is NaN or infinite"),
        ([np.inf, np.nan, -np.inf, 0.2], [0, 1, 0, 1], "3 scores are NaN or infinite"),
        ([0.1, 0.2], [0, 2], "labels must be 0 or 1"),
        ([0.1, 0.2], [0.0, 0.5], "labels must be 0 or 1"),
        ([0.1, 0.2, 0.3], [0, 1], "differ in length: 3 scores, 2 labels"),
        ([], [], "no data"),
        ([[0.1, 0.2]], [[0, 1]], "one-dimensional"),
        (["a", "b"], [0, 1], "must be numbers"),
    ],
)
def test_bad_inputs_raise_clear_value_errors(scores: list, labels: list, message: str) -> None:
    with pytest.raises(ValueError, match=message) as info:
        ThresholdAnalysis(scores, labels)
    assert isinstance(info.value, InputError)  # so the CLI can map it to its exit code


def test_bad_arguments_raise() -> None:
    a = ThresholdAnalysis([0.1, 0.9], [0, 1])
    for call in (
        lambda: a.at(float("nan")),
        lambda: a.many([0.5, float("nan")]),
        lambda: a.cost_threshold(-1.0),
        lambda: a.recall_floor(1.5),
        lambda: a.precision_floor(float("nan")),
        lambda: a.queue_rate_at_most(-0.1),
    ):
        with pytest.raises(ValueError):
            call()


def test_label_dtypes_are_equivalent() -> None:
    scores = np.array([0.2, 0.4, 0.4, 0.9, 0.05])
    ints = np.array([0, 1, 0, 1, 1])
    results = [
        ThresholdAnalysis(scores, lab).many(scores)
        for lab in (ints, ints.astype(bool), ints.astype(np.int8), ints.astype(float), list(ints))
    ]
    for other in results[1:]:
        for key in results[0]:
            np.testing.assert_array_equal(results[0][key], other[key])


def test_counts_and_dict() -> None:
    a = ThresholdAnalysis([0.3, 0.7, 0.7, 0.1], [True, True, False, False])
    assert (a.n, a.positives, a.negatives) == (4, 2, 2)
    d = a.at(0.7).as_dict()
    assert set(d) == {
        "threshold", "tn", "fp", "fn", "tp", "precision", "recall",
        "f1", "accuracy", "specificity", "queue_rate", "flagged",
    }  # fmt: skip
    assert json.loads(json.dumps(d)) == d
    assert d["flagged"] == d["tp"] + d["fp"] == 2


def test_single_class_edge_cases() -> None:
    benign = ThresholdAnalysis([0.2, 0.4], [0, 0])
    assert benign.recall_floor(0.5) is None
    assert np.isnan(benign.roc_auc())
    assert benign.at(0.0).precision == 0.0 and benign.at(0.0).recall == 0.0
    abusive = ThresholdAnalysis([0.2, 0.4], [1, 1])
    assert abusive.at(0.3).specificity == 0.0
    assert abusive.precision_floor(1.0) is not None


# ---------------------------------------------------------------- scale


def test_million_rows() -> None:
    rng = np.random.default_rng(1)
    n = 1_000_000
    scores = np.round(rng.random(n), 3)  # ~1,000 distinct values: heavy ties
    labels = (rng.random(n) < scores).astype(np.int8)
    a = ThresholdAnalysis(scores, labels)
    ts = np.concatenate([rng.random(500), rng.choice(scores, 500)])
    ms = [a.at(t) for t in ts]
    curves = a.many(ts)
    assert [m.tp for m in ms] == list(curves["tp"])
    assert [m.fp for m in ms] == list(curves["fp"])
    for i in (0, 1, 499, 500, 999):
        m = ms[i]
        assert (m.tn, m.fp, m.fn, m.tp) == counts(scores, labels, ts[i])
    assert a.roc_auc() == pytest.approx(roc_auc_score(labels, scores), abs=1e-12)
    best = a.best_f1()
    assert best == a.at(best.threshold)


def test_cell_mask_partitions_items_like_the_matrix() -> None:
    from app.core.analysis.thresholds import cell_mask

    rng = np.random.default_rng(3)
    scores = np.round(rng.random(500), 2)  # ties on purpose
    labels = rng.integers(0, 2, 500)
    m = ThresholdAnalysis(scores, labels).at(0.45)
    masks = [[cell_mask(scores, labels, 0.45, r, c) for c in (0, 1)] for r in (0, 1)]
    counts = [[int(mask.sum()) for mask in row] for row in masks]
    assert counts == m.matrix_abusive_first().tolist()
    assert np.array_equal(sum(mask.astype(int) for row in masks for mask in row), np.ones(500, int))


def test_describe_keeps_finder_thresholds_readable() -> None:
    scores = np.array([0.1, 0.2, 0.98905548946, 0.9, 0.3])
    labels = np.array([0, 0, 1, 1, 0])
    text = ThresholdAnalysis(scores, labels).compare(0.98905548946, 0.5).describe()
    assert text.startswith("At 0.9891 instead of 0.50")


@pytest.mark.parametrize("seed", range(20))
def test_readable_threshold_decides_every_item_alike_and_is_short(seed):
    """A finder's exact threshold (a score) becomes the shortest decimal at or below it that
    flags exactly the same items; with no room for one, the threshold itself."""
    rng = np.random.default_rng(seed)
    scores = rng.random(int(rng.integers(1, 400)))
    if seed % 3 == 0:
        scores = np.round(scores, 3)  # ties and short scores
    labels = (rng.random(len(scores)) < 0.4).astype(np.int8)
    a = ThresholdAnalysis(scores, labels)
    for t in [*scores[:20].tolist(), 0.0, 0.45, 1.0]:
        r = a.readable(t)
        assert r <= t
        assert int(np.sum(scores >= r)) == int(np.sum(scores >= t))
        text = repr(r)
        if r != t:
            assert len(text.split(".")[1]) <= 6
        if r != t:  # no shorter decimal at or below t decides alike
            places = len(text.split(".")[1])
            for d in range(2, places):
                floor = np.floor(t * 10**d) / 10**d
                assert int(np.sum(scores >= floor)) != int(np.sum(scores >= t))
    assert a.readable(0.40705543868933947) <= 0.40705543868933947
    assert (
        ThresholdAnalysis([0.2, 0.40705543868933947], [0, 1]).readable(0.40705543868933947) == 0.4
    )


@pytest.mark.parametrize("seed", range(20))
def test_alike_range_ends_both_decide_every_item_alike(seed):
    """Both ends of a finder's tie range flag exactly the items its threshold flags."""
    rng = np.random.default_rng(seed)
    scores = rng.random(int(rng.integers(1, 60)))
    labels = (rng.random(len(scores)) < 0.4).astype(np.int8)
    a = ThresholdAnalysis(scores, labels)
    for t in [*scores[:20].tolist(), a.best_f1().threshold]:
        span = a.alike_range(t)
        if span is None:
            continue
        low, high = span
        assert low < high <= t
        flagged = scores >= t
        assert ((scores >= low) == flagged).all() and ((scores >= high) == flagged).all()


def test_separable_best_f1_tie_is_reported_as_a_range():
    from app.core.analysis.evaluation import summarize

    scores = np.array([0.1, 0.2, 0.3871, 0.9768937216042155, 0.99])
    labels = np.array([0, 0, 0, 1, 1])
    a = ThresholdAnalysis(scores, labels)
    assert a.alike_range(a.best_f1().threshold) == (0.39, 0.97)
    summary = summarize(scores, labels, [0.5])
    assert summary["best_f1_threshold"] == 0.97
    assert "best F1: any threshold from 0.39 to 0.97 decides these items alike" in summary["notes"]
