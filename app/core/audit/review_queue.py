"""An audit sample read for the Review panel's queue: every item's text, score, stratum and
weight, the sample's columns as they are (for the export of verdicts) and the SHA-256 of exactly
the bytes read, which identifies the sample in the labels store.

A sample is small (hundreds of rows): it is read whole, and any row the CSV reader rejects, or a
score or weight that is not a number, refuses the whole file with one line naming it and the
line, because a verdict given on a half-read sample would be attached to the wrong items.
This reader stands in until `app.core.audit.sample_file.read_sample` exists; the panel only
uses `ReviewQueue`.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Container, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from app.core.batch.rows import BAND_COLUMN, CHALLENGER_COLUMNS, OUTPUT_COLUMNS
from app.core.common.errors import InputError
from app.core.csvio.csv_input import choose_text_column, iter_chunks, sniff

SCORE_COLUMN = "abuse_score"
STRATUM_COLUMN = "audit_stratum"
WEIGHT_COLUMN = "audit_weight"
VERDICT_COLUMN = "verdict"
SOURCE_LINE_COLUMN = "audit_line"  # the item's line in the scored batch, when the sample has it
# Columns the score and sample commands add: never the text to review.
_OURS = frozenset(
    (*OUTPUT_COLUMNS, BAND_COLUMN, *CHALLENGER_COLUMNS, STRATUM_COLUMN, WEIGHT_COLUMN)
    + (VERDICT_COLUMN,)
    + (SOURCE_LINE_COLUMN,)
)
MAX_ITEMS = 100_000  # a review queue, not a batch: more means the wrong file was opened


@dataclass(frozen=True)
class ReviewItem:
    index: int  # position in the queue, 0-based
    line: int  # the sample file's physical line: the item's key in the labels store
    text: str
    score: float
    stratum: str
    weight: float
    source_line: str = ""  # its line in the scored batch (audit_line), "" if not recorded


@dataclass
class ReviewQueue:
    path: Path
    sha256: str
    header: list[str]
    text_column: str
    rows: list[list[str]] = field(repr=False)  # every cell as read, for the export
    items: list[ReviewItem] = field(repr=False)

    def by_line(self) -> dict[int, ReviewItem]:
        return {item.line: item for item in self.items}


def _number(path: Path, line: int, column: str, raw: str, *, positive: bool) -> float:
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    bad = not math.isfinite(value) or (value <= 0 if positive else not 0.0 <= value <= 1.0)
    if bad:
        want = "a number above 0" if positive else "a number from 0 to 1"
        shown = raw if len(raw) <= 24 else raw[:23] + "…"
        raise InputError(f"{path}: line {line}: {column} {shown!r} is not {want}")
    return value


def _column(path: Path, header: list[str], name: str) -> int:
    if name not in header:
        raise InputError(
            f"{path}: not an audit sample: it has no {name!r} column"
            " (make one with: abuse-desk audit sample SCORED.csv --size N -o SAMPLE.csv)"
        )
    return header.index(name)


def read_review_queue(
    path: str | Path,
    *,
    text_column: str | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> ReviewQueue:
    """Read an audit sample (see the module docstring); InputError naming the file if unusable.
    The text column is found as the score command finds it, among the columns it did not add."""
    path = Path(path)
    sniffed = sniff(path)
    header = sniffed.header
    score_i, stratum_i, weight_i = (
        _column(path, header, n) for n in (SCORE_COLUMN, STRATUM_COLUMN, WEIGHT_COLUMN)
    )
    source_i = header.index(SOURCE_LINE_COLUMN) if SOURCE_LINE_COLUMN in header else None
    inputs = [h for h in header if h not in _OURS]
    if text_column is None:
        preview = [[row[header.index(h)] for h in inputs] for row in sniffed.preview]
        text_name = choose_text_column(inputs, preview, source=path)
    else:
        text_name = choose_text_column(header, sniffed.preview, text_column, source=path)
    text_i = header.index(text_name)
    digest = hashlib.sha256()
    rows: list[list[str]] = []
    items: list[ReviewItem] = []
    for chunk in iter_chunks(
        path, sniffed.format, header_expected=header, cancelled=cancelled, digest=digest
    ):
        if chunk.rejected:
            bad = chunk.rejected[0]
            raise InputError(f"{path}: line {bad.line}: {bad.reason}; a sample must be whole")
        for row, line in zip(chunk.rows, chunk.lines, strict=True):
            if len(items) >= MAX_ITEMS:
                raise InputError(f"{path}: more than {MAX_ITEMS:,} items: not an audit sample")
            item = ReviewItem(
                len(items),
                line,
                row[text_i],
                _number(path, line, SCORE_COLUMN, row[score_i].strip(), positive=False),
                row[stratum_i].strip(),
                _number(path, line, WEIGHT_COLUMN, row[weight_i].strip(), positive=True),
                row[source_i].strip() if source_i is not None else "",
            )
            rows.append(row)
            items.append(item)
    if not items:
        raise InputError(f"{path}: the sample has no items to review")
    return ReviewQueue(path, digest.hexdigest(), header, text_name, rows, items)


@dataclass(frozen=True)
class ReviewProgress:
    total: int
    reviewed: int  # items with a standing verdict, skips included
    skipped: int

    @property
    def words(self) -> str:
        """ "37 of 200 reviewed · 5 skipped" """
        return f"{self.reviewed:,} of {self.total:,} reviewed · {self.skipped:,} skipped"


def review_progress(queue: ReviewQueue, verdict_of: Mapping[int, str]) -> ReviewProgress:
    """Progress of `queue` given each item line's current verdict (abusive | benign | skip)."""
    done = [verdict_of[item.line] for item in queue.items if item.line in verdict_of]
    return ReviewProgress(len(queue.items), len(done), done.count("skip"))


def next_unreviewed(queue: ReviewQueue, reviewed: Container[int], after: int = -1) -> int | None:
    """The index of the first item past `after` whose line is not in `reviewed`, wrapping
    round to the start; None when every item has a verdict."""
    n = len(queue.items)
    for step in range(1, n + 1):
        index = (after + step) % n
        if queue.items[index].line not in reviewed:
            return index
    return None
