"""The Batch panel scores large files in the CLI's worker processes: the same bytes as the CLI,
a prompt cancel, and no worker process left behind."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from app.core.batch import parallel
from app.core.batch import run as batch_run
from app.core.context import batch_queue as results_queue
from app.ui.batch.panel import BatchPanel
from tests.cli_runner import run_cli

POSIX = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")
TEXTS = ["you stupid moron", "lovely sunny garden", "what an idiot", "", "thanks =1+1 @x"]


def _write(path: Path, n: int) -> Path:
    lines = ["id,text,label"] + [f"{i},{TEXTS[i % len(TEXTS)]} #{i},{i % 2}" for i in range(n)]
    lines.insert(7, "x,too,many,fields")  # a rejected row
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _children() -> set[int]:
    """Live child processes of this (test) process, but multiprocessing's resource tracker (one
    per process that ever spawned, kept for its life: not a worker)."""
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            command = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if int(fields[1]) == os.getpid() and fields[0] != "Z":
            if b"resource_tracker" not in command:
                found.add(int(entry.name))
    return found


@pytest.fixture
def pools(monkeypatch) -> list[object]:
    """Every small file goes to workers; the worker pools the jobs start, recorded."""
    monkeypatch.setattr(batch_run, "PARALLEL_MIN_BYTES", 0)
    started: list[object] = []
    real = parallel.ChunkScorer

    def recorded(*args, **kw):
        pool = real(*args, **kw)
        started.append(pool)
        return pool

    monkeypatch.setattr(parallel, "ChunkScorer", recorded)
    return started


@pytest.fixture
def panel(qtbot, app_context, worker_pool):
    widget = BatchPanel(app_context, worker_pool)
    widget.jobs.core.workers = 2  # whatever this machine's cores: two processes
    qtbot.addWidget(widget)
    yield widget
    widget.shutdown()


def test_desktop_jobs_use_the_clis_default_workers(app_context):
    from app.core.common.limits import Limits

    assert results_queue.job_workers(Limits()) == parallel.default_workers()
    assert results_queue.job_workers(Limits(max_concurrent_jobs=64)) == 1


@POSIX
def test_a_large_file_is_scored_in_workers_with_the_clis_bytes(
    qtbot, panel, pools, bundled_model_path, tmp_path
):
    src = _write(tmp_path / "in.csv", 12_000)
    panel.open_file(src)
    with qtbot.waitSignal(panel.job_done, timeout=120_000) as blocker:
        panel.start()
    assert blocker.args[1] == "done", panel.status.text()
    assert len(pools) == 1  # the job scored in worker processes
    result = panel.shown.result
    assert result.report.rows_read == 12_001 and result.report.rows_rejected == 1
    with qtbot.waitSignal(panel.export_done, timeout=60_000) as exported:
        panel.export(tmp_path / "export.csv", "csv")
    assert exported.args[1].startswith("done"), exported.args
    out = tmp_path / "cli.csv"
    cli = run_cli(
        "--model", str(bundled_model_path), "score", str(src), "-o", str(out),
        "--threshold", "0.45", "--workers", "2", "--quiet", "--text-column", "text",
    )  # fmt: skip
    assert cli.returncode == 0, cli.stderr
    assert result.cache_path.read_bytes() == out.read_bytes()
    assert (tmp_path / "export.csv").read_bytes() == out.read_bytes()


@POSIX
@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="needs two cores for two workers")
def test_cancel_with_workers_is_prompt_and_leaves_no_worker_process(
    qtbot, panel, pools, app_context, tmp_path
):
    """Cancelled as soon as the workers exist (they may still be loading the model: a cancel
    does not wait for them), and again once they score."""
    before = _children()
    panel.open_file(_write(tmp_path / "big.csv", 300_000))
    panel.start()
    qtbot.waitUntil(lambda: len(_children() - before) >= 2, timeout=30_000)
    workers = _children() - before
    assert len(pools) == 1
    with qtbot.waitSignal(panel.job_done, timeout=10_000) as blocker:
        started = time.monotonic()
        panel.cancel()
    elapsed = time.monotonic() - started
    print(f"\ncancel -> done with workers: {elapsed * 1000:.0f} ms")
    assert blocker.args[1] == "cancelled" and elapsed < 2.0
    assert not workers & _children()  # every worker process has ended
    with qtbot.waitSignal(panel.job_progress, timeout=60_000):  # the workers are scoring
        panel.start()
    workers = _children() - before
    assert len(pools) == 2 and len(workers) >= 2
    with qtbot.waitSignal(panel.job_done, timeout=10_000) as blocker:
        panel.cancel()
    assert blocker.args[1] == "cancelled" and not workers & _children()
    actions = [event.action for event in reversed(app_context.activity.query())]
    assert actions == ["batch_started", "batch_cancelled"] * 2
