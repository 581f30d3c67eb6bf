"""Champion vs challenger: the two models' scores on the same items, and what switching would do.

Two models can only be compared on items both scored and neither was trained on. Bundles ship
their held-out evaluation scores with a 64-bit id per item (``app.core.engine.normalize.item_ids``), so
the items in both test sets are paired by id; when the test sets share nothing (or a bundle has
no ids) the comparison needs a labelled CSV scored by both models.

``migrate_threshold`` answers the question a supervisor has before promoting a challenger: at
which threshold does the new model keep what the old one gives today (its recall, precision or
review-queue size), and what changes in counts?
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from app.core.analysis.labeled import read_labeled_scores
from app.core.analysis.thresholds import (
    ThresholdAnalysis,
    ThresholdInputError,
    ThresholdMetrics,
    count_change,
)
from app.core.analysis.weighted import WeightedThresholdAnalysis
from app.core.common.errors import InputError
from app.core.common.messages import fmt_threshold
from app.core.csvio.csv_lines import raise_if_cancelled

PAIRED_EVAL_SETS_NAME = "Evaluation sets shipped with both models (paired by item id)"

KEEP_OBJECTIVES = ("recall", "precision", "queue_rate")
CHALLENGER_CHUNK = 2_000  # texts scored per step: the cancel flag is polled between steps
_ONLY_CSV = "compare the two models on a labelled CSV instead"


@dataclass(frozen=True)
class PairedScores:
    """Both models' scores on the same items, aligned index by index."""

    name: str  # where the items came from, shown to the user
    champion_scores: np.ndarray  # float64
    challenger_scores: np.ndarray  # float64, same length and order
    labels: np.ndarray | None  # int8, 1 = abusive; None when the items have no labels
    texts: list[str] | None = None
    origins: np.ndarray | None = None  # dataset name per item (bundled evaluation sets)
    champion_label: str = "champion"
    challenger_label: str = "challenger"
    note: str = ""
    # Each item's weight when the items stand for a batch (an audit sample): the analyses are
    # then weighted, their counts estimates for the batch (`app.core.analysis.weighted`).
    weights: np.ndarray | None = None

    def __post_init__(self) -> None:
        n = len(self.champion_scores)
        for name in ("challenger_scores", "labels", "texts", "origins", "weights"):
            value = getattr(self, name)
            if value is not None and len(value) != n:
                raise InputError(f"paired scores: {name} has {len(value):,} items, expected {n:,}")

    @property
    def n(self) -> int:
        return len(self.champion_scores)

    def analyses(self) -> tuple[ThresholdAnalysis, ThresholdAnalysis]:
        """(champion, challenger) threshold analyses on these items; needs labels."""
        if self.labels is None:
            raise InputError(f"{self.name} has no labels, so thresholds cannot be analysed")
        if self.weights is not None:
            return (
                WeightedThresholdAnalysis(self.champion_scores, self.labels, self.weights),
                WeightedThresholdAnalysis(self.challenger_scores, self.labels, self.weights),
            )
        return (
            ThresholdAnalysis(self.champion_scores, self.labels),
            ThresholdAnalysis(self.challenger_scores, self.labels),
        )


def _eval_arrays(scorer: Any, other: Any) -> dict[str, np.ndarray]:
    arrays: dict[str, np.ndarray] = scorer.bundle.arrays
    missing = [n for n in ("eval_ids.npy", "eval_scores.npy", "eval_labels.npy") if n not in arrays]
    if missing:
        raise InputError(
            f"{scorer.version_label} ships no {missing[0]}, so its evaluation set cannot be "
            f"paired with {other.version_label}'s: {_ONLY_CSV}."
        )
    n = len(arrays["eval_ids.npy"])
    if len(arrays["eval_scores.npy"]) != n or len(arrays["eval_labels.npy"]) != n:
        raise InputError(
            f"{scorer.version_label}: its evaluation ids, scores and labels differ in length"
        )
    return arrays


def pair_bundled_evaluations(champion: Any, challenger: Any) -> PairedScores:
    """Pair the two bundles' shipped evaluation sets item by item, through their item ids.

    An item in both test sets was held out from both models, so the pair is a fair comparison.
    Items keep the champion's order. Raises InputError when nothing can be paired, or when the
    two bundles label a shared item differently (then one of them is not what it claims).
    """
    a, b = _eval_arrays(champion, challenger), _eval_arrays(challenger, champion)
    ids_a, ids_b = a["eval_ids.npy"], b["eval_ids.npy"]
    # intersect1d keeps each id's first occurrence; ids are hashes of deduplicated texts.
    _, ia, ib = np.intersect1d(ids_a, ids_b, return_indices=True)
    if len(ia) == 0:
        raise InputError(
            f"The evaluation sets of {champion.version_label} and {challenger.version_label} "
            f"share no items (they were tested on different data): {_ONLY_CSV}."
        )
    order = np.argsort(ia, kind="stable")
    ia, ib = ia[order], ib[order]
    labels = a["eval_labels.npy"][ia].astype(np.int8)
    differ = int(np.count_nonzero(labels != b["eval_labels.npy"][ib]))
    if differ:
        raise InputError(
            f"{differ:,} of the {len(ia):,} items in both evaluation sets are labelled "
            f"differently by {champion.version_label} and {challenger.version_label}: "
            f"{_ONLY_CSV}."
        )
    origins = a.get("eval_origin.npy")
    return PairedScores(
        name=PAIRED_EVAL_SETS_NAME,
        champion_scores=a["eval_scores.npy"][ia].astype(np.float64),
        challenger_scores=b["eval_scores.npy"][ib].astype(np.float64),
        labels=labels,
        origins=None if origins is None or len(origins) != len(ids_a) else origins[ia],
        champion_label=champion.version_label,
        challenger_label=challenger.version_label,
        note=(
            f"{len(ia):,} items are in both held-out test sets "
            f"(of {len(ids_a):,} in {champion.version_label}'s and "
            f"{len(ids_b):,} in {challenger.version_label}'s)"
        ),
    )


def score_labeled_pair(
    champion: Any,
    challenger: Any,
    path: str | Path,
    *,
    label_column: str,
    positive_values: Sequence[str] | None = None,
    text_column: str | None = None,
    progress: Callable[[int, int], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> PairedScores:
    """Read a labelled CSV, score it with both models. Raises JobCancelled when cancelled.

    ``progress(done, total)`` reports the share of the whole work (reading and scoring with the
    champion is the first half, scoring with the challenger the second).
    """
    report = progress or (lambda done, total: None)
    data = read_labeled_scores(
        champion, path, label_column=label_column, positive_values=positive_values,
        text_column=text_column, keep_texts=True,
        progress=lambda done, total: report(500 * done // max(total, 1), 1000),
        cancelled=cancelled,
    )  # fmt: skip
    texts = data.texts or []
    parts = []
    for start in range(0, len(texts), CHALLENGER_CHUNK):
        raise_if_cancelled(cancelled)
        parts.append(challenger.score_many(texts[start : start + CHALLENGER_CHUNK])[0])
        report(500 + 500 * min(start + CHALLENGER_CHUNK, len(texts)) // len(texts), 1000)
    rejected = f"; {len(data.rejected):,} rows rejected" if data.rejected else ""
    rejected += f"; {data.blank:,} blank (empty text)" if data.blank else ""
    return PairedScores(
        name=Path(path).name,
        champion_scores=data.scores,
        challenger_scores=np.concatenate(parts),
        labels=data.labels,
        texts=texts,
        champion_label=champion.version_label,
        challenger_label=challenger.version_label,
        note=(
            f"{len(texts):,} rows scored by both models; labels from “{data.label_column}”, "
            f"texts from “{data.text_column}”{rejected}"
        ),
    )


@dataclass(frozen=True)
class Agreement:
    """How often the two models make the same decision at one threshold."""

    threshold: float
    both: int  # both flag the item
    neither: int
    only_champion: int
    only_challenger: int
    mean_abs_difference: float  # mean |challenger - champion| score

    @property
    def n(self) -> int:
        return self.both + self.neither + self.only_champion + self.only_challenger

    @property
    def disagree(self) -> int:
        return self.only_champion + self.only_challenger

    @property
    def agreement_rate(self) -> float:
        return (self.both + self.neither) / self.n if self.n else 0.0


def _flags(paired: PairedScores, threshold: float) -> tuple[np.ndarray, np.ndarray]:
    t = float(threshold)  # the decision rule everywhere: abusive iff score >= threshold
    return paired.champion_scores >= t, paired.challenger_scores >= t


def agreement(paired: PairedScores, threshold: float) -> Agreement:
    champ, chall = _flags(paired, threshold)
    both = int(np.count_nonzero(champ & chall))
    only_champion = int(np.count_nonzero(champ)) - both
    only_challenger = int(np.count_nonzero(chall)) - both
    diff = np.abs(paired.challenger_scores - paired.champion_scores)
    return Agreement(
        float(threshold), both, paired.n - both - only_champion - only_challenger,
        only_champion, only_challenger, float(diff.mean()) if paired.n else 0.0,
    )  # fmt: skip


def disagreements(paired: PairedScores, threshold: float, limit: int | None = None) -> np.ndarray:
    """Indices of items the models decide differently, largest |score difference| first."""
    champ, chall = _flags(paired, threshold)
    idx = np.flatnonzero(champ != chall)
    diff = np.abs(paired.challenger_scores[idx] - paired.champion_scores[idx])
    order = np.argsort(-diff, kind="stable")  # ties keep item order: the list is reproducible
    return idx[order if limit is None else order[:limit]]


def champion_right(paired: PairedScores, threshold: float, indices: np.ndarray) -> np.ndarray:
    """For items the models disagree on: whether the champion's decision matches the label."""
    if paired.labels is None:
        raise InputError(f"{paired.name} has no labels")
    return (paired.champion_scores[indices] >= float(threshold)) == (paired.labels[indices] == 1)


@dataclass(frozen=True)
class Migration:
    """A challenger threshold that keeps the champion's recall, precision or queue rate."""

    keep: str  # one of KEEP_OBJECTIVES
    target: float  # the champion's value at its threshold
    champion: ThresholdMetrics  # at the champion's threshold
    challenger: ThresholdMetrics | None  # at the proposed threshold; None when unreachable
    champion_label: str = "the champion"
    reason: str = ""  # why it is unreachable

    @property
    def reachable(self) -> bool:
        return self.challenger is not None

    @property
    def threshold(self) -> float | None:
        """The proposed challenger threshold (exact), or None."""
        return None if self.challenger is None else self.challenger.threshold

    def goal(self) -> str:
        """ "recall ≥ 0.912", rounded so that the stated bound is still true."""
        if self.keep == "queue_rate":
            return f"review queue ≤ {math.ceil(1000 * self.target) / 10:.1f}% of items"
        return f"{self.keep} ≥ {math.floor(1000 * self.target) / 1000:.3f}"

    def describe(self) -> str:
        """One plain-English sentence about the proposal (or why there is none)."""
        if self.challenger is None:
            return f"Cannot keep {self.goal()}: {self.reason}."
        new, old = self.challenger, self.champion
        return (
            f"Keeps {self.goal()}: compared with {self.champion_label} at {_fmt(old.threshold)}, "
            f"threshold {_fmt(new.threshold)} {count_change(new.tp - old.tp, 'catches', 'abusive item')}"
            f" and {count_change(new.fp - old.fp, 'raises', 'false alarm')} "
            f"(review queue {_queue_change(new.flagged - old.flagged)})."
        )


def _queue_change(k: int) -> str:
    """ "+1 item", "-40 items", "unchanged"."""
    return "unchanged" if k == 0 else f"{k:+,d} item{'' if abs(k) == 1 else 's'}"


def _fmt(t: float) -> str:
    """A threshold as everywhere else (`fmt_threshold`): the one applied, digit for digit."""
    return fmt_threshold(t)


def migrate_threshold(
    champion: ThresholdAnalysis,
    challenger: ThresholdAnalysis,
    threshold: float,
    keep: str,
    *,
    champion_label: str = "the champion",
) -> Migration:
    """The challenger threshold that keeps the champion's ``keep`` value at ``threshold``.

    recall: the highest threshold with recall >= target (fewest false alarms for that catch);
    precision: the lowest with precision >= target (largest catch at that purity), if any;
    queue_rate: the lowest whose share flagged is <= target (largest catch for that workload).
    Both analyses must be on the same labelled items (see ``PairedScores.analyses``).
    """
    if keep not in KEEP_OBJECTIVES:
        raise ThresholdInputError(f"keep must be one of {', '.join(KEEP_OBJECTIVES)}, not {keep!r}")
    if (champion.n, champion.positives) != (challenger.n, challenger.positives):
        raise ThresholdInputError("the two analyses are not on the same labelled items")
    old = champion.at(threshold)
    target = float(getattr(old, keep))
    found: ThresholdMetrics | None
    reason = ""
    if keep == "recall":
        found = challenger.recall_floor(target)
        if found is None:
            reason = "these items include no abusive ones, so recall is undefined"
    elif keep == "precision":
        if old.flagged == 0:
            found, reason = None, f"{champion_label} flags nothing at this threshold"
        else:
            found = challenger.precision_floor(target)
            if found is None:
                reason = "no threshold of the challenger is that precise on these items"
    else:
        found = challenger.queue_rate_at_most(target)
    if found is not None and found.threshold <= 1.0:  # the same decisions, a readable number
        found = challenger.at(challenger.readable(found.threshold))
    if found is not None and found.threshold > 1.0:
        # Only "flag nothing" keeps it and some score is exactly 1.0: no valid threshold does.
        found, reason = None, "only a threshold above 1 (flagging nothing) would"
    return Migration(keep, target, old, found, champion_label, reason)
