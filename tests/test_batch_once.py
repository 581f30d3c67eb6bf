"""One read of the input per job, one label rule, and no checkpoint machinery where nobody
resumes: `run_batch(..., sniffed=..., checkpoint=False)` as the desktop app's jobs use it."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from app.core.batch import checkpoint as batch_checkpoint
from app.core.batch import source as batch_source
from app.core.batch.checkpoint import rejected_path, work_paths
from app.core.batch.run import BatchOptions, resolve_input, run_batch
from app.core.common.errors import InputError, JobCancelled
from app.core.csvio import csv_input
from app.core.engine.scoring import Scorer, flagged, label_for, labels_for
from app.core.results.cache import score_file

TEXTS = ["you stupid moron", "lovely sunny garden", "what an idiot", "", "thanks =1+1"]


@pytest.fixture(scope="module")
def scorer(tiny_training) -> Scorer:
    return Scorer.load(tiny_training.bundle_path)


def _input(path: Path, n: int = 500) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["id", "text", "label"])
        for i in range(n):
            writer.writerow([i, TEXTS[i % len(TEXTS)] + (f" #{i}" if i % 5 != 3 else ""), i % 2])
        fh.write("x,too,many,fields\n")  # one rejected row, so the ledger is not trivial
    return path


def _counting(monkeypatch, module, name: str, calls: list[str]) -> None:
    real = getattr(module, name)

    def counted(*args, **kw):
        calls.append(name)
        return real(*args, **kw)

    monkeypatch.setattr(module, name, counted)


def _no_key(monkeypatch) -> None:
    def refuse() -> bytes:
        raise AssertionError("a job without checkpoints asked for the workstation key")

    monkeypatch.setattr(batch_checkpoint, "workstation_key", refuse)


def test_a_desktop_job_sniffs_once_and_resolves_its_text_column_once(scorer, tmp_path, monkeypatch):
    calls: list[str] = []
    for module in (csv_input, batch_source):  # the function and every name it is imported as
        _counting(monkeypatch, module, "sniff", calls)
    _counting(monkeypatch, batch_source, "choose_text_column", calls)
    _no_key(monkeypatch)
    src = _input(tmp_path / "in.csv")
    cache = tmp_path / "jobs" / "001-in.scored.csv"
    cache.parent.mkdir()
    result = score_file(scorer, BatchOptions(src, cache, 0.45, text_column="text"), "label")
    assert calls == ["sniff", "choose_text_column"]
    assert result.report.rows_read == 501 and result.report.balanced
    assert len(result.table) == 500
    # nothing but the cache and its provenance: no work file, checkpoint or rejected list
    assert sorted(p.name for p in cache.parent.iterdir()) == [
        cache.name,
        f"{cache.name}.provenance.json",
    ]


@pytest.mark.parametrize("workers", [1, 2])
def test_a_job_without_checkpoints_writes_the_same_bytes(scorer, tmp_path, monkeypatch, workers):
    from app.core.batch import run as batch_run

    monkeypatch.setattr(batch_run, "PARALLEL_MIN_BYTES", 0)  # workers even for a small file
    src = _input(tmp_path / "in.csv", 3_000)
    with_checkpoints = tmp_path / "a.csv"
    run_batch(scorer, BatchOptions(src, with_checkpoints, 0.45, chunk_rows=400))
    _no_key(monkeypatch)
    without = tmp_path / "b.csv"
    options = BatchOptions(src, without, 0.45, chunk_rows=400, workers=workers)
    report = run_batch(scorer, options, checkpoint=False, sniffed=resolve_input(options))
    assert without.read_bytes() == with_checkpoints.read_bytes()
    provenance = json.loads(Path(f"{without}.provenance.json").read_text())
    assert provenance["rows_read"] == report.rows_read == 3_001
    assert not any(p.exists() for p in (*work_paths(without), rejected_path(without)))


def test_a_cancelled_job_without_checkpoints_leaves_nothing(scorer, tmp_path, monkeypatch):
    _no_key(monkeypatch)
    src = _input(tmp_path / "in.csv", 3_000)
    out = tmp_path / "out" / "b.csv"
    out.parent.mkdir()
    seen: list[object] = []
    with pytest.raises(JobCancelled):
        run_batch(
            scorer,
            BatchOptions(src, out, 0.45, chunk_rows=400),
            progress=seen.append,
            cancelled=lambda: len(seen) >= 2,
            checkpoint=False,
        )
    assert list(out.parent.iterdir()) == []


def test_resume_needs_checkpoints(scorer, tmp_path):
    src = _input(tmp_path / "in.csv", 10)
    with pytest.raises(ValueError, match="resume"):
        run_batch(
            scorer, BatchOptions(src, tmp_path / "o.csv", 0.45), resume=True, checkpoint=False
        )


def test_an_input_read_before_it_changed_is_refused(scorer, tmp_path):
    src = _input(tmp_path / "in.csv", 10)
    options = BatchOptions(src, tmp_path / "o.csv", 0.45)
    early = resolve_input(options)
    with open(src, "a", encoding="utf-8") as fh:
        fh.write("99,one more row,1\n")
    with pytest.raises(InputError, match="changed since it was read"):
        run_batch(scorer, options, sniffed=early, checkpoint=False)
    assert not (tmp_path / "o.csv").exists()


def test_every_label_and_count_follows_the_one_rule(scorer, tmp_path):
    """The output's labels, the flagged count and the label of each score agree with
    `scoring.flagged` at the threshold, boundary included."""
    src = _input(tmp_path / "in.csv", 200)
    out = tmp_path / "o.csv"
    scores = scorer.score_many([t + f" #{i}" for i, t in enumerate(TEXTS) if t])[0]
    threshold = float(np.sort(scores)[1])  # a score that sits exactly on the threshold
    report = run_batch(scorer, BatchOptions(src, out, threshold), checkpoint=False)
    with open(out, encoding="utf-8-sig", newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if r["abuse_score"]]
    values = np.array([float(r["abuse_score"]) for r in rows])
    assert [r["abuse_label"] for r in rows] == labels_for(values, threshold)
    assert [r["abuse_label"] for r in rows] == [label_for(v, threshold) for v in values]
    assert report.rows_flagged == int(flagged(values, threshold).sum())
    assert not flagged(float("nan"), 0.0) and flagged(threshold, threshold)
