"""An audit sample as the Review panel's queue: every item's text, score, stratum and weight,
the sample's columns as they are (for the export of verdicts) and the SHA-256 of exactly the
bytes read, which identifies the sample in the labels store.

There is one reader of SAMPLE.csv, `app.core.audit.sample_file.read_sample`: it validates the
file (columns, every row, weights, bands, the provenance sidecar when there is one) and refuses
the whole file with one line naming it and the line, because a verdict given on a half-read
sample would be attached to the wrong items. A sample without its sidecar still opens (band
sizes from weight × count). This module only arranges what it read as items, one at a time.
"""

from __future__ import annotations

from collections.abc import Callable, Container, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from app.core.audit.sample_file import VERDICT, AuditSampleFile, read_sample
from app.core.common.errors import InputError

VERDICT_COLUMN = VERDICT
MAX_ITEMS = 100_000  # a review queue, not a batch: more means the wrong file was opened


@dataclass(frozen=True)
class ReviewItem:
    index: int  # position in the queue, 0-based
    line: int  # the sample file's physical line: the item's key in the labels store
    text: str
    score: float
    stratum: str
    weight: float
    source_line: str = ""  # its line in the scored batch (audit_line)


@dataclass
class ReviewQueue:
    path: Path
    sha256: str
    header: list[str]
    text_column: str
    rows: list[list[str]] = field(repr=False)  # every cell as read, for the export
    items: list[ReviewItem] = field(repr=False)
    sample: AuditSampleFile | None = field(default=None, repr=False)  # what read_sample read

    def by_line(self) -> dict[int, ReviewItem]:
        return {item.line: item for item in self.items}


def queue_of(sample: AuditSampleFile) -> ReviewQueue:
    """The review queue of a sample `read_sample` read."""
    if len(sample.rows) > MAX_ITEMS:
        raise InputError(f"{sample.path}: more than {MAX_ITEMS:,} items: not an audit sample")
    items = [
        ReviewItem(i, line, text, score, stratum, weight, str(source))
        for i, (line, text, score, stratum, weight, source) in enumerate(
            zip(
                sample.file_lines,
                sample.texts,
                sample.scores.tolist(),
                sample.strata,
                sample.weights.tolist(),
                sample.lines.tolist(),
                strict=True,
            )  # fmt: skip
        )
    ]
    return ReviewQueue(
        sample.path, sample.sha256, sample.header, sample.text_column, sample.rows, items, sample
    )


def read_review_queue(
    path: str | Path, *, cancelled: Callable[[], bool] | None = None
) -> ReviewQueue:
    """Read an audit sample with `read_sample` and arrange it as a queue; InputError naming the
    file if unusable."""
    return queue_of(read_sample(path, cancelled=cancelled))


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
