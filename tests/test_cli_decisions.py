"""`decisions list|show|report` and `replay` as a script runs them: JSON keys, the PDF, and
one-line errors (unknown id, damaged records file, existing output, bad policy)."""

from __future__ import annotations

import json
from pathlib import Path

from app.core.decisions.store import record_decision
from tests.cli_runner import run_cli
from tests.test_decision_records import FakeCtx, make
from tests.test_decision_replay import crafted_history


def seeded_home(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    record_decision(FakeCtx(), make(), home / "data" / "decisions.sqlite3")
    return home


def test_list_show_and_report(tmp_path: Path):
    home = seeded_home(tmp_path)
    listed = run_cli("decisions", "list", "--json", ABUSE_DESK_HOME=str(home))
    assert listed.returncode == 0, listed.stderr
    (record,) = json.loads(listed.stdout)
    assert record["id"] == 1 and record["policy"] == {"threshold": 0.5, "escalate": None}
    assert record["at_new"]["recall"]["estimate"] == 2 / 3 and record["author"] == "alice"
    shown = run_cli("decisions", "show", "1", "--json", ABUSE_DESK_HOME=str(home))
    assert json.loads(shown.stdout) == record
    text = run_cli("decisions", "list", ABUSE_DESK_HOME=str(home))
    assert text.stdout.startswith("1  2026-12-07T12:00:00+00:00  alice  threshold 0.5")
    pdf = tmp_path / "r.pdf"
    made = run_cli("decisions", "report", "1", "-o", str(pdf), ABUSE_DESK_HOME=str(home))
    assert made.returncode == 0, made.stderr
    assert pdf.read_bytes().startswith(b"%PDF")
    again = run_cli("decisions", "report", "1", "-o", str(pdf), ABUSE_DESK_HOME=str(home))
    assert again.returncode == 3 and "already exists" in again.stderr
    assert len(again.stderr.strip().splitlines()) == 1
    forced = run_cli("decisions", "report", "1", "-o", str(pdf), "--overwrite",
                     ABUSE_DESK_HOME=str(home))  # fmt: skip
    assert forced.returncode == 0


def test_errors_are_one_line(tmp_path: Path):
    home = seeded_home(tmp_path)
    missing = run_cli("decisions", "show", "7", ABUSE_DESK_HOME=str(home))
    assert missing.returncode == 3 and "no decision record 7" in missing.stderr
    db = home / "data" / "decisions.sqlite3"
    db.write_bytes(b"garbage" * 100)
    damaged = run_cli("decisions", "list", ABUSE_DESK_HOME=str(home))
    assert damaged.returncode == 3 and str(db) in damaged.stderr
    assert len(damaged.stderr.strip().splitlines()) == 1 and db.read_bytes() == b"garbage" * 100
    bad = run_cli("replay", "--review", "0.6", "--escalate", "0.4", ABUSE_DESK_HOME=str(home))
    assert bad.returncode == 2 and "--escalate" in bad.stderr


def test_huge_ids_and_an_empty_records_file_are_one_line_exit_3(tmp_path: Path):
    home = seeded_home(tmp_path)
    for big in ("9223372036854775808", "99999999999999999999999"):
        for argv in (("show", big), ("report", big, "-o", str(tmp_path / "x.pdf"))):
            run = run_cli("decisions", *argv, ABUSE_DESK_HOME=str(home))
            assert run.returncode == 3, run.stderr
            assert run.stderr.strip().splitlines() == [
                f"abuse-desk: error: no decision record {big} (see: decisions list)"
            ]
    db = home / "data" / "decisions.sqlite3"
    db.unlink()
    db.write_bytes(b"")
    for argv in (("list",), ("show", "1")):
        run = run_cli("decisions", *argv, ABUSE_DESK_HOME=str(home))
        assert run.returncode == 3 and "empty (0 bytes)" in run.stderr and str(db) in run.stderr
        assert len(run.stderr.strip().splitlines()) == 1 and db.read_bytes() == b""
    fresh = tmp_path / "fresh"
    run = run_cli("decisions", "list", ABUSE_DESK_HOME=str(fresh))
    assert run.returncode == 0 and "no decision records yet" in run.stdout
    assert not (fresh / "data" / "decisions.sqlite3").exists()


def test_replay_json_on_a_crafted_history(tmp_path: Path):
    home = tmp_path / "home"
    crafted_history(home / "data" / "jobs" / "history")
    run = run_cli("replay", "--review", "0.4", "--escalate", "0.9", "--json", "--rows", "1",
                  ABUSE_DESK_HOME=str(home))  # fmt: skip
    assert run.returncode == 0, run.stderr
    batches = json.loads(run.stdout)["batches"]
    assert [b["file"] for b in batches] == ["d.csv", "c.csv", "b.csv", "a.csv"]
    a = batches[-1]
    assert (a["newly_flagged"], a["no_longer_flagged"], a["band_changes"]) == (1, 0, 1)
    assert len(a["changed"]) == 1 and batches[1]["error"] == "cache gone — rescore"
    text = run_cli("replay", "--threshold", "0.4", ABUSE_DESK_HOME=str(home))
    assert "newly flagged 1" in text.stdout
