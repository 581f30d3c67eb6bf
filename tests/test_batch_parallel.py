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
