"""Outputs never land on the app's own files, and what a failed job leaves behind.

From the hostile-user pass of issue 12: `score --report` could replace the activity key or head
file (exit 0, the log unusable after), a folder at the provenance name was found only after the
scoring, an output appeared although its activity event could not be written, a killed XLSX job
left a work file forever, and a refused command created a new empty log where one was deleted.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli_runner import run_cli

CSV = b"id,text\n1,you are an idiot\n2,have a nice day\n3,thanks for the help\n"


def _one_line(result: subprocess.CompletedProcess[str], code: int, *needles: str) -> str:
    assert result.returncode == code, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A user folder with a real activity log (key, head, database) and settings."""
    home = tmp_path / "home"
    first = run_cli("score-text", "hello", ABUSE_DESK_HOME=str(home))
    assert first.returncode == 0, first.stderr
    (home / "config").mkdir(exist_ok=True)
    (home / "config" / "settings.json").write_text('{"schema_version": 1}')
    return home


@pytest.fixture
def src(tmp_path: Path) -> Path:
    path = tmp_path / "in.csv"
    path.write_bytes(CSV)
    return path


def _snapshot(home: Path) -> dict[str, bytes]:
    return {str(p.relative_to(home)): p.read_bytes() for p in home.rglob("*") if p.is_file()}


APP_FILES = ["data/activity.key", "data/activity.head", "config/settings.json", "data/new.csv"]


@pytest.mark.parametrize("name", APP_FILES)
@pytest.mark.parametrize("option", ["-o", "--report"])
def test_no_output_goes_into_the_app_folders(home, src, tmp_path, name, option):
    target = home / name
    kept = _snapshot(home)
    args = ["score", str(src), "-o", str(tmp_path / "out.csv"), "--quiet"]
    if option == "-o":
        args = ["score", str(src), "-o", str(target), "--quiet"]
    else:
        args += ["--report", str(target)]
    result = run_cli(*args, ABUSE_DESK_HOME=str(home))
    _one_line(result, 3, str(target), "own folder")
    after = _snapshot(home)
    for key, data in kept.items():  # the log may have grown by a refused job's nothing
        if not key.startswith("data/activity"):
            assert after[key] == data
    assert after.get("data/activity.key") == kept["data/activity.key"]
    assert run_cli("log", "verify", ABUSE_DESK_HOME=str(home)).returncode == 0


def test_log_export_into_the_app_folders_is_refused(home):
    target = home / "data" / "export.csv"
    result = run_cli("log", "export", str(target), ABUSE_DESK_HOME=str(home))
    _one_line(result, 3, "own folder")
    assert not target.exists()


def test_a_folder_at_the_provenance_name_is_refused_before_scoring(home, src, tmp_path):
    out = tmp_path / "q5.csv"
    Path(f"{out}.provenance.json").mkdir()
    result = run_cli("score", str(src), "-o", str(out), ABUSE_DESK_HOME=str(home))
    line = _one_line(result, 3, str(out), "provenance")
    assert ".partial" not in line
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "home",
        "in.csv",
        "q5.csv.provenance.json",
    ]


def test_no_output_appears_when_its_event_cannot_be_logged(home, src, tmp_path):
    """Another process holds the log's write lock for the whole job: the job fails, one line,
    and neither the output nor its provenance is put in place."""
    db = home / "data" / "activity.sqlite3"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sqlite3, sys, time; c = sqlite3.connect(sys.argv[1], isolation_level=None);"
            "c.execute('BEGIN EXCLUSIVE'); print('locked', flush=True); time.sleep(120)",
            str(db),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        out = tmp_path / "lk.csv"
        result = run_cli("score", str(src), "-o", str(out), "--quiet", ABUSE_DESK_HOME=str(home))
        assert result.returncode == 3, result.stderr
        assert "Traceback" not in result.stderr and len(result.stderr.splitlines()) == 1
        assert not out.exists() and not Path(f"{out}.provenance.json").exists()
    finally:
        holder.kill()
        holder.wait()


def test_a_killed_xlsx_jobs_work_file_is_removed_by_the_next_job(home, src, tmp_path):
    out = tmp_path / "x.xlsx"
    stale = tmp_path / ".x.xlsx.0123456789abcdef.partial"  # as atomic.py names its work files
    stale.write_bytes(b"")
    unrelated = tmp_path / ".x.xlsx.notmine.partial"
    unrelated.write_bytes(b"keep")
    result = run_cli("score", str(src), "-o", str(out), "--quiet", ABUSE_DESK_HOME=str(home))
    assert result.returncode == 0, result.stderr
    assert out.exists() and not stale.exists()
    assert unrelated.read_bytes() == b"keep"


def test_a_deleted_log_is_not_replaced_by_an_empty_one(home):
    db = home / "data" / "activity.sqlite3"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    result = run_cli("score-text", "hello", ABUSE_DESK_HOME=str(home))
    _one_line(result, 3, "activity.head", "missing")
    assert not db.exists()
    verify = run_cli("log", "verify", ABUSE_DESK_HOME=str(home))
    assert verify.returncode == 1 and "missing" in verify.stdout


def test_progress_is_not_written_to_a_non_terminal(home, src, tmp_path):
    """stderr that is not a terminal gets no progress text to glue an error onto."""
    big = tmp_path / "big.csv"
    big.write_text("id,text\n" + "".join(f"{n},text number {n}\n" for n in range(20_000)))
    result = run_cli("score", str(big), "-o", str(tmp_path / "o.csv"), ABUSE_DESK_HOME=str(home))
    assert result.returncode == 0, result.stderr
    assert "\r" not in result.stderr and "rows/s" not in result.stderr
