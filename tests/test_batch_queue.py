"""The desktop batch queue without Qt: limits, lifecycle and activity events (no QApplication).

The queue hands each job's work to a launcher; here the launcher keeps it, and the test runs it
inline and reports the outcome the way the desktop app's worker pool does."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from app.core.common.errors import AbuseDeskError, JobCancelled
from app.core.common.limits import Limits
from app.core.context.batch_queue import BatchJob, BatchQueue
from tests.conftest import REPO

TEXTS = ["you stupid moron", "lovely sunny garden", "what an idiot", "thanks for the coffee"]


class _Handle:
    def __init__(self) -> None:
        self.flag = threading.Event()

    def cancel(self) -> None:
        self.flag.set()

    @property
    def is_cancelled(self) -> bool:
        return self.flag.is_set()


class _Launcher:
    """Keeps what the queue starts; `run` does it and reports like `ui.common.workers.Worker`."""

    def __init__(self) -> None:
        self.started: list[tuple[BatchJob, Any, str, _Handle]] = []
        self.names: list[str] = []
        self.progress: list[Any] = []

    def __call__(self, job: BatchJob, work: Any, kind: str, name: str) -> _Handle:
        handle = _Handle()
        self.started.append((job, work, kind, handle))
        self.names.append(name)
        return handle

    def run(self, queue: BatchQueue, index: int = -1) -> None:
        job, work, kind, handle = self.started[index]
        finished, failed, cancelled, done = (
            (queue.export_finished, queue.export_failed, queue.export_cancelled, queue.export_done)
            if kind == "export"
            else (
                lambda r: queue.finished(job, r),
                lambda m: queue.failed(job, m),
                lambda: queue.cancelled(job),
                lambda: queue.done(job),
            )
        )
        try:
            result = work(self.progress.append, handle.flag.is_set)
        except JobCancelled:
            cancelled()
        except AbuseDeskError as exc:
            failed(str(exc))
        else:
            cancelled() if handle.is_cancelled else finished(result)
        done()


def _write(path: Path, n: int) -> Path:
    rows = [f'{i},"{TEXTS[i % len(TEXTS)]} #{i}",{i % 2}' for i in range(n)]
    path.write_text("\n".join(["id,text,label", *rows]) + "\n", encoding="utf-8")
    return path


def _job(n: int, path: Path) -> BatchJob:
    return BatchJob(n, path, "utf-8", ",", "text", "label")


def _actions(ctx) -> list[str]:
    return [event.action for event in reversed(ctx.activity.query())]


@pytest.fixture
def launcher() -> _Launcher:
    return _Launcher()


@pytest.fixture
def ended() -> list[tuple[str, str]]:
    return []


@pytest.fixture
def queue(app_context, launcher, ended) -> BatchQueue:
    return BatchQueue(
        app_context,
        launcher,
        Limits(),
        on_job_done=lambda job: ended.append((job.path.name, job.status)),
        on_export_done=lambda path, outcome: ended.append((path.name, outcome)),
        workers=1,
    )


def test_the_queue_imports_no_qt():
    """In a fresh interpreter (pytest-qt has loaded Qt into this one)."""
    code = (
        "import sys, app.core.context.batch_queue; "
        "sys.exit(any(n.split('.')[0] in ('PySide6', 'shiboken6') for n in sys.modules))"
    )
    assert subprocess.run([sys.executable, "-c", code], cwd=REPO, timeout=60).returncode == 0


def test_one_job_at_a_time_the_next_waits_and_says_why(queue, launcher, app_context, tmp_path):
    first, second = _job(1, _write(tmp_path / "a.csv", 12)), _job(2, _write(tmp_path / "b.csv", 7))
    assert queue.enqueue(first) is None
    waiting = queue.enqueue(second)
    assert waiting and "at most 1 scoring job runs at a time" in waiting
    assert [job.status for job in (first, second)] == ["running", "queued"]
    assert queue.running is first and list(queue.queue) == [2] and queue.busy()
    assert app_context.state.running_jobs == 1 and len(launcher.started) == 1
    launcher.run(queue)  # the first ends: the second starts by itself
    assert first.status == "done" and second.status == "running" and len(launcher.started) == 2
    launcher.run(queue)
    assert second.status == "done" and not queue.busy() and app_context.state.running_jobs == 0
    assert second.result is not None and second.result.report.rows_scored == 7
    assert _actions(app_context) == ["batch_started", "batch_finished"] * 2
    finished = app_context.activity.query(action="batch_finished")[0]
    assert json.loads(finished.counts)["rows_read"] == 7 and finished.file_name == "b.csv"
    assert app_context.session.batches_run == 2


def test_the_limit_lets_that_many_run_side_by_side(app_context, launcher, tmp_path):
    queue = BatchQueue(app_context, launcher, Limits(max_concurrent_jobs=2), workers=1)
    jobs = [_job(i, _write(tmp_path / f"{i}.csv", 5)) for i in range(3)]
    waits = [queue.enqueue(job) for job in jobs]
    assert waits[:2] == [None, None] and "at most 2 scoring jobs run at a time" in waits[2]
    assert queue.running_jobs() == jobs[:2] and app_context.state.running_jobs == 2
    launcher.run(queue, 1)  # the second one ends first: the third takes its place
    assert [job.status for job in jobs] == ["running", "done", "running"]
    assert queue.running_jobs() == [jobs[0], jobs[2]]


def test_a_job_keeps_the_threshold_and_model_it_started_with(
    queue, launcher, app_context, tmp_path
):
    job = _job(1, _write(tmp_path / "a.csv", 5))
    app_context.state.set_threshold(0.7)
    queue.enqueue(job)
    app_context.state.set_threshold(0.2)
    launcher.run(queue)
    assert job.label_threshold == 0.7 and job.result.report.threshold == 0.7
    assert job.scorer is app_context.state.scorer
    started = app_context.activity.query(action="batch_started")[0]
    assert started.threshold == 0.7


def test_cancel_stops_the_job_logs_it_and_keeps_no_cache(
    queue, launcher, ended, app_context, tmp_path
):
    job = _job(1, _write(tmp_path / "a.csv", 50))
    queue.enqueue(job)
    assert queue.progress_wanted(job) and not queue.cancelling()
    queue.cancel()
    assert queue.cancelling() and not queue.progress_wanted(job)  # later progress is stale
    launcher.run(queue)
    assert job.status == "cancelled" and ended == [("a.csv", "cancelled")]
    assert job.cache is not None and not job.cache.exists()
    assert not list(job.cache.parent.iterdir())  # no provenance, no temporary file either
    assert _actions(app_context) == ["batch_started", "batch_cancelled"]
    assert app_context.state.running_jobs == 0 and not queue.cancelling()


def test_a_failed_job_says_why_and_the_queue_goes_on(queue, launcher, app_context, tmp_path):
    gone, good = _job(1, tmp_path / "gone.csv"), _job(2, _write(tmp_path / "b.csv", 3))
    queue.enqueue(gone)
    queue.enqueue(good)
    launcher.run(queue, 0)
    assert gone.status == "failed" and "gone.csv" in gone.message
    assert good.status == "running"
    failed = app_context.activity.query(action="batch_failed")[0]
    assert failed.detail == gone.message
    assert failed.model_version == app_context.state.scorer.version_label


def test_remove_drops_queued_and_finished_jobs_never_a_running_one(
    queue, launcher, app_context, tmp_path
):
    app_context.settings.batch_history_size = 0  # a session cache (the history's is its own)
    first, second = _job(1, _write(tmp_path / "a.csv", 4)), _job(2, _write(tmp_path / "b.csv", 4))
    queue.enqueue(first)
    queue.enqueue(second)
    assert not queue.remove(first)  # running
    assert queue.remove(second) and list(queue.queue) == [] and 2 not in queue.jobs
    launcher.run(queue)
    cache = first.cache
    assert cache is not None and cache.exists()
    assert queue.remove(first) and not cache.exists() and not queue.jobs


def test_one_export_at_a_time_logged_with_its_threshold(
    queue, launcher, ended, app_context, tmp_path
):
    job = _job(1, _write(tmp_path / "a.csv", 9))
    queue.enqueue(job)
    launcher.run(queue)
    assert queue.export(job, tmp_path / "out.csv", "csv", None, None)
    assert not queue.export(job, tmp_path / "again.csv", "csv", None, None)  # one at a time
    assert not queue.remove(job)  # its cache is being read
    assert app_context.state.running_jobs == 1
    launcher.run(queue)
    assert ended[-1] == ("out.csv", "done: 9 rows, labels at 0.45")
    assert launcher.names == ["batch a.csv", "export out.csv"]
    assert (tmp_path / "out.csv").exists() and queue.export_handle is None
    export = app_context.activity.query(action="export")[0]
    assert json.loads(export.counts) == {"rows_exported": 9} and export.file_name == "out.csv"
    assert app_context.state.running_jobs == 0


def test_shutdown_cancels_everything_and_deletes_the_caches_when_done(
    queue, launcher, app_context, tmp_path
):
    app_context.settings.batch_history_size = 0  # session caches only (the history outlives it)
    finished, running, waiting = (_job(i, _write(tmp_path / f"{i}.csv", 5)) for i in (1, 2, 3))
    queue.enqueue(finished)
    launcher.run(queue)
    queue.enqueue(running)
    queue.enqueue(waiting)
    folder = finished.cache.parent
    queue.shutdown()
    assert list(queue.queue) == [] and queue.cancelling()
    assert folder.exists()  # the running job may still be writing there
    launcher.run(queue)
    assert running.status == "cancelled" and waiting.status == "queued"
    assert not folder.exists() and not queue.busy()
