"""Our small SQLite stores' files (decision records, labels): whose file is it, and how a new one
comes into being.

A store is created only where no file exists, and never by opening a path: SQLite would happily
"open" an empty file (or another program's table-less database) and write our tables into it.
`create_store_file` builds the new database in a temporary file beside the target and links it
into place only if the name is still free, so a crash never leaves a half-made store and a file
that appeared meanwhile (another window) is used, not replaced. `file_problem` names what is
wrong with an existing file before SQLite is let near it.
"""

from __future__ import annotations

import os
import sqlite3
import tempfile
from collections.abc import Callable
from contextlib import closing, suppress
from pathlib import Path

SQLITE_MAGIC = b"SQLite format 3\x00"


def file_problem(path: Path) -> str | None:
    """Why the existing ``path`` cannot be one of our stores ("is empty (0 bytes)", ...), or
    None if it starts like an SQLite database (its tables are checked once open)."""
    try:
        if path.is_symlink() or not path.is_file():
            return "is not a regular file"
        with open(path, "rb") as fh:
            head = fh.read(len(SQLITE_MAGIC))
    except OSError as exc:
        return f"cannot be read ({exc.strerror or exc})"
    if not head:
        return "is empty (0 bytes), not an abuse-desk store"
    if head != SQLITE_MAGIC:
        return "is not an SQLite database (damaged?)"
    return None


def has_user_tables(db: sqlite3.Connection) -> bool:
    rows = db.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
    return any(not str(name).startswith("sqlite_") for (name,) in rows)


def create_store_file(path: Path, init: Callable[[sqlite3.Connection], None]) -> bool:
    """Create the store at ``path`` with ``init(connection)`` (inside one transaction) if no
    file is there. True if this call created it, False if a file already existed (the caller
    checks it as usual). OSError/sqlite3.Error if it cannot be made (nothing is left behind)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if os.path.lexists(path):
        return False
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".new", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        with closing(sqlite3.connect(tmp, isolation_level=None)) as db:
            db.execute("BEGIN")
            init(db)
            db.execute("COMMIT")
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        try:
            os.link(tmp, path)  # fails if the name was taken meanwhile: never replace a file
        except FileExistsError:
            return False
        return True
    finally:
        with suppress(OSError):
            tmp.unlink()
