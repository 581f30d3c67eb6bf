"""Reading an analyst's labelled CSV and scoring it, for evaluation and the threshold explorer.

What each label value means is decided by `app.core.analysis.label_mapping` (the one rule, shared with the
Batch panel): the file is read twice, first its labels only, so that a column that cannot be
mapped with certainty, or an abusive value that never occurs, is refused before any scoring; the
mapping reported is counted on the second read, the one actually scored. Rows with an empty
text are *blank* (counted, as in a batch job: `app.core.batch.words`); unreadable records and rows
whose label is taken as "rejected" are *rejected*, with their line numbers.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from app.core.analysis.label_mapping import ABUSIVE, BENIGN, LabelMapping, LabelRule
from app.core.common.errors import InputError
from app.core.csvio.csv_input import RejectedRow, choose_text_column, iter_chunks, sniff
from app.core.engine.scoring import Scorer

# Usual names of a gold-label column, matched after trimming, folding spaces and case.
LABEL_COLUMN_NAMES = (
    "label",
    "labels",
    "class",
    "gold",
    "target",
    "subtask_a",
    "abusive",
    "is_abusive",
    "offensive",
    "toxic",
)


def guess_label_column(
    header: Sequence[str], text_column: str | None, *, fallback: bool = False
) -> str | None:
    """The first column with a usual gold-label name, never the text column.

    With ``fallback`` (a dialog that needs a preselection the user then confirms), the last
    non-text column is proposed when no name matches; otherwise None.
    """
    for name in header:
        if name != text_column and " ".join(name.split()).casefold() in LABEL_COLUMN_NAMES:
            return name
    if not fallback:
        return None
    candidates = [h for h in header if h != text_column] or list(header)
    return candidates[-1] if candidates else None


@dataclass
class LabeledScores:
    scores: np.ndarray
    labels: np.ndarray  # int8, 1 = abusive
    lines: np.ndarray  # line number of each scored row, for listing texts of a matrix cell
    texts: list[str] | None
    text_column: str
    label_column: str
    rows_read: int = 0
    rejected: list[RejectedRow] = field(default_factory=list)  # unreadable, or no usable label
    blank: int = 0  # empty lines and rows whose text is empty: not scored, not rejected
    mapping: LabelMapping | None = None  # each label value, its rows, what it was taken as
    columns_renamed: str = ""  # duplicate header names made unique (`csv_header.renamed_note`)


def label_parser(positive_values: Sequence[str] | None) -> Callable[[str], int | None]:
    """A function from a raw label cell to 1, 0, or None (rejected or unknown): `LabelRule`."""
    rule = LabelRule.of(positive_values)
    codes = {ABUSIVE: 1, BENIGN: 0}
    return lambda raw: codes.get(rule.taken_as(raw.strip()) or "")


def _survey_labels(
    path: str | Path,
    sniffed: Any,
    columns: tuple[int, int],
    mapping: LabelMapping,
    progress: Callable[[int, int], None] | None,
    cancelled: Callable[[], bool] | None,
) -> None:
    """First read: count the labels of rows with a text, and refuse what cannot be mapped."""
    ti, li = columns
    for chunk in iter_chunks(
        path, sniffed.format, header_expected=sniffed.header, cancelled=cancelled
    ):
        for row in chunk.rows:
            if row[ti].strip():
                mapping.add(row[li].strip())
        if progress:  # the labels-only read is the first tenth of the work
            progress(chunk.bytes_read // 10, sniffed.size_bytes)
    mapping.check()


def read_labeled_scores(
    scorer: Scorer,
    path: str | Path,
    *,
    label_column: str,
    positive_values: Sequence[str] | None = None,
    text_column: str | None = None,
    keep_texts: bool = False,
    progress: Callable[[int, int], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> LabeledScores:
    sniffed = sniff(path)
    # The same exact/fuzzy name rule as the text column.
    label_name = choose_text_column(sniffed.header, [], label_column, source=path)
    if text_column is None:
        others = [h for h in sniffed.header if h != label_name]
        preview = [[row[sniffed.header.index(h)] for h in others] for row in sniffed.preview]
        text_name = choose_text_column(others, preview, source=path)
    else:
        text_name = choose_text_column(sniffed.header, sniffed.preview, text_column, source=path)
    if text_name == label_name:
        raise InputError(f"{path}: the text column and the label column are both {label_name!r}")
    ti, li = sniffed.header.index(text_name), sniffed.header.index(label_name)
    rule = LabelRule.of(positive_values)
    _survey_labels(
        path, sniffed, (ti, li), LabelMapping(str(path), label_name, rule), progress, cancelled
    )
    mapping = LabelMapping(str(path), label_name, rule)
    scores, labels, lines, texts = [], [], [], []
    result = LabeledScores(
        np.empty(0), np.empty(0, np.int8), np.empty(0, np.int64), None, text_name, label_name,
        mapping=mapping, columns_renamed=sniffed.renamed,
    )  # fmt: skip
    for chunk in iter_chunks(
        path, sniffed.format, header_expected=sniffed.header, cancelled=cancelled
    ):
        result.rows_read += len(chunk.rows) + len(chunk.rejected) + chunk.blank_lines
        result.blank += chunk.blank_lines
        result.rejected.extend(chunk.rejected)
        keep_rows, keep_texts_chunk = [], []
        for row, line in zip(chunk.rows, chunk.lines, strict=True):
            if not row[ti].strip():
                result.blank += 1
                continue
            value = row[li].strip()
            taken = mapping.add(value)
            if taken in (ABUSIVE, BENIGN):
                keep_rows.append(1 if taken == ABUSIVE else 0)
                keep_texts_chunk.append(row[ti])
                lines.append(line)
            else:
                result.rejected.append(RejectedRow(line, rule.reason(value)))
        if keep_texts_chunk:
            scores.append(scorer.score_many(keep_texts_chunk)[0])
            labels.extend(keep_rows)
            if keep_texts:
                texts.extend(keep_texts_chunk)
        if progress:
            size = sniffed.size_bytes
            progress(size // 10 + chunk.bytes_read * 9 // 10, size)
    mapping.check()  # again: the file may have changed since the first read
    if not labels:
        raise InputError(
            f"{path}: no row has both a text and a usable label "
            f"(column {label_name!r}: {mapping.summary() or 'no rows'})"
        )
    result.scores = np.concatenate(scores)
    result.labels = np.asarray(labels, dtype=np.int8)
    result.lines = np.asarray(lines, dtype=np.int64)
    result.texts = texts if keep_texts else None
    result.rejected.sort(key=lambda r: r.line)
    return result
