"""GUI benchmarks (offscreen): keystroke-to-score, threshold slider at 1M rows, batch through the panel.

Prints medians and writes them to bench/results.json under "gui". Run: python bench/bench_gui.py
"""

from __future__ import annotations

import csv
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
from PySide6.QtCore import QEventLoop, QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from app.core.activity import ActivityLog  # noqa: E402
from app.core.scoring import Scorer, default_bundle_path  # noqa: E402
from app.core.session import SessionMetrics  # noqa: E402
from app.core.settings import Settings  # noqa: E402
from app.core.state import AppContext, AppState  # noqa: E402
from app.ui.batch_panel import BatchPanel  # noqa: E402
from app.ui.score_panel import ScorePanel  # noqa: E402
from app.ui.threshold_panel import ThresholdPanel  # noqa: E402
from app.ui.workers import WorkerPool  # noqa: E402
from bench.bench_core import make_texts  # noqa: E402
from bench.results import record  # noqa: E402


def wait_until(condition, timeout: float = 600.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met")
        QApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 5)


def main() -> None:
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
    panel.shutdown()

    # Batch through the GUI: a 100,000-row file, from Start to the job's end.
    src = tmp / "in.csv"
    with open(src, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["id", "text"])
        for i, t in enumerate(make_texts(100_000, 80, seed=3)):
            writer.writerow([i, t])
    batch = BatchPanel(ctx, pool)
    batch.show()
    batch.open_file(src)
    finished = []
    batch.job_done.connect(lambda name, status: finished.append(status))
    t0 = time.perf_counter()
    batch.start()
    wait_until(lambda: finished)
    figures["gui_batch_100k_rows_per_s"] = 100_000 / (time.perf_counter() - t0)
    batch.shutdown()
    pool.wait()
    QTimer.singleShot(0, app.quit)

    for key, value in figures.items():
        print(f"{key:40s} {value:12.3f}")
    record("gui", figures, {"model": scorer.version_label, "status": finished})
    ctx.activity.close()


if __name__ == "__main__":
    main()
