"""The desktop app's batch queue, without Qt: which scoring jobs run, which wait, what each became,
and the activity events that say so.

`BatchQueue` runs at most ``Limits.max_concurrent_jobs`` scoring jobs at a time (default one);
the others wait in order, and `enqueue` says why. A job goes queued -> running -> done, failed or
cancelled; each step is logged (``batch_started``, ``batch_finished``, ``batch_failed``,
``batch_cancelled``) and counted in the state's running jobs. Beside the scoring jobs, one
export at a time (``export`` event).

The queue never starts a thread itself: it hands each job's work (a core function
``run(progress, cancelled)``) to the ``launch`` it was given, which returns a handle to cancel
it, and is told the outcome through `finished`/`failed`/`cancelled` and then `done` (the desktop
app's `ui.batch.jobs.JobQueue` launches on its worker pool and relays the signals; a test can run
the work inline). Call it from one thread: the work runs elsewhere, the bookkeeping does not.

A scoring job is `cache.score_file` into a per-session cache file, with the models and the
threshold captured when it starts (a model switch while it runs must not mix two models' scores
in one file), scored in worker processes when the file is large enough (`batch.parallel`, as
the CLI does), and without checkpoints (nobody resumes a session cache).

A finished job is recorded in the batch history (`results.history`, the last
``batch_history_size`` jobs): its cache moves there and outlives the session, and `reopen`
brings an entry back as a job. A job the history dropped (it holds only the newest) leaves the
queue too: its cache is gone.
"""

from __future__ import annotations

import logging
import os
import shutil
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from app.core.batch.options import BatchOptions, summary_counts
from app.core.batch.parallel import default_workers
from app.core.batch.words import counted
from app.core.common.limits import Limits
from app.core.common.messages import fmt_threshold
from app.core.context.bootstrap import registry_of
from app.core.context.engines import score_in_mode
from app.core.context.state import AppContext
from app.core.engine.scoring import Scorer
from app.core.export.xlsx_writer import control_note
from app.core.results.cache import ScoredFile, jobs_folder, remove_cache, score_file
from app.core.results.export import ExportResult, export_cached
from app.core.results.history import BatchHistory, HistoryEntry
from app.core.results.table import ViewSpec

CHUNK_ROWS = 2_000  # ~0.1 s of scoring: the core checks for cancel between chunks
# What a job's work is: a core function taking (progress, cancelled) callbacks.
Work = Callable[[Callable[[Any], None], Callable[[], bool]], Any]


class Handle(Protocol):
    """What `launch` returns for a job it started: a way to stop it."""

    def cancel(self) -> None: ...

    @property
    def is_cancelled(self) -> bool: ...


# launch(job, work, kind, name): start ``work`` (the "score" or "export" of ``job``, called
# ``name`` in messages) and return its handle.
Launch = Callable[["BatchJob", Work, str, str], Handle]


def settings_bands(settings: Any) -> tuple[float, float] | None:
    """The settings' band policy (both cut points set; the loader refused a crossed pair), or
    None: a job scored with it carries the abuse_band column (`app.core.batch.rows`)."""
    review, escalate = settings.band_review_at, settings.band_escalate_at
    return None if review is None or escalate is None else (float(review), float(escalate))


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
    # Re-labelled: the model the app-wide threshold was set for then (the provenance names it
    # beside the model that scored the job; the two may differ).
    label_threshold_model: str = ""
    # The models captured when the job started: a switch while it runs must not mix two
    # models' scores in one file, so the job finishes with these (Scorers are immutable).
    scorer: Scorer | None = None
    challenger: Scorer | None = None
    history_id: str = ""  # its batch-history entry, which owns the cache (none: the session)
    mode: str = "fast"  # fast, cascade or thorough (`app.core.batch.cascade`)


@dataclass(frozen=True)
class _Export:
    job: BatchJob
    path: Path
    fmt: str
    threshold: float
    spec: ViewSpec | None


def job_workers(limits: Limits) -> int:
    """Worker processes for one scoring job: the CLI's default, shared by the jobs that may run
    side by side (more processes than cores only share the cores and multiply the memory)."""
    return max(1, default_workers() // limits.max_concurrent_jobs)


class BatchQueue:
    """The jobs of one Batch panel, their limits and lifecycle (see the module docstring)."""

    def __init__(
        self,
        ctx: AppContext,
        launch: Launch,
        limits: Limits | None = None,
        *,
        on_job_done: Callable[[BatchJob], None] | None = None,
        on_export_done: Callable[[Path, str], None] | None = None,
        workers: int | None = None,
        history: BatchHistory | None = None,
    ) -> None:
        self.ctx, self._launch = ctx, launch
        self.limits = limits or Limits.from_settings(ctx.settings)
        self.workers = job_workers(self.limits) if workers is None else workers
        self._on_job_done, self._on_export_done = on_job_done, on_export_done
        self.jobs: dict[int, BatchJob] = {}
        self.queue: deque[int] = deque()
        self.handles: dict[int, Handle] = {}  # running job id -> its handle, in start order
        self.export_handle: Handle | None = None
        self._export: _Export | None = None
        self._outcome = ""
        self._folder: Path | None = None  # this session's caches, created on first use
        self._closing = False
        self.history = history or BatchHistory()
        # Jobs the history dropped when another was recorded (their caches are gone): the
        # caller takes them off its list (`take_dropped`).
        self._dropped: list[BatchJob] = []

    # --- what is running ---------------------------------------------------------------------

    @property
    def running(self) -> BatchJob | None:
        """The oldest running scoring job, if any."""
        return next((self.jobs[i] for i in self.handles), None)

    def running_jobs(self) -> list[BatchJob]:
        return [self.jobs[i] for i in self.handles]

    def busy(self) -> bool:
        return bool(self.handles) or bool(self.queue) or self.export_handle is not None

    def cancelling(self) -> bool:
        """True while every running job has been told to stop and has not yet ended."""
        return bool(self.handles) and all(h.is_cancelled for h in self.handles.values())

    def progress_wanted(self, job: BatchJob) -> bool:
        """False for a job's progress that arrives after it was cancelled (stale)."""
        handle = self.handles.get(job.id)
        return handle is not None and not handle.is_cancelled

    # --- scoring jobs ------------------------------------------------------------------------

    def enqueue(self, job: BatchJob) -> str | None:
        """Queue `job`; it starts now if fewer than `max_concurrent_jobs` are running. Returns
        why it waits (the concurrency limit), or None if it started."""
        self.jobs[job.id] = job
        self.queue.append(job.id)
        self._start_next()
        if job.status != "queued":
            return None
        return self.limits.queue_message(len(self.handles)) or "Queued."

    def _start_next(self) -> None:
        while self.queue and len(self.handles) < self.limits.max_concurrent_jobs:
            self._start(self.jobs[self.queue.popleft()])

    def _start(self, job: BatchJob) -> None:
        threshold = job.label_threshold = self.ctx.state.threshold
        self._folder = self._folder or jobs_folder()
        job.cache = self._folder / f"{job.id:03d}-{job.path.stem}.scored.csv"
        options = BatchOptions(
            job.path, job.cache, threshold, job.text_column, "csv", job.encoding, job.delimiter,
            chunk_rows=CHUNK_ROWS, workers=self.workers, bands=settings_bands(self.ctx.settings),
        )  # fmt: skip
        job.scorer, job.challenger = self.ctx.state.scorer, self.ctx.state.challenger
        if job.scorer is None:  # the panel offers Start only once a model is loaded
            raise RuntimeError("a batch job was started before a model was loaded")
        work: Work = partial(
            score_file, job.scorer, options, job.gold_column, challenger=job.challenger
        )
        if job.mode != "fast" or job.scorer.engine != "linear":  # models loaded by the job
            work = partial(score_in_mode, registry_of(self.ctx), job.scorer, job.mode, options,
                           job.gold_column, job.challenger)  # fmt: skip
        job.status = "running"
        self.ctx.state.job_started()
        self.handles[job.id] = self._launch(job, work, "score", f"batch {job.path.name}")
        shadow = f"challenger {job.challenger.version_label}" if job.challenger else None
        said = "; ".join(p for p in (shadow, f"mode {job.mode}" if job.mode != "fast" else "") if p)
        self.ctx.log(
            "batch_started", file_name=job.path.name, threshold=threshold, detail=said or None
        )

    def finished(self, job: BatchJob, result: ScoredFile) -> None:
        report = result.report
        job.result, job.status = result, "done"
        self.ctx.log(
            "batch_finished",
            counts=summary_counts(report),
            file_name=job.path.name,
            file_sha256=report.input_sha256,
            threshold=report.threshold,
            model_version=report.model_version,  # the job's model, whatever is active now
            detail="; ".join(p for p in (report.disagreement(), report.rescored_line()) if p)
            or None,
        )
        self.ctx.session.record_batch(report.rows_scored, report.rows_flagged, report.seconds)
        self._record(job, result)

    def _record(self, job: BatchJob, result: ScoredFile) -> None:
        """Keep the job in the batch history; a failure only leaves it a session job."""
        keep = self.ctx.settings.batch_history_size
        try:
            size = os.stat(result.report.input).st_size
            entry = self.history.record(result, keep, size)
        except (OSError, ValueError) as exc:
            logging.getLogger(__name__).warning("batch history not updated: %s", exc)
            return
        if entry is None:
            return
        job.history_id, job.cache = entry.id, result.cache_path
        listed = {e.id for e in self.history.entries()}
        for other in list(self.jobs.values()):
            if other.history_id and other.history_id not in listed:
                self._forget(other)

    def _forget(self, job: BatchJob) -> None:
        """Drop a job whose history entry is gone (unless it is being exported)."""
        if self._export is not None and self._export.job is job:
            return
        self.jobs.pop(job.id, None)
        self._dropped.append(job)

    def take_dropped(self) -> list[BatchJob]:
        dropped, self._dropped = self._dropped, []
        return dropped

    def reopen(self, entry: HistoryEntry, job_id: int) -> BatchJob:
        """A history entry as a finished job (the one already open, if any); raises OSError
        or ValueError when its files are gone or damaged."""
        for job in list(self.jobs.values()):
            if job.history_id == entry.id:
                if job.result is not None and job.result.cache_path.is_file():
                    return job
                self._forget(job)  # its cache went (removed elsewhere): `load` says why
        result = self.history.load(entry)
        report = result.report
        job = BatchJob(
            job_id, Path(report.input), report.encoding, report.delimiter, report.text_column,
            result.table.gold_column, cache=result.cache_path, status="done", result=result,
            label_threshold=report.threshold, history_id=entry.id,
        )  # fmt: skip
        self.jobs[job.id] = job
        return job

    def remove_history(self, entry_id: str) -> bool:
        """Delete a history entry and its files, and any open job showing it; False while
        that job is being exported."""
        open_jobs = [job for job in self.jobs.values() if job.history_id == entry_id]
        if any(self._export is not None and self._export.job is job for job in open_jobs):
            return False
        for job in open_jobs:
            self._forget(job)
        entry = next((e for e in self.history.entries() if e.id == entry_id), None)
        if self.history.remove(entry_id) and entry is not None:
            log_history_removed(self.ctx, entry)
        return True

    def failed(self, job: BatchJob, message: str) -> None:
        job.status, job.message = "failed", message
        self.ctx.log("batch_failed", file_name=job.path.name, detail=message, **_model_of(job))

    def cancelled(self, job: BatchJob) -> None:
        job.status = "cancelled"
        if job.cache is not None:
            remove_cache(job.cache)  # a cancel after the last chunk leaves a complete cache
        self.ctx.log(
            "batch_cancelled",
            file_name=job.path.name,
            threshold=job.label_threshold,
            **_model_of(job),
        )

    def done(self, job: BatchJob) -> None:
        """The job's work has ended (after its outcome): start the next one."""
        del self.handles[job.id]
        self.ctx.state.job_finished()
        if self._on_job_done:
            self._on_job_done(job)
        self._start_next()
        self._clean_up_if_closing()

    def cancel(self) -> None:
        """Stop the running jobs; the core notices before its next chunk (well under 1 s)."""
        for handle in self.handles.values():
            handle.cancel()

    def remove(self, job: BatchJob) -> bool:
        """Drop a queued or finished job and its cache; False while it runs or exports."""
        exporting = self._export is not None and self._export.job is job
        if job.id not in self.jobs or job.id in self.handles or exporting:
            return False
        if job.id in self.queue:
            self.queue.remove(job.id)
        if job.cache is not None and not job.history_id:  # the history owns its cache
            remove_cache(job.cache)
        del self.jobs[job.id]
        return True

    # --- exports -----------------------------------------------------------------------------

    def export(
        self, job: BatchJob, path: Path, fmt: str, keep: np.ndarray | None, spec: ViewSpec | None
    ) -> bool:
        """Export `job`'s results in the background; False if an export is already running."""
        if self.export_handle is not None or job.result is None:
            return False
        result, threshold = job.result, job.label_threshold
        run = partial(
            export_cached, result.cache_path, path, fmt,
            report=result.report, threshold=threshold, keep=keep, spec=spec,
            threshold_model=job.label_threshold_model,
            overwrite=True,  # the save dialog has asked the user before replacing a file
        )  # fmt: skip
        self._export, self._outcome = _Export(job, path, fmt, threshold, spec), "done"
        self.ctx.state.job_started()
        work = partial(_keywords, run)
        self.export_handle = self._launch(job, work, "export", f"export {path.name}")
        return True

    def export_finished(self, result: ExportResult) -> None:
        export = self._export
        assert export is not None and export.job.result is not None
        self._outcome = f"done: {counted(result.rows)}, labels at {fmt_threshold(export.threshold)}"
        counts = {"rows_exported": result.rows}
        if result.control_cells:
            self._outcome += f"; {control_note(result.control_cells)}"
            counts["control_cells_replaced"] = result.control_cells
        # The event's file is the export (its name and hash); the input is named in the detail.
        self.ctx.log(
            "export",
            file_name=export.path.name,
            file_sha256=result.sha256,
            threshold=export.threshold,
            counts=counts,
            detail=f"{export.fmt} of {export.job.path.name} "
            f"(input SHA-256 {export.job.result.report.input_sha256}); "
            f"{(export.spec or ViewSpec()).describe()}",
        )

    def export_failed(self, message: str) -> None:
        self._outcome = f"failed: {message}"

    def export_cancelled(self) -> None:
        self._outcome = "cancelled"

    def export_done(self) -> None:
        assert self._export is not None
        path = self._export.path
        self.export_handle, self._export = None, None
        self.ctx.state.job_finished()
        if self._on_export_done:
            self._on_export_done(path, self._outcome)
        self._clean_up_if_closing()

    # --- closing -----------------------------------------------------------------------------

    def shutdown(self) -> None:
        """Cancel everything and delete this session's caches (they may hold personal data):
        now if idle, else once the cancelled jobs are done (a job may still be writing there).
        A folder left behind by a crash is pruned by `jobs_folder` a day later."""
        self._closing = True
        self.queue.clear()
        for handle in [*self.handles.values(), self.export_handle]:
            if handle is not None:
                handle.cancel()
        self._clean_up_if_closing()

    def _clean_up_if_closing(self) -> None:
        if self._closing and not self.busy() and self._folder is not None:
            shutil.rmtree(self._folder, ignore_errors=True)
            self._folder = None


def _model_of(job: BatchJob) -> dict[str, str]:
    """The model the job ran with (the active one may have changed since it started)."""
    return {"model_version": job.scorer.version_label} if job.scorer is not None else {}


def _keywords(run: Any, progress: Any, cancelled: Any) -> Any:
    """Adapt a core function's keyword callbacks to the positional work(progress, cancelled)."""
    return run(progress=progress, cancelled=cancelled)


def log_history_removed(ctx: AppContext, entry: HistoryEntry) -> None:
    """The activity event of a batch-history entry deleted by the user (GUI or CLI): which
    file's job, when it ran, with which model; its cached results went with it."""
    ctx.log(
        "batch_history_removed",
        file_name=entry.name,
        file_sha256=entry.input_sha256 or None,
        detail=f"job {entry.id} of {entry.finished_utc}, scored by {entry.model_version} "
        f"at {fmt_threshold(entry.threshold)}; its cached results deleted",
    )
