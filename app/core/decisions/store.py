"""The decision records table: a SQLite file in the data folder (``decisions.sqlite3``).

WAL and ``synchronous=FULL``: an acknowledged record survives a power cut. The file carries its
own identity and schema version in a ``meta`` table, checked on every open: a damaged file, a
database of something else, or one written by a newer app is refused with one line naming it,
and never overwritten or "repaired". Reading (list, show, report, the records dialog) opens it
read-only and never creates it; recording creates it only where no file exists (an empty file or
a table-less database of another program is refused, not taken over). Each record is stored as
its JSON (every field checked when read back, rates recomputed from the counts) beside a few
columns for listing.

Every record is also an activity event (``threshold_decision``): ``record_decision`` inserts the
record and logs the event in one transaction of this table, so a record whose event could not be
written is not kept (the activity log is the evidence; the table is the index).
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

from app.core.common.messages import printable
from app.core.common.paths import decisions_db_path
from app.core.common.sqlite_file import create_store_file, file_problem
from app.core.decisions.records import DecisionError, DecisionRecord

APP_ID = "abuse-desk decision records"
SCHEMA_VERSION = 1
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS records (
    id INTEGER PRIMARY KEY,
    time_utc TEXT NOT NULL,
    author TEXT NOT NULL,
    threshold REAL NOT NULL,
    body TEXT NOT NULL
);
"""


class DecisionStoreError(DecisionError):
    """The records file cannot be used (damaged, foreign, newer): one line naming it."""


class DecisionStore:
    """The records table of one file (default: the user's data folder).

    Opened to read (the default), a missing file is an empty store and nothing is created or
    changed: the connection is read-only. With ``create=True`` (recording a decision) a missing
    file is created as a new store; an existing file is used only if it is ours.
    """

    def __init__(self, path: Path | None = None, *, create: bool = False) -> None:
        self.path = path if path is not None else decisions_db_path()
        self._db: sqlite3.Connection | None = None
        if create:
            try:
                create_store_file(self.path, _init_schema)
            except (OSError, sqlite3.Error) as exc:
                raise self._error(f"cannot be created ({exc})") from exc
        elif not os.path.lexists(self.path):
            return  # no records yet; reading creates nothing
        if (problem := file_problem(self.path)) is not None:
            raise self._error(f"{problem}; it was left as it is")
        try:
            if create:
                db = sqlite3.connect(self.path, isolation_level=None, timeout=5.0)
            else:
                uri = f"{self.path.absolute().as_uri()}?mode=ro"
                db = sqlite3.connect(uri, uri=True, isolation_level=None, timeout=5.0)
        except sqlite3.Error as exc:
            raise self._error(f"cannot be opened ({exc})") from exc
        try:
            self._check(db)  # before WAL: switching it would rewrite a foreign header
            if create:
                db.execute("PRAGMA journal_mode=WAL")
                db.execute("PRAGMA synchronous=FULL")
        except sqlite3.Error as exc:
            db.close()
            raise self._error(f"is not a readable decision records database ({exc})") from exc
        except DecisionStoreError:
            db.close()
            raise
        self._db = db

    def _error(self, what: str) -> DecisionStoreError:
        return DecisionStoreError(f"decision records {printable(str(self.path))}: {what}")

    def _check(self, db: sqlite3.Connection) -> None:
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master")}
        if "meta" not in tables or "records" not in tables:
            raise self._error("is another program's database; it was left as it is")
        meta = dict(db.execute("SELECT key, value FROM meta").fetchall())
        if meta.get("app") != APP_ID:
            raise self._error("is another program's database; it was left as it is")
        version = str(meta.get("schema_version", ""))
        if not version.isdigit():
            raise self._error("has no valid schema version (damaged?); it was left as it is")
        if int(version) > SCHEMA_VERSION:
            raise self._error(
                f"was written by a newer version of abuse-desk (schema {int(version)}, this "
                f"app reads {SCHEMA_VERSION}); it was left as it is"
            )

    def close(self) -> None:
        if self._db is not None:
            self._db.close()

    def __enter__(self) -> DecisionStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        if self._db is None:
            raise self._error("was opened to read only")
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def add(self, record: DecisionRecord, log: Any = None) -> DecisionRecord:
        """Store ``record``; ``log(record_with_id)`` runs inside the transaction (the activity
        event): if it raises, nothing is stored. Returns the record with its id."""
        try:
            with self._transaction() as db:
                cur = db.execute(
                    "INSERT INTO records (time_utc, author, threshold, body) VALUES (?,?,?,?)",
                    (record.time_utc, record.author, record.policy.threshold, "{}"),
                )
                stored = DecisionRecord.from_dict(record.as_dict(), cur.lastrowid)
                body = json.dumps(stored.as_dict(), ensure_ascii=False, allow_nan=False)
                db.execute("UPDATE records SET body = ? WHERE id = ?", (body, stored.id))
                if log is not None:
                    log(stored)
        except sqlite3.Error as exc:
            raise self._error(f"cannot store the record ({exc})") from exc
        return stored

    def _parse(self, record_id: int, body: Any) -> DecisionRecord:
        try:
            return DecisionRecord.from_dict(json.loads(body), record_id)
        except (TypeError, ValueError, DecisionError) as exc:
            raise self._error(f"record {record_id} is damaged ({exc})") from exc

    def list(self) -> list[DecisionRecord]:
        """Every record, oldest first; DecisionStoreError naming the first damaged one."""
        if self._db is None:
            return []
        try:
            rows = self._db.execute("SELECT id, body FROM records ORDER BY id").fetchall()
        except sqlite3.Error as exc:
            raise self._error(f"cannot be read ({exc})") from exc
        return [self._parse(int(i), body) for i, body in rows]

    def get(self, record_id: int) -> DecisionRecord | None:
        """The record, or None (also for an id no record can have: SQLite ids are 64-bit)."""
        if self._db is None or not 1 <= record_id < 2**63:
            return None
        try:
            row = self._db.execute(
                "SELECT id, body FROM records WHERE id = ?", (record_id,)
            ).fetchone()
        except sqlite3.Error as exc:
            raise self._error(f"cannot be read ({exc})") from exc
        return None if row is None else self._parse(int(row[0]), row[1])


def open_store(path: Path | None = None, *, create: bool = False) -> DecisionStore:
    return DecisionStore(path, create=create)


def _init_schema(db: sqlite3.Connection) -> None:
    for statement in filter(str.strip, _SCHEMA.split(";")):
        db.execute(statement)
    db.executemany(
        "INSERT INTO meta VALUES (?, ?)", [("app", APP_ID), ("schema_version", str(SCHEMA_VERSION))]
    )


def decision_event_detail(record: DecisionRecord) -> str:
    previous = "none" if record.previous is None else record.previous.describe()
    return (
        f"decision record {record.id}: {record.policy.describe()} (previous {previous}) on "
        f"{record.source.name} [{record.source.sha256[:12]}] by {record.author}: "
        f"{record.rationale}"
    )[:1000]


def record_decision(ctx: Any, record: DecisionRecord, path: Path | None = None) -> DecisionRecord:
    """Store ``record`` and log it as a ``threshold_decision`` event through ``ctx.log`` (the
    app's context: stamped with the active model); both or neither. Returns it with its id."""

    def log(stored: DecisionRecord) -> None:
        m = stored.at_new
        ctx.log(
            "threshold_decision",
            threshold=stored.policy.threshold,
            detail=decision_event_detail(stored),
            counts={"record": stored.id, "n": m.n, "tp": m.tp, "fp": m.fp, "fn": m.fn,
                    "tn": m.tn},
        )  # fmt: skip

    with closing(DecisionStore(path, create=True)) as store:
        return store.add(record, log)
