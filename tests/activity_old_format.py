"""An activity log exactly as the code before the ``user`` column wrote it, built with sqlite3,
hashlib and hmac only (nothing from `app.core.activity`), so the migration tests check the new
code against the old format itself rather than against the new code's idea of it.

The old format: the events table without ``user``; each event's hash is the SHA-256 of the
compact JSON ``[prev_hash, [time_utc, action, model_version, threshold, score, counts,
file_name, file_sha256, text_hmac, text, detail]]``; ``meta`` holds chain_head, event_count and
head_file=required; ``activity.head`` holds the count, newest id and hash, the anchor and an
HMAC-SHA256 under the 32-byte key in ``activity.key``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any

OLD_FIELDS = (
    "time_utc",
    "action",
    "model_version",
    "threshold",
    "score",
    "counts",
    "file_name",
    "file_sha256",
    "text_hmac",
    "text",
    "detail",
)
OLD_SCHEMA = """
CREATE TABLE events (
    id INTEGER PRIMARY KEY,
    time_utc TEXT, action TEXT, model_version TEXT, threshold REAL, score REAL, counts TEXT,
    file_name TEXT, file_sha256 TEXT, text_hmac TEXT, text TEXT, detail TEXT,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE INDEX events_time ON events(time_utc);
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""
GENESIS = "0" * 64
OLD_EVENTS: list[dict[str, Any]] = [
    {"time_utc": "2026-11-01T09:00:00.000+00:00", "action": "app_started", "detail": "0.9"},
    {
        "time_utc": "2026-11-01T09:05:00.000+00:00",
        "action": "score_text",
        "model_version": "abuse-lr 1.0.0",
        "threshold": 0.45,
        "score": 0.91,
        "text_hmac": "ab" * 32,
        "detail": "abusive",
    },
    {
        "time_utc": "2026-11-02T10:00:00.000+00:00",
        "action": "batch_finished",
        "counts": '{"rows_flagged": 2, "rows_read": 10}',
        "file_name": "april.csv",
        "file_sha256": "cd" * 32,
    },
]


def old_hash(prev: str, event: dict[str, Any]) -> str:
    values = [event.get(name) for name in OLD_FIELDS]
    canonical = json.dumps([prev, values], ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _head_mac(key: bytes, count: int, last_id: int, last_hash: str, anchor: str) -> str:
    text = f"abuse-desk activity head 1|{count}|{last_id}|{last_hash}|{anchor}"
    return hmac.new(key, text.encode("ascii"), hashlib.sha256).hexdigest()


def write_old_log(folder: Path, events: list[dict[str, Any]] = OLD_EVENTS) -> list[str]:
    """`folder`/activity.sqlite3 (+ .head, + activity.key) in the old format; the hashes."""
    folder.mkdir(parents=True, exist_ok=True)
    key = secrets.token_bytes(32)
    fd = os.open(folder / "activity.key", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(key)
    db = folder / "activity.sqlite3"
    hashes: list[str] = []
    prev = GENESIS
    with closing(sqlite3.connect(db)) as conn:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.executescript(OLD_SCHEMA)
        for ident, event in enumerate(events, start=1):
            digest = old_hash(prev, event)
            conn.execute(
                f"INSERT INTO events VALUES ({', '.join('?' * (len(OLD_FIELDS) + 3))})",
                [ident, *(event.get(name) for name in OLD_FIELDS), prev, digest],
            )
            hashes.append(digest)
            prev = digest
        meta = {"chain_head": prev, "event_count": str(len(events)), "head_file": "required"}
        conn.executemany("INSERT INTO meta VALUES (?, ?)", meta.items())
        conn.commit()
    head = {"format": 1, "count": len(events), "last_id": len(events)}
    head.update(last_hash=prev, anchor=GENESIS)
    head["mac"] = _head_mac(key, len(events), len(events), prev, GENESIS)
    (folder / "activity.head").write_text(json.dumps(head) + "\n")
    return hashes


def event_columns(db: Path) -> list[str]:
    with closing(sqlite3.connect(db)) as conn:
        return [row[1] for row in conn.execute("PRAGMA table_info(events)")]


def sql(db: Path, statement: str, args: list[Any] | tuple[Any, ...] = ()) -> None:
    """An edit by hand, from outside the app (what tampering looks like)."""
    with closing(sqlite3.connect(db)) as conn:
        conn.execute(statement, args)
        conn.commit()
