"""The analyst's day: batch history, XLSX against CSV export, rejected rows, drill-down.

Four figures for features that run (or may run) on the GUI thread, each the median of --repeat
runs in this one process:

1. Batch history: `BatchHistory.record` (moves a finished job's cache into the history, saves
   its table and report, rewrites the index) and `BatchHistory.load` (reopen it), in ms per
   call, for each size of --history-rows. The first size is a real job: a generated CSV of
   tweet-like texts scored by `score_file` (the Batch panel's path, one process). Larger sizes
   repeat that job's rows (table and cache) to reach the size: the files have a real job's
   shape and size, without scoring a million rows first. Both run on the GUI thread today:
   these are the figures that say whether they must move to a worker.
2. Export of that scored job (--rows) through `export_scored`, the function the GUI and the CLI
   use: XLSX (fitted widths, autofilter) and CSV, alternating which goes first; ms and the ratio
   xlsx/csv.
3. `write_rejected` of --rejected-rows rejected rows whose raw text is 2,000 characters (the
   most a rejected row keeps): ms. The texts cycle through 1,000 generated ones (the writer's
   cost does not depend on whether they repeat).
4. Drill-down: opening a batch row in the Score panel scores and explains its text
   (`scorer.score_text` then `scorer.explain(text, top_k=None)`, what the panel times as
   `last_score_ms`); median and p90 over --texts tweet-like texts the process has not scored.

Figures go to bench/results.json under "day".
Usage: python bench/bench_day.py [--rows 100000] [--history-rows 100000,1000000]
       [--rejected-rows 10000] [--texts 200] [--repeat 3] [--quick]
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TypeVar

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.core.batch.options import BatchOptions, BatchReport  # noqa: E402
from app.core.batch.rejected import write_rejected  # noqa: E402
from app.core.context.settings import Settings  # noqa: E402
from app.core.engine.scoring import Scorer, default_bundle_path  # noqa: E402
from app.core.results.cache import ScoredFile, score_file  # noqa: E402
from app.core.results.export import export_scored  # noqa: E402
from app.core.results.history import BatchHistory  # noqa: E402
from app.core.results.table import ResultsTable  # noqa: E402
from bench.results import quick_mode, record  # noqa: E402
from bench.texts import make_texts, tweet_texts, write_csv  # noqa: E402

THRESHOLD = 0.45
UNIQUE_REJECTED = 1_000
T = TypeVar("T")


def _timed(action: Callable[[], T]) -> tuple[float, T]:
    """(ms, result) of one call."""
    started = time.perf_counter()
    result = action()
    return 1000 * (time.perf_counter() - started), result


def scored_job(scorer: Scorer, folder: Path, rows: int) -> ScoredFile:
    """A real finished job: `rows` generated tweets scored by `score_file` into a cache."""
    src = folder / f"input-{rows}.csv"
    write_csv(src, rows, seed=11)
    return score_file(scorer, BatchOptions(src, folder / "job.scored.csv", THRESHOLD), None)


def scaled_job(job: ScoredFile, rows: int, folder: Path) -> ScoredFile:
    """`job` repeated up to `rows` rows: table arrays tiled, cache body repeated, counts scaled."""
    n = len(job.table)
    reps = -(-rows // n)
    table = job.table
    big = ResultsTable.from_arrays(
        np.arange(2, rows + 2),
        np.tile(table.scores, reps)[:rows],
        np.tile(table.texts, reps)[:rows],
    )
    cache = folder / f"scaled-{rows}.scored.csv"
    with open(job.cache_path, encoding="utf-8-sig", newline="") as fh:
        header, *body = csv.reader(fh)  # records, not lines: a text may hold a line break
    with open(cache, "w", encoding="utf-8-sig", newline="") as out:  # the cache's own dialect
        writer = csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
        writer.writerow(header)
        for start in range(0, rows, n):
            writer.writerows(body[: min(n, rows - start)])
    flagged = int(np.count_nonzero(big.scores >= THRESHOLD))
    report = dataclasses.replace(
        job.report, output=str(cache), rows_read=rows, rows_scored=rows, rows_written=rows,
        rows_blank=0, rows_rejected=0, rows_flagged=flagged, rejected=[],
    )  # fmt: skip
    return ScoredFile(report, big, cache)


def history_times(job: ScoredFile, folder: Path, repeat: int) -> tuple[float, float]:
    """Median ms of `record` (with the app's default history size) and of `load`."""
    history = BatchHistory(folder / f"history-{len(job.table)}")
    keep = Settings().batch_history_size
    records, loads = [], []
    for run in range(repeat):
        session = folder / f"session-{run}"  # a copy per run: record moves the cache away
        session.mkdir()
        cache = session / "job.scored.csv"
        shutil.copyfile(job.cache_path, cache)
        result = ScoredFile(job.report, job.table, cache)
        ms, entry = _timed(partial(history.record, result, keep, input_size=1))
        records.append(ms)
        assert entry is not None
        ms, loaded = _timed(partial(history.load, entry))
        loads.append(ms)
        assert len(loaded.table) == len(job.table)
        shutil.rmtree(session)
    shutil.rmtree(history.root)  # its caches are a job's size: do not keep them on disk
    return statistics.median(records), statistics.median(loads)


def export_times(job: ScoredFile, folder: Path, repeat: int) -> dict[str, float]:
    """Median ms of `export_scored` to xlsx and to csv, alternating which goes first."""
    times: dict[str, list[float]] = {"xlsx": [], "csv": []}
    for run in range(repeat):
        for fmt in ("xlsx", "csv") if run % 2 == 0 else ("csv", "xlsx"):
            dest = folder / f"export-{run}.{fmt}"
            ms, written = _timed(
                partial(
                    export_scored, job.cache_path, dest, fmt, report=job.report, threshold=THRESHOLD
                )
            )
            times[fmt].append(ms)
            assert written.rows == len(job.table)  # an ExportResult (rows, sha256, cells)
            dest.unlink()
            Path(f"{dest}.provenance.json").unlink(missing_ok=True)
    return {fmt: statistics.median(values) for fmt, values in times.items()}


def rejected_ms(folder: Path, rows: int, repeat: int) -> float:
    """Median ms of `write_rejected` for `rows` rejected rows of 2,000 characters each."""
    texts = make_texts(min(rows, UNIQUE_REJECTED), 2_000, seed=5)
    rejected = [
        {"line": 2 + i, "reason": "expected 3 fields, found 5", "excerpt": texts[i % len(texts)][:120],
         "last": 2 + i, "text": texts[i % len(texts)]}
        for i in range(rows)
    ]  # fmt: skip
    report = BatchReport("in.csv", "out.csv", "csv", rows_read=rows, rows_rejected=rows)
    report.rejected = rejected
    times = []
    for run in range(repeat):
        path = folder / f"out-{run}.rejected.csv"
        ms, written = _timed(partial(write_rejected, path, report))
        assert written == rows
        times.append(ms)
        path.unlink()
    return statistics.median(times)


def _open_in_score(scorer: Scorer, text: str) -> None:
    """What the Score panel computes for a row opened from Batch (`_score_now`)."""
    result = scorer.score_text(text, THRESHOLD)
    if not result.empty:
        scorer.explain(text, top_k=None)


def drill_down_ms(scorer: Scorer, n: int) -> tuple[float, float]:
    """Median and p90 ms to score and explain one text, as the Score panel does."""
    scorer.model.build_vectorizers()  # the GUI builds them on the loading worker
    times = []
    for text in tweet_texts(n, seed=23):  # a seed no other part of this run scored
        ms, _ = _timed(partial(_open_in_score, scorer, text))
        times.append(ms)
    return statistics.median(times), float(np.percentile(times, 90))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=100_000, help="the scored job's rows")
    parser.add_argument("--history-rows", default="100000,1000000")
    parser.add_argument("--rejected-rows", type=int, default=10_000)
    parser.add_argument("--texts", type=int, default=200, help="drill-down texts")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="small sizes, to build/bench-quick")
    args = parser.parse_args()
    if args.quick:
        quick_mode()
        args.rows, args.history_rows, args.rejected_rows = 5_000, "5000,20000", 1_000
        args.texts, args.repeat = 50, 2
    sizes = [int(s) for s in args.history_rows.split(",") if s.strip()]
    figures: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="bench-day-") as tmp:
        folder = Path(tmp)
        os.environ["ABUSE_DESK_HOME"] = str(folder / "home")
        scorer = Scorer.load(default_bundle_path())
        job = scored_job(scorer, folder, args.rows)
        export = export_times(job, folder, args.repeat)
        figures |= {
            f"export_xlsx_ms_{args.rows}": export["xlsx"],
            f"export_csv_ms_{args.rows}": export["csv"],
            "export_xlsx_over_csv": export["xlsx"] / export["csv"],
        }
        for rows in sizes:
            sized = job if rows == args.rows else scaled_job(job, rows, folder)
            record_ms, load_ms = history_times(sized, folder, args.repeat)
            figures |= {f"history_record_ms_{rows}": record_ms, f"history_load_ms_{rows}": load_ms}
            if sized is not job:
                sized.cache_path.unlink()
        figures[f"write_rejected_ms_{args.rejected_rows}"] = rejected_ms(
            folder, args.rejected_rows, args.repeat
        )
        median, p90 = drill_down_ms(scorer, args.texts)
        figures |= {"drill_down_ms_p50": median, "drill_down_ms_p90": p90}
    context = {
        "scored_rows": args.rows,
        "history_rows": " and ".join(str(s) for s in sizes),
        "history_keep": Settings().batch_history_size,
        "rejected_rows": args.rejected_rows,
        "rejected_text_chars": 2_000,
        "drill_down_texts": args.texts,
        "repeat": args.repeat,
        "model": scorer.version_label,
    }
    record("day", figures, context)
    for name, value in figures.items():
        print(f"{name:32} {value:,.2f}")


if __name__ == "__main__":
    main()
