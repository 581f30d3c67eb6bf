"""Reading an analyst's labelled CSV and scoring it, for evaluation and the threshold explorer.

Label values are matched after trimming and case-folding. With ``positive_values`` given, those
values mean abusive and every other non-empty value benign. Without it, a documented vocabulary
is used (``POSITIVE_WORDS`` / ``NEGATIVE_WORDS``) and an unknown value rejects the row, naming it,
rather than guessing. Rows with an empty label or empty text are rejected with their line numbers.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from app.core.csv_input import RejectedRow, iter_chunks
from app.core.csv_sniff import choose_text_column, sniff
from app.core.errors import InputError
from app.core.scoring import Scorer

POSITIVE_WORDS = frozenset(
    {
        "1",
        "true",
        "yes",
        "y",
        "abusive",
        "abuse",
        "off",
        "offensive",
        "hate",
        "toxic",
        "flagged",
        "positive",
    }
)
NEGATIVE_WORDS = frozenset(
    {"0", "false", "no", "n", "benign", "not", "neither", "none", "clean", "ok", "negative"}
)


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
    rejected: list[RejectedRow] = field(default_factory=list)


def label_parser(positive_values: Sequence[str] | None) -> Callable[[str], int | None]:
    """A function from a raw label cell to 1, 0, or None (not understood)."""
    if positive_values:
        positives = {v.strip().casefold() for v in positive_values}
        return lambda raw: 1 if raw.strip().casefold() in positives else 0

    def parse(raw: str) -> int | None:
        value = raw.strip().casefold()
        return 1 if value in POSITIVE_WORDS else 0 if value in NEGATIVE_WORDS else None

    return parse


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
    parse = label_parser(positive_values)
    scores, labels, lines, texts = [], [], [], []
    result = LabeledScores(
        np.empty(0), np.empty(0, np.int8), np.empty(0, np.int64), None, text_name, label_name
    )
    for chunk in iter_chunks(
        path, sniffed.format, header_expected=sniffed.header, cancelled=cancelled
    ):
        result.rows_read += len(chunk.rows) + len(chunk.rejected) + chunk.blank_lines
        result.rejected.extend(chunk.rejected)
        keep_rows, keep_texts_chunk = [], []
        for row, line in zip(chunk.rows, chunk.lines, strict=True):
            raw_label = row[li]
            label = parse(raw_label) if raw_label.strip() else None
            if not row[ti].strip():
                result.rejected.append(RejectedRow(line, "blank text"))
            elif label is None:
                reason = (
                    "missing label"
                    if not raw_label.strip()
                    else (
                        f"label {raw_label.strip()!r} is neither a known abusive nor benign value "
                        "(name the values that mean abusive)"
                    )
                )
                result.rejected.append(RejectedRow(line, reason))
            else:
                keep_rows.append(label)
                keep_texts_chunk.append(row[ti])
                lines.append(line)
        if keep_texts_chunk:
            scores.append(scorer.score_many(keep_texts_chunk)[0])
            labels.extend(keep_rows)
            if keep_texts:
                texts.extend(keep_texts_chunk)
        if progress:
            progress(chunk.bytes_read, sniffed.size_bytes)
    if not labels:
        raise InputError(f"{path}: no row has both a text and a usable label")
    result.scores = np.concatenate(scores)
    result.labels = np.asarray(labels, dtype=np.int8)
    result.lines = np.asarray(lines, dtype=np.int64)
    result.texts = texts if keep_texts else None
    result.rejected.sort(key=lambda r: r.line)
    return result
