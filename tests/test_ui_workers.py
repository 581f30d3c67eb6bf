"""The worker adapter: core jobs in the background, results and progress on the GUI thread."""

from __future__ import annotations

import threading
import time

from PySide6.QtCore import QObject, QThread, Slot

from app.core.common.errors import InputError, JobCancelled
from app.ui.common.workers import Worker, run_in_pool


class Recorder(QObject):
    """Receives worker signals the way panels do (QObject slots, so on the GUI thread)."""

    def __init__(self) -> None:
        super().__init__()
        self.events: list[tuple[str, object, bool]] = []

    def _add(self, kind: str, value: object) -> None:
        on_gui = QThread.currentThread() is self.thread()
        self.events.append((kind, value, on_gui))

    @Slot(object)
    def progress(self, value: object) -> None:
        self._add("progress", value)

    @Slot(object)
    def finished(self, value: object) -> None:
        self._add("finished", value)

    @Slot(str)
    def failed(self, message: str) -> None:
        self._add("failed", message)

    @Slot()
    def cancelled(self) -> None:
        self._add("cancelled", None)


def _connect(worker: Worker, recorder: Recorder) -> None:
    worker.signals.progress.connect(recorder.progress)
    worker.signals.finished.connect(recorder.finished)
    worker.signals.failed.connect(recorder.failed)
    worker.signals.cancelled.connect(recorder.cancelled)


def test_result_and_progress_arrive_on_gui_thread(qtbot, worker_pool):
    main = threading.get_ident()

    def job(progress, cancelled):
        assert threading.get_ident() != main  # really in the background
        for i in range(3):
            progress(i)
        return "done"

    recorder = Recorder()
    worker = Worker(job, "test")
    _connect(worker, recorder)
    with qtbot.waitSignal(worker.signals.done, timeout=5000):
        worker_pool.start(worker)
    qtbot.waitUntil(lambda: any(k == "finished" for k, _, _ in recorder.events))
    assert [(k, v) for k, v, _ in recorder.events] == [
        ("progress", 0),
        ("progress", 1),
        ("progress", 2),
        ("finished", "done"),
    ]
    assert all(on_gui for _, _, on_gui in recorder.events)


def test_input_error_becomes_a_message_and_bug_keeps_app_alive(qtbot, worker_pool):
    recorder = Recorder()

    def bad_input(progress, cancelled):
        raise InputError("data.csv is empty")

    def bug(progress, cancelled):
        raise ZeroDivisionError("oops")

    for job in (bad_input, bug):
        worker = Worker(job, "scoring")
        _connect(worker, recorder)
        with qtbot.waitSignal(worker.signals.done, timeout=5000):
            worker_pool.start(worker)
    qtbot.waitUntil(lambda: len(recorder.events) == 2)
    assert recorder.events[0][:2] == ("failed", "data.csv is empty")
    assert (
        recorder.events[1][0] == "failed"
        and "scoring failed unexpectedly: oops" in recorder.events[1][1]
    )


def test_cancel_sets_flag_seen_by_core_job(qtbot, worker_pool):
    recorder = Recorder()
    started = threading.Event()

    def slow(progress, cancelled):
        started.set()
        while not cancelled():
            time.sleep(0.005)
        raise JobCancelled("cancelled")

    worker = Worker(slow, "slow")
    _connect(worker, recorder)
    worker_pool.start(worker)
    assert started.wait(5)
    t0 = time.monotonic()
    with qtbot.waitSignal(worker.signals.done, timeout=5000):
        worker.cancel()
    assert time.monotonic() - t0 < 1.0
    qtbot.waitUntil(lambda: recorder.events == [("cancelled", None, True)])


def test_run_in_pool_wires_each_given_slot_and_done_comes_last(qtbot, worker_pool):
    recorder = Recorder()
    order: list[str] = []

    class Done(QObject):
        @Slot()
        def done(self) -> None:
            order.append("done" if recorder.events else "done-before-finished")

    done = Done()

    def job(progress, cancelled):
        progress(0.5)
        return "result"

    worker = run_in_pool(
        job,
        worker_pool,
        name="two steps",
        on_progress=recorder.progress,
        on_finished=recorder.finished,
        on_done=done.done,
    )
    qtbot.waitUntil(lambda: order == ["done"])
    assert recorder.events == [("progress", 0.5, True), ("finished", "result", True)]
    assert worker not in worker_pool.active


def test_run_in_pool_reports_failure_and_cancellation_to_their_slots(qtbot, worker_pool):
    failed, cancelled = Recorder(), Recorder()

    def bad(progress, cancelled_flag):
        raise InputError("bad file x.csv")

    def stopped(progress, cancelled_flag):
        raise JobCancelled("stopped")

    run_in_pool(bad, worker_pool, name="bad", on_failed=failed.failed, on_finished=failed.finished)
    run_in_pool(stopped, worker_pool, name="stop", on_cancelled=cancelled.cancelled)
    qtbot.waitUntil(lambda: bool(failed.events and cancelled.events))
    assert failed.events == [("failed", "bad file x.csv", True)]
    assert cancelled.events == [("cancelled", None, True)]


def test_finished_workers_are_torn_down_on_the_gui_thread(qtbot, worker_pool):
    """A worker's signals (a GUI-thread QObject) is deleted on the GUI thread, never by the pool
    thread dropping the last reference; finished workers are released once the pool is idle."""
    deleted_on: list[bool] = []

    class Watch(QObject):
        @Slot()
        def gone(self) -> None:
            deleted_on.append(QThread.currentThread() is self.thread())

    watch = Watch()
    workers = []
    for i in range(12):
        worker = run_in_pool(lambda progress, cancelled, i=i: i, worker_pool, name=f"w{i}")
        worker.signals.destroyed.connect(watch.gone)
        workers.append(worker)
    del worker
    assert worker_pool.wait(10_000)
    qtbot.waitUntil(lambda: len(deleted_on) == 12, timeout=5_000)
    assert deleted_on == [True] * 12
    assert not worker_pool.active and not worker_pool._finished
