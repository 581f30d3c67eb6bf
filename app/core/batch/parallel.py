"""Scoring batch chunks in worker processes, ahead of the process that reads and writes.

Scoring is CPU-bound Python, so threads cannot use a second core (they share the interpreter
lock); processes can. A batch job reads chunk k+1 and writes chunk k while workers score the
chunks after them: the output order never changes, only who computes the scores.

Each worker loads the bundle itself (from the same folder, through the verifying loader) and
refuses to score unless its manifest hash equals the one the job was started with, so a worker
can never score with another model than the one the output records. Workers are started with
"spawn" (never "fork": the desktop app has threads, and a forked copy of a Qt process is unsafe).

A worker never outlives the process that started it: a daemon thread in each worker polls the
parent and ends the worker as soon as the parent is gone, even after SIGKILL (when nothing runs
in the parent to stop it, and the worker would otherwise wait forever on its task queue, whose
other end it holds itself). Workers ignore Ctrl+C: the terminal sends it to the whole process
group, and the parent alone decides what an interruption does (keep the work, one line).
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

import numpy as np

from app.core.bundles.bundle import load_verified
from app.core.common.errors import AbuseDeskError, JobCancelled, ModelError
from app.core.common.portable_fs import pid_alive
from app.core.engine.scoring import Scorer

Scored = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]  # scores, cut, empty, other

_models: tuple[Scorer, Scorer | None] | None = None  # the worker process's models
PARENT_POLL_SECONDS = 0.5
CANCEL_POLL_SECONDS = 0.05  # how often a job waiting on a worker looks at its cancel flag
MAX_DEFAULT_WORKERS = 4  # the default cap; `score --workers N` asks for more
MANAGER_EXIT_SECONDS = 1.0  # after the workers end, the pool's own thread ends within this


def default_workers() -> int:
    """Worker processes a job uses unless told otherwise (the CLI without ``--workers``, every
    desktop job): one per core, at most `MAX_DEFAULT_WORKERS`."""
    return min(MAX_DEFAULT_WORKERS, os.cpu_count() or 1)


def usable_workers(requested: int) -> tuple[int, str | None]:
    """`requested` worker processes, capped at this machine's cores, and a note if capped.

    More processes than cores only share the same cores and multiply the memory (each loads
    the model); ValueError below 1."""
    if requested < 1:
        raise ValueError(f"--workers must be 1 or more, got {requested}")
    cores = os.cpu_count() or 1
    if requested <= cores:
        return requested, None
    return cores, f"--workers {requested}: this computer has {cores} cores; using {cores}"


def _watch_parent(parent: int) -> None:
    """End this worker when the parent process is gone (os.getppid changes on POSIX once the
    parent dies; pid_alive covers Windows, where it does not)."""
    while os.getppid() == parent and pid_alive(parent):
        time.sleep(PARENT_POLL_SECONDS)
    os._exit(1)  # no cleanup to do: the parent kept the work files, a worker writes nothing


def _load(path: str, manifest_sha256: str, max_chars: int) -> Scorer:
    scorer = Scorer(load_verified(path), max_chars=max_chars)
    if scorer.bundle.manifest_sha256 != manifest_sha256:
        raise ModelError(f"model bundle {path} changed since the job started")
    return scorer


def _start_worker(
    active: tuple[str, str, int], challenger: tuple[str, str, int] | None, parent: int
) -> None:
    global _models
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()
    _models = (_load(*active), _load(*challenger) if challenger else None)


def _score(texts: list[str]) -> Scored:
    assert _models is not None, "worker not initialised"
    scorer, challenger = _models
    scores, truncated, empty = scorer.score_many(texts)
    other = challenger.score_many(texts)[0] if challenger is not None else None
    return scores, truncated, empty, other


def _identity(scorer: Scorer) -> tuple[str, str, int]:
    return str(scorer.bundle.path), scorer.bundle.manifest_sha256, scorer.max_chars


class ChunkScorer:
    """Scores texts a chunk at a time, in ``workers`` processes, keeping results in order."""

    def __init__(self, scorer: Scorer, challenger: Scorer | None, workers: int) -> None:
        workers = min(workers, os.cpu_count() or 1)
        self.depth = 2 * workers  # chunks in flight: enough to keep every worker busy
        self._pool = ProcessPoolExecutor(
            max_workers=workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_start_worker,
            initargs=(
                _identity(scorer),
                _identity(challenger) if challenger else None,
                os.getpid(),
            ),
        )

    def submit(self, texts: list[str]) -> Future[Scored]:
        return self._pool.submit(_score, texts)

    def close(self) -> None:
        """Let the workers finish what they hold and end (the job is complete)."""
        self._pool.shutdown(wait=True, cancel_futures=True)

    def abandon(self) -> None:
        """End the workers now, whatever they are doing (the job was cancelled or failed): a
        worker writes nothing, so nothing is lost, and a cancel does not wait for a worker still
        loading the model. Returns once every worker process and the pool's thread have ended.

        A worker terminated while sending a result leaves half a message in the result pipe,
        and the pool's manager thread then waits forever for the rest (seen under load on
        Python 3.11: `shutdown(wait=True)` never returned, and the job hung). So the pool is
        shut down without waiting, and if its thread is still reading once every worker is
        gone, the parent closes the pipe's last write end: the read ends (EOF) and so does the
        thread."""
        pool = self._pool
        processes = list((getattr(pool, "_processes", None) or {}).values())
        manager = getattr(pool, "_executor_manager_thread", None)
        results = getattr(pool, "_result_queue", None)
        for process in processes:
            process.terminate()
        for process in processes:
            process.join()
        pool.shutdown(wait=False, cancel_futures=True)
        if manager is None:
            return
        manager.join(MANAGER_EXIT_SECONDS)
        if manager.is_alive() and results is not None:
            results._writer.close()
            manager.join(MANAGER_EXIT_SECONDS * 10)

    def ahead(
        self,
        items: Iterator[Any],
        texts_of: Any,
        cancelled: Callable[[], bool] | None = None,
    ) -> Iterator[tuple[Any, Scored | None]]:
        """Yield ``(item, scores)`` in order, with up to ``depth`` items being scored ahead.
        Items whose ``texts_of(item)`` is empty get None without a round trip. While waiting for
        a result, ``cancelled`` is polled: True raises JobCancelled."""
        pending: deque[tuple[Any, Future[Scored] | None]] = deque()
        for item in items:
            texts = texts_of(item)
            pending.append((item, self.submit(texts) if texts else None))
            if len(pending) > self.depth:
                done, future = pending.popleft()
                yield done, _result(future, cancelled)
        while pending:
            done, future = pending.popleft()
            yield done, _result(future, cancelled)


def _result(future: Future[Scored] | None, cancelled: Callable[[], bool] | None) -> Scored | None:
    if future is None:
        return None
    try:
        while cancelled is not None:
            try:
                return future.result(timeout=CANCEL_POLL_SECONDS)
            except TimeoutError:
                if cancelled():
                    raise JobCancelled("cancelled") from None
        return future.result()
    except BrokenProcessPool as exc:  # a worker died (killed, out of memory, failed to start)
        raise AbuseDeskError(f"a scoring worker process stopped unexpectedly ({exc})") from None
