"""Loads a labelled CSV for the Threshold panel on a worker, one load at a time.

Cancelling (or starting another load) forgets the running worker at once; its late signals are
then ignored, so a slow, abandoned load can never replace data the user has moved on from.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from app.core.analysis.threshold_sources import Dataset, LabeledCsvJob
from app.core.context.state import AppState
from app.ui.common.workers import Worker, WorkerPool, run_in_pool


class LabeledCsvLoader(QObject):
    """Runs ``LabeledCsvJob``s and reports on the GUI thread; tells the app a job is running."""

    progress = Signal(int)  # per mille
    loaded = Signal(object)  # Dataset
    failed = Signal(str)  # a message fit for a person
    cancelled = Signal()  # stopped from elsewhere (e.g. the window cancelling every worker)
    running_changed = Signal(bool)

    def __init__(self, state: AppState, pool: WorkerPool, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._state, self._pool = state, pool
        self._worker: Worker | None = None

    def start(self, job: LabeledCsvJob) -> None:
        """Run ``job``; call ``cancel`` first if another load may be running."""
        # The worker's signals are queued to this (GUI) thread, so none is handled before
        # ``_worker`` is set below: ``_from_current`` sees the new load from its first signal.
        self._worker = run_in_pool(
            job,
            self._pool,
            name=f"load {job.path.name}",
            on_progress=self._on_progress,
            on_finished=self._on_finished,
            on_failed=self._on_failed,
            on_cancelled=self._on_cancelled,
            on_done=self._on_done,
        )
        self._state.job_started()  # the window shows that something is running
        self.running_changed.emit(True)

    def cancel(self) -> bool:
        """Stop the running load, if any; whether there was one."""
        if self._worker is None:
            return False
        self._worker.cancel()
        self._stopped()
        return True

    def _stopped(self) -> None:
        self._worker = None
        self._state.job_finished()
        self.running_changed.emit(False)

    def _from_current(self) -> bool:
        """Whether the signal being handled comes from the load still wanted."""
        return self._worker is not None and self.sender() is self._worker.signals

    def _on_progress(self, value: tuple[int, int]) -> None:
        done, total = value
        if self._from_current() and total:
            self.progress.emit(int(1000 * done / total))

    def _on_finished(self, ds: Dataset) -> None:
        if self._from_current():
            self.loaded.emit(ds)

    def _on_failed(self, message: str) -> None:
        if self._from_current():
            self.failed.emit(message)

    def _on_cancelled(self) -> None:
        if self._from_current():
            self.cancelled.emit()

    def _on_done(self) -> None:
        if self._from_current():
            self._stopped()
