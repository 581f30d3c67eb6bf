"""``python -m app log verify|export``, end to end in a subprocess, on a log in a tmp home."""

from __future__ import annotations

import csv
import sqlite3
import subprocess
from pathlib import Path

import pytest

from app.core.activity.log import ActivityLog
from tests.cli_runner import run_cli


def run_log(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_cli("log", *args, timeout=60, ABUSE_DESK_HOME=str(home))


@pytest.fixture
def home(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    log = ActivityLog.open_default(home / "data")
    log.record("app_started")
    log.record("score_text", text="you idiot", score=0.9, threshold=0.45)
    log.record("threshold_applied", threshold=0.6, detail="raised")
    log.close()
    return home


def _db(home: Path) -> Path:
    return home / "data" / "activity.sqlite3"


def _sql(db: Path, statement: str) -> None:
    with sqlite3.connect(db) as conn:
        conn.execute(statement)
    conn.close()


def test_verify_intact_log(home):
    result = run_log(home, "verify")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "ok: 3 events, chain intact\n"


def test_verify_names_the_edited_event(home):
    _sql(_db(home), "UPDATE events SET detail = 'lowered' WHERE id = 3")
    result = run_log(home, "verify")
    assert result.returncode == 1, result.stderr
    assert result.stdout.startswith("broken: event 3:") and "edited" in result.stdout
    assert "Traceback" not in result.stderr


def test_verify_notices_a_deleted_middle_and_last_event(home, tmp_path):
    copy = tmp_path / "copy.sqlite3"
    copy.write_bytes(_db(home).read_bytes())
    _sql(_db(home), "DELETE FROM events WHERE id = 2")
    result = run_log(home, "verify")
    assert result.returncode == 1 and result.stdout.startswith("broken: event 3:")
    _sql(copy, "DELETE FROM events WHERE id = 3")
    result = run_log(home, "verify", "--db", str(copy))
    assert result.returncode == 1 and "newest events were removed" in result.stdout


def test_verify_missing_or_unreadable_database_is_an_input_error(tmp_path):
    home = tmp_path / "empty-home"
    result = run_log(home, "verify")
    assert result.returncode == 3
    assert "no activity log at" in result.stderr and result.stderr.count("\n") == 1
    assert not home.exists()  # verifying never creates a log
    junk = tmp_path / "junk.sqlite3"
    junk.write_bytes(b"not a database at all" * 100)
    result = run_log(home, "verify", "--db", str(junk))
    assert result.returncode == 3 and "cannot read the activity log" in result.stderr
    other = tmp_path / "other.sqlite3"
    _sql(other, "CREATE TABLE t (x)")
    result = run_log(home, "verify", "--db", str(other))
    assert result.returncode == 3 and "not an activity log" in result.stderr
    with sqlite3.connect(other) as conn:  # the wrong database was left alone
        assert [r[0] for r in conn.execute("SELECT name FROM sqlite_master")] == ["t"]
    conn.close()


def test_export_writes_every_event_oldest_first(home, tmp_path):
    out = tmp_path / "events.csv"
    result = run_log(home, "export", str(out))
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"wrote 3 events to {out}\n"
    with open(out, encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["id"] for r in rows] == ["1", "2", "3"]
    assert [r["action"] for r in rows] == ["app_started", "score_text", "threshold_applied"]
    assert rows[1]["text"] == "" and len(rows[1]["text_hmac"]) == 64  # raw text not stored


def test_log_needs_an_action(home):
    result = run_log(home)
    assert result.returncode == 2 and "ACTION" in result.stderr
