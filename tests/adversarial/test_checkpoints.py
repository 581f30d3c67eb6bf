"""Checkpoints and resume under damage and attack: a checkpoint is a claim, never trusted blindly.

Every case interrupts a real CSV job (in-process, keeping its work files exactly as a crash
would), damages or replaces something, then runs ``python -m app score --resume`` and asserts
the exact outcome: resumed to the same bytes as an uninterrupted run, or started over with one
note naming the output, or refused in one line naming the output -- never a resume into
missing, duplicated or cut rows, never a write through a link.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from app.core.batch import checkpoint_schema
from app.core.batch import run as batch
from app.core.batch.checkpoint import rejected_path, work_paths
from app.core.batch.run import BatchOptions, run_batch
from app.core.common.errors import InputError
from app.core.engine.scoring import Scorer
from tests.cli_runner import run_cli
from tests.conftest import REPO

CHUNK = 40
ROWS = 600  # 15 chunks
STOP_AFTER = 5
COUNTS = checkpoint_schema.COUNTS
START_OVER = "does not match its work file"
POSIX = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals, FIFOs and /proc")


class Interrupt(Exception):
    pass


def _write_input(path: Path, n: int = ROWS) -> Path:
    """Good rows, rejected rows (wrong field count), blank lines and blank texts, mixed."""
    lines = ["id,comment,channel"]
    for i in range(n):
        kind = i % 7
        if kind == 2:
            lines.append(f"{i},too,many,fields,here")
        elif kind == 4:
            lines.append("")
        elif kind == 5:
            lines.append(f"{i},,chat")
        else:
            lines.append(f"{i},message {i} {'you stupid moron' if i % 2 else 'nice day'},chat")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def baseline(tiny_training, tmp_path_factory) -> dict[str, Any]:
    """The uninterrupted job: its input, output bytes and counts."""
    folder = tmp_path_factory.mktemp("baseline")
    src = _write_input(folder / "in.csv")
    home = folder / "home"
    result = _cli(
        tiny_training,
        src,
        folder / "scored.csv",
        home,
        "--report",
        str(folder / "r.json"),
        resume=False,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads((folder / "r.json").read_text())
    return {
        "src": src,
        "bytes": (folder / "scored.csv").read_bytes(),
        "counts": {k: report[k] for k in (*COUNTS, "rejected")},
    }


@pytest.fixture
def job(tiny_training, baseline, tmp_path, monkeypatch) -> dict[str, Any]:
    """An interrupted job: work files and a checkpoint after STOP_AFTER chunks."""
    home = tmp_path / "home"
    monkeypatch.setenv("ABUSE_DESK_HOME", str(home))
    out = tmp_path / "scored.csv"
    _interrupt(
        Scorer.load(tiny_training.bundle_path),
        BatchOptions(baseline["src"], out, 0.45, chunk_rows=CHUNK),
    )
    partial, checkpoint = work_paths(out)
    assert partial.exists() and checkpoint.exists() and not out.exists()
    return {
        "out": out,
        "home": home,
        "partial": partial,
        "checkpoint": checkpoint,
        "rejected": rejected_path(out),
        "tmp": tmp_path,
    }


def _interrupt(scorer: Scorer, options: BatchOptions, after: int = STOP_AFTER, **kw: Any) -> None:
    calls = {"n": 0}

    def progress(_: object) -> None:
        calls["n"] += 1
        if calls["n"] == after:
            raise Interrupt

    with pytest.raises(Interrupt):
        run_batch(scorer, options, progress=progress, **kw)


def _cli(tiny, src: Path, out: Path, home: Path, *extra: str, resume: bool = True):
    args = ["--model", str(tiny.bundle_path), "score", str(src), "-o", str(out)]
    args += ["--threshold", "0.45", "--quiet", *(["--resume"] if resume else []), *extra]
    return run_cli(*args, allow_unsigned=True, ABUSE_DESK_HOME=str(home))


def _resume(tiny, baseline, job, *extra: str) -> subprocess.CompletedProcess[str]:
    report = str(job["out"].parent / "r.json")
    return _cli(tiny, baseline["src"], job["out"], job["home"], "--report", report, *extra)


def _assert_one_line(result: subprocess.CompletedProcess[str], *needles: str) -> str:
    assert "Traceback" not in result.stderr
    assert result.stderr.count("\n") == 1 and result.stderr.endswith("\n"), result.stderr
    for needle in needles:
        assert needle in result.stderr, result.stderr
    return result.stderr


def _assert_same_as_baseline(result, baseline, job) -> None:
    assert result.returncode == 0, result.stderr
    assert job["out"].read_bytes() == baseline["bytes"]
    report = json.loads((job["out"].parent / "r.json").read_text())
    assert {k: report[k] for k in (*COUNTS, "rejected")} == baseline["counts"]
    assert not any(p.exists() for p in (job["partial"], job["checkpoint"], job["rejected"]))


def _assert_started_over(result, baseline, job) -> None:
    _assert_one_line(result, f"checkpoint for {job['out']} {START_OVER}", "starting over")
    _assert_same_as_baseline(result, baseline, job)


def _key(job) -> bytes:
    return checkpoint_schema.mac_key((job["home"] / "data" / "activity.key").read_bytes())


def _edit(job, change: Callable[[dict[str, Any]], None], *, sign: bool) -> None:
    data = json.loads(job["checkpoint"].read_text())
    change(data)
    if sign:  # as if the attacker had the key: the fields are still checked one by one
        data["mac"] = checkpoint_schema.sign(data, _key(job))
    job["checkpoint"].write_text(json.dumps(data))


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(data: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        where = data
        for name in parents:
            where = where[name]
        if value is _DELETE:
            del where[last]
        else:
            where[last] = value(where[last]) if callable(value) else value

    return change


_DELETE = object()

# --- a checkpoint edited without the key: the MAC fails --------------------------------------

UNSIGNED_EDITS = {
    "rows_read_plus_one": _set("ledger.rows_read", lambda v: v + 1),
    "rows_scored_minus_one": _set("ledger.rows_scored", lambda v: v - 1),
    "rows_flagged_zeroed": _set("ledger.rows_flagged", 0),
    "chunks_done_plus_one": _set("chunks_done", lambda v: v + 1),
    "partial_bytes_minus_100": _set("partial_bytes", lambda v: v - 100),
    "threshold_in_job": _set("job.threshold", 0.9),
    "started_utc_moved": _set("ledger.started_utc", "2020-01-01T00:00:00+00:00"),
    "mac_zeroed": _set("mac", "0" * 64),
}


@pytest.mark.parametrize("edit", list(UNSIGNED_EDITS), ids=list(UNSIGNED_EDITS))
def test_an_edited_checkpoint_fails_its_mac_and_starts_over(tiny_training, baseline, job, edit):
    _edit(job, UNSIGNED_EDITS[edit], sign=False)
    result = _resume(tiny_training, baseline, job)
    _assert_started_over(result, baseline, job)
    assert "MAC does not verify" in result.stderr


# --- a checkpoint edited and re-signed: every field is still checked -------------------------

SIGNED_EDITS = {
    "count_is_bool": _set("ledger.rows_blank", True),
    "count_is_negative": _set("ledger.rows_truncated", -1),
    "count_is_float": _set("ledger.rows_scored", lambda v: v + 0.0),
    "count_is_text": _set("ledger.rows_written", "120"),
    "ledger_unbalanced": _set("ledger.rows_read", lambda v: v - 1),
    "written_exceeds_scored_and_blank": _set("ledger.rows_written", lambda v: v + 50),
    "flagged_exceeds_scored": _set("ledger.rows_flagged", 10**6),
    "disagreeing_without_challenger": _set("ledger.rows_disagreeing", 1),
    "rows_do_not_fit_chunks": _set("chunks_done", lambda v: v + 3),
    "chunk_rows_zero": _set("chunk_rows", 0),
    "seconds_negative": _set("seconds_placeholder", None),  # replaced below
    "started_utc_garbage": _set("ledger.started_utc", "yesterday"),
    "missing_field": _set("ledger.rows_flagged", _DELETE),
    "extra_field": _set("ledger.rows_hidden", 7),
    "hash_not_hex": _set("partial_sha256", "z" * 64),
    "threshold_out_of_range": _set("job.threshold", 1.5),
    "challenger_malformed": _set("job.challenger", ["x"]),
    "format_unknown": _set("format", 3),
    "partial_bytes_beyond_file": _set("partial_bytes", lambda v: v + 1_000_000),
    "partial_hash_of_other_bytes": _set("partial_sha256", "ab" * 32),
    "rejected_count_without_list": _set("rejected_bytes", 0),
}
SIGNED_EDITS["seconds_negative"] = _set("ledger.seconds", -5.0)


@pytest.mark.parametrize("edit", list(SIGNED_EDITS), ids=list(SIGNED_EDITS))
def test_a_resigned_checkpoint_is_still_checked_field_by_field(tiny_training, baseline, job, edit):
    _edit(job, SIGNED_EDITS[edit], sign=True)
    result = _resume(tiny_training, baseline, job)
    _assert_started_over(result, baseline, job)
    assert "MAC" not in result.stderr  # refused by the field check, not the MAC


@pytest.mark.parametrize(
    "raw",
    [
        b'{"format": NaN}',
        b"[1, 2, 3]",
        b"\xff\xfe not text",
        b'{"format": 2, "format": 2}',
        b"{" * 100_000,
    ],
    ids=["nan", "not_an_object", "not_utf8", "repeated_key", "deep_nesting"],
)
def test_a_checkpoint_that_is_not_strict_json_starts_over(tiny_training, baseline, job, raw):
    job["checkpoint"].write_bytes(raw)
    _assert_started_over(_resume(tiny_training, baseline, job), baseline, job)


def test_a_checkpoint_from_another_workstation_starts_over(tiny_training, baseline, job):
    job["home"] = job["tmp"] / "other-home"  # another key: same files, other workstation
    result = _resume(tiny_training, baseline, job)
    _assert_started_over(result, baseline, job)


def test_a_huge_checkpoint_is_not_read_whole(tiny_training, baseline, job):
    job["checkpoint"].write_bytes(b" " * (17 << 20))
    _assert_started_over(_resume(tiny_training, baseline, job), baseline, job)


# --- the work files do not match the checkpoint ----------------------------------------------


def _cut(path: Path, by: int = 7) -> None:
    with open(path, "r+b") as fh:
        fh.truncate(path.stat().st_size - by)


def _flip(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))


WORK_DAMAGE = {
    "work_truncated": lambda job: _cut(job["partial"]),
    "work_byte_edited": lambda job: _flip(job["partial"]),
    "work_deleted": lambda job: job["partial"].unlink(),
    "work_rows_duplicated": lambda job: job["partial"].write_bytes(
        job["partial"].read_bytes()[:-200] + job["partial"].read_bytes()[-400:]
    ),
    "rejected_truncated": lambda job: _cut(job["rejected"]),
    "rejected_byte_edited": lambda job: _flip(job["rejected"]),
    "rejected_deleted": lambda job: job["rejected"].unlink(),
}


@pytest.mark.parametrize("damage", list(WORK_DAMAGE), ids=list(WORK_DAMAGE))
def test_damaged_work_files_start_over(tiny_training, baseline, job, damage):
    WORK_DAMAGE[damage](job)
    _assert_started_over(_resume(tiny_training, baseline, job), baseline, job)


@pytest.mark.parametrize("which", ["partial", "rejected"])
def test_bytes_after_the_checkpoint_are_cut_and_the_job_resumes(
    tiny_training, baseline, job, which
):
    with open(job[which], "ab") as fh:  # a chunk half-written when the process died
        fh.write(b'"9999","half a row\n{"line": 1')
    result = _resume(tiny_training, baseline, job)
    _assert_one_line(result, "resuming scored.csv after")
    _assert_same_as_baseline(result, baseline, job)


def test_an_older_checkpoint_of_the_same_job_resumes_from_its_own_point(
    tiny_training, baseline, job
):
    older = job["checkpoint"].read_bytes()
    partial, rejected = job["partial"].read_bytes(), job["rejected"].read_bytes()
    # Run two more chunks, then put the older checkpoint back: its bytes are a prefix.
    _interrupt(
        Scorer.load(tiny_training.bundle_path),
        BatchOptions(baseline["src"], job["out"], 0.45, chunk_rows=CHUNK),
        after=2,
        resume=True,
    )
    assert job["partial"].read_bytes().startswith(partial)
    assert job["rejected"].read_bytes().startswith(rejected)
    job["checkpoint"].write_bytes(older)
    result = _resume(tiny_training, baseline, job)
    _assert_one_line(result, "resuming scored.csv after")
    _assert_same_as_baseline(result, baseline, job)


# --- links and odd files at the work files' names --------------------------------------------


@pytest.fixture
def victim(tmp_path) -> Path:
    path = tmp_path / "victim.csv"
    path.write_bytes(b"precious analyst data\n" * 1000)
    return path


@POSIX
@pytest.mark.parametrize("which", ["partial", "rejected", "checkpoint"])
def test_a_work_file_swapped_for_a_link_is_never_followed(
    tiny_training, baseline, job, victim, which
):
    before = victim.read_bytes()
    job[which].unlink()
    job[which].symlink_to(victim)
    result = _resume(tiny_training, baseline, job)
    _assert_started_over(result, baseline, job)
    assert victim.read_bytes() == before
    assert not job[which].is_symlink()


@POSIX
@pytest.mark.parametrize("which", ["partial", "checkpoint"])
def test_a_fifo_at_a_work_file_name_never_hangs(tiny_training, baseline, job, which):
    job[which].unlink()
    os.mkfifo(job[which])
    _assert_started_over(_resume(tiny_training, baseline, job), baseline, job)


@pytest.mark.parametrize("which", ["partial", "rejected", "checkpoint"])
def test_a_folder_at_a_work_file_name_is_refused_in_one_line(tiny_training, baseline, job, which):
    job[which].unlink()
    job[which].mkdir()
    (job[which] / "keep.txt").write_text("mine")
    result = _resume(tiny_training, baseline, job)
    assert result.returncode == 3
    _assert_one_line(result, f"cannot write {job['out']}", job[which].name)
    assert (job[which] / "keep.txt").read_text() == "mine" and not job["out"].exists()


@POSIX
def test_a_fresh_job_replaces_a_planted_link_and_never_writes_its_target(
    tiny_training, baseline, tmp_path, victim
):
    out = tmp_path / "fresh.csv"
    partial, checkpoint = work_paths(out)
    before = victim.read_bytes()
    for link in (partial, checkpoint, rejected_path(out)):
        link.symlink_to(victim)
    result = _cli(tiny_training, baseline["src"], out, tmp_path / "home", resume=False)
    assert result.returncode == 0 and result.stderr == "", result.stderr
    assert out.read_bytes() == baseline["bytes"] and victim.read_bytes() == before
    assert not any(p.is_symlink() for p in (partial, checkpoint, rejected_path(out)))


# --- the job changed, or there is nothing to resume -----------------------------------------


def test_resume_without_a_checkpoint_says_it_starts_from_the_beginning(
    tiny_training, baseline, tmp_path
):
    out = tmp_path / "scored.csv"
    result = _cli(tiny_training, baseline["src"], out, tmp_path / "home")
    assert result.returncode == 0
    _assert_one_line(result, f"no checkpoint for {out}; starting from the beginning")
    assert out.read_bytes() == baseline["bytes"]


def test_a_swapped_input_of_the_same_size_is_refused(
    tiny_training, baseline, tmp_path, monkeypatch
):
    monkeypatch.setenv("ABUSE_DESK_HOME", str(tmp_path / "home"))
    src, out = tmp_path / "in.csv", tmp_path / "scored.csv"
    data = bytearray(baseline["src"].read_bytes())
    src.write_bytes(bytes(data))
    options = BatchOptions(src, out, 0.45, chunk_rows=CHUNK)
    _interrupt(Scorer.load(tiny_training.bundle_path), options)
    data[-5] = ord("X") if data[-5] != ord("X") else ord("Y")  # same size, other content
    src.write_bytes(bytes(data))
    result = _cli(tiny_training, src, out, tmp_path / "home")
    assert result.returncode == 3
    _assert_one_line(result, f"cannot resume {out}", "input file content changed")
    assert all(p.exists() for p in work_paths(out)) and not out.exists()


# --- the ledger must balance before the output is put in place ------------------------------


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_an_unbalanced_ledger_never_renames_the_output_into_place(
    tiny_training, baseline, tmp_path, monkeypatch, fmt
):
    monkeypatch.setenv("ABUSE_DESK_HOME", str(tmp_path / "home"))
    real = batch.score_rows

    def miscounting(*args: Any, **kw: Any) -> Any:  # a counting bug: one row lost per chunk
        rows = real(*args, **kw)
        args[5].rows_scored -= 1
        return rows

    monkeypatch.setattr(batch, "score_rows", miscounting)
    out = tmp_path / f"scored.{fmt}"
    options = BatchOptions(baseline["src"], out, 0.45, chunk_rows=CHUNK, output_format=fmt)
    with pytest.raises(InputError, match=f"{out}: not written, its counts do not add up"):
        run_batch(Scorer.load(tiny_training.bundle_path), options)
    assert not out.exists()
    assert not [p for p in tmp_path.iterdir() if p.name != "home"]  # no work file left either


# --- workers ---------------------------------------------------------------------------------


@pytest.mark.parametrize("workers", ["0", "-3"])
def test_workers_below_one_are_a_usage_error(tiny_training, baseline, tmp_path, workers):
    out = tmp_path / "scored.csv"
    result = _cli(
        tiny_training, baseline["src"], out, tmp_path / "home", "--workers", workers, resume=False
    )
    assert result.returncode == 2
    _assert_one_line(result, f"argument --workers: must be 1 or more, got {workers}")
    assert not out.exists()


def test_workers_above_the_cores_are_capped_with_a_note(tiny_training, baseline, tmp_path):
    out = tmp_path / "scored.csv"
    result = _cli(
        tiny_training, baseline["src"], out, tmp_path / "home", "--workers", "999", resume=False
    )
    cores = os.cpu_count() or 1
    assert result.returncode == 0
    _assert_one_line(result, f"--workers 999: this computer has {cores} cores; using {cores}")
    assert out.read_bytes() == baseline["bytes"]


def _big_input(path: Path) -> Path:
    """Over batch.PARALLEL_MIN_BYTES, so the CLI really starts its worker processes."""
    line = "{i},this message is long enough to fill the file quickly you idiot {i},chat\n"
    with open(path, "w", encoding="utf-8") as fh:
        fh.write("id,comment,channel\n")
        i = 0
        while fh.tell() < batch.PARALLEL_MIN_BYTES + (2 << 20):
            fh.write("".join(line.format(i=i + k) for k in range(1000)))
            i += 1000
    return path


def _children(pid: int) -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.add(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _start_parallel_job(
    tiny, src: Path, out: Path, home: Path
) -> tuple[subprocess.Popen[str], set[int]]:
    (home / "config").mkdir(parents=True, exist_ok=True)
    (home / "config" / "settings.json").write_text(
        json.dumps({"schema_version": 1, "allow_unsigned_models": True})
    )
    args = ["--model", str(tiny.bundle_path), "score", str(src), "-o", str(out)]
    proc = subprocess.Popen(
        [sys.executable, "-m", "app", *args, "--threshold", "0.45", "--quiet", "--workers", "2"],
        cwd=REPO,
        env=dict(os.environ, PYTHONPATH=str(REPO), ABUSE_DESK_HOME=str(home)),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        stdin=subprocess.DEVNULL,
        start_new_session=True,  # its own process group, as a terminal gives a command
    )
    checkpoint = work_paths(out)[1]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # the workers are scoring once a checkpoint moved on
        children = _children(proc.pid)
        if len(children) >= 2 and checkpoint.exists():
            if '"chunks_done": 0,' not in checkpoint.read_text():
                return proc, children
        time.sleep(0.05)
    proc.kill()
    raise AssertionError("the parallel job never started its workers")


@pytest.fixture(scope="module")
def big_input(tmp_path_factory) -> Path:
    return _big_input(tmp_path_factory.mktemp("big") / "big.csv")


@POSIX
@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="needs two cores for two workers")
def test_no_worker_survives_a_kill_9_of_the_parent(tiny_training, big_input, tmp_path, monkeypatch):
    monkeypatch.setenv("ABUSE_DESK_HOME", str(tmp_path / "home"))
    proc, children = _start_parallel_job(
        tiny_training, big_input, tmp_path / "out.csv", tmp_path / "home"
    )
    assert len(children) >= 2
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    proc.stdout.close()  # type: ignore[union-attr]
    proc.stderr.close()  # type: ignore[union-attr]
    deadline = time.monotonic() + 8
    while time.monotonic() < deadline and any(_alive(c) for c in children):
        time.sleep(0.1)
    survivors = [c for c in children if _alive(c)]
    for pid in survivors:  # do not leave them running for the rest of the suite
        os.kill(pid, signal.SIGKILL)
    assert survivors == []
    out = tmp_path / "out.csv"
    assert not out.exists()
    # ...and the killed job resumes to exactly the bytes of an uninterrupted one.
    result = _cli(tiny_training, big_input, out, tmp_path / "home", "--workers", "2")
    _assert_one_line(result, "resuming out.csv after")
    expected = tmp_path / "expected" / "out.csv"
    expected.parent.mkdir()
    run_batch(Scorer.load(tiny_training.bundle_path), BatchOptions(big_input, expected, 0.45))
    assert out.read_bytes() == expected.read_bytes()


# --- SIGTERM and SIGHUP are an interruption, like Ctrl+C -------------------------------------


@POSIX
@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="needs two cores for two workers")
@pytest.mark.parametrize(
    ("signum", "group"),
    [(signal.SIGTERM, False), (signal.SIGHUP, False), (signal.SIGINT, True)],
    ids=["SIGTERM", "SIGHUP", "Ctrl+C_to_the_process_group"],
)
def test_a_terminated_job_keeps_its_work_and_says_so_in_one_line(
    tiny_training, big_input, tmp_path, signum, group
):
    out = tmp_path / "out.csv"
    proc, children = _start_parallel_job(tiny_training, big_input, out, tmp_path / "home")
    if group:  # Ctrl+C reaches the workers too: only the main process may speak
        os.killpg(proc.pid, signum)
    else:
        os.kill(proc.pid, signum)
    _stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 128 + signum
    assert "Traceback" not in stderr and stderr.count("\n") == 1, stderr
    assert "interrupted; no output was written; score again with --resume" in stderr
    assert not out.exists() and all(p.exists() for p in work_paths(out))
    deadline = time.monotonic() + 8
    while time.monotonic() < deadline and any(_alive(c) for c in children):
        time.sleep(0.1)
    assert not [c for c in children if _alive(c)]


# --- atomic writes: the temporary file is never reopened through a link -----------------------


@POSIX
def test_an_atomic_write_never_writes_through_a_link_swapped_for_its_temp_file(
    tmp_path, victim, monkeypatch
):
    from app.core.common import atomic
    from app.core.common.portable_fs import NotARegularFile

    real = atomic._create_temp

    def swapped(final: Path) -> Path:  # another process replaces our new file with a link
        tmp = real(final)
        tmp.unlink()
        tmp.symlink_to(victim)
        return tmp

    monkeypatch.setattr(atomic, "_create_temp", swapped)
    before = victim.read_bytes()
    with pytest.raises(NotARegularFile):
        atomic.atomic_write_text(tmp_path / "report.json", "{}")
    assert victim.read_bytes() == before and not (tmp_path / "report.json").exists()


# --- failures on the work files name the output; both branches of the no-follow open --------


def test_a_full_disk_names_the_output_not_the_work_file(
    tiny_training, baseline, tmp_path, monkeypatch
):
    from app.core.batch import checkpoint as batch_checkpoint

    monkeypatch.setenv("ABUSE_DESK_HOME", str(tmp_path / "home"))

    def full(self: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(batch_checkpoint._HashedFile, "sync", full)
    out = tmp_path / "scored.csv"
    with pytest.raises(InputError) as caught:
        run_batch(Scorer.load(tiny_training.bundle_path), BatchOptions(baseline["src"], out, 0.45))
    assert str(caught.value) == f"cannot write {out}: No space left on device"
    assert not out.exists()


@POSIX
@pytest.mark.parametrize("branch", ["posix", "fallback"])
def test_resume_never_follows_a_linked_work_file_on_either_branch(
    tiny_training, baseline, job, victim, monkeypatch, branch
):
    from app.core.common import portable_fs

    if branch == "fallback":  # as on Windows: no O_NOFOLLOW, lstat before and identity after
        monkeypatch.setattr(portable_fs, "_NOFOLLOW_NAME", "O_NOFOLLOW_MISSING")
    before = victim.read_bytes()
    job["partial"].unlink()
    job["partial"].symlink_to(victim)
    notes: list[str] = []
    options = BatchOptions(baseline["src"], job["out"], 0.45, chunk_rows=CHUNK)
    run_batch(Scorer.load(tiny_training.bundle_path), options, resume=True, notice=notes.append)
    assert len(notes) == 1 and notes[0].startswith(f"checkpoint for {job['out']} {START_OVER}")
    assert victim.read_bytes() == before and job["out"].read_bytes() == baseline["bytes"]


def test_resume_of_an_xlsx_job_says_it_starts_over(tiny_training, baseline, tmp_path):
    out = tmp_path / "scored.xlsx"
    result = _cli(tiny_training, baseline["src"], out, tmp_path / "home")
    assert result.returncode == 0 and out.exists()
    _assert_one_line(result, "scored.xlsx: XLSX jobs are not checkpointed; starting over")


@pytest.mark.parametrize(
    "extra",
    [
        b'{"line": 3, "reason": "planted", "excerpt": "x"}\n',  # one row more than counted
        b'{"line": "3", "reason": 1}\n',  # a row of the wrong shape
        b'{"line": 3, "reason": "no newline", "excerpt": "x"}',  # cut mid-line
    ],
    ids=["row_count_differs", "malformed_row", "cut_mid_line"],
)
def test_a_rejected_list_rewritten_with_its_hash_is_still_checked(
    tiny_training, baseline, job, extra
):
    with open(job["rejected"], "ab") as fh:
        fh.write(extra)
    data = job["rejected"].read_bytes()

    def rehash(body: dict[str, Any]) -> None:
        body["rejected_bytes"] = len(data)
        body["rejected_sha256"] = hashlib.sha256(data).hexdigest()

    _edit(job, rehash, sign=True)
    _assert_started_over(_resume(tiny_training, baseline, job), baseline, job)
