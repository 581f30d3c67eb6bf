"""A scoring job's outputs: the results table in memory and the scored cache file on disk.

`score_file` runs `batch.run_batch` into a cache file (every input column, formula-safe) and
collects the columns the results table needs as it goes; `results_export` streams that cache
back out. Caches live in a per-session folder and are deleted with the session (scored texts may
hold personal data), except those the batch history takes over (`history`).
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from app.core.batch.options import BatchOptions, BatchProgress, BatchReport
from app.core.batch.rows import challenger_offset
from app.core.batch.run import run_batch
from app.core.batch.source import resolve_input
from app.core.common.errors import InputError
from app.core.common.paths import jobs_root
from app.core.csvio.csv_sniff import choose_text_column
from app.core.engine.scoring import Scorer
from app.core.results.table import STRINGS, ResultsTable


class _Collector:
    """Turns `run_batch`'s ``on_rows`` chunks into column arrays (runs on the worker thread)."""

    def __init__(
        self, width: int, text_index: int, gold_index: int | None, challenger: bool, banded: bool
    ) -> None:
        # Output rows are the `width` input cells, our columns, then the challenger's if any.
        self.score_at = width
        self.challenger_at = width + challenger_offset(banded) if challenger else None
        self.text_index, self.gold_index = text_index, gold_index
        self.parts: list[tuple[np.ndarray, ...]] = []

    def add(self, rows: list[list[object]], lines: list[int]) -> None:
        at = self.challenger_at
        part = [
            np.asarray(lines, dtype=np.int64),
            np.array([row[self.score_at] for row in rows], dtype=np.float64),  # None -> NaN
            np.array([row[self.text_index] for row in rows], dtype=STRINGS),
            np.array([row[at] for row in rows] if at is not None else [], dtype=np.float64),
        ]
        if self.gold_index is not None:
            part.append(np.array([row[self.gold_index] for row in rows], dtype=STRINGS))
        self.parts.append(tuple(part))

    def column(self, i: int, dtype: Any) -> np.ndarray:
        arrays = [part[i] for part in self.parts]
        return np.concatenate(arrays) if arrays else np.empty(0, dtype=dtype)


@dataclass
class ScoredFile:
    report: BatchReport
    table: ResultsTable
    cache_path: Path


def score_file(
    scorer: Scorer,
    options: BatchOptions,
    gold_column: str | None,
    progress: Callable[[BatchProgress], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
    *,
    challenger: Scorer | None = None,
    rescorer: Scorer | None = None,
) -> ScoredFile:
    """`run_batch` into the cache file named by ``options.output_path``, keeping the results
    (with ``challenger``'s scores beside the active model's, if given).

    The input is read once for the whole job (`batch.source.resolve_input`) and the cache is
    written without checkpoints: it lives for the session only, and nothing ever resumes it.
    ``options.workers`` above 1 scores a large file in worker processes, as the CLI does.
    ``rescorer``: a cascade's thorough engine (`batch.cascade`); the cache is never looked up
    by its inputs, so a job's results are always its own mode's (the report names the mode).
    """
    source = resolve_input(options)
    header, text_column = source.sniffed.header, source.text_column
    gold_index = None
    if gold_column is not None:
        gold_column = choose_text_column(header, [], gold_column)
        if gold_column == text_column:
            raise InputError(f"The text and the label column are both {text_column!r}.")
        gold_index = header.index(gold_column)
    collector = _Collector(
        len(header),
        source.text_index,
        gold_index,
        challenger is not None,
        options.bands is not None,
    )
    report = run_batch(
        scorer,
        options,
        progress,
        cancelled,
        on_rows=collector.add,
        challenger=challenger,
        sniffed=source,
        checkpoint=False,
        rescorer=rescorer,
    )
    table = ResultsTable.from_arrays(
        collector.column(0, np.int64),
        collector.column(1, np.float64),
        collector.column(2, STRINGS),
        collector.column(4, STRINGS) if gold_index is not None else None,
        gold_column,
        challenger_scores=collector.column(3, np.float64) if challenger is not None else None,
        challenger_version=report.challenger_version,
        bands=options.bands,
    )
    return ScoredFile(report, table, options.output_path)


def jobs_folder(root: Path | None = None) -> Path:
    """A private cache folder for this session's scored files (removed by `remove_jobs_folder`).

    Folders older than a day are crash leftovers and are pruned: scored texts may hold personal
    data, which the app keeps no longer than the session (the activity log keeps none by default)
    unless the batch history keeps them (its own folder, ``history``, bounded by a setting).
    """
    base = jobs_root(root)
    base.mkdir(parents=True, exist_ok=True)
    for old in base.iterdir():
        if old.name != "history" and old.is_dir() and time.time() - old.stat().st_mtime > 86_400:
            shutil.rmtree(old, ignore_errors=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    for n in range(1000):
        folder = base / f"{stamp}-{n}"
        try:
            folder.mkdir()
        except FileExistsError:
            continue
        return folder
    raise OSError(f"could not create a job folder in {base}")


def remove_cache(path: Path) -> None:
    """Delete a scored cache file and its provenance sidecar, if present."""
    for target in (path, Path(f"{path}.provenance.json")):
        target.unlink(missing_ok=True)
