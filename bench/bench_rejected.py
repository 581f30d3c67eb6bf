"""Rejected rows against good rows: a checkpointed CSV job must cost about the same per row.

Checkpoints used to rewrite the whole list of rejected rows after every chunk, so a file of
malformed records took quadratic time; they now append each rejected row once to a list beside
the work file. This script scores two generated CSVs of --rows records each through
``run_batch`` (the same chunking and checkpoints as ``python -m app score``), one of good rows
and one where every record has the wrong number of fields, and reports rows/s for each (median
of --repeat runs, alternating which goes first) and their ratio.

``BENCH_REPO=/path/to/checkout`` measures another checkout's code (e.g. the code before the
change) with this same script.

Figures go to bench/results.json under "rejected_rows".
Usage: python bench/bench_rejected.py [--rows 200000] [--repeat 3] [--quick]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(os.environ.get("BENCH_REPO") or Path(__file__).resolve().parents[1])
sys.path.insert(0, str(REPO))
sys.path.insert(1, str(Path(__file__).resolve().parents[1]))

from app.core.batch.run import BatchOptions, run_batch  # noqa: E402
from app.core.engine.scoring import Scorer, default_bundle_path  # noqa: E402
from bench.results import quick_mode, record  # noqa: E402


def write_input(path: Path, rows: int, rejected: bool) -> Path:
    with open(path, "w", encoding="utf-8", newline="") as fh:
        fh.write("id,comment,channel\n")
        for start in range(0, rows, 10_000):
            if rejected:  # five fields where the header has three: every record is rejected
                lines = (
                    f"{i},message {i},chat,extra,fields\n" for i in range(start, start + 10_000)
                )
            else:
                lines = (
                    f"{i},message {i} have a nice day,chat\n" for i in range(start, start + 10_000)
                )
            fh.write("".join(lines))
    return path


def one_run(scorer: Scorer, src: Path, folder: Path) -> float:
    out = folder / f"out-{time.monotonic_ns()}.csv"
    started = time.perf_counter()
    report = run_batch(scorer, BatchOptions(src, out, threshold=0.45))
    seconds = time.perf_counter() - started
    assert report.balanced and report.rows_read > 0
    out.unlink()
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="20,000 rows, to build/bench-quick")
    args = parser.parse_args()
    if args.quick:
        quick_mode()
        args.rows, args.repeat = 20_000, 2
    with tempfile.TemporaryDirectory(prefix="bench-rejected-") as tmp:
        folder = Path(tmp)
        os.environ["ABUSE_DESK_HOME"] = str(folder / "home")  # the checkpoints' own key
        scorer = Scorer.load(default_bundle_path())
        good = write_input(folder / "good.csv", args.rows, rejected=False)
        bad = write_input(folder / "rejected.csv", args.rows, rejected=True)
        times: dict[str, list[float]] = {"good": [], "rejected": []}
        for run in range(args.repeat):
            order = [("good", good), ("rejected", bad)]
            for name, src in order if run % 2 == 0 else order[::-1]:
                times[name].append(one_run(scorer, src, folder))
    good_s, bad_s = statistics.median(times["good"]), statistics.median(times["rejected"])
    figures = {
        "good_rows_per_s": args.rows / good_s,
        "rejected_rows_per_s": args.rows / bad_s,
        "good_seconds": good_s,
        "rejected_seconds": bad_s,
        "rejected_over_good_time": bad_s / good_s,
    }
    record(
        "rejected_rows",
        figures,
        {
            "rows": args.rows,
            "repeat": args.repeat,
            "code": str(REPO),
            "model": scorer.version_label,
        },
    )
    for name, value in figures.items():
        print(f"{name:26} {value:,.2f}")


if __name__ == "__main__":
    main()
