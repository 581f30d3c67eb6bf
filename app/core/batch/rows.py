"""The rows a batch job writes: the input row, the active model's cells, the challenger's cells.

An output row is every input cell followed by `OUTPUT_COLUMNS` and, when the job has a
challenger (a second model that shadow-scores and never decides), `CHALLENGER_COLUMNS`. Without
a challenger the rows are exactly what they were before challengers existed, so outputs, caches
and checkpoints of such jobs do not change.

The challenger's label uses the job's threshold (the same rule, `scoring.flagged`), so a
difference between the two label columns is a difference between the models, nothing else.
"""

from __future__ import annotations

from collections.abc import Sequence
from operator import itemgetter
from typing import Protocol

import numpy as np

from app.core.engine.scoring import Scorer, flagged, label_for, labels_for

OUTPUT_COLUMNS = ("abuse_score", "abuse_label", "model_version", "abuse_note")
CHALLENGER_COLUMNS = ("challenger_score", "challenger_label", "challenger_version")


class RowCounts(Protocol):
    """The ledger counters `score_rows` adds to (a `batch.BatchReport`)."""

    rows_blank: int
    rows_scored: int
    rows_truncated: int
    rows_flagged: int
    rows_disagreeing: int


def added_columns(challenger: bool) -> tuple[str, ...]:
    """The columns a job appends to each input row, in order."""
    return OUTPUT_COLUMNS + (CHALLENGER_COLUMNS if challenger else ())


def unique_output_columns(header: Sequence[str], challenger: bool = False) -> list[str]:
    """Our column names, suffixed if the input already uses them, so no input column is hidden."""
    taken, names = set(header), []
    for name in added_columns(challenger):
        candidate, n = name, 2
        while candidate in taken:
            candidate, n = f"{name}_{n}", n + 1
        taken.add(candidate)
        names.append(candidate)
    return [*header, *names]


def score_rows(
    scorer: Scorer,
    challenger: Scorer | None,
    rows: list[list[str]],
    text_index: int,
    threshold: float,
    counts: RowCounts,
    scored: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None] | None = None,
) -> list[list[object]]:
    """Score one chunk of input rows into output rows, adding to the ledger `counts`.

    ``scored``: the chunk's (scores, truncated, empty, challenger scores) when a worker process
    computed them already (`app.core.batch.parallel`); otherwise they are computed here.
    """
    texts: list[str] | None = None
    other = None
    if scored is None:
        texts = list(map(itemgetter(text_index), rows))
        scores, truncated, empty = scorer.score_many(texts)
    else:
        scores, truncated, empty, other = scored
    version = scorer.version_label
    if not empty.any() and not truncated.any():  # the usual chunk: one comprehension, no branches
        out = [
            [*row, score, label, version, ""]
            for row, score, label in zip(
                rows, scores.tolist(), labels_for(scores, threshold), strict=True
            )
        ]
    else:
        out = _rows_with_notes(scorer, rows, scores, truncated, empty, threshold)
    blanks = int(np.count_nonzero(empty))
    counts.rows_blank += blanks
    counts.rows_scored += len(rows) - blanks
    counts.rows_truncated += int(np.count_nonzero(truncated & ~empty))
    counts.rows_flagged += int(np.count_nonzero(flagged(scores[~empty], threshold)))
    if challenger is not None:
        if other is None:
            if texts is None:
                texts = list(map(itemgetter(text_index), rows))
            other = challenger.score_many(texts)[0]
        _add_challenger(challenger, other, scores, empty, threshold, out, counts)
    return out


def _rows_with_notes(
    scorer: Scorer,
    rows: list[list[str]],
    scores: np.ndarray,
    truncated: np.ndarray,
    empty: np.ndarray,
    threshold: float,
) -> list[list[object]]:
    """Output rows of a chunk with blank or truncated texts (their cells say so)."""
    out: list[list[object]] = []
    version = scorer.version_label
    for row, score, cut, blank in zip(
        rows, scores.tolist(), truncated.tolist(), empty.tolist(), strict=True
    ):
        if blank:
            out.append([*row, None, "", version, "blank text"])
            continue
        note = f"scored the first {scorer.max_chars:,} characters" if cut else ""
        out.append([*row, score, label_for(score, threshold), version, note])
    return out


def _add_challenger(
    challenger: Scorer,
    other: np.ndarray,
    scores: np.ndarray,
    empty: np.ndarray,
    threshold: float,
    out: list[list[object]],
    counts: RowCounts,
) -> None:
    """Append the challenger's cells to each output row; count the rows the labels differ on.

    Blank-text rows are the active model's call (both models use the same blank rule, but the
    active one decides what counts as scored), and get blank challenger cells.
    """
    version = challenger.version_label
    for row, score, blank in zip(out, other.tolist(), empty.tolist(), strict=True):
        if blank:
            row.extend((None, "", ""))
        else:
            row.extend((score, label_for(score, threshold), version))
    scored = ~empty
    differ = flagged(scores[scored], threshold) != flagged(other[scored], threshold)
    counts.rows_disagreeing += int(np.count_nonzero(differ))
