"""Batch scoring in worker processes: same bytes out, clear errors, clean cancel."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from app.core.batch import run as batch
from app.core.batch.run import BatchOptions, run_batch
from app.core.common.errors import AbuseDeskError, JobCancelled
from app.core.engine.scoring import Scorer

pytestmark = pytest.mark.usefixtures("private_home")  # checkpoints need a workstation key


@pytest.fixture(autouse=True)
def small_files_go_parallel(monkeypatch):
    monkeypatch.setattr(batch, "PARALLEL_MIN_BYTES", 0)


def _input(path: Path, n: int = 3_000) -> Path:
    words = "you are a lovely idiot thanks for the coffee shut up moron great day".split()
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["id", "text"])
        for i in range(n):
            text = " ".join(words[(i * 7 + k) % len(words)] for k in range(i % 9 + 1))
            writer.writerow([i, "" if i % 97 == 0 else f"{text} #{i}"])
    return path


def _run(scorer, src: Path, out: Path, workers: int, **kw):
    options = BatchOptions(src, out, threshold=0.45, chunk_rows=400, workers=workers)
    return run_batch(scorer, options, **kw)


def test_workers_write_the_same_bytes(tiny_training, tmp_path):
    scorer = Scorer.load(tiny_training.bundle_path)
    challenger = Scorer.load(tiny_training.bundle_path)  # any second model will do
    src = _input(tmp_path / "in.csv")
    one = _run(scorer, src, tmp_path / "one.csv", 1, challenger=challenger)
    two = _run(scorer, src, tmp_path / "two.csv", 2, challenger=challenger)
    assert (tmp_path / "one.csv").read_bytes() == (tmp_path / "two.csv").read_bytes()
    for key in ("rows_read", "rows_scored", "rows_blank", "rows_flagged", "rows_disagreeing"):
        assert getattr(one, key) == getattr(two, key), key
    assert two.rows_read == 3_000 and two.balanced


def test_a_bundle_changed_under_the_job_stops_it_clearly(tiny_bundle_copy, tmp_path):
    scorer = Scorer.load(tiny_bundle_copy)
    coef = tiny_bundle_copy / "coef.npy"
    data = bytearray(coef.read_bytes())
    data[-1] ^= 0xFF
    coef.write_bytes(bytes(data))  # the workers load the folder again: it no longer verifies
    out = tmp_path / "out.csv"
    with pytest.raises(AbuseDeskError, match="scoring worker process stopped"):
        _run(scorer, _input(tmp_path / "in.csv"), out, 2)
    assert not out.exists()


def test_cancel_stops_the_workers_and_writes_nothing(tiny_training, tmp_path):
    scorer = Scorer.load(tiny_training.bundle_path)
    seen: list[int] = []

    def cancelled() -> bool:
        return len(seen) >= 2

    out = tmp_path / "out.csv"
    with pytest.raises(JobCancelled):
        _run(
            scorer,
            _input(tmp_path / "in.csv"),
            out,
            2,
            progress=lambda p: seen.append(1),
            cancelled=cancelled,
        )
    assert not out.exists()


_HALF_A_RESULT = """
import os, struct, sys, threading, time
from pathlib import Path
from app.core.batch.parallel import ChunkScorer
from app.core.engine.scoring import Scorer

scorer = Scorer.load(Path(sys.argv[1]))
pool = ChunkScorer(scorer, None, 2)
pool.submit(["warm up"]).result()  # the workers exist and have loaded the model
results = pool._pool._result_queue
# What a worker terminated while sending leaves: a header announcing 1 MB, then a few bytes.
os.write(results._writer.fileno(), struct.pack("!i", 1_000_000) + b"partial")
time.sleep(0.3)  # the pool's thread is now reading a message that will never be complete
started = time.monotonic()
pool.abandon()
threads = [t.name for t in threading.enumerate() if t is not threading.main_thread()]
print(f"{time.monotonic() - started:.2f} {threads}")
"""


def test_abandon_returns_when_a_worker_ended_half_way_through_a_result(tiny_training, tmp_path):
    """A worker terminated mid-write left the pool's thread waiting forever for the rest of a
    message (a hung cancel on Python 3.11). Abandon now ends that thread too, promptly."""
    import os
    import subprocess
    import sys

    env = dict(os.environ, ABUSE_DESK_HOME=str(tmp_path / "home"))
    done = subprocess.run(
        [sys.executable, "-c", _HALF_A_RESULT, str(tiny_training.bundle_path)],
        capture_output=True, text=True, timeout=120, env=env,
        cwd=Path(__file__).resolve().parents[1],
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    seconds, threads = done.stdout.split(" ", 1)
    assert float(seconds) < 5.0 and threads.strip() == "[]", done.stdout
