"""Replay of a proposed policy over a crafted batch history: counts per batch by hand, the
changed rows in file order, missing and damaged caches reported per batch, cancel."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pytest

from app.core.common.errors import JobCancelled
from app.core.decisions.records import Policy
from app.core.decisions.replay import replay
from app.core.results.history import COUNT_KEYS, BatchHistory, HistoryEntry
from app.core.results.history_files import TABLE_NAME, save_table
from app.core.results.table import ResultsTable


def ledger(scores: list[float] | None, threshold: float) -> dict[str, int]:
    """The history's counts of a batch whose table holds ``scores`` (NaN: a blank row)."""
    if scores is None:
        return dict.fromkeys(COUNT_KEYS, 0)
    s = np.asarray(scores, dtype=float)
    scored, blank = int(np.isfinite(s).sum()), int(np.isnan(s).sum())
    flagged = int((s[np.isfinite(s)] >= threshold).sum())
    return {"rows_read": scored + blank, "rows_scored": scored, "rows_blank": blank,
            "rows_rejected": 0, "rows_flagged": flagged}  # fmt: skip


def crafted_history(root: Path) -> BatchHistory:
    """Three batches, oldest first: a (threshold 0.5), b (threshold 0.3), c (cache gone), and d
    with a damaged table."""
    history = BatchHistory(root)
    entries = []
    tables = {
        "a": ([0.1, 0.45, 0.55, 0.7, 0.95, np.nan], 0.5),
        "b": ([0.2, 0.35, 0.6, 0.9], 0.3),
        "c": (None, 0.5),
        "d": (None, 0.5),
    }
    for n, (name, (scores, threshold)) in enumerate(tables.items()):
        entry_id = f"2026120{n + 1}T000000-{name}"
        folder = history.folder(entry_id)
        folder.mkdir(parents=True)
        if scores is not None:
            lines = np.arange(2, 2 + len(scores))
            table = ResultsTable.from_arrays(lines, scores, [f"t{i}" for i in lines])
            save_table(table, folder / TABLE_NAME)
        elif name == "d":
            (folder / TABLE_NAME).write_bytes(b"PK\x03\x04 not really a zip")
        entries.append(HistoryEntry(
            entry_id, f"/data/{name}.csv", "0" * 64, 10, f"2026-12-0{n + 1}T00:00:00+00:00",
            "m 1.0.0", threshold, "text", ledger(scores, threshold),
        ))  # fmt: skip
    index = {"schema_version": 1, "entries": [asdict(e) for e in entries]}
    history.index_path.write_text(json.dumps(index))
    return history


def test_counts_and_rows_per_batch_newest_first(tmp_path: Path):
    history = crafted_history(tmp_path)
    seen: list[tuple[int, int]] = []
    out = list(replay(history, Policy(0.4, escalate=0.9), max_rows=10,
                      progress=lambda d, t: seen.append((d, t))))  # fmt: skip
    assert [r.file_name for r in out] == ["d.csv", "c.csv", "b.csv", "a.csv"]
    assert seen == [(1, 4), (2, 4), (3, 4), (4, 4)]
    d, c, b, a = out
    assert "damaged" in d.error and c.error == "cache gone — rescore"
    assert (c.rows, c.changed_total) == (0, 0)
    # a at 0.5 flagged 0.55, 0.7, 0.95; proposed flags 0.45 too and escalates 0.95
    assert (a.rows, a.newly_flagged, a.no_longer_flagged, a.band_changes) == (5, 1, 0, 1)
    assert [(r.line, r.before, r.after) for r in a.changed] == [
        (3, "clear", "flagged"), (6, "flagged", "escalate"),
    ]  # fmt: skip
    # b at 0.3 flagged 0.35, 0.6, 0.9; proposed drops 0.35 and escalates 0.9
    assert (b.newly_flagged, b.no_longer_flagged, b.band_changes) == (0, 1, 1)
    assert b.as_dict()["changed"][0] == {
        "line": 3, "score": 0.35, "before": "flagged", "after": "clear",
    }  # fmt: skip


def test_rows_are_capped_and_counts_are_not(tmp_path: Path):
    a = list(replay(crafted_history(tmp_path), Policy(0.05), max_rows=0))[-1]
    assert a.newly_flagged == 2 and a.changed == []  # 0.1 and 0.45 newly flagged


def test_cancel_between_batches(tmp_path: Path):
    stream = replay(crafted_history(tmp_path), Policy(0.5), cancelled=lambda: True)
    with pytest.raises(JobCancelled):
        next(stream)


@pytest.mark.parametrize(
    ("scores", "why"),
    [
        ([0.2, 0.35, 0.6], "3 rows cached, 4 in the history"),  # another job's table
        ([0.2, 0.35, 0.6, np.nan], "3 scored rows cached, 4 in the history"),
        ([0.2, 0.35, 0.6, np.inf], "infinite scores"),
        ([0.2, 0.35, 0.6, 2.0], "scores outside 0 to 1"),
        ([0.2, 0.35, -1.0, 0.9], "scores outside 0 to 1"),
        ([0.2, 0.1, 0.6, 0.9], "flagged rows differ from the 3 in the history"),
    ],
)
def test_a_cache_that_does_not_match_its_history_record_is_skipped(tmp_path, scores, why):
    """Batch b's record counts 4 scored rows, 3 flagged at 0.3; a cache that says otherwise
    (another job's table, NaN/inf/out-of-range scores) is skipped and counted nowhere."""
    history = crafted_history(tmp_path)
    (b_entry,) = [e for e in history.entries() if e.name == "b.csv"]
    lines = np.arange(2, 2 + len(scores))
    table = ResultsTable.from_arrays(lines, scores, [f"t{i}" for i in lines])
    save_table(table, history.folder(b_entry.id) / TABLE_NAME)
    (b,) = [r for r in replay(history, Policy(0.4)) if r.file_name == "b.csv"]
    assert b.error == f"skipped: cache does not match its history record ({why})"
    assert (b.rows, b.changed_total, b.changed) == (0, 0, [])
