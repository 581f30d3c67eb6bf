"""The rows a batch job writes: the input row, the active model's cells, the challenger's cells.

An output row is every input cell followed by `OUTPUT_COLUMNS` and, when the job has a
challenger (a second model that shadow-scores and never decides), `CHALLENGER_COLUMNS`. Without
a challenger the rows are exactly what they were before challengers existed, so outputs, caches
and checkpoints of such jobs do not change.

The challenger's label uses the job's threshold (the same rule, `scoring.flagged`), so a
difference between the two label columns is a difference between the models, nothing else.

With a band policy (review and escalate cut points, `app.core.analysis.bands`), `BAND_COLUMN`
follows ``abuse_label``: the row's band by the same ``score >= cut`` rule (a cut point's own score
is in the higher band), empty for a row without a score. Without one, rows are unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence
from operator import itemgetter
from typing import Protocol

import numpy as np

from app.core.engine.scoring import Scorer, flagged, label_for, labels_for

OUTPUT_COLUMNS = ("abuse_score", "abuse_label", "model_version", "abuse_note")
CHALLENGER_COLUMNS = ("challenger_score", "challenger_label", "challenger_version")
BAND_COLUMN = "abuse_band"
# The bands' names, low to high: `app.core.analysis.bands.BANDS` (batch may not import analysis;
# a test keeps the two equal).
BAND_NAMES = ("clear", "review", "escalate")
BAND_COUNT_KEYS = ("rows_clear", "rows_review", "rows_escalate")  # report fields, per band
Bands = tuple[float, float]  # (review_at, escalate_at), checked by `analysis.bands.BandPolicy`


class RowCounts(Protocol):
    """The ledger counters `score_rows` adds to (a `batch.BatchReport`)."""

    rows_blank: int
    rows_scored: int
    rows_truncated: int
    rows_flagged: int
    rows_disagreeing: int
    rows_clear: int
    rows_review: int
    rows_escalate: int


def added_columns(challenger: bool, banded: bool = False) -> tuple[str, ...]:
    """The columns a job appends to each input row, in order (the band after the label)."""
    ours = (*OUTPUT_COLUMNS[:2], BAND_COLUMN, *OUTPUT_COLUMNS[2:]) if banded else OUTPUT_COLUMNS
    return ours + (CHALLENGER_COLUMNS if challenger else ())


def challenger_offset(banded: bool) -> int:
    """Where the challenger's cells start, counted from the first of our columns."""
    return len(OUTPUT_COLUMNS) + (1 if banded else 0)


def band_codes(scores: np.ndarray, bands: Bands) -> np.ndarray:
    """0 clear, 1 review, 2 escalate, -1 no score: `analysis.bands.band_codes`'s rule, by
    `scoring.flagged` (a score equal to a cut point is in the higher band)."""
    review_at, escalate_at = bands
    codes = flagged(scores, review_at).astype(np.int8) + flagged(scores, escalate_at)
    codes[np.isnan(scores)] = -1
    return codes


def unique_output_columns(
    header: Sequence[str], challenger: bool = False, banded: bool = False
) -> list[str]:
    """Our column names, suffixed if the input already uses them, so no input column is hidden."""
    taken, names = set(header), []
    for name in added_columns(challenger, banded):
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
    bands: Bands | None = None,
) -> list[list[object]]:
    """Score one chunk of input rows into output rows, adding to the ledger `counts`.

    ``scored``: the chunk's (scores, truncated, empty, challenger scores) when a worker process
    computed them already (`app.core.batch.parallel`); otherwise they are computed here.
    ``bands``: the band policy, whose band cell follows the label (`BAND_COLUMN`).
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
    if bands is not None:
        _add_bands(out, np.where(empty, np.nan, scores), bands, counts)
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
        note = scorer.truncation_note if cut else ""
        out.append([*row, score, label_for(score, threshold), version, note])
    return out


def _add_bands(
    out: list[list[object]], scores: np.ndarray, bands: Bands, counts: RowCounts
) -> None:
    """Insert each row's band cell after its label (before version and note); count the rows
    per band."""
    codes = band_codes(scores, bands)
    names = (*BAND_NAMES, "")  # index -1: no score
    for row, code in zip(out, codes.tolist(), strict=True):
        row.insert(len(row) - 2, names[code])
    per_band = np.bincount(codes[codes >= 0], minlength=len(BAND_NAMES))
    for key, n in zip(BAND_COUNT_KEYS, per_band.tolist(), strict=True):
        setattr(counts, key, getattr(counts, key) + n)


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
