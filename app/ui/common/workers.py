"""Background work for the UI: a QRunnable around a core function, with Qt signals.

Core functions take ``progress`` and ``cancelled`` callbacks and never know about Qt; this
adapter turns ``progress`` into a queued signal (delivered on the GUI thread) and ``cancelled``
into a thread-safe flag the GUI sets. Every worker started through ``start`` is tracked, so
windows and tests can wait for all of them to finish (no leaked threads).
"""

from __future__ import annotations

import logging
import threading
import traceback
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

from app.core.common.errors import AbuseDeskError, JobCancelled

log = logging.getLogger(__name__)
CoreJob = Callable[[Callable[[Any], None], Callable[[], bool]], Any]


class WorkerSignals(QObject):
    progress = Signal(object)
    finished = Signal(object)  # the job's return value
    failed = Signal(str)  # a message fit for a person
    cancelled = Signal()
    done = Signal()  # always emitted last, whatever the outcome


class Worker(QRunnable):
    def __init__(self, job: CoreJob, name: str = "job") -> None:
        super().__init__()
        self.setAutoDelete(False)  # we keep a reference until `done`, and Python owns it
        self.job = job
        self.name = name
        self.signals = WorkerSignals()
        self._cancel = threading.Event()

    def cancel(self) -> None:
        self._cancel.set()

    @property
    def is_cancelled(self) -> bool:
        return self._cancel.is_set()

    def run(self) -> None:
        try:
            result = self.job(self.signals.progress.emit, self._cancel.is_set)
        except JobCancelled:
            self.signals.cancelled.emit()
        except AbuseDeskError as exc:
            self.signals.failed.emit(str(exc))
        except Exception as exc:  # a bug: keep the app alive, log the traceback, tell the user
            log.error("%s failed:\n%s", self.name, traceback.format_exc())
            self.signals.failed.emit(f"{self.name} failed unexpectedly: {exc}")
        else:
            if self._cancel.is_set():
                self.signals.cancelled.emit()
            else:
                self.signals.finished.emit(result)
        finally:
            self.signals.done.emit()


class WorkerPool:
    """A QThreadPool plus the set of workers still running."""

    def __init__(self, max_threads: int = 2) -> None:
        self.pool = QThreadPool()
        self.pool.setMaxThreadCount(max_threads)
        self.active: set[Worker] = set()

    def start(self, worker: Worker) -> Worker:
        self.active.add(worker)
        worker.signals.done.connect(lambda w=worker: self.active.discard(w))
        self.pool.start(worker)
        return worker

    def cancel_all(self) -> None:
        for worker in list(self.active):
            worker.cancel()

    def wait(self, msecs: int = 30_000) -> bool:
        """Block until every worker finished (used at shutdown and by tests)."""
        return self.pool.waitForDone(msecs)


Slot = Callable[..., Any]


def run_in_pool(
    job: CoreJob,
    pool: WorkerPool,
    *,
    name: str,
    on_progress: Slot | None = None,
    on_finished: Slot | None = None,
    on_failed: Slot | None = None,
    on_cancelled: Slot | None = None,
    on_done: Slot | None = None,
) -> Worker:
    """Run the core ``job(progress, cancelled)`` on ``pool``, wired to the given slots.

    The one way the UI starts background work. Pass bound methods of QObjects living on the GUI
    thread (never lambdas): Qt then queues every signal to the GUI thread. ``on_done`` comes last,
    whatever the outcome; a job that raises `JobCancelled` reports ``on_cancelled``.
    """
    worker = Worker(job, name)
    slots = (
        (worker.signals.progress, on_progress),
        (worker.signals.finished, on_finished),
        (worker.signals.failed, on_failed),
        (worker.signals.cancelled, on_cancelled),
        (worker.signals.done, on_done),
    )
    for signal, slot in slots:
        if slot is not None:
            signal.connect(slot)
    return pool.start(worker)
