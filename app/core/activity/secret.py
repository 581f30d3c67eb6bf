"""The per-install secret that keys the activity log's text HMACs and its head file.

With this key an analyst can prove a given text was scored, while the log itself never reveals
the text; without it, the HMACs cannot be checked against guessed texts. So a key that is damaged
(wrong length, unreadable, a link, not a file) is never replaced: a new key would make every old
HMAC unmatchable. Logging is refused instead, with the way out in the message. A key that is
missing while the log already holds events is the same loss and is refused the same way.
"""

from __future__ import annotations

import os
import secrets
import sqlite3
import stat
from contextlib import closing, suppress
from pathlib import Path

from app.core.activity.head import head_path
from app.core.common.errors import InputError
from app.core.common.paths import (
    ACTIVITY_DB_NAME,
    ACTIVITY_KEY_NAME,
    activity_db_path,
    activity_key_path,
)
from app.core.common.portable_fs import open_regular_file

SECRET_BYTES = 32


class ActivityKeyError(InputError):
    """The activity key cannot be used; logging is refused (CLI exit 3)."""


def recovery_hint(key: Path, db: Path | None = None) -> str:
    """What to do: every file that belongs to the log must go together, or the same refusal
    comes back (a head file left behind still says the log held events)."""
    log = db.name if db is not None else ACTIVITY_DB_NAME
    head = db.with_suffix(".head").name if db is not None else "activity.head"
    return f"restore it from a backup, or move {log}, {head} and {ACTIVITY_KEY_NAME} aside to start a new log"


def _damaged(path: Path, why: str, db: Path | None) -> ActivityKeyError:
    return ActivityKeyError(
        f"activity log key {path} is damaged ({why}); nothing was changed: "
        f"{recovery_hint(path, db)}"
    )


def read_secret(path: Path, db: Path | None = None) -> bytes | None:
    """The key at `path`, or None if there is none; ActivityKeyError if it is damaged.

    Opened without following links and never blocking on a FIFO (`portable_fs`).
    """
    try:
        fd = open_regular_file(path)
    except FileNotFoundError:
        if os.path.lexists(path):  # a dangling link
            raise _damaged(path, "a symbolic link", db) from None
        return None
    except OSError as exc:
        raise _damaged(path, exc.strerror or str(exc), db) from None
    with os.fdopen(fd, "rb") as fh:
        key = fh.read(SECRET_BYTES + 1)
        mode = os.fstat(fh.fileno()).st_mode
        if len(key) == SECRET_BYTES and os.name == "posix" and mode & 0o077:
            with suppress(OSError):  # a copied or restored key file may have become readable
                os.fchmod(fh.fileno(), stat.S_IMODE(mode) & 0o600)
    if len(key) != SECRET_BYTES:
        size = f"{len(key)} bytes" if len(key) <= SECRET_BYTES else "too long"
        raise _damaged(path, f"{size}, expected {SECRET_BYTES}", db)
    return key


def load_or_create_secret(
    path: Path, *, log_has_events: bool = False, db: Path | None = None
) -> bytes:
    """The per-install HMAC key: 32 random bytes, created once, readable by the owner only.

    A missing key is created only for a log with no events yet (`log_has_events`). Written to a
    temporary file and linked into place only when complete, so a crash never leaves a short
    key and two processes starting together agree on one key.
    """
    key = read_secret(path, db)
    if key is not None:
        return key
    if log_has_events:
        raise ActivityKeyError(
            f"activity log key {path} is missing but the log holds events: "
            f"{recovery_hint(path, db)}"
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_bytes(SECRET_BYTES)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.partial")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o600)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(key)
            fh.flush()
            os.fsync(fh.fileno())
        try:
            os.link(tmp, path)  # fails if another process created the key first
        except FileExistsError:
            return load_or_create_secret(path, log_has_events=True, db=db)  # use theirs
    finally:
        with suppress(FileNotFoundError):
            os.unlink(tmp)
    return key


def holds_events(db: Path) -> bool:
    """Whether an existing log at `db` holds any event (read-only; a log that cannot be read
    counts as holding events, so a key is never made for it)."""
    if not os.path.lexists(db):
        return False
    try:
        with closing(sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro", uri=True)) as conn:
            tables = conn.execute("SELECT name FROM sqlite_master WHERE type='table'").fetchall()
            if ("events",) not in tables:
                return False
            return conn.execute("SELECT 1 FROM events LIMIT 1").fetchone() is not None
    except sqlite3.Error:
        return True


def workstation_secret(db: Path | None = None) -> bytes:
    """The workstation key beside the activity log `db` (default: the user's): the one loader
    for everything keyed by it (the log, batch checkpoints). A missing key is created only while
    the log holds no events and no head file says it did; otherwise ActivityKeyError."""
    db = db or activity_db_path()
    key_path = activity_key_path(db)
    key = read_secret(key_path, db)
    if key is not None:
        return key
    has_events = holds_events(db) or head_path(db).exists()
    return load_or_create_secret(key_path, log_has_events=has_events, db=db)
