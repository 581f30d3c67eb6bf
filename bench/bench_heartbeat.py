"""Does the GUI thread stay responsive while heavy jobs run? (the "never freezes" promise)

A 10 ms QTimer on the GUI thread records how late each tick arrives while (1) a 1,000,000-row
batch is scored and (2) a 100,000-row XLSX export is written, each in a background worker exactly
as the Batch panel runs them. Lateness p50/p99/max and the time from cancel to the worker's end
are printed and written to bench/results.json under "heartbeat". Goals: p99 < 50 ms, max < 200 ms,
cancel < 1 s. Usage: python bench/bench_heartbeat.py [--rows 1000000] [--xlsx-rows 100000]
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
from PySide6.QtCore import QElapsedTimer, QObject, QTimer, Slot  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from app.core.batch.run import BatchOptions, run_batch  # noqa: E402
from app.core.engine.scoring import Scorer, default_bundle_path  # noqa: E402
from app.ui.common.workers import Worker, WorkerPool  # noqa: E402
from bench.bench_core import make_texts  # noqa: E402
from bench.results import record  # noqa: E402


class Heartbeat(QObject):
    def __init__(self, interval_ms: int = 10) -> None:
        super().__init__()
        self.interval = interval_ms
        self.clock = QElapsedTimer()
        self.late: list[float] = []
        self.timer = QTimer(self)
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(self.tick)

    def start(self) -> None:
        self.late.clear()
        self.clock.start()
        self.last = 0.0
        self.timer.start()

    @Slot()
    def tick(self) -> None:
        now = self.clock.nsecsElapsed() / 1e6
        self.late.append(max(0.0, now - self.last - self.interval))
        self.last = now

    def stop(self) -> dict[str, float]:
        self.timer.stop()
        late = np.array(self.late[1:]) if len(self.late) > 1 else np.zeros(1)
        return {
            "p50_ms": float(np.percentile(late, 50)),
            "p99_ms": float(np.percentile(late, 99)),
            "max_ms": float(late.max()),
            "ticks": float(len(late)),
        }


def run_job(
    app: QApplication, pool: WorkerPool, job, cancel_after_s: float | None = None
) -> tuple[bool, float | None]:
    worker = Worker(job, "bench")
    done: list[bool] = []
    worker.signals.done.connect(lambda: done.append(True))
    started = time.monotonic()
    pool.start(worker)
    cancel_at = None
    while not done:
        app.processEvents()
        time.sleep(0.001)
        if (
            cancel_after_s is not None
            and cancel_at is None
            and time.monotonic() - started > cancel_after_s
        ):
            cancel_at = time.monotonic()
            worker.cancel()
    latency = time.monotonic() - cancel_at if cancel_at is not None else None
    return bool(done), latency


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--xlsx-rows", type=int, default=100_000)
    args = parser.parse_args()
    app = QApplication.instance() or QApplication([])
    scorer = Scorer.load(default_bundle_path())
    pool = WorkerPool()
    beat = Heartbeat()
    figures: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        src = tmp / "big.csv"
        texts = make_texts(50_000, 80, seed=5)
        with open(src, "w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow(["id", "text"])
            for i in range(args.rows):
                writer.writerow([i, texts[i % len(texts)]])
        for label, rows, fmt, path in (
            ("batch", args.rows, "csv", src),
            ("xlsx", args.xlsx_rows, "xlsx", None),
        ):
            if path is None:  # the export case: a smaller file written as XLSX
                path = tmp / "small.csv"
                with open(src, encoding="utf-8") as fin, open(path, "w", encoding="utf-8") as fout:
                    for n, line in enumerate(fin):
                        if n > rows:
                            break
                        fout.write(line)
            out = tmp / f"out-{label}.{fmt}"
            options = BatchOptions(path, out, threshold=0.45, output_format=fmt, chunk_rows=2_000)

            def job(progress, cancelled, options=options):
                return run_batch(scorer, options, progress=progress, cancelled=cancelled)

            beat.start()
            t0 = time.perf_counter()
            run_job(app, pool, job)
            seconds = time.perf_counter() - t0
            stats = beat.stop()
            figures.update({f"{label}_{k}": v for k, v in stats.items()})
            figures[f"{label}_rows_per_s"] = rows / seconds
            out.unlink(missing_ok=True)
            _, cancel_latency = run_job(app, pool, job, cancel_after_s=3.0)
            figures[f"{label}_cancel_s"] = cancel_latency or 0.0
    pool.wait()
    for key, value in figures.items():
        print(f"{key:28s} {value:12.3f}")
    record(
        "heartbeat",
        figures,
        {
            "rows": args.rows,
            "xlsx_rows": args.xlsx_rows,
            "goal": "p99 < 50 ms, max < 200 ms, cancel < 1 s",
        },
    )


if __name__ == "__main__":
    main()
