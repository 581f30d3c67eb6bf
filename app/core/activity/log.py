"""The activity log: a local, durable, tamper-evident record of what was scored, how, and when.

It carries the original service's request log to the workstation. Choices and why:

* SQLite in WAL mode with ``synchronous=FULL``; ``record`` returns only after its transaction
  committed, so an event that was acknowledged survives a crash or power cut.
* Raw text is not stored by default (the log may hold personal data for longer than needed):
  an HMAC-SHA256 with a per-install secret lets an analyst prove a given text was scored without
  the log revealing it. A setting allows storing text.
* Every event carries the SHA-256 of the previous event's hash and its own canonical content, so
  editing or deleting a row in the middle breaks the chain (``verify``). Retention purges are
  logged as events themselves (in the same transaction) and leave an anchor, so a purge is not
  mistaken for tampering. The newest hash is also kept in ``meta``, and outside the database in
  a head file MACed with the workstation key (`app.core.activity.head`), written in each
  event's transaction under a cross-process lock: cutting events off the end, renumbering them
  or dropping the database is noticed. A writer that finds the database and its head file
  disagreeing refuses to log rather than paper over it.
* Every event names its ``user`` (the workstation's unless the caller names one), stamped in
  `_insert`, which every event goes through. A log from before that column (and a new one) gets
  it by ``ALTER TABLE`` in its next event's transaction, under the same locks and rolled back
  with it; older events keep a NULL user and their hashes (see `app.core.activity.chain`).
* Verification and export read the database read-only and stream (`app.core.activity.verify`).
* What an event holds, how it is canonicalised and hashed, and how the chain is checked live in
  `app.core.activity.chain`; the HMAC key file in `app.core.activity.secret`. This module owns
  the database: schema, transactions, queries and retention.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager, suppress
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TextIO, cast

from app.core.activity.chain import (
    FIELDS,
    GENESIS,
    REAL_FIELDS,
    USER_FIELD,
    Event,
    content_hash,
    encode_counts,
    normalise_row,
    utc_iso,
)
from app.core.activity.head import Head, HeadError, head_lock, head_path, read_head, write_head
from app.core.activity.secret import (
    load_or_create_secret,
    recovery_hint,
    workstation_secret,
)
from app.core.activity.verify import EXPORT_COLUMNS, has_user_column, select_columns, verify_log
from app.core.common.atomic import atomic_open
from app.core.common.errors import InputError
from app.core.common.paths import activity_db_path
from app.core.common.user import clean_user, workstation_user
from app.core.export.csv_writer import CsvExportWriter

__all__ = [
    "ACTIONS",
    "GENESIS",
    "ActivityLog",
    "Event",
    "load_or_create_secret",
    "utc_iso",
]

ACTIONS: tuple[str, ...] = tuple(
    "score_text batch_started batch_finished batch_cancelled batch_failed export "
    "threshold_applied model_changed retention_purge settings_changed app_started "
    # model versions (app.core.context.model_switch, app.core.models.registry)
    "model_imported model_activated model_rolled_back challenger_set challenger_cleared "
    "model_promoted unsigned_model_used key_trusted "
    # the batch history (app.core.context.batch_queue, app.cli.history)
    "batch_history_removed "
    # the command line's own (app.cli.activity)
    "evaluate "
    # the Review panel's verdicts on audit samples (app.ui.review)
    "audit_verdict "
    # decision records (app.core.decisions.store)
    "threshold_decision "
    # an audit sample drawn (app.core.context.audit_draw: the Batch panel and `audit sample`)
    "audit_sample_drawn".split()
)
# The original table; ``user`` is added by `ActivityLog._add_user_column`, for old logs as new.
_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY,
    {", ".join(f"{name} {'REAL' if name in REAL_FIELDS else 'TEXT'}" for name in FIELDS)},
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_time ON events(time_utc);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""
# Columns a text search looks in (the raw text only exists when storing it is enabled).
_SEARCHED = "action, model_version, file_name, file_sha256, text_hmac, text, detail, counts"
_SEARCHED_USER = f"{_SEARCHED}, {USER_FIELD}"


def _contains(needle: str, *haystack: str | None) -> bool:
    """The search rule: case-insensitive (Unicode casefold) substring, no wildcards."""
    return any(needle in value.casefold() for value in haystack if value)


class LogWriteError(InputError):
    """An event could not be written (CLI exit 3); the caller must not make its change."""


class ActivityLog:
    def __init__(self, db_path: Path, secret: bytes, *, store_raw_text: bool = False) -> None:
        self.path = Path(db_path)
        if secret and not os.path.lexists(self.path) and os.path.lexists(head_path(self.path)):
            # The head says a log existed: a new, empty database here would hide its deletion.
            raise HeadError(
                f"activity log {self.path} is missing but its head file "
                f"{head_path(self.path).name} remains; nothing is logged: "
                f"{recovery_hint(self.path, self.path)}"
            )
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._secret = secret
        self.store_raw_text = store_raw_text
        self._lock = threading.Lock()  # one connection, shared by the GUI thread and workers
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)
        self._db.create_function("ad_contains", -1, _contains, deterministic=True)

    @classmethod
    def open_default(cls, data_dir: Path, *, store_raw_text: bool = False) -> ActivityLog:
        """The user's log. A damaged key, or a missing one beside a log that holds events,
        raises ActivityKeyError instead of making a new key (old HMACs would stop matching)."""
        db = activity_db_path(data_dir)
        if os.path.islink(db) or (os.path.lexists(db) and not os.path.isfile(db)):
            raise LogWriteError(f"activity log {db} is not a regular file; nothing is logged")
        return cls(db, workstation_secret(db), store_raw_text=store_raw_text)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def text_hmac(self, text: str) -> str:
        return hmac.new(
            self._secret, text.encode("utf-8", "surrogatepass"), hashlib.sha256
        ).hexdigest()

    def record(
        self,
        action: str,
        *,
        text: str | None = None,
        counts: Mapping[str, Any] | None = None,
        user: str | None = None,
        **values: Any,
    ) -> Event:
        """Append one event; returns after it is committed to disk. ``user``: who did it
        (cleaned with `clean_user`); default the workstation user."""
        if action not in ACTIONS:
            raise ValueError(f"unknown activity action {action!r}")
        unknown = set(values) - set(FIELDS)
        if unknown:
            raise ValueError(f"unknown activity fields {sorted(unknown)}")
        row: dict[str, Any] = dict(values, action=action)
        if counts is not None:
            row["counts"] = encode_counts(counts)
        if text is not None:
            row["text_hmac"] = self.text_hmac(text)
            row["text"] = text if self.store_raw_text else None
        if user is not None:
            row[USER_FIELD] = clean_user(user)
        normalised = normalise_row(row)
        with self._write_transaction():
            return self._insert(normalised)

    @contextmanager
    def _write_transaction(self) -> Iterator[None]:
        """Hold the locks and a write transaction; commit if the block succeeds, else roll back.

        ``record`` and ``purge_older_than`` return only after this commit, which is what makes
        an acknowledged event durable. The head file is checked first (a log that disagrees
        with it is not written to) and rewritten just after the commit, still under the lock:
        a crash in between leaves the head one event behind, which verification accepts (the
        head is a lower bound) and the next event catches up.
        """
        with self._lock, self._head_lock():
            try:
                self._db.execute("BEGIN IMMEDIATE")
                self._count_once()
                self._check_head()
                self._add_user_column()
                yield
                self._db.execute("INSERT OR REPLACE INTO meta VALUES ('head_file', 'required')")
                self._db.execute("COMMIT")
            except sqlite3.Error as exc:  # read-only, full, locked, damaged: one line
                self._rollback()
                raise LogWriteError(
                    f"cannot write the activity log {self.path}: {exc}; nothing was logged"
                ) from exc
            except BaseException:
                self._rollback()
                raise
            if self._secret:
                with suppress(OSError):  # the event is committed; the next one re-anchors
                    write_head(self.path, self._secret, self._db_head())

    @contextmanager
    def _head_lock(self) -> Iterator[None]:
        try:
            lock = head_lock(self.path)
            lock.__enter__()
        except OSError as exc:  # e.g. a read-only folder: the lock file cannot be made
            raise LogWriteError(
                f"cannot write the activity log {self.path}: {exc.strerror or exc}; nothing "
                "was logged"
            ) from None
        try:
            yield
        finally:
            lock.__exit__(None, None, None)

    def _add_user_column(self) -> None:
        """Add the ``user`` column in the caller's write transaction (its locks, its commit or
        rollback); existing rows keep NULL, which leaves their hashes as they were."""
        if not has_user_column(self._db):
            self._db.execute(f"ALTER TABLE events ADD COLUMN {USER_FIELD} TEXT")

    def _count_once(self) -> None:
        """``meta.event_count`` saves counting every row at each event; a log from before it
        (or one whose count is not a number) is counted once, here."""
        stored = self._meta("event_count")
        if stored is None or not stored.isdigit():
            count = self._db.execute("SELECT COUNT(*) FROM events").fetchone()[0]
            self._db.execute("INSERT OR REPLACE INTO meta VALUES ('event_count', ?)", [str(count)])

    def _db_head(self) -> Head:
        """The database's own view of its head (the count as kept in ``meta``)."""
        last = self._db.execute("SELECT id, hash FROM events ORDER BY id DESC LIMIT 1").fetchone()
        anchor = self._anchor()
        count = int(self._meta("event_count") or 0)
        last_id, last_hash = (int(last[0]), str(last[1])) if last else (0, anchor)
        return Head(count, last_id, last_hash, anchor)

    def _check_head(self) -> None:
        """Refuse to write unless the head file describes this database, or an earlier state
        of it that the database extends (a crash between commit and head write)."""
        if not self._secret:
            return
        hint = recovery_hint(head_path(self.path), self.path)
        try:
            head = read_head(self.path, self._secret)
        except HeadError as exc:
            raise HeadError(f"{exc}; nothing is logged: {hint}") from None
        if head is None:
            if self._meta("head_file") == "required":
                raise HeadError(
                    f"the head file {head_path(self.path)} is missing; nothing is logged: {hint}"
                )
            return  # a log from before head files: anchored from this event on
        now = self._db_head()
        if head == now or self._extends(head, now):
            return
        raise HeadError(
            f"the activity log {self.path} does not match its head file (events were removed, "
            "renumbered or the log replaced); nothing is logged: run `log verify`, keep both "
            "files as evidence and move them aside to start a new log"
        )

    def _extends(self, head: Head, now: Head) -> bool:
        """Whether the database is `head` plus events appended after it."""
        if head.anchor != now.anchor or now.count - head.count != now.last_id - head.last_id:
            return False
        if now.count <= head.count:
            return False
        if head.count == 0:
            return True
        found = self._db.execute("SELECT hash FROM events WHERE id = ?", [head.last_id]).fetchone()
        return found is not None and found[0] == head.last_hash

    def _rollback(self) -> None:
        # SQLite may already have rolled back (disk full, I/O error); never mask the real error.
        if self._db.in_transaction:
            with suppress(sqlite3.Error):
                self._db.execute("ROLLBACK")

    def _insert(self, row: dict[str, Any]) -> Event:
        """Chain and insert a normalised row; the caller holds the lock and a transaction.
        The one place every event passes: a row without a user gets the workstation's."""
        if row.get(USER_FIELD) is None:
            row = {**row, USER_FIELD: workstation_user()}
        last = self._db.execute("SELECT hash FROM events ORDER BY id DESC LIMIT 1").fetchone()
        prev = last[0] if last else self._anchor()
        digest = content_hash(prev, row)
        names = (*FIELDS, USER_FIELD)
        cursor = self._db.execute(
            f"INSERT INTO events ({', '.join(names)}, prev_hash, hash) "
            f"VALUES ({', '.join('?' * len(names))}, ?, ?)",
            [row[name] for name in names] + [prev, digest],
        )
        self._db.execute("INSERT OR REPLACE INTO meta VALUES ('chain_head', ?)", [digest])
        self._bump_count(1)
        return Event(id=int(cursor.lastrowid or 0), prev_hash=prev, hash=digest, **row)

    def _bump_count(self, delta: int) -> None:
        """Keep ``meta.event_count`` in step inside the transaction (the head file's count)."""
        self._db.execute(
            "UPDATE meta SET value = CAST(value AS INTEGER) + ? WHERE key = 'event_count'", [delta]
        )

    def _meta(self, key: str) -> str | None:
        found = self._db.execute("SELECT value FROM meta WHERE key=?", [key]).fetchone()
        return str(found[0]) if found else None

    def _anchor(self) -> str:
        return self._meta("chain_anchor") or GENESIS

    def query(
        self,
        *,
        action: str | None = None,
        since: str | datetime | None = None,
        until: str | datetime | None = None,
        search: str | None = None,
        limit: int | None = 100_000,
    ) -> list[Event]:
        """Events newest first (by id), filtered; ``limit=None`` returns every match.

        ``since`` is inclusive, ``until`` exclusive; both are converted with `utc_iso`.
        ``search`` matches a case-insensitive substring of the action, model, file name,
        file SHA-256, text HMAC, stored text, detail, counts or user, and also the events whose
        text had exactly this content (by its HMAC), so a text can be found without storing it.
        """
        where: list[str] = []
        args: list[Any] = []
        if action:
            where.append("action = ?")
            args.append(action)
        if since:
            where.append("time_utc >= ?")
            args.append(utc_iso(since))
        if until:
            where.append("time_utc < ?")
            args.append(utc_iso(until))
        with self._lock:
            has_user = has_user_column(self._db)  # not before the first event since the change
            if search:
                searched = _SEARCHED_USER if has_user else _SEARCHED
                where.append(f"(text_hmac = ? OR ad_contains(?, {searched}))")
                args.extend([self.text_hmac(search), search.casefold()])
            sql = f"SELECT {select_columns(has_user)} FROM events"
            sql += f" WHERE {' AND '.join(where)}" if where else ""
            rows = self._db.execute(
                sql + " ORDER BY id DESC LIMIT ?", [*args, -1 if limit is None else limit]
            ).fetchall()
        return [Event(*row) for row in rows]

    def count(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM events").fetchone()[0])

    def last_id(self) -> int:
        """Id of the newest event (0 if none): with `count`, a cheap "did anything change"."""
        with self._lock:
            return int(self._db.execute("SELECT COALESCE(MAX(id), 0) FROM events").fetchone()[0])

    def verify(self) -> tuple[bool, str]:
        """Check the chain, every row and the head file, read-only and streaming (see
        `app.core.activity.verify`). Returns (ok, explanation)."""
        return verify_log(self.path, self._secret or None)

    def purge_older_than(self, days: int, *, now: datetime | None = None) -> int:
        """Delete events older than ``days``; returns rows deleted.

        The chain must stay contiguous, so everything up to the newest old event goes (an
        event logged while the clock was behind goes with its neighbours). The deletion, the
        new anchor and the "retention_purge" event commit together: a crash cannot leave an
        unexplained gap.
        """
        if days < 0:
            raise ValueError(f"retention days must be 0 or more, got {days}")
        moment = datetime.fromisoformat(utc_iso(now or datetime.now(UTC)))
        try:
            cutoff = utc_iso(moment - timedelta(days=days))
        except OverflowError:
            return 0  # a retention longer than the calendar: nothing is that old
        with self._write_transaction():
            last_old = self._db.execute(
                "SELECT id, hash FROM events WHERE time_utc < ? ORDER BY id DESC LIMIT 1",
                [cutoff],
            ).fetchone()
            if not last_old:
                return 0  # nothing is old enough; the empty transaction just commits
            deleted = self._db.execute("DELETE FROM events WHERE id <= ?", [last_old[0]]).rowcount
            self._bump_count(-deleted)
            self._db.execute(
                "INSERT OR REPLACE INTO meta VALUES ('chain_anchor', ?)", [last_old[1]]
            )
            purge = {
                "action": "retention_purge",
                "counts": encode_counts({"deleted": deleted, "retention_days": days}),
                "detail": f"events before {cutoff} removed",
            }
            self._insert(normalise_row(purge))
        return deleted

    def export_csv(self, path: Path, events: Iterable[Event]) -> int:
        header = list(EXPORT_COLUMNS)
        with atomic_open(path) as fh:
            writer = CsvExportWriter(cast(TextIO, fh), header)
            for event in events:
                writer.write_row([getattr(event, name) for name in header])
            return writer.rows_written
