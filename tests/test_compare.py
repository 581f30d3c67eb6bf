"""Tests for app.core.analysis.compare: every answer checked by brute force or a direct count."""

from __future__ import annotations

import csv
from fractions import Fraction
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from app.core.analysis.compare import (
    KEEP_OBJECTIVES,
    PairedScores,
    agreement,
    champion_right,
    disagreements,
    migrate_threshold,
    pair_bundled_evaluations,
    score_labeled_pair,
)
from app.core.analysis.thresholds import ThresholdAnalysis, ThresholdInputError
from app.core.common.errors import InputError, JobCancelled
from app.core.engine.normalize import item_ids
from app.core.engine.scoring import Scorer
from tests.synthetic import labelled_texts

# ---------------------------------------------------------------- helpers


def tied_pair(seed: int, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Champion and challenger scores on a coarse grid (many ties), and shared labels."""
    rng = np.random.default_rng(seed)
    labels = (rng.random(n) < rng.uniform(0.05, 0.7)).astype(np.int8)
    champ = np.round(np.clip(rng.normal(0.3 + 0.3 * labels, 0.25), 0, 0.95) * 20) / 20
    chall = np.round(np.clip(champ + rng.normal(0.05, 0.2, n), 0, 0.95) * 40) / 40
    return champ, chall, labels


def counts(scores: np.ndarray, labels: np.ndarray, t: float) -> tuple[int, int, int]:
    """(tp, fp, flagged) by the decision rule, counted directly."""
    flagged = scores >= t
    tp = int(np.sum(flagged & (labels == 1)))
    return tp, int(flagged.sum()) - tp, int(flagged.sum())


def exact(scores: np.ndarray, labels: np.ndarray, t: float, keep: str) -> Fraction:
    """The metric as an exact fraction (zero when undefined, like the core)."""
    tp, fp, flagged = counts(scores, labels, t)
    positives = int(np.sum(labels == 1))
    if keep == "recall":
        return Fraction(tp, positives) if positives else Fraction(0)
    if keep == "precision":
        return Fraction(tp, flagged) if flagged else Fraction(0)
    return Fraction(flagged, len(scores))


def brute_force_threshold(chall: np.ndarray, labels: np.ndarray, target: Fraction, keep: str):
    """The best challenger threshold over every candidate, or None if none qualifies."""
    distinct = sorted(set(chall.tolist()))
    nothing = float(np.nextafter(max(distinct), np.inf))
    if keep == "recall":  # highest threshold still catching enough
        ok = [t for t in [*distinct, nothing] if exact(chall, labels, t, keep) >= target]
        return max(ok) if ok and labels.any() else None
    if keep == "precision":  # lowest threshold precise enough ("flag nothing" has no precision)
        ok = [t for t in distinct if exact(chall, labels, t, keep) >= target]
        return min(ok) if ok else None
    ok = [t for t in [*distinct, nothing] if exact(chall, labels, t, keep) <= target]
    return min(ok)  # lowest threshold whose queue fits


def fake_scorer(label: str, **arrays: np.ndarray) -> SimpleNamespace:
    files = {f"eval_{name}.npy": value for name, value in arrays.items()}
    return SimpleNamespace(version_label=label, bundle=SimpleNamespace(arrays=files))


# ---------------------------------------------------------------- migration


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("keep", KEEP_OBJECTIVES)
def test_migration_matches_brute_force_over_every_candidate(seed, keep):
    champ, chall, labels = tied_pair(seed, n=int(np.random.default_rng(seed).integers(5, 120)))
    a, b = ThresholdAnalysis(champ, labels), ThresholdAnalysis(chall, labels)
    for t in [0.0, 0.05, 0.33, 0.45, 0.5, 0.7, 0.95, 0.96, *champ[:5].tolist()]:
        m = migrate_threshold(a, b, t, keep, champion_label="old 1.0")
        target = exact(champ, labels, t, keep)
        assert m.champion == a.at(t) and m.target == float(target)
        expected = brute_force_threshold(chall, labels, target, keep)
        if keep == "precision" and counts(champ, labels, t)[2] == 0:
            expected = None  # the champion flags nothing: there is no precision to keep
        if expected is None:
            assert not m.reachable and m.threshold is None and m.reason
            assert m.describe().startswith("Cannot keep")
            continue
        # The threshold is the readable equivalent of the exact score found: the same
        # decisions on every item, written with at most 6 decimals when one does.
        assert m.reachable and m.threshold == b.readable(expected) <= expected
        assert counts(chall, labels, m.threshold) == counts(chall, labels, expected)
        assert m.challenger == b.at(m.threshold)
        got = exact(chall, labels, m.threshold, keep)
        assert got <= target if keep == "queue_rate" else got >= target


def test_describe_counts_the_changes_from_the_matrices():
    labels = np.array([1, 1, 1, 1, 0, 0, 0, 0, 0, 0], np.int8)
    champ = np.array([0.9, 0.6, 0.3, 0.2, 0.7, 0.5, 0.1, 0.1, 0.1, 0.1])
    chall = np.array([0.9, 0.8, 0.7, 0.2, 0.4, 0.3, 0.1, 0.1, 0.1, 0.1])
    a, b = ThresholdAnalysis(champ, labels), ThresholdAnalysis(chall, labels)
    m = migrate_threshold(a, b, 0.45, "precision", champion_label="abuse-lr 1.0.0")
    # champion at 0.45: tp 2 (0.9, 0.6), fp 2 (0.7, 0.5): precision 0.5; the challenger's lowest
    # threshold with precision >= 0.5 is 0.2 (tp 4, fp 2; at 0.1 it would be 4/10).
    assert m.threshold == 0.2
    assert m.describe() == (
        "Keeps precision ≥ 0.500: compared with abuse-lr 1.0.0 at 0.45, threshold 0.20 catches "
        "2 more abusive items and raises as many false alarms (review queue +2 items)."
    )
    m = migrate_threshold(a, b, 0.45, "recall", champion_label="abuse-lr 1.0.0")
    assert m.threshold == 0.8 and m.goal() == "recall ≥ 0.500"  # tp 2 (0.9, 0.8), fp 0
    assert "catches as many abusive items and raises 2 fewer false alarms" in (m.describe())
    m = migrate_threshold(a, b, 0.45, "queue_rate")
    assert m.goal() == "review queue ≤ 40.0% of items" and m.threshold == 0.4  # 4 flagged


def test_stated_bound_is_rounded_to_stay_true():
    labels = np.array([1] * 3 + [0] * 3, np.int8)
    scores = np.array([0.9, 0.8, 0.1, 0.9, 0.1, 0.1])
    a = ThresholdAnalysis(scores, labels)
    m = migrate_threshold(a, a, 0.5, "recall")  # recall 2/3 = 0.6667: "≥ 0.666", not 0.667
    assert m.goal() == "recall ≥ 0.666"
    m = migrate_threshold(a, a, 0.5, "queue_rate")  # 3/6 flagged
    assert m.goal() == "review queue ≤ 50.0% of items"


def test_flag_nothing_above_one_is_not_proposed():
    labels = np.array([1, 0, 0], np.int8)
    a = ThresholdAnalysis(np.array([0.2, 0.1, 0.1]), labels)
    b = ThresholdAnalysis(np.array([1.0, 1.0, 0.5]), labels)
    m = migrate_threshold(a, b, 0.5, "queue_rate")  # the champion flags nothing at 0.5
    assert not m.reachable and "above 1" in m.reason


def test_migration_refuses_bad_arguments():
    labels = np.array([1, 0], np.int8)
    a = ThresholdAnalysis(np.array([0.6, 0.2]), labels)
    with pytest.raises(ThresholdInputError, match="keep must be one of"):
        migrate_threshold(a, a, 0.5, "f1")
    other = ThresholdAnalysis(np.array([0.6, 0.2, 0.3]), np.array([1, 0, 0]))
    with pytest.raises(ThresholdInputError, match="same labelled items"):
        migrate_threshold(a, other, 0.5, "recall")


# ---------------------------------------------------------------- pairing by item ids


def test_shuffled_partially_overlapping_ids_pair_item_by_item():
    rng = np.random.default_rng(5)
    n = 400
    ids = item_ids([f"comment number {i}" for i in range(n)])  # full 64-bit range
    assert len(np.unique(ids)) == n
    labels = (rng.random(n) < 0.4).astype(np.int8)
    score_a, score_b = rng.random(n), rng.random(n)
    origin = np.array(["davidson", "olid"])[rng.integers(0, 2, n)]
    in_a = rng.permutation(np.arange(0, 300))  # items 0..299, shuffled
    in_b = rng.permutation(np.arange(200, 400))  # items 200..399: 100 shared
    a = fake_scorer(
        "A 1", ids=ids[in_a], scores=score_a[in_a], labels=labels[in_a], origin=origin[in_a]
    )
    b = fake_scorer("B 2", ids=ids[in_b], scores=score_b[in_b], labels=labels[in_b])
    paired = pair_bundled_evaluations(a, b)
    assert paired.n == 100
    item = in_a[np.isin(in_a, in_b)]  # the shared items, in the champion's order
    np.testing.assert_array_equal(paired.champion_scores, score_a[item])
    np.testing.assert_array_equal(paired.challenger_scores, score_b[item])
    np.testing.assert_array_equal(paired.labels, labels[item])
    np.testing.assert_array_equal(paired.origins, origin[item])
    assert (paired.champion_label, paired.challenger_label) == ("A 1", "B 2")
    assert (
        paired.note == "100 items are in both held-out test sets (of 300 in A 1's and 200 in B 2's)"
    )


def test_disjoint_or_missing_ids_say_to_use_a_labelled_csv():
    a = fake_scorer("A 1", ids=np.array([1, 2], np.uint64), scores=np.zeros(2), labels=np.zeros(2))
    b = fake_scorer("B 2", ids=np.array([3, 4], np.uint64), scores=np.zeros(2), labels=np.zeros(2))
    with pytest.raises(
        InputError, match="share no items.*compare the two models on a labelled CSV"
    ):
        pair_bundled_evaluations(a, b)
    old = fake_scorer("Old 0", scores=np.zeros(2), labels=np.zeros(2))
    for champion, challenger in ((old, a), (a, old)):
        with pytest.raises(InputError, match="Old 0 ships no eval_ids.npy.*labelled CSV instead"):
            pair_bundled_evaluations(champion, challenger)


def test_shared_items_labelled_differently_are_refused():
    ids = np.array([7, 8, 9], np.uint64)
    a = fake_scorer("A 1", ids=ids, scores=np.zeros(3), labels=np.array([1, 0, 1], np.int8))
    b = fake_scorer("B 2", ids=ids[::-1], scores=np.zeros(3), labels=np.array([1, 1, 1], np.int8))
    with pytest.raises(InputError, match="1 of the 3 items .* labelled differently"):
        pair_bundled_evaluations(a, b)


def test_bundled_model_pairs_with_itself_completely(bundled_scorer):
    paired = pair_bundled_evaluations(bundled_scorer, bundled_scorer)
    arrays = bundled_scorer.bundle.arrays
    np.testing.assert_array_equal(paired.champion_scores, arrays["eval_scores.npy"])
    np.testing.assert_array_equal(paired.challenger_scores, arrays["eval_scores.npy"])
    assert agreement(paired, 0.45).agreement_rate == 1.0


# ---------------------------------------------------------------- agreement and disagreements


def random_paired(seed: int, n: int = 500) -> PairedScores:
    champ, chall, labels = tied_pair(seed, n)
    return PairedScores("random", champ, chall, labels)


@pytest.mark.parametrize("seed", range(5))
def test_agreement_equals_a_direct_count(seed):
    paired = random_paired(seed)
    c, h = paired.champion_scores, paired.challenger_scores
    for t in (0.0, 0.2, 0.45, 0.5, 0.95, 1.0):
        ag = agreement(paired, t)
        assert ag.both == np.sum((c >= t) & (h >= t))
        assert ag.neither == np.sum((c < t) & (h < t))
        assert ag.only_champion == np.sum((c >= t) & (h < t))
        assert ag.only_challenger == np.sum((c < t) & (h >= t))
        assert ag.n == paired.n and ag.disagree == np.sum((c >= t) != (h >= t))
        assert ag.agreement_rate == pytest.approx(np.mean((c >= t) == (h >= t)))
        assert ag.mean_abs_difference == pytest.approx(np.mean(np.abs(c - h)))


def test_disagreements_largest_difference_first():
    paired = random_paired(1)
    c, h = paired.champion_scores, paired.challenger_scores
    idx = disagreements(paired, 0.45)
    assert set(idx.tolist()) == set(np.flatnonzero((c >= 0.45) != (h >= 0.45)).tolist())
    diff = np.abs(c - h)[idx]
    assert np.all(np.diff(diff) <= 0)
    tied = np.flatnonzero(diff[1:] == diff[:-1])
    assert np.all(idx[tied] < idx[tied + 1])  # equal differences keep item order
    np.testing.assert_array_equal(disagreements(paired, 0.45, limit=7), idx[:7])
    right = champion_right(paired, 0.45, idx)
    np.testing.assert_array_equal(right, (c[idx] >= 0.45) == (paired.labels[idx] == 1))


def test_paired_scores_refuse_misaligned_columns():
    with pytest.raises(InputError, match="labels has 2 items, expected 3"):
        PairedScores("x", np.zeros(3), np.zeros(3), np.zeros(2, np.int8))
    with pytest.raises(InputError, match="no labels"):
        PairedScores("x", np.zeros(3), np.zeros(3), None).analyses()


# ---------------------------------------------------------------- a labelled CSV, both models


def write_csv(path: Path, texts: list[str], labels: list[int]) -> Path:
    with open(path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["comment", "label"])
        writer.writerows(zip(texts, labels, strict=True))
        writer.writerow(["", "1"])  # blank text: counted as blank, not scored
    return path


def test_score_labeled_pair_scores_the_same_rows_with_both(bundled_scorer, tiny_training, tmp_path):
    tiny = Scorer.load(tiny_training.bundle_path)
    texts, labels = labelled_texts(4_500, seed=11)  # more than one challenger chunk
    path = write_csv(tmp_path / "pair.csv", texts, labels)
    reported: list[tuple[int, int]] = []
    paired = score_labeled_pair(
        bundled_scorer, tiny, path, label_column="label", progress=lambda *p: reported.append(p)
    )
    assert paired.texts == texts and paired.name == "pair.csv"
    np.testing.assert_array_equal(paired.labels, labels)
    np.testing.assert_allclose(paired.champion_scores, bundled_scorer.score_many(texts)[0])
    np.testing.assert_allclose(paired.challenger_scores, tiny.score_many(texts)[0])
    assert (paired.champion_label, paired.challenger_label) == ("abuse-lr 2.0.0", "tiny 0.0.1")
    assert paired.note == (
        "4,500 rows scored by both models; labels from “label”, texts from “comment”; "
        "1 blank (empty text)"
    )
    done = [d for d, _ in reported]
    assert done == sorted(done) and reported[-1] == (1000, 1000)


def test_score_labeled_pair_stops_when_cancelled(bundled_scorer, tiny_training, tmp_path):
    tiny = Scorer.load(tiny_training.bundle_path)
    texts, labels = labelled_texts(5_000, seed=12)
    path = write_csv(tmp_path / "pair.csv", texts, labels)
    polls = []

    def cancelled() -> bool:
        polls.append(1)
        return len(polls) > 3  # late: while the challenger scores

    with pytest.raises(JobCancelled):
        score_labeled_pair(bundled_scorer, tiny, path, label_column="label", cancelled=cancelled)
