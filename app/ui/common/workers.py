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

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal, Slot

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


class _Retirer(QObject):
    """Lives on the GUI thread; receives every worker's ``done`` there (a bound slot, not a
    lambda: a lambda holding the worker would tie it, its signals and the connection into a
    reference cycle that the garbage collector could then tear down on any thread)."""

    def __init__(self, pool: WorkerPool) -> None:
        super().__init__()
        self._pool = pool

    @Slot()
    def retire(self) -> None:
        self._pool._retire(self.sender())


class WorkerPool:
    """A QThreadPool plus the set of workers still running.

    Why the bookkeeping: a worker's signals object is a QObject of the GUI thread. It is parented
    to this pool's retirer, so dropping the last Python reference (which may happen on the pool
    thread, as ``run`` returns) never destroys it there; it is deleted with ``deleteLater`` on
    the GUI thread once its ``done`` arrived. Finished workers are released only when the pool
    is idle, so the last reference to a worker is never dropped while its thread still runs it.
    """

    def __init__(self, max_threads: int = 2) -> None:
        self.pool = QThreadPool()
        self.pool.setMaxThreadCount(max_threads)
        self.active: set[Worker] = set()
        self._by_signals: dict[int, Worker] = {}
        self._finished: list[Worker] = []
        self._retirer = _Retirer(self)

    def start(self, worker: Worker) -> Worker:
        self.active.add(worker)
        self._by_signals[id(worker.signals)] = worker
        worker.signals.setParent(self._retirer)
        worker.signals.done.connect(self._retirer.retire)
        self.pool.start(worker)
        return worker

    def _retire(self, signals: QObject | None) -> None:
        worker = self._by_signals.pop(id(signals), None)
        if worker is None:
            return
        self.active.discard(worker)
        self._finished.append(worker)
        worker.signals.deleteLater()
        self.release_finished()

    def release_finished(self) -> None:
        """Drop finished workers once no pool thread can still be inside their ``run``."""
        if self.pool.activeThreadCount() == 0:
            self._finished.clear()

    def cancel_all(self) -> None:
        for worker in list(self.active):
            worker.cancel()

    def wait(self, msecs: int = 30_000) -> bool:
        """Block until every worker finished (used at shutdown and by tests)."""
        done = self.pool.waitForDone(msecs)
        if done:
            self.release_finished()
        return done


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
