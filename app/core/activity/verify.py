"""Checking and reading the activity log without changing it: `log verify` and `log export`.

The database is opened read-only (``mode=ro``: no journal-mode change, no index or table
creation, nothing written to the head file), and events are streamed from the cursor one at a
time, so a log of millions of events is checked in bounded memory. A row of the wrong type or a
changed table is a verification failure naming the event, never an exception.

A log from before the ``user`` column (never written to since) is read as if every user were
NULL, which is what its events were hashed with; a user column that is present must be TEXT.
"""

from __future__ import annotations

import os
import sqlite3
import stat
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.core.activity.chain import (
    FIELDS,
    GENESIS,
    REAL_FIELDS,
    USER_FIELD,
    Event,
    content_hash,
)
from app.core.activity.head import Head, HeadError, head_path, read_head
from app.core.common.errors import InputError

# The table's columns in `Event`'s order (``user`` last: older logs gain it by ALTER TABLE).
COLUMNS: tuple[str, ...] = ("id", *FIELDS, "prev_hash", "hash", USER_FIELD)
# A CSV export's header: the user beside the other facts, the chain's two hashes last.
EXPORT_COLUMNS: tuple[str, ...] = ("id", *FIELDS, USER_FIELD, "prev_hash", "hash")
# The header exports had before the user column (still recognised as an earlier export).
LEGACY_EXPORT_COLUMNS: tuple[str, ...] = ("id", *FIELDS, "prev_hash", "hash")
_OPTIONAL = (USER_FIELD,)
_TYPES = {"id": "INTEGER", "prev_hash": "TEXT", "hash": "TEXT", USER_FIELD: "TEXT"}
_TYPES.update({name: "REAL" if name in REAL_FIELDS else "TEXT" for name in FIELDS})


def has_user_column(conn: sqlite3.Connection) -> bool:
    """Whether the events table has the ``user`` column (a log written since it exists)."""
    return any(row[1] == USER_FIELD for row in conn.execute("PRAGMA table_info(events)"))


def select_columns(has_user: bool) -> str:
    """The SELECT list giving `COLUMNS` in order, NULL for the user of a log without one."""
    user = USER_FIELD if has_user else f"NULL AS {USER_FIELD}"
    return ", ".join((*COLUMNS[:-1], user))


def _select(conn: sqlite3.Connection) -> str:
    return f"SELECT {select_columns(has_user_column(conn))} FROM events ORDER BY id"


def open_readonly(db: Path) -> sqlite3.Connection:
    """A read-only connection to an activity log; InputError (one line) for anything else."""
    try:
        info = os.stat(db)
    except FileNotFoundError:
        raise InputError(f"no activity log at {db}") from None
    except OSError as exc:
        raise InputError(f"cannot read the activity log {db}: {exc.strerror or exc}") from None
    if stat.S_ISDIR(info.st_mode):
        raise InputError(f"{db} is a folder, not an activity log")
    if not stat.S_ISREG(info.st_mode):
        raise InputError(f"{db} is not a regular file, not an activity log")
    try:
        conn = sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro", uri=True, timeout=2.0)
    except sqlite3.Error as exc:
        raise InputError(f"cannot read the activity log {db}: {exc}") from None
    try:
        conn.execute("PRAGMA query_only=ON")
        found = conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type='table' AND name='events'"
        ).fetchone()
    except sqlite3.Error as exc:
        conn.close()
        raise InputError(f"cannot read the activity log {db}: {exc}") from None
    if not found:
        conn.close()
        raise InputError(f"{db} is not an activity log (no events table)")
    return conn


def _schema_problem(conn: sqlite3.Connection) -> str | None:
    declared = {row[1]: str(row[2]).upper() for row in conn.execute("PRAGMA table_info(events)")}
    missing = [c for c in COLUMNS if c not in declared and c not in _OPTIONAL]
    extra = [c for c in declared if c not in _TYPES]
    retyped = [c for c in COLUMNS if c in declared and declared[c] != _TYPES[c]]
    if not (missing or extra or retyped):
        return None
    parts = [f"missing {', '.join(missing)}"] if missing else []
    parts += [f"unexpected {', '.join(extra)}"] if extra else []
    parts += [f"retyped {', '.join(retyped)}"] if retyped else []
    first = conn.execute("SELECT MIN(rowid) FROM events").fetchone()[0]
    where = f"event {first}: " if first is not None else ""
    return f"{where}the events table's columns were changed ({'; '.join(parts)})"[:300]


def _row_problem(row: tuple[Any, ...]) -> str | None:
    """Why a stored row cannot be an event (wrong types), or None."""
    for name, value in zip(COLUMNS, row, strict=True):
        if name == "id":
            ok = isinstance(value, int)
        elif name in ("time_utc", "action", "prev_hash", "hash"):
            ok = isinstance(value, str)
        elif name in REAL_FIELDS:
            ok = value is None or isinstance(value, float)
        else:
            ok = value is None or isinstance(value, str)
        if not ok:
            kind = "NULL" if value is None else type(value).__name__
            return f"malformed row: {name} holds {kind}"
    return None


def _meta(conn: sqlite3.Connection, key: str) -> str | None:
    try:
        found = conn.execute("SELECT value FROM meta WHERE key=?", [key]).fetchone()
    except sqlite3.Error:  # no meta table: a log from before it existed, or a damaged one
        return None
    return str(found[0]) if found and isinstance(found[0], str) else None


@dataclass
class _Scan:
    """What streaming the events found (no event is kept in memory)."""

    count: int = 0
    last_id: int = 0
    last_hash: str = GENESIS
    at_head: int | None = None  # events up to and including the head file's newest one


def _check_rows(
    conn: sqlite3.Connection, anchor: str, head: Head | None
) -> tuple[str | None, _Scan]:
    """Stream the events oldest first, checking each row's types, links and hash."""
    scan = _Scan(last_hash=anchor)
    for row in conn.execute(_select(conn)):
        ident = row[0]
        if problem := _row_problem(row):
            return f"event {ident!r}: {problem}", scan
        values = dict(zip(COLUMNS, row, strict=True))
        if values["prev_hash"] != scan.last_hash:
            return f"event {ident}: chain broken (an earlier event was changed or removed)", scan
        if content_hash(values["prev_hash"], values) != values["hash"]:
            return f"event {ident}: content does not match its hash (edited)", scan
        if scan.count and ident != scan.last_id + 1:
            return f"event {ident}: ids jump from {scan.last_id} to {ident} (renumbered)", scan
        scan.count, scan.last_id, scan.last_hash = scan.count + 1, ident, values["hash"]
        if head is not None and ident == head.last_id and values["hash"] == head.last_hash:
            scan.at_head = scan.count
    return None, scan


def _read_head(db: Path, key: bytes | None, required: bool) -> tuple[str | None, Head | None]:
    """(problem, head): the head file, checked with the key; a problem is reported only
    after the chain itself was checked (a broken chain is the more useful message)."""
    if required and not os.path.lexists(head_path(db)):
        return f"the head file {head_path(db).name} beside the log is missing", None
    if key is None:
        if os.path.lexists(head_path(db)):
            return "the activity key is missing, so the head file cannot be checked", None
        return None, None
    try:
        return None, read_head(db, key)
    except HeadError as exc:
        return str(exc), None


def _against_head(head: Head, scan: _Scan, anchor: str) -> str | None:
    """The head file is a lower bound: every event it records must still be there, unchanged
    and numbered as it was. Events after it are the ones a crash kept from being anchored
    (the head is written just after each commit)."""
    if head.count == 0:
        reached = anchor == head.anchor
    else:
        reached = scan.at_head == head.count and anchor == head.anchor
    if reached:
        return None
    if scan.count < head.count or scan.last_id < head.last_id:
        return (
            f"the head file records {head.count:,} events up to event {head.last_id}, the "
            f"database holds {scan.count:,} up to event {scan.last_id}: events were removed"
        )
    return (
        f"event {head.last_id} is not the one the head file records (the database holds "
        f"{scan.count:,} events): events were renumbered, removed or replaced"
    )


def verify_log(db: Path, key: bytes | None) -> tuple[bool, str]:
    """Check the chain, the table, every row and the head file. Returns (ok, explanation).

    ``key`` (None: not available) checks the head file's MAC."""
    with closing(open_readonly(db)) as conn:
        try:
            integrity = conn.execute("PRAGMA quick_check(1)").fetchone()[0]
            if integrity != "ok":
                return False, f"database integrity check failed: {integrity}"
            if problem := _schema_problem(conn):
                return False, problem
            anchor = _meta(conn, "chain_anchor") or GENESIS
            head_problem, head = _read_head(db, key, _meta(conn, "head_file") == "required")
            problem, scan = _check_rows(conn, anchor, head)
            if problem:
                return False, problem
            inner_head = _meta(conn, "chain_head")
        except sqlite3.Error as exc:
            raise InputError(f"cannot read the activity log {db}: {exc}") from None
    if inner_head is not None and inner_head != scan.last_hash:
        last = f"after event {scan.last_id}" if scan.count else "(no events left)"
        return False, f"chain ends early {last}: the newest events were removed"
    if head_problem:
        return False, head_problem
    if head is not None and (problem := _against_head(head, scan, anchor)):
        return False, problem
    return True, f"{scan.count:,} events, chain intact"


def iter_events(conn: sqlite3.Connection) -> Iterator[Event]:
    """Every event, oldest first, streamed from the cursor (values as stored)."""
    for row in conn.execute(_select(conn)):
        yield Event(*row)
