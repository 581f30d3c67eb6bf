"""The Batch panel's job list: the Qt face of `app.core.context.batch_queue.BatchQueue`.

The queue itself (limits, lifecycle, activity events) is Qt-free and lives in the core; this
widget shows its jobs, starts their work on the worker pool (`run_in_pool`) and turns the
outcomes into signals delivered on the GUI thread. Nothing here touches rows.
"""

from __future__ import annotations

from collections import deque
from pathlib import Path

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

from app.core.common.limits import Limits
from app.core.context.batch_queue import BatchJob, BatchQueue, Handle, Work
from app.core.context.state import AppContext
from app.core.results.cache import ScoredFile
from app.core.results.export import ExportResult
from app.core.results.table import ViewSpec
from app.ui.batch.layout import hbox
from app.ui.common.workers import Worker, WorkerPool, run_in_pool


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
        self.core = BatchQueue(
            ctx,
            self._launch,
            limits,
            on_job_done=self._announce,
            on_export_done=self._export_announce,
        )
        self.setAccessibleName("Batch job queue")
        self.list = QListWidget()
        self.list.setAccessibleName("Batch jobs")
        self.list.setAlternatingRowColors(True)
        remove = QPushButton("Remove")
        remove.setToolTip(
            "Drop a queued job, or a finished job from this list (its cached results are "
            "deleted unless the history below keeps them)"
        )
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.list)
        layout.addLayout(hbox(QLabel("Click a finished job to show it."), None, remove))
        self.list.itemClicked.connect(self._clicked)
        remove.clicked.connect(self.remove_selected)

    # --- the core queue, as the panel reads it -------------------------------------------------

    @property
    def limits(self) -> Limits:
        return self.core.limits

    @property
    def jobs(self) -> dict[int, BatchJob]:
        return self.core.jobs

    @property
    def queue(self) -> deque[int]:
        return self.core.queue

    @property
    def workers(self) -> dict[int, Handle]:
        """Running job id -> its worker, in start order."""
        return self.core.handles

    @property
    def export_worker(self) -> Handle | None:
        return self.core.export_handle

    @property
    def running(self) -> BatchJob | None:
        return self.core.running

    def running_jobs(self) -> list[BatchJob]:
        return self.core.running_jobs()

    def busy(self) -> bool:
        return self.core.busy()

    def cancelling(self) -> bool:
        return self.core.cancelling()

    def enqueue(self, job: BatchJob) -> str | None:
        """Queue `job` (see `BatchQueue.enqueue`): why it waits, or None if it started."""
        waiting = self.core.enqueue(job)
        self._show_status(job)
        return waiting

    def cancel(self) -> None:
        self.core.cancel()

    def export(
        self, job: BatchJob, path: Path, fmt: str, keep: np.ndarray | None, spec: ViewSpec | None
    ) -> bool:
        return self.core.export(job, path, fmt, keep, spec)

    def shutdown(self) -> None:
        self.core.shutdown()

    def adopt(self, job: BatchJob) -> None:
        """List a job the core created (a reopened history entry)."""
        self._show_status(job)

    def drop_forgotten(self) -> None:
        """Take off the list the jobs the core dropped (their history entry is gone)."""
        for job in self.core.take_dropped():
            for row in range(self.list.count()):
                if self.list.item(row).data(Qt.ItemDataRole.UserRole) == job.id:
                    self.list.takeItem(row)
                    break
            self.removed.emit(job)

    # --- the list ------------------------------------------------------------------------------

    def _show_status(self, job: BatchJob) -> None:
        items = [self.list.item(i) for i in range(self.list.count())]
        item = next((i for i in items if i.data(Qt.ItemDataRole.UserRole) == job.id), None)
        if item is None:
            item = QListWidgetItem()
            item.setData(Qt.ItemDataRole.UserRole, job.id)
            self.list.addItem(item)
        item.setText(f"{job.path.name} · {job.status}")

    def remove_selected(self) -> None:
        item = self.list.currentItem()
        job = self.jobs.get(item.data(Qt.ItemDataRole.UserRole)) if item else None
        if job is None or not self.core.remove(job):
            return
        self.list.takeItem(self.list.row(item))
        self.removed.emit(job)

    def _clicked(self, item: QListWidgetItem) -> None:
        job = self.jobs.get(item.data(Qt.ItemDataRole.UserRole))
        if job is not None and job.result is not None:
            self.show_requested.emit(job)

    # --- starting work on the pool, and its outcomes ---------------------------------------------

    def _launch(self, job: BatchJob, work: Work, kind: str, name: str) -> Worker:
        """`BatchQueue`'s launch: the work on the pool, its signals to the GUI thread."""
        # A scoring job's relay names the job, since several may run at once.
        relay = _ExportRelay(self) if kind == "export" else _JobRelay(self, job)
        worker = run_in_pool(
            work,
            self.pool,
            name=name,
            on_progress=relay.progress,
            on_finished=relay.finished,
            on_failed=relay.failed,
            on_cancelled=relay.cancelled,
            on_done=relay.done,
        )
        if kind == "score":
            self._show_status(job)  # running
        return worker

    def _job_progress(self, job: BatchJob, progress: object) -> None:
        if self.core.progress_wanted(job):  # not stale progress after Cancel
            self.progress.emit(job, progress)

    def _announce(self, job: BatchJob) -> None:
        """A job ended (BatchQueue's on_job_done): show it, tell the panel."""
        self._show_status(job)
        self.drop_forgotten()
        self.job_done.emit(job)

    def _export_announce(self, path: Path, outcome: str) -> None:
        self.export_done.emit(str(path), outcome)


# The relays' slots are methods of QObjects living on the GUI thread (never lambdas, nor the
# core queue's methods), so Qt queues them there, where the queue's bookkeeping lives.


class _JobRelay(QObject):
    """Delivers one scoring job's worker signals to the queue, with the job."""

    def __init__(self, queue: JobQueue, job: BatchJob) -> None:
        super().__init__(queue)
        self.queue, self.job = queue, job

    def progress(self, progress: object) -> None:
        self.queue._job_progress(self.job, progress)

    def finished(self, result: ScoredFile) -> None:
        self.queue.core.finished(self.job, result)

    def failed(self, message: str) -> None:
        self.queue.core.failed(self.job, message)

    def cancelled(self) -> None:
        self.queue.core.cancelled(self.job)

    def done(self) -> None:
        self.queue.core.done(self.job)
        self.deleteLater()


class _ExportRelay(QObject):
    """Delivers the export's worker signals to the queue."""

    def __init__(self, queue: JobQueue) -> None:
        super().__init__(queue)
        self.queue = queue

    def progress(self, rows: int) -> None:
        self.queue.export_progress.emit(rows)

    def finished(self, result: ExportResult) -> None:
        self.queue.core.export_finished(result)

    def failed(self, message: str) -> None:
        self.queue.core.export_failed(message)

    def cancelled(self) -> None:
        self.queue.core.export_cancelled()

    def done(self) -> None:
        self.queue.core.export_done()
        self.deleteLater()
