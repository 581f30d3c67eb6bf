"""Replay: what a proposed threshold (or band policy) would have decided on past batches.

Each batch kept in the history (`app.core.results.history`) has its scores cached; the decision
it was given is the threshold recorded with it (a single cut: flagged or not). Replay applies the
proposed policy to the same scores and lists the rows whose decision would change, with counts
per batch: newly flagged, no longer flagged, and band changes (flagged both times, but review
and escalate swap). Batches are streamed one at a time (one table in memory); a batch whose
cache is gone or damaged is reported with its reason, never fatal; so is one that does not match
its history record (another job's table, edited or impossible scores: `cache_mismatch`), which
is skipped and never counted.
"""

from __future__ import annotations

import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import numpy as np

from app.core.common.errors import JobCancelled
from app.core.decisions.records import Policy
from app.core.engine.scoring import flagged
from app.core.results.history import BatchHistory, HistoryEntry
from app.core.results.history_files import TABLE_NAME, load_table

BANDS = ("clear", "flagged", "escalate")  # Policy.band values; "flagged" is review in a band policy


@dataclass(frozen=True)
class ChangedRow:
    line: int  # the input file's line
    score: float
    before: str  # a BANDS word
    after: str


@dataclass
class BatchReplay:
    entry_id: str
    file_name: str
    finished_utc: str
    model_version: str
    threshold: float  # the one the batch was decided with
    rows: int = 0  # scored rows (blank texts have no score and are never flagged)
    newly_flagged: int = 0
    no_longer_flagged: int = 0
    band_changes: int = 0
    changed: list[ChangedRow] = field(default_factory=list)  # the first `max_rows`, file order
    error: str = ""  # the cache is gone or damaged: nothing was counted

    @property
    def changed_total(self) -> int:
        return self.newly_flagged + self.no_longer_flagged + self.band_changes

    def as_dict(self) -> dict[str, object]:
        return {
            "id": self.entry_id, "file": self.file_name, "finished_utc": self.finished_utc,
            "model_version": self.model_version, "threshold": self.threshold,
            "rows": self.rows, "newly_flagged": self.newly_flagged,
            "no_longer_flagged": self.no_longer_flagged, "band_changes": self.band_changes,
            "changed": [vars(r) for r in self.changed], "error": self.error or None,
        }  # fmt: skip


def cache_mismatch(entry: HistoryEntry, scores: np.ndarray, lines: np.ndarray) -> str:
    """Why a batch's cached scores are not the ones its history record counted ("" if they
    are): another job's table, or scores edited or damaged. The record's ledger says how many
    rows were scored (finite scores in [0, 1]), how many were blank (NaN: no text, no score)
    and how many were flagged at its threshold; the cache must agree on all three."""
    counts = entry.counts
    scored, blank = counts["rows_scored"], counts["rows_blank"]
    if len(scores) != scored + blank:
        return f"{len(scores):,} rows cached, {scored + blank:,} in the history"
    finite = np.isfinite(scores)
    if np.count_nonzero(~finite & ~np.isnan(scores)):
        return "infinite scores"
    if np.count_nonzero((scores[finite] < 0) | (scores[finite] > 1)):
        return "scores outside 0 to 1"
    if int(finite.sum()) != scored:
        return f"{int(finite.sum()):,} scored rows cached, {scored:,} in the history"
    if int(np.count_nonzero(flagged(scores[finite], entry.threshold))) != counts["rows_flagged"]:
        return f"flagged rows differ from the {counts['rows_flagged']:,} in the history"
    if len(lines) and (lines[0] < 1 or np.count_nonzero(np.diff(lines) <= 0)):
        return "line numbers out of order"
    return ""


def replay_entry(
    history: BatchHistory, entry: HistoryEntry, policy: Policy, max_rows: int = 100
) -> BatchReplay:
    out = BatchReplay(entry.id, entry.name, entry.finished_utc, entry.model_version,
                      entry.threshold)  # fmt: skip
    try:
        table = load_table(history.folder(entry.id) / TABLE_NAME)
    except FileNotFoundError:
        out.error = "cache gone — rescore"
        return out
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as exc:
        out.error = f"cache damaged ({type(exc).__name__})"
        return out
    scores = np.asarray(table.scores, dtype=np.float64)
    if problem := cache_mismatch(entry, scores, np.asarray(table.lines)):
        out.error = f"skipped: cache does not match its history record ({problem})"
        return out
    before, after = Policy(entry.threshold).band(scores), policy.band(scores)
    out.rows = int(np.isfinite(scores).sum())
    out.newly_flagged = int(np.count_nonzero((before == 0) & (after > 0)))
    out.no_longer_flagged = int(np.count_nonzero((before > 0) & (after == 0)))
    out.band_changes = int(np.count_nonzero((before > 0) & (after > 0) & (before != after)))
    idx = np.flatnonzero(before != after)[: max(0, max_rows)]
    out.changed = [
        ChangedRow(int(table.lines[i]), float(scores[i]), BANDS[before[i]], BANDS[after[i]])
        for i in idx.tolist()
    ]
    return out


def replay(
    history: BatchHistory,
    policy: Policy,
    *,
    max_rows: int = 100,
    progress: Callable[[int, int], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> Iterator[BatchReplay]:
    """One BatchReplay per kept batch, newest first; JobCancelled between batches."""
    entries = list(reversed(history.entries()))
    for done, entry in enumerate(entries):
        if cancelled is not None and cancelled():
            raise JobCancelled("replay cancelled")
        yield replay_entry(history, entry, policy, max_rows)
        if progress is not None:
            progress(done + 1, len(entries))
