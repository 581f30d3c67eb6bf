"""GUI benchmarks (offscreen): keystroke-to-score, the Threshold panel at 1M rows, batch via the panel.

Threshold panel, on 1,000,000 labelled rows (the dataset shown, the canvases drawn once):
* ``threshold_slider_update_1m_ms_*``: one slider step = ``setValue`` + one ``processEvents``
  (kept for comparison with earlier runs; it may or may not include the repaint);
* ``threshold_redraw_step_1m_ms_*``: one slider step until all three canvases (matrix, PR
  curve, metric curves) have blitted and received their paint event: the redraw a user sees;
  ``threshold_refresh_sync_1m_ms_median`` is its synchronous part (core queries + artists);
* ``threshold_full_redraw_ms_median``: a full Agg draw of the three canvases (new data);
* ``threshold_resize_redraw_ms_median``: resize the panel until every canvas is repainted
  (constrained layout + full draws).

Prints medians and writes them to bench/results.json under "gui".
Run: python bench/bench_gui.py [--quick]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
from PySide6.QtCore import QEvent, QEventLoop, QObject, QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from app.core.activity.log import ActivityLog  # noqa: E402
from app.core.batch.parallel import default_workers  # noqa: E402
from app.core.context.session import SessionMetrics  # noqa: E402
from app.core.context.settings import Settings  # noqa: E402
from app.core.context.state import AppContext, AppState  # noqa: E402
from app.core.engine.scoring import Scorer, default_bundle_path  # noqa: E402
from app.ui.batch.panel import BatchPanel  # noqa: E402
from app.ui.common.workers import WorkerPool  # noqa: E402
from app.ui.score.panel import ScorePanel  # noqa: E402
from app.ui.threshold.panel import ThresholdPanel  # noqa: E402
from bench.results import quick_mode, record  # noqa: E402
from bench.texts import write_csv  # noqa: E402


def wait_until(condition, timeout: float = 600.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met")
        QApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 5)


class PaintProbe(QObject):
    """Notes which watched widgets received a paint event (the filter runs just before it)."""

    def __init__(self, widgets: list) -> None:
        super().__init__()
        self.painted: set[int] = set()
        for widget in widgets:
            widget.installEventFilter(self)

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt override)
        if event.type() == QEvent.Type.Paint:
            self.painted.add(id(obj))
        return False


def pending(canvases: list) -> bool:
    """A canvas still has a blit or a full draw queued (matplotlib's and the app's flags)."""
    return any(
        getattr(c, "_blit_pending", False) or getattr(c, "_draw_pending", False) for c in canvases
    )


def settle(canvases: list) -> None:
    for _ in range(3):
        wait_until(lambda: not pending(canvases), 10)
        QApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 5)


def repainted(probe: PaintProbe, canvases: list, action) -> tuple[float, float]:
    """Run ``action``; (its own ms, ms until every canvas has redrawn and been painted)."""
    settle(canvases)
    probe.painted.clear()
    t0 = time.perf_counter()
    action()
    sync = time.perf_counter() - t0
    wait_until(lambda: not pending(canvases) and len(probe.painted) == len(canvases), 10)
    return 1000 * sync, 1000 * (time.perf_counter() - t0)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[max(1, int(np.ceil(q / 100 * len(ordered)))) - 1]


def threshold_redraw(panel: ThresholdPanel, steps: int) -> dict[str, float]:
    canvases = [panel.matrix, panel.pr_plot, panel.curves]
    probe = PaintProbe(canvases)
    values = [20 + (7 * i) % 60 for i in range(steps)]  # jumps across the range, never a no-op
    sync, total = [], []
    for value in values:
        if value == panel.slider.value():
            value += 1
        s, t = repainted(probe, canvases, lambda v=value: panel.slider.setValue(v))
        sync.append(s)
        total.append(t)
    full = []
    for _ in range(max(3, steps // 6)):
        settle(canvases)
        t0 = time.perf_counter()
        for canvas in canvases:
            canvas.draw()
        full.append(1000 * (time.perf_counter() - t0))
    resize = []
    for i in range(max(3, steps // 6)):
        size = (1280, 800) if i % 2 else (1300, 820)
        resize.append(repainted(probe, canvases, lambda s=size: panel.resize(*s))[1])
    return {
        "threshold_redraw_step_1m_ms_median": statistics.median(total),
        "threshold_redraw_step_1m_ms_p95": percentile(total, 95),
        "threshold_redraw_step_1m_ms_max": max(total),
        "threshold_refresh_sync_1m_ms_median": statistics.median(sync),
        "threshold_full_redraw_ms_median": statistics.median(full),
        "threshold_resize_redraw_ms_median": statistics.median(resize),
    }


def gui_batch(
    ctx: AppContext, pool: WorkerPool, tmp: Path, rows: int, repeat: int
) -> tuple[dict[str, float], list[str]]:
    """A file of `rows` through the Batch panel, from Start to the job's end: as the panel scores
    now (worker processes for a file over PARALLEL_MIN_BYTES, as the CLI does) and in-process on
    one core (workers=1, how it scored before), interleaved, new texts each run (the fast
    scorer's cache would flatter a re-run), median of `repeat` each."""
    rates: dict[int, list[float]] = {default_workers(): [], 1: []}
    statuses: list[str] = []
    for run in range(repeat):
        for workers, found in rates.items():
            src = tmp / f"batch-{run}-{workers}.csv"
            write_csv(src, rows, seed=3 + 100 * run + workers)
            batch = BatchPanel(ctx, pool)
            batch.jobs.core.workers = workers
            batch.show()
            batch.open_file(src)
            finished: list[str] = []
            batch.job_done.connect(lambda name, status, done=finished: done.append(status))
            t0 = time.perf_counter()
            batch.start()
            wait_until(lambda done=finished: bool(done))
            found.append(rows / (time.perf_counter() - t0))
            statuses += finished
            batch.shutdown()
            src.unlink()
    name = f"gui_batch_{rows // 1000}k"
    now, before = statistics.median(rates[default_workers()]), statistics.median(rates[1])
    figures = {
        f"{name}_rows_per_s": now,
        f"{name}_in_process_rows_per_s": before,
        f"{name}_workers_speedup": now / before,
    }
    return figures, statuses


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch-rows", type=int, default=100_000)
    parser.add_argument("--redraw-steps", type=int, default=60)
    parser.add_argument("--batch-repeat", type=int, default=3)
    parser.add_argument(
        "--batch-only", action="store_true", help="only the Batch panel figures, printed"
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smaller batch, fewer steps (results in build/bench-quick)",
    )
    args = parser.parse_args()
    if args.quick:
        args.batch_rows, args.redraw_steps = 20_000, 20
        quick_mode()
    app = QApplication.instance() or QApplication([])
    tmp = Path(tempfile.mkdtemp())
    os.environ["ABUSE_DESK_HOME"] = str(tmp / "home")
    scorer = Scorer.load(default_bundle_path())
    ctx = AppContext(
        AppState(scorer=scorer),
        Settings(),
        ActivityLog.open_default(tmp / "home" / "data"),
        SessionMetrics(),
    )
    pool = WorkerPool()
    figures: dict[str, float] = {}
    if args.batch_only:  # the Batch panel alone, printed, not recorded (results.json keeps all)
        for key, value in gui_batch(ctx, pool, tmp, args.batch_rows, args.batch_repeat)[0].items():
            print(f"{key:40s} {value:12.3f}")
        pool.wait()
        ctx.activity.close()
        shutil.rmtree(tmp, ignore_errors=True)
        return

    # Keystroke to score: time from a key press to the panel showing the new score.
    score = ScorePanel(ctx, pool)
    score.show()
    text = "Honestly you are the most pathetic idiot I have ever had to deal with, shut up loser"
    latencies, compute = [], []
    for ch in text:
        t0 = time.perf_counter()
        score.editor.insertPlainText(ch)
        n = len(score.editor.toPlainText())
        wait_until(lambda n=n: score.result is not None and score.result.chars == n, 5)
        latencies.append(time.perf_counter() - t0)
        compute.append(score.last_score_ms)
    figures["keystroke_to_score_ms_median"] = 1000 * statistics.median(latencies)
    figures["score_compute_ms_median"] = statistics.median(compute)
    score.shutdown()

    # Threshold slider at 1,000,000 labelled rows: one move = core query + matrix/curves update.
    rng = np.random.default_rng(0)
    labels = (rng.random(1_000_000) < 0.4).astype(np.int8)
    scores = np.clip(rng.normal(0.35 + 0.3 * labels, 0.2), 0, 1)
    panel = ThresholdPanel(ctx, pool)
    panel.resize(1280, 800)
    panel.show()
    t0 = time.perf_counter()
    panel.show_dataset("synthetic 1M", scores, labels)
    figures["threshold_load_1m_s"] = time.perf_counter() - t0
    moves = []
    for value in list(range(20, 80)):
        t0 = time.perf_counter()
        panel.slider.setValue(value)
        app.processEvents()
        moves.append(time.perf_counter() - t0)
    figures["threshold_slider_update_1m_ms_median"] = 1000 * statistics.median(moves)
    figures["threshold_slider_update_1m_ms_max"] = 1000 * max(moves)
    figures.update(threshold_redraw(panel, args.redraw_steps))
    panel.shutdown()

    # Batch through the GUI: a 100,000-row file of tweet-like texts, from Start to the job's end.
    batch_figures, finished = gui_batch(ctx, pool, tmp, args.batch_rows, args.batch_repeat)
    figures.update(batch_figures)
    pool.wait()
    QTimer.singleShot(0, app.quit)

    for key, value in figures.items():
        print(f"{key:40s} {value:12.3f}")
    context = {
        "model": scorer.version_label,
        "status": finished,  # every batch job's outcome
        "threshold_rows": 1_000_000,
        "redraw_steps": args.redraw_steps,
        "panel_size": "1280x800 (offscreen)",
        "batch_rows": args.batch_rows,
        "batch_repeat": args.batch_repeat,
        "batch_workers": default_workers(),
        "texts": "bench/texts.py tweet-like",
    }
    record("gui", figures, context)
    ctx.activity.close()
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
