"""The Batch panel's job queue: the list of jobs, and the background work behind it.

`JobQueue` runs up to `Limits.max_concurrent_jobs` scoring jobs at a time (default one; each is
a `Worker` around `app.core.results.cache.score_file`; the rest wait in the queue and say why)
and an export beside them, and logs each job's activity events. Scoring, filtering and exporting themselves live in `app.core`; nothing here touches rows.
"""

from __future__ import annotations

import shutil
from collections import deque
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import (
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.core.batch.options import BatchOptions, summary_counts
from app.core.common.limits import Limits
from app.core.context.state import AppContext
from app.core.engine.scoring import Scorer
from app.core.results.cache import ScoredFile, jobs_folder, remove_cache, score_file
from app.core.results.export import export_scored
from app.core.results.table import ViewSpec
from app.ui.batch.layout import hbox
from app.ui.common.workers import Worker, WorkerPool

CHUNK_ROWS = 2_000  # ~0.15 s of scoring: the core checks for cancel between chunks


@dataclass
class BatchJob:
    """One file queued for scoring with the settings chosen for it, and what became of it."""

    id: int
    path: Path
    encoding: str
    delimiter: str
    text_column: str
    gold_column: str | None
    cache: Path | None = None  # the scored cache file, once started
    status: str = "queued"  # queued, running, done, cancelled, failed
    message: str = ""  # why it failed
    result: ScoredFile | None = None
    label_threshold: float = 0.0  # labels shown and exported: the job's, until re-labelled
    # The models captured when the job started: a switch while it runs must not mix two
    # models' scores in one file, so the job finishes with these (Scorers are immutable).
    scorer: Scorer | None = None
    challenger: Scorer | None = None


class JobQueue(QWidget):
    """The list of jobs, and the workers behind them. Signals are delivered on the GUI thread."""

    progress = Signal(object, object)  # the running BatchJob, its BatchProgress
    job_done = Signal(object)  # the BatchJob, whatever its outcome
    show_requested = Signal(object)  # a finished BatchJob the user picked
    removed = Signal(object)  # a BatchJob the user removed, with its results
    export_progress = Signal(int)  # rows read
    export_done = Signal(str, str)  # path, "done: ..." | "cancelled" | "failed: ..."

    def __init__(
        self,
        ctx: AppContext,
        pool: WorkerPool,
        parent: QWidget | None = None,
        limits: Limits | None = None,
    ) -> None:
        super().__init__(parent)
        self.ctx, self.pool = ctx, pool
        self.limits = limits or Limits.from_settings(ctx.settings)
        self.jobs: dict[int, BatchJob] = {}
        self.queue: deque[int] = deque()
        self.workers: dict[int, Worker] = {}  # running job id -> its worker, in start order
        self.export_worker: Worker | None = None
        self._export: tuple[BatchJob, Path, str, float, ViewSpec | None] | None = None
        self._outcome = ""
        self._folder: Path | None = None  # this session's caches, created on first use
        self._closing = False
        self.list = QListWidget()
        self.list.setAlternatingRowColors(True)
        remove = QPushButton("Remove")
        remove.setToolTip("Drop a queued job, or a finished job's results and cache file")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.list)
        layout.addLayout(hbox(QLabel("Click a finished job to show it."), None, remove))
        self.list.itemClicked.connect(self._clicked)
        remove.clicked.connect(self.remove_selected)

    @property
    def running(self) -> BatchJob | None:
        """The oldest running scoring job, if any."""
        return next((self.jobs[i] for i in self.workers), None)

    def running_jobs(self) -> list[BatchJob]:
        return [self.jobs[i] for i in self.workers]

    def busy(self) -> bool:
        return bool(self.workers) or bool(self.queue) or self.export_worker is not None

    def enqueue(self, job: BatchJob) -> str | None:
        """Queue `job`; it starts now if fewer than `max_concurrent_jobs` are running. Returns
        why it waits (the concurrency limit), or None if it started."""
        self.jobs[job.id] = job
        self.queue.append(job.id)
        self._show_status(job)
        self._start_next()
        if job.status != "queued":
            return None
        return self.limits.queue_message(len(self.workers)) or "Queued."

    def _show_status(self, job: BatchJob) -> None:
        items = [self.list.item(i) for i in range(self.list.count())]
        item = next((i for i in items if i.data(Qt.ItemDataRole.UserRole) == job.id), None)
        if item is None:
            item = QListWidgetItem()
            item.setData(Qt.ItemDataRole.UserRole, job.id)
            self.list.addItem(item)
        item.setText(f"{job.path.name} · {job.status}")

    def _start_next(self) -> None:
        while self.queue and len(self.workers) < self.limits.max_concurrent_jobs:
            self._start_job(self.jobs[self.queue.popleft()])

    def _start_job(self, job: BatchJob) -> None:
        threshold = job.label_threshold = self.ctx.state.threshold
        self._folder = self._folder or jobs_folder()
        job.cache = self._folder / f"{job.id:03d}-{job.path.stem}.scored.csv"
        options = BatchOptions(
            job.path, job.cache, threshold, job.text_column, "csv", job.encoding, job.delimiter,
            chunk_rows=CHUNK_ROWS,
        )  # fmt: skip
        job.scorer, job.challenger = self.ctx.state.scorer, self.ctx.state.challenger
        run = partial(score_file, job.scorer, options, job.gold_column, challenger=job.challenger)
        worker = Worker(run, f"batch {job.path.name}")
        relay = _JobRelay(self, job)
        # Slots are methods of a QObject living here (never lambdas): Qt queues them to the GUI
        # thread. The relay names the job, since several may run at once.
        for signal in ("progress", "finished", "failed", "cancelled", "done"):
            getattr(worker.signals, signal).connect(getattr(relay, signal))
        self.workers[job.id] = worker
        self.pool.start(worker)
        job.status = "running"
        self._show_status(job)
        self.ctx.state.job_started()
        shadow = f"challenger {job.challenger.version_label}" if job.challenger else None
        self.ctx.log("batch_started", file_name=job.path.name, threshold=threshold, detail=shadow)

    def _start(self, worker: Worker, kind: str) -> Worker:
        # Slots are methods of this QObject (never lambdas): Qt queues them to the GUI thread.
        for signal in ("progress", "finished", "failed", "cancelled", "done"):
            getattr(worker.signals, signal).connect(getattr(self, f"_{kind}_{signal}"))
        return self.pool.start(worker)

    def cancel(self) -> None:
        """Stop the running jobs; the core notices before its next chunk (well under 1 s)."""
        for worker in self.workers.values():
            worker.cancel()

    def cancelling(self) -> bool:
        """True while every running job has been told to stop and has not yet ended."""
        return bool(self.workers) and all(w.is_cancelled for w in self.workers.values())

    def remove_selected(self) -> None:
        item = self.list.currentItem()
        job = self.jobs.get(item.data(Qt.ItemDataRole.UserRole)) if item else None
        exporting = self._export is not None and self._export[0] is job
        if job is None or job.id in self.workers or exporting:
            return
        if job.id in self.queue:
            self.queue.remove(job.id)
        if job.cache is not None:
            remove_cache(job.cache)
        del self.jobs[job.id]
        self.list.takeItem(self.list.row(item))
        self.removed.emit(job)

    def _clicked(self, item: QListWidgetItem) -> None:
        job = self.jobs.get(item.data(Qt.ItemDataRole.UserRole))
        if job is not None and job.result is not None:
            self.show_requested.emit(job)

    def _job_progress(self, job: BatchJob, progress: object) -> None:
        worker = self.workers.get(job.id)
        if worker is not None and not worker.is_cancelled:  # stale progress after Cancel
            self.progress.emit(job, progress)

    def _job_finished(self, job: BatchJob, result: ScoredFile) -> None:
        report = result.report
        job.result, job.status = result, "done"
        self.ctx.log(
            "batch_finished",
            counts=summary_counts(report),
            file_name=job.path.name,
            file_sha256=report.input_sha256,
            threshold=report.threshold,
            model_version=report.model_version,  # the job's model, whatever is active now
            detail=report.disagreement() or None,
        )
        self.ctx.session.record_batch(report.rows_scored, report.rows_flagged, report.seconds)

    def _job_failed(self, job: BatchJob, message: str) -> None:
        job.status, job.message = "failed", message
        self.ctx.log("batch_failed", file_name=job.path.name, detail=message, **self._model_of(job))

    def _job_cancelled(self, job: BatchJob) -> None:
        assert job.cache is not None
        job.status = "cancelled"
        remove_cache(job.cache)  # a cancel after the last chunk leaves a complete cache
        self.ctx.log(
            "batch_cancelled",
            file_name=job.path.name,
            threshold=job.label_threshold,
            **self._model_of(job),
        )

    @staticmethod
    def _model_of(job: BatchJob) -> dict[str, str]:
        """The model the job ran with (the active one may have changed since it started)."""
        return {"model_version": job.scorer.version_label} if job.scorer is not None else {}

    def _job_done(self, job: BatchJob) -> None:
        del self.workers[job.id]
        self.ctx.state.job_finished()
        self._show_status(job)
        self.job_done.emit(job)
        self._start_next()
        self._clean_up_if_closing()

    def export(
        self, job: BatchJob, path: Path, fmt: str, keep: np.ndarray | None, spec: ViewSpec | None
    ) -> bool:
        """Export `job`'s results in the background; False if an export is already running."""
        if self.export_worker is not None or job.result is None:
            return False
        result, threshold = job.result, job.label_threshold
        run = partial(
            export_scored, result.cache_path, path, fmt,
            report=result.report, threshold=threshold, keep=keep, spec=spec,
            overwrite=True,  # the save dialog has asked the user before replacing a file
        )  # fmt: skip
        self._export, self._outcome = (job, path, fmt, threshold, spec), "done"
        self.ctx.state.job_started()
        self.export_worker = self._start(
            Worker(partial(_keywords, run), f"export {path.name}"), "export"
        )
        return True

    def _export_progress(self, rows: int) -> None:
        self.export_progress.emit(rows)

    def _export_finished(self, rows: int) -> None:
        assert self._export is not None
        job, path, fmt, threshold, spec = self._export
        assert job.result is not None
        self._outcome = f"done: {rows:,} rows, labels at {threshold:.2f}"
        self.ctx.log(
            "export",
            file_name=path.name,
            file_sha256=job.result.report.input_sha256,
            threshold=threshold,
            counts={"rows_exported": rows},
            detail=f"{fmt} of {job.path.name}; {(spec or ViewSpec()).describe()}",
        )

    def _export_failed(self, message: str) -> None:
        self._outcome = f"failed: {message}"

    def _export_cancelled(self) -> None:
        self._outcome = "cancelled"

    def _export_done(self) -> None:
        assert self._export is not None
        path = self._export[1]
        self.export_worker, self._export = None, None
        self.ctx.state.job_finished()
        self.export_done.emit(str(path), self._outcome)
        self._clean_up_if_closing()

    def shutdown(self) -> None:
        """Cancel everything and delete this session's caches (they may hold personal data):
        now if idle, else once the cancelled workers report done (a worker may still be writing
        there). A folder left behind by a crash is pruned by `jobs_folder` a day later."""
        self._closing = True
        self.queue.clear()
        for worker in [*self.workers.values(), self.export_worker]:
            if worker is not None:
                worker.cancel()
        self._clean_up_if_closing()

    def _clean_up_if_closing(self) -> None:
        if self._closing and not self.busy() and self._folder is not None:
            shutil.rmtree(self._folder, ignore_errors=True)
            self._folder = None


class _JobRelay(QObject):
    """Delivers one scoring job's worker signals to the queue, on the GUI thread, with the job."""

    def __init__(self, queue: JobQueue, job: BatchJob) -> None:
        super().__init__(queue)
        self.queue, self.job = queue, job

    def progress(self, progress: object) -> None:
        self.queue._job_progress(self.job, progress)

    def finished(self, result: ScoredFile) -> None:
        self.queue._job_finished(self.job, result)

    def failed(self, message: str) -> None:
        self.queue._job_failed(self.job, message)

    def cancelled(self) -> None:
        self.queue._job_cancelled(self.job)

    def done(self) -> None:
        self.queue._job_done(self.job)
        self.deleteLater()


def _keywords(run: Any, progress: Any, cancelled: Any) -> Any:
    """Adapt a core function's keyword callbacks to Worker's positional job(progress, cancelled)."""
    return run(progress=progress, cancelled=cancelled)
