"""Who: every activity event names the workstation user; older logs migrate and keep verifying.

The old-format logs come from `tests.activity_old_format`, written without the app's code.
"""

from __future__ import annotations

import csv
import getpass
import hashlib
import json
import sqlite3
from pathlib import Path

import pytest

from app.core.activity import log as log_module
from app.core.activity.log import ActivityLog, LogWriteError
from app.core.activity.verify import EXPORT_COLUMNS, LEGACY_EXPORT_COLUMNS, verify_log
from app.core.common.user import UNKNOWN_USER, clean_user, display_user
from app.core.results.output_names import check_replace
from tests.activity_old_format import (
    OLD_EVENTS,
    OLD_FIELDS,
    event_columns,
    old_hash,
    sql,
    write_old_log,
)

USER = "ana.lopez"


@pytest.fixture(autouse=True)
def at_the_workstation(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(getpass, "getuser", lambda: USER)


def _key(folder: Path) -> bytes:
    return (folder / "activity.key").read_bytes()


def _new_hash(prev: str, event: dict, user: str) -> str:
    """The documented form for an event with a user: the old field list, then the user."""
    values = [event.get(name) for name in OLD_FIELDS] + [user]
    canonical = json.dumps([prev, values], ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


# --- migration of a log written before the user column ------------------------------------------


def test_an_old_log_migrates_on_its_first_new_event_and_the_whole_chain_verifies(tmp_path):
    folder = tmp_path / "data"
    hashes = write_old_log(folder)
    db = folder / "activity.sqlite3"
    assert "user" not in event_columns(db)
    assert verify_log(db, _key(folder)) == (True, "3 events, chain intact")

    activity = ActivityLog.open_default(folder)
    try:
        assert "user" not in event_columns(db)  # opening alone does not alter the table
        assert [e.user for e in activity.query()] == [None, None, None]
        assert activity.verify() == (True, "3 events, chain intact")
        new = activity.record("threshold_applied", threshold=0.6, detail="raised")
        assert event_columns(db)[-1] == "user"
        assert new.user == USER and new.prev_hash == hashes[-1]
        row = {"time_utc": new.time_utc, "action": "threshold_applied", "threshold": 0.6}
        row["detail"] = "raised"
        assert new.hash == _new_hash(hashes[-1], row, USER)  # computed by hand
        activity.record("app_started")
        assert activity.verify() == (True, "5 events, chain intact")
        stored = sorted(activity.query(), key=lambda e: e.id)
    finally:
        activity.close()
    # The old events are untouched: no user, the very hashes the old code wrote.
    assert [e.hash for e in stored[:3]] == hashes
    assert [e.user for e in stored] == [None, None, None, USER, USER]
    prev = "0" * 64
    for event, original in zip(stored, OLD_EVENTS, strict=False):
        assert event.hash == old_hash(prev, original)
        prev = event.hash
    assert verify_log(db, _key(folder)) == (True, "5 events, chain intact")
    reopened = ActivityLog.open_default(folder)  # a migrated log opens and logs as any other
    try:
        reopened.record("app_started")
        assert reopened.verify() == (True, "6 events, chain intact")
    finally:
        reopened.close()


def test_the_migration_is_rolled_back_with_an_event_that_fails(tmp_path, monkeypatch):
    folder = tmp_path / "data"
    write_old_log(folder)
    db = folder / "activity.sqlite3"
    activity = ActivityLog.open_default(folder)

    def disk_fails() -> str:
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(log_module, "workstation_user", disk_fails)
    try:
        with pytest.raises(LogWriteError, match="nothing was logged"):
            activity.record("app_started")
        assert "user" not in event_columns(db) and activity.count() == 3
        assert activity.verify() == (True, "3 events, chain intact")
    finally:
        activity.close()


@pytest.mark.parametrize(
    ("statement", "event"),
    [
        ("UPDATE events SET user = 'someone.else' WHERE id = 4", 4),  # a new event's user edited
        ("UPDATE events SET user = NULL WHERE id = 4", 4),  # ... or blanked
        ("UPDATE events SET user = 'ana.lopez' WHERE id = 2", 2),  # an old event "given" one
        ("UPDATE events SET user = '' WHERE id = 1", 1),
    ],
)
def test_any_change_to_a_user_is_tampering(tmp_path, statement, event):
    folder = tmp_path / "data"
    write_old_log(folder)
    activity = ActivityLog.open_default(folder)
    try:
        activity.record("app_started")
        activity.record("app_started")
    finally:
        activity.close()
    db = folder / "activity.sqlite3"
    assert verify_log(db, _key(folder))[0]
    sql(db, statement)
    ok, message = verify_log(db, _key(folder))
    assert not ok and message.startswith(f"event {event}:") and "edited" in message


def test_a_user_of_the_wrong_type_is_a_malformed_row(tmp_path):
    folder = tmp_path / "data"
    activity = ActivityLog.open_default(folder)
    activity.record("app_started")
    activity.close()
    db = folder / "activity.sqlite3"
    sql(db, "UPDATE events SET user = x'1b5b324a' WHERE id = 1")
    assert verify_log(db, _key(folder)) == (False, "event 1: malformed row: user holds bytes")


# --- stamping ------------------------------------------------------------------------------------


def test_ctx_log_stamps_the_workstation_user_and_a_caller_may_name_one(app_context):
    started = app_context.log("app_started")
    assert started.user == USER
    named = app_context.log("threshold_applied", threshold=0.5, user=" rev\x1b[2Jiewer\n ")
    assert named.user == "rev[2Jiewer"  # cleaned as workstation_user cleans the account name
    assert app_context.log("app_started", user="\n\t").user == UNKNOWN_USER
    stored = {e.id: e.user for e in app_context.activity.query()}
    assert stored == {started.id: USER, named.id: "rev[2Jiewer", named.id + 1: UNKNOWN_USER}
    assert app_context.activity.verify()[0]


def test_a_purge_names_who_purged(tmp_path):
    activity = ActivityLog.open_default(tmp_path / "data")
    try:
        activity.record("app_started", time_utc="2020-01-01T00:00:00")
        activity.record("app_started")
        assert activity.purge_older_than(30) == 1
        newest = activity.query(limit=1)[0]
        assert newest.action == "retention_purge" and newest.user == USER
        assert activity.verify()[0]
    finally:
        activity.close()


def test_cli_score_events_carry_the_user(tmp_path, monkeypatch, capsys):
    from app.cli.main import main

    home = tmp_path / "home"
    monkeypatch.setenv("ABUSE_DESK_HOME", str(home))
    src = tmp_path / "in.csv"
    src.write_text("text\nyou are an idiot\nhave a nice day\n", encoding="utf-8")
    assert main(["score", str(src), "-o", str(tmp_path / "out.csv"), "--quiet"]) == 0
    assert main(["score-text", "hello there"]) == 0
    capsys.readouterr()
    activity = ActivityLog.open_default(home / "data")
    try:
        events = activity.query()
        assert {"batch_started", "batch_finished", "score_text"} <= {e.action for e in events}
        assert {e.user for e in events} == {USER}
        assert activity.verify()[0]
    finally:
        activity.close()


# --- search and export -------------------------------------------------------------------------


def test_search_finds_events_by_user(tmp_path):
    activity = ActivityLog.open_default(tmp_path / "data")
    try:
        mine = activity.record("app_started")
        theirs = activity.record("app_started", user="Björn.Berg")
        assert [e.id for e in activity.query(search="LOPEZ")] == [mine.id]
        assert [e.id for e in activity.query(search="björn")] == [theirs.id]
    finally:
        activity.close()


def test_search_on_a_log_not_yet_migrated_still_works(tmp_path):
    folder = tmp_path / "data"
    write_old_log(folder)
    activity = ActivityLog.open_default(folder)
    try:
        assert [e.id for e in activity.query(search="april")] == [3]
    finally:
        activity.close()


def _read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


def test_cli_log_export_has_the_user_column_and_verify_reports(tmp_path, capsys):
    from app.cli.main import main

    folder = tmp_path / "data"
    write_old_log(folder)
    db = folder / "activity.sqlite3"
    assert main(["log", "verify", "--db", str(db)]) == 0  # before migration, read-only
    assert capsys.readouterr().out == "ok: 3 events, chain intact\n"
    activity = ActivityLog.open_default(folder)
    activity.record("app_started", user="=cmd|' /C calc'!A0")
    activity.close()
    out = tmp_path / "events.csv"
    assert main(["log", "export", str(out), "--db", str(db)]) == 0
    assert main(["log", "verify", "--db", str(db)]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "ok: 4 events, chain intact"
    with open(out, encoding="utf-8-sig", newline="") as fh:
        assert next(csv.reader(fh)) == list(EXPORT_COLUMNS)
    rows = _read_csv(out)
    assert [r["user"] for r in rows] == ["", "", "", "'=cmd|' /C calc'!A0"]  # formula defused
    sql(db, "UPDATE events SET user = 'mallory' WHERE id = 4")
    assert main(["log", "verify", "--db", str(db)]) == 1
    assert capsys.readouterr().out.startswith("broken: event 4: content does not match")


def test_an_export_from_before_the_user_column_is_still_an_earlier_export(tmp_path):
    old = tmp_path / "activity-log.csv"
    old.write_text(",".join(LEGACY_EXPORT_COLUMNS) + "\n", encoding="utf-8")
    assert check_replace(old, "log", overwrite=False) == "earlier"


def test_activity_log_export_csv_writes_the_user(tmp_path):
    activity = ActivityLog.open_default(tmp_path / "data")
    try:
        activity.record("app_started")
        out = tmp_path / "out.csv"
        activity.export_csv(out, activity.query())
    finally:
        activity.close()
    [row] = _read_csv(out)
    assert row["user"] == USER and list(row) == list(EXPORT_COLUMNS)


# --- reading a user back: escaped and bounded ----------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        (None, ""),
        ("ana.lopez", "ana.lopez"),
        ("ana\nlopez", "ana\\nlopez"),
        ("\x1b[31mred", "\\x1b[31mred"),
        ("abc\u202edef", "abc\\u202edef"),  # right-to-left override: shown, not obeyed
        ("x" * 41, "x" * 39 + "…"),
        ("x" * 40, "x" * 40),
        (12, "12"),
    ],
)
def test_display_user_escapes_and_bounds(raw, shown):
    assert display_user(raw) == shown


def test_display_user_of_a_huge_value_is_bounded_work_and_width():
    shown = display_user("\x00" * 10_000_000, limit=40)
    assert len(shown) == 40 and shown.startswith("\\x00") and shown.endswith("…")


def test_clean_user_is_what_is_recorded():
    assert clean_user("  ana\x00 ") == "ana"
    assert clean_user("y" * 500) == "y" * 128
    assert clean_user("\u200b") == UNKNOWN_USER  # nothing printable left
