"""The local labels store: reviewers' verdicts on audit samples, in one SQLite file in the user's
data folder (`app.core.common.paths.labels_db_path`).

A sample is identified by the SHA-256 of its file (its path is kept for display only: a sample
moved or renamed keeps its verdicts, and an edited one does not inherit them). A verdict is
(sample, item line, abusive|benign|skip, note, reviewer, UTC time). Nothing is ever updated or
deleted: undo appends an ``undo`` record naming the verdict it withdraws, so the history says
who decided what and who took it back; an item's current verdict is its latest one not undone.

Durability and sharing: WAL with ``synchronous=FULL`` (a verdict acknowledged is on disk), and
every write is one ``BEGIN IMMEDIATE`` transaction, so two windows or processes writing at once
queue behind each other instead of losing a verdict. A file that is not this store (damaged,
another program's, or written by a newer version) is refused with one line naming it and is
never written to, let alone recreated; a new store is made only where no file exists (an empty
file or another program's table-less database is refused, not taken over).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from app.core.activity.chain import utc_iso
from app.core.common.errors import InputError
from app.core.common.paths import labels_db_path
from app.core.common.sqlite_file import create_store_file, file_problem
from app.core.common.user import workstation_user

ABUSIVE, BENIGN, SKIP = "abusive", "benign", "skip"
VERDICTS = (ABUSIVE, BENIGN, SKIP)
_UNDO = "undo"  # the record that withdraws an earlier verdict (never a current verdict)
SCHEMA_VERSION = 1
_APPLICATION = "abuse-desk labels"
BUSY_TIMEOUT_MS = 10_000
GUI_BUSY_TIMEOUT_MS = 750  # the GUI thread waits at most this for another writer (no freeze)
MAX_NOTE_CHARS = 2_000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS samples (
    sha256 TEXT PRIMARY KEY, path TEXT NOT NULL, opened_utc TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS verdicts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    sample_sha256 TEXT NOT NULL,
    item_line INTEGER NOT NULL,
    verdict TEXT NOT NULL,
    note TEXT NOT NULL,
    reviewer TEXT NOT NULL,
    time_utc TEXT NOT NULL,
    undoes INTEGER
);
CREATE INDEX IF NOT EXISTS verdicts_sample ON verdicts(sample_sha256, id);
"""
_COLUMNS = {
    "meta": ["key", "value"],
    "samples": ["sha256", "path", "opened_utc"],
    "verdicts": [
        "id", "sample_sha256", "item_line", "verdict", "note", "reviewer", "time_utc", "undoes",
    ],
}  # fmt: skip


class LabelsStoreError(InputError):
    """The labels store cannot be used (CLI exit 3); nothing was written."""


@dataclass(frozen=True)
class Verdict:
    id: int
    sample_sha256: str
    item_line: int
    verdict: str  # abusive | benign | skip (| undo in the history)
    note: str
    reviewer: str
    time_utc: str
    undoes: int | None = None


@dataclass(frozen=True)
class KnownSample:
    sha256: str
    path: str
    opened_utc: str


class LabelsStore:
    """One connection to the store; open as many as there are windows (see the module doc)."""

    def __init__(self, path: Path, *, busy_timeout_ms: int = BUSY_TIMEOUT_MS) -> None:
        self.path = Path(path)
        self.busy_timeout_ms = busy_timeout_ms
        try:  # a new store only where no file is: never adopt an empty or another's file
            create_store_file(self.path, _create)
        except (OSError, sqlite3.Error) as exc:
            raise self._error(f"cannot be created ({exc})") from None
        if (problem := file_problem(self.path)) is not None:
            raise self._error(problem)
        try:
            self._db = sqlite3.connect(self.path, timeout=busy_timeout_ms / 1000)
        except sqlite3.Error as exc:
            raise self._error(f"cannot be opened ({exc})") from None
        self._db.isolation_level = None  # transactions are explicit: BEGIN IMMEDIATE
        try:
            self._open()
        except sqlite3.Error as exc:
            self._db.close()
            raise self._error(f"is damaged or cannot be used ({exc})") from None
        except LabelsStoreError:
            self._db.close()
            raise

    @classmethod
    def open_default(
        cls, data_dir: Path | None = None, *, busy_timeout_ms: int = BUSY_TIMEOUT_MS
    ) -> LabelsStore:
        path = labels_db_path(data_dir)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise LabelsStoreError(f"labels store {path}: {exc.strerror or exc}") from None
        return cls(path, busy_timeout_ms=busy_timeout_ms)

    def close(self) -> None:
        with suppress(sqlite3.Error):
            self._db.close()

    def __enter__(self) -> LabelsStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- opening and validation -----------------------------------------------------------------
    def _error(self, why: str) -> LabelsStoreError:
        return LabelsStoreError(f"labels store {self.path} {why}; it was left as it is")

    def _open(self) -> None:
        self._db.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout_ms)}")
        self._validate(self._tables())
        self._db.execute("PRAGMA journal_mode = WAL")
        self._db.execute("PRAGMA synchronous = FULL")

    def _tables(self) -> set[str]:
        rows = self._db.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
        return {str(name) for (name,) in rows if not str(name).startswith("sqlite_")}

    def _validate(self, tables: set[str]) -> None:
        if "meta" not in tables:
            raise self._error("belongs to another program (no labels-store metadata)")
        meta = dict(self._db.execute("SELECT key, value FROM meta").fetchall())
        if meta.get("application") != _APPLICATION:
            raise self._error("belongs to another program (not an abuse-desk labels store)")
        raw = meta.get("schema_version")
        if not isinstance(raw, str) or not raw.isdigit():
            raise self._error(f"has a damaged schema version {raw!r}")
        if int(raw) > SCHEMA_VERSION:
            raise self._error(
                f"was written by a newer version of abuse-desk (schema {raw}, this one reads "
                f"{SCHEMA_VERSION}); update abuse-desk to use it"
            )
        for table, columns in _COLUMNS.items():
            found = [str(r[1]) for r in self._db.execute(f"PRAGMA table_info({table})")]
            if found != columns:
                raise self._error(f"is damaged: table {table!r} has columns {found}")
        check = self._db.execute("PRAGMA quick_check").fetchone()
        if not check or check[0] != "ok":
            raise self._error(f"is damaged: {check[0] if check else 'no integrity answer'}")

    @contextmanager
    def _write(self) -> Iterator[None]:
        """One write transaction, taken at once (IMMEDIATE) so concurrent writers queue."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    @contextmanager
    def _guarded(self, doing: str) -> Iterator[None]:
        try:
            yield
        except sqlite3.Error as exc:
            raise LabelsStoreError(
                f"labels store {self.path}: cannot {doing} ({exc}); nothing was saved"
            ) from None

    # --- samples -------------------------------------------------------------------------------
    def add_sample(self, sha256: str, path: str | Path) -> None:
        """Remember the sample (its latest path and when it was opened, for "recent")."""
        _check_sha(sha256)
        with self._guarded("record the sample"), self._write():
            self._db.execute(
                "INSERT INTO samples VALUES (?, ?, ?) ON CONFLICT(sha256) DO UPDATE SET "
                "path = excluded.path, opened_utc = excluded.opened_utc",
                (sha256, str(path), _now()),
            )

    def recent_samples(self, limit: int = 10) -> list[KnownSample]:
        with self._guarded("read the samples"):
            rows = self._db.execute(
                "SELECT sha256, path, opened_utc FROM samples ORDER BY opened_utc DESC LIMIT ?",
                (limit,),
            ).fetchall()
        return [KnownSample(str(a), str(b), str(c)) for a, b, c in rows]

    # --- verdicts ------------------------------------------------------------------------------
    def record(
        self,
        sample_sha256: str,
        item_line: int,
        verdict: str,
        note: str = "",
        reviewer: str | None = None,
    ) -> Verdict:
        """Append a verdict; returns after it is committed (durably: synchronous FULL)."""
        _check_sha(sample_sha256)
        if verdict not in VERDICTS:
            raise ValueError(f"verdict must be one of {VERDICTS}, not {verdict!r}")
        if type(item_line) is not int or item_line < 1:
            raise ValueError(f"item line must be a whole number >= 1, not {item_line!r}")
        row = (sample_sha256, item_line, verdict, note[:MAX_NOTE_CHARS],
               reviewer or workstation_user(), _now(), None)  # fmt: skip
        with self._guarded("save the verdict"), self._write():
            cursor = self._db.execute(
                "INSERT INTO verdicts (sample_sha256, item_line, verdict, note, reviewer, "
                "time_utc, undoes) VALUES (?, ?, ?, ?, ?, ?, ?)",
                row,
            )
        return Verdict(int(cursor.lastrowid or 0), *row)

    def undo_last(self, sample_sha256: str, reviewer: str | None = None) -> Verdict | None:
        """Withdraw the sample's latest verdict still standing (an ``undo`` record is appended);
        returns the verdict withdrawn, None when there is nothing to undo."""
        _check_sha(sample_sha256)
        with self._guarded("undo the verdict"), self._write():
            standing = self._standing(sample_sha256)
            if not standing:
                return None
            last = standing[-1]
            self._db.execute(
                "INSERT INTO verdicts (sample_sha256, item_line, verdict, note, reviewer, "
                "time_utc, undoes) VALUES (?, ?, ?, '', ?, ?, ?)",
                (sample_sha256, last.item_line, _UNDO, reviewer or workstation_user(), _now(),
                 last.id),
            )  # fmt: skip
        return last

    def withdraw(self, verdict: Verdict, reviewer: str | None = None) -> None:
        """Withdraw this very verdict (an ``undo`` record naming it), e.g. one whose activity
        event could not be written: the store then holds no verdict the log does not."""
        with self._guarded("withdraw the verdict"), self._write():
            self._db.execute(
                "INSERT INTO verdicts (sample_sha256, item_line, verdict, note, reviewer, "
                "time_utc, undoes) VALUES (?, ?, ?, '', ?, ?, ?)",
                (verdict.sample_sha256, verdict.item_line, _UNDO, reviewer or workstation_user(),
                 _now(), verdict.id),
            )  # fmt: skip

    def history(self, sample_sha256: str) -> list[Verdict]:
        """Every record of the sample, oldest first, undo records included."""
        with self._guarded("read the verdicts"):
            rows = self._db.execute(
                "SELECT id, sample_sha256, item_line, verdict, note, reviewer, time_utc, undoes "
                "FROM verdicts WHERE sample_sha256 = ? ORDER BY id",
                (sample_sha256,),
            ).fetchall()
        return [self._checked(row) for row in rows]

    def current(self, sample_sha256: str) -> dict[int, Verdict]:
        """Each item's current verdict (its latest not undone), by item line."""
        return {v.item_line: v for v in self._standing(sample_sha256)}

    def _standing(self, sample_sha256: str) -> list[Verdict]:
        records = self.history(sample_sha256)
        undone = {r.undoes for r in records if r.verdict == _UNDO}
        return [r for r in records if r.verdict != _UNDO and r.id not in undone]

    def _checked(self, row: tuple[object, ...]) -> Verdict:
        """A row as read, validated: a damaged or hand-edited row is refused, never shown."""
        id_, sha, line, verdict, note, reviewer, time_utc, undoes = row
        ok = (
            type(id_) is int
            and isinstance(sha, str)
            and type(line) is int
            and line >= 1
            and verdict in (*VERDICTS, _UNDO)
            and isinstance(note, str)
            and isinstance(reviewer, str)
            and isinstance(time_utc, str)
            and (undoes is None if verdict != _UNDO else type(undoes) is int)
        )
        if not ok:
            raise self._error(f"is damaged: verdict record {id_!r} is malformed")
        return Verdict(id_, sha, line, verdict, note, reviewer, time_utc, undoes)  # type: ignore[arg-type]


def _create(db: sqlite3.Connection) -> None:
    """The schema of a new store (`create_store_file` runs it in one transaction)."""
    for statement in filter(str.strip, _SCHEMA.split(";")):
        db.execute(statement)
    db.execute(
        "INSERT INTO meta VALUES ('schema_version', ?), ('application', ?)",
        (str(SCHEMA_VERSION), _APPLICATION),
    )


def _now() -> str:
    return utc_iso(datetime.now(UTC))


def _check_sha(sha256: str) -> None:
    if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
        raise ValueError(f"not a SHA-256 hex digest: {sha256!r}")
