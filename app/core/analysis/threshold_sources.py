"""The Threshold panel's data: labelled samples, where they come from, and what is derived once.

A ``Dataset`` is built once per sample (the core's ``ThresholdAnalysis`` plus the curves to
plot), so moving the threshold afterwards costs one binary search. Samples come from the model
bundle's shipped evaluation set, from the Batch panel, or from a labelled CSV read on a worker
(``LabeledCsvJob``). Qt-free: the panel and its widgets only display what is here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from app.core.analysis.evaluation import ALL_EVAL_SETS_NAME, eval_set_name
from app.core.analysis.labeled import read_labeled_scores
from app.core.analysis.resampled import Resampler
from app.core.analysis.thresholds import ThresholdAnalysis, cell_mask
from app.core.analysis.weighted import WeightedThresholdAnalysis
from app.core.common.drill import RowSource
from app.core.common.hashing import sha256_stream
from app.core.csvio.csv_input import RejectedRow

CURVE_THRESHOLDS = np.linspace(0.0, 1.0, 201)  # the "metrics by threshold" plot's x values
BUNDLED = "bundled"  # key of the whole shipped evaluation set; its origins are "bundled:<name>"


@dataclass
class Dataset:
    """One labelled sample and everything derived from it once (the analysis and curves)."""

    name: str
    analysis: ThresholdAnalysis
    scores: np.ndarray  # float64, aligned with labels/texts/lines
    labels: np.ndarray
    curves: dict[str, np.ndarray]  # ThresholdAnalysis.many at CURVE_THRESHOLDS
    pr: tuple[np.ndarray, np.ndarray]  # (precision, recall) at each distinct score
    texts: Sequence[str] | None = None
    lines: np.ndarray | None = None
    note: str = ""
    rejected: list[RejectedRow] = field(default_factory=list)
    blank: int = 0  # rows left out for an empty text (not rejected: `app.core.batch.words`)
    source: RowSource | None = None  # file and model its items came from, to open one in Score
    file_sha256: str = ""  # of the labelled CSV it was read from (a decision record's evidence)
    # Each item's weight when the sample stands for a batch (an audit sample): the analysis is
    # then a `WeightedThresholdAnalysis` and its counts are estimates for the batch.
    weights: np.ndarray | None = None
    # How to resample it when not item by item (an audit sample: within its bands,
    # `app.core.analysis.resampled`); None: the i.i.d. bootstrap and Wilson of `intervals`.
    resampler: Resampler | None = None

    @classmethod
    def build(
        cls, name: str, scores: Any, labels: Any, weights: Any = None, **extra: Any
    ) -> Dataset:
        """Analyse a sample (weighted if ``weights``); raises ``ThresholdInputError`` (a
        ValueError) if it cannot be."""
        scores = np.asarray(scores, dtype=np.float64)
        analysis = (
            ThresholdAnalysis(scores, labels)
            if weights is None
            else WeightedThresholdAnalysis(scores, labels, weights)
        )
        precision, recall, _ = analysis.pr_curve()
        return cls(
            name, analysis, scores, np.asarray(labels),
            curves=analysis.many(CURVE_THRESHOLDS), pr=(precision, recall),
            weights=None if weights is None else np.asarray(weights, dtype=np.float64), **extra,
        )  # fmt: skip


def bundled_datasets(scorer: Any) -> dict[str, Dataset]:
    """The model's shipped evaluation set, whole and per origin; empty if it ships none."""
    arrays = scorer.bundle.arrays if scorer is not None else {}
    if "eval_scores.npy" not in arrays:
        return {}
    scores, labels = arrays["eval_scores.npy"], arrays["eval_labels.npy"]
    origin = arrays.get("eval_origin.npy")
    note = f"held-out test set shipped with {scorer.version_label} (scores only, no texts)"
    datasets = {BUNDLED: Dataset.build(ALL_EVAL_SETS_NAME, scores, labels, note=note)}
    for name in np.unique(origin) if origin is not None else ():
        keep = origin == name
        datasets[f"{BUNDLED}:{name}"] = Dataset.build(  # the key keeps the id, the name is words
            eval_set_name(name), scores[keep], labels[keep], note=note
        )
    return datasets


def sample_dataset(
    name: str,
    scores: Any,
    labels: Any,
    texts: Sequence[str] | None = None,
    lines: np.ndarray | None = None,
    source: RowSource | None = None,
) -> Dataset:
    """A sample sent from elsewhere (e.g. Batch), without its rows that have no score.

    Blank texts have no score (NaN) and cannot be thresholded, so they are left out and
    counted in the note. Raises ValueError if the sample cannot be analysed.
    """
    scores = np.asarray(scores, dtype=np.float64)
    if any(len(x) != len(scores) for x in (labels, texts, lines) if x is not None):
        raise ValueError("its columns differ in length")
    scored = np.isfinite(scores)
    if scored.all():
        return Dataset.build(name, scores, labels, texts=texts, lines=lines, source=source)
    note = f"{len(scores) - int(scored.sum()):,} rows without a score left out"
    return Dataset.build(
        name, scores[scored], np.asarray(labels)[scored],
        texts=None if texts is None else [texts[int(i)] for i in np.flatnonzero(scored)],
        lines=None if lines is None else np.asarray(lines)[scored],
        note=note, source=source,
    )  # fmt: skip


@dataclass
class LabeledCsvJob:
    """Reads, scores and analyses a labelled CSV on a worker thread (all of it core calls)."""

    scorer: Any
    path: Path
    label_column: str
    options: dict[str, Any]  # more keyword arguments of read_labeled_scores

    def __call__(self, progress: Any, cancelled: Any) -> Dataset:
        data = read_labeled_scores(
            self.scorer,
            self.path,
            label_column=self.label_column,
            keep_texts=True,
            progress=lambda done, total: progress((done, total)),
            cancelled=cancelled,
            **self.options,
        )
        # The mapping is shown with the data: no number rests on a mapping the user did not see.
        mapping = data.mapping.summary() if data.mapping else ""
        with open(self.path, "rb") as fh:  # the evidence a decision record names
            digest = sha256_stream(fh, cancelled=cancelled)
        note = f"labels from “{data.label_column}” ({mapping}), texts from “{data.text_column}”"
        return Dataset.build(
            self.path.name, data.scores, data.labels, texts=data.texts, lines=data.lines,
            note=note, rejected=data.rejected, blank=data.blank,
            source=RowSource(self.path.name, self.scorer.version_label), file_sha256=digest,
        )  # fmt: skip


def cell_rows_closest_first(
    ds: Dataset, threshold: float, cell: tuple[int, int], limit: int
) -> tuple[np.ndarray, int]:
    """Rows of matrix cell (row, col), abusive first, closest to the threshold first.

    Closest first because those are the items the next move of the threshold would change.
    Returns at most ``limit`` row indices and the cell's full size. The core decides which rows
    are in the cell (``cell_mask``); the ordering and cap are for the list only.
    """
    idx = np.flatnonzero(cell_mask(ds.scores, ds.labels, threshold, *cell))
    total = len(idx)
    distance = np.abs(ds.scores[idx] - threshold)
    if total > limit:  # partial selection: a full sort of a million distances is wasted work
        keep = np.argpartition(distance, limit - 1)[:limit]
        idx, distance = idx[keep], distance[keep]
    return idx[np.argsort(distance, kind="stable")], total
