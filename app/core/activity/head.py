"""The activity log's anchor outside the database: ``activity.head`` beside it.

The hash chain inside the database shows an edited or removed event in the middle, but someone
who deletes the newest events (and fixes the ``chain_head`` row), renumbers them, or drops the
whole database leaves a chain that is consistent with itself. The head file records, after every
event, the event count, the newest event's id and hash, and the chain's anchor, with an HMAC
under the workstation key; `log verify` compares the database with it.

It is written atomically (`app.core.common.atomic`) inside the event's transaction and under a lock
file that the operating system releases if the process dies (`portable_fs.FileLock`), so two
processes logging at once cannot interleave. The limit: someone who can write both files and
knows the key can roll both back together.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from app.core.common.atomic import atomic_write_text
from app.core.common.errors import InputError
from app.core.common.portable_fs import FileLock, open_regular_file

HEAD_FORMAT = 1
MAX_HEAD_BYTES = 4096
LOCK_TIMEOUT_SECONDS = 15.0


class HeadError(InputError):
    """The head file is missing where required, damaged, or its MAC does not match."""


@dataclass(frozen=True)
class Head:
    count: int  # events stored
    last_id: int  # id of the newest event (0 if none)
    last_hash: str  # hash of the newest event (the anchor if none)
    anchor: str  # the hash the oldest stored event follows


def head_path(db: Path) -> Path:
    return db.with_suffix(".head")


def _lock_path(db: Path) -> Path:
    return db.with_suffix(".head.lock")


def _mac(key: bytes, head: Head) -> str:
    text = f"abuse-desk activity head {HEAD_FORMAT}|{head.count}|{head.last_id}|"
    text += f"{head.last_hash}|{head.anchor}"
    return hmac.new(key, text.encode("ascii", "replace"), hashlib.sha256).hexdigest()


def write_head(db: Path, key: bytes, head: Head) -> None:
    data: dict[str, object] = {"format": HEAD_FORMAT, "count": head.count, "last_id": head.last_id}
    data.update(last_hash=head.last_hash, anchor=head.anchor, mac=_mac(key, head))
    atomic_write_text(head_path(db), json.dumps(data) + "\n")


def read_head(db: Path, key: bytes) -> Head | None:
    """The head beside `db`, None if there is none; HeadError if it is damaged or forged."""
    path = head_path(db)
    try:
        fd = open_regular_file(path)
    except FileNotFoundError:
        if os.path.lexists(path):
            raise HeadError(f"the head file {path} is a dangling symbolic link") from None
        return None
    except OSError as exc:
        raise HeadError(f"the head file {path} cannot be read: {exc.strerror or exc}") from None
    with os.fdopen(fd, "rb") as fh:
        raw = fh.read(MAX_HEAD_BYTES + 1)
    try:
        data = json.loads(raw.decode("utf-8"))
        head = Head(*(data[k] for k in ("count", "last_id", "last_hash", "anchor")))
        types_ok = isinstance(head.count, int) and isinstance(head.last_id, int)
        types_ok = types_ok and isinstance(head.last_hash, str) and isinstance(head.anchor, str)
        mac = data["mac"]
    except (ValueError, TypeError, KeyError, RecursionError):
        types_ok, mac = False, None
    if len(raw) > MAX_HEAD_BYTES or not types_ok or data.get("format") != HEAD_FORMAT:
        raise HeadError(f"the head file {path} is damaged")
    if not isinstance(mac, str) or not hmac.compare_digest(mac, _mac(key, head)):
        raise HeadError(f"the head file {path} does not match its MAC (edited, or another key)")
    return head


@contextmanager
def head_lock(db: Path, timeout: float = LOCK_TIMEOUT_SECONDS) -> Iterator[None]:
    """Hold the cross-process lock that serialises writers of `db` and its head file."""
    lock = FileLock(_lock_path(db))
    if not lock.acquire_within(timeout):
        raise InputError(
            f"the activity log {db} is busy (another process has held its lock for "
            f"{timeout:.0f} s); nothing was logged"
        )
    try:
        yield
    finally:
        lock.release()
