"""Batch history: the last N finished desktop jobs, kept across restarts so their results can be
reopened and exported again.

An entry is a folder ``<jobs>/history/<id>/`` (the scored cache, the table, the full report: see
`history_files`) and a line in ``<jobs>/history/index.json``: input path, SHA-256 and size, when
it finished, model, threshold, ledger counts, rejected rows (first few), text column. The index
is written atomically under a file lock (two windows of the app may finish jobs at once), and
read tolerantly: a damaged or hand-edited file never stops the app; bad entries are dropped
with one logged warning naming the index and how many. An index a newer app wrote (a higher
``schema_version``) is read but never rewritten: changing the history is then refused
(`HistoryNewer`), as settings.json is protected.

Only our own files are ever deleted: an entry's folder must be a direct child of the history
folder, not a link, and only the names in `history_files.ENTRY_FILES` are removed from it. The
user's input file is never touched. Scored texts may be personal data: ``batch_history_size``
(Preferences) bounds how many jobs are kept; 0 keeps none (caches then die with the session).
"""

from __future__ import annotations

import json
import logging
import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from app.core.batch.options import BatchReport
from app.core.batch.words import BLANK, REJECTED
from app.core.common.atomic import atomic_write_json
from app.core.common.messages import fmt_threshold, printable
from app.core.common.paths import jobs_root
from app.core.common.portable_fs import FileLock
from app.core.results.cache import ScoredFile
from app.core.results.history_files import (
    CACHE_NAME,
    ENTRY_FILES,
    REPORT_NAME,
    TABLE_NAME,
    load_report,
    load_table,
    move_cache_into,
    save_report,
    save_table,
)

log = logging.getLogger(__name__)
HISTORY_DIR = "history"
INDEX_NAME = "index.json"
SCHEMA_VERSION = 1
MAX_HISTORY = 100
MAX_INDEX_BYTES = 4 << 20
REJECTED_KEPT = 20  # the index lists the first few rejected rows; the report has them all
LOCK_SECONDS = 5.0
_ID = re.compile(r"^[0-9A-Za-z][0-9A-Za-z-]{0,63}$")
COUNT_KEYS = ("rows_read", "rows_scored", "rows_blank", "rows_rejected", "rows_flagged")


class HistoryBusy(OSError):
    """Another process holds the history lock for longer than `LOCK_SECONDS`."""


class HistoryNewer(OSError):
    """The index was written by a newer version of the app: it is not ours to rewrite."""


@dataclass(frozen=True)
class HistoryEntry:
    id: str
    input_path: str
    input_sha256: str
    input_size: int
    finished_utc: str
    model_version: str
    threshold: float
    text_column: str
    counts: dict[str, int]
    rejected: list[dict[str, Any]] = field(default_factory=list)
    challenger_version: str = ""

    @property
    def name(self) -> str:
        return Path(self.input_path).name


def _valid_entry(raw: Any) -> HistoryEntry:
    """One index entry, every field checked; ValueError says which is wrong."""
    if not isinstance(raw, dict):
        raise ValueError("not an object")
    strings = ("id", "input_path", "input_sha256", "finished_utc", "model_version", "text_column")
    for key in strings:
        if not isinstance(raw.get(key), str):
            raise ValueError(f"{key} is not text")
    if not _ID.match(raw["id"]):
        raise ValueError("id is not a history id")
    size, threshold = raw.get("input_size"), raw.get("threshold")
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise ValueError("input_size is not a size")
    if not isinstance(threshold, int | float) or isinstance(threshold, bool):
        raise ValueError("threshold is not a number")
    if not 0.0 <= threshold <= 1.0:
        raise ValueError("threshold is not between 0 and 1")
    counts = raw.get("counts")
    if not isinstance(counts, dict) or set(counts) != set(COUNT_KEYS):
        raise ValueError("counts are not the ledger's")
    if not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in counts.values()):
        raise ValueError("counts are not counts")
    rejected = raw.get("rejected", [])
    if not isinstance(rejected, list) or not all(isinstance(r, dict) for r in rejected):
        raise ValueError("rejected is not a list of rows")
    challenger = raw.get("challenger_version", "")
    if not isinstance(challenger, str):
        raise ValueError("challenger_version is not text")
    return HistoryEntry(
        raw["id"], raw["input_path"], raw["input_sha256"], size, raw["finished_utc"],
        raw["model_version"], float(threshold), raw["text_column"], dict(counts),
        rejected[:REJECTED_KEPT], challenger,
    )  # fmt: skip


class BatchHistory:
    """The history folder of one data folder (default: the user's)."""

    def __init__(self, root: Path | None = None) -> None:
        self.root = root if root is not None else jobs_root() / HISTORY_DIR

    @property
    def index_path(self) -> Path:
        return self.root / INDEX_NAME

    def folder(self, entry_id: str) -> Path:
        return self.root / entry_id

    def cache_path(self, entry: HistoryEntry) -> Path:
        return self.folder(entry.id) / CACHE_NAME

    def available(self, entry: HistoryEntry) -> bool:
        """Whether the entry can be reopened: its cache, table and report are all there."""
        folder = self.folder(entry.id)
        return all((folder / name).is_file() for name in (CACHE_NAME, TABLE_NAME, REPORT_NAME))

    # --- the index ---------------------------------------------------------------------------

    def entries(self) -> list[HistoryEntry]:
        """The entries, oldest first; a damaged index or entry is skipped with a warning."""
        return self._read()[0]

    def _read(self) -> tuple[list[HistoryEntry], object]:
        """The valid entries and the index's schema version (ours when absent or damaged; any
        other value, a newer number or a string or 1.5, is not ours and is kept as read)."""
        try:
            raw = self.index_path.read_bytes()[: MAX_INDEX_BYTES + 1]
        except FileNotFoundError:
            return [], SCHEMA_VERSION
        except OSError as exc:
            log.warning("batch history %s unreadable: %s", self.index_path, exc)
            return [], SCHEMA_VERSION
        try:
            data = json.loads(raw.decode("utf-8")) if len(raw) <= MAX_INDEX_BYTES else None
        except (UnicodeDecodeError, ValueError, RecursionError):
            data = None
        if not isinstance(data, dict) or not isinstance(data.get("entries"), list):
            log.warning("batch history %s is damaged; it is ignored", self.index_path)
            return [], SCHEMA_VERSION
        version = data.get("schema_version", SCHEMA_VERSION)  # absent: an index of ours
        ours = type(version) is int and version == SCHEMA_VERSION
        schema = SCHEMA_VERSION if ours else version
        entries: list[HistoryEntry] = []
        dropped: list[str] = []
        for n, item in enumerate(data["entries"]):
            try:
                entry = _valid_entry(item)
            except ValueError as exc:
                dropped.append(f"entry {n}: {exc}")
                continue
            if all(e.id != entry.id for e in entries):
                entries.append(entry)
        if dropped:  # one line, however many: a damaged index must not flood the terminal
            log.warning("batch history %s: %d %s dropped (%s%s)", self.index_path, len(dropped),
                        "entry" if len(dropped) == 1 else "entries", dropped[0],
                        ", …" if len(dropped) > 1 else "")  # fmt: skip
        return entries, schema

    def _changeable(self) -> list[HistoryEntry]:
        """The entries, under the lock, to be changed and written back; HistoryNewer if a newer
        app wrote the index (its fields would be lost)."""
        entries, schema = self._read()
        if schema != SCHEMA_VERSION or type(schema) is not int:  # 2, "2", 2.0, 1.5, true...
            shown = printable(repr(schema)[:40])
            raise HistoryNewer(
                f"{self.index_path} was written by a newer or another version of the app "
                f"(schema_version {shown}); the history is not changed"
            )
        return entries

    def _write(self, entries: list[HistoryEntry]) -> None:
        index = {"schema_version": SCHEMA_VERSION, "entries": [asdict(e) for e in entries]}
        atomic_write_json(self.index_path, index)

    @contextmanager
    def _locked(self) -> Iterator[None]:
        self.root.mkdir(parents=True, exist_ok=True)
        lock = FileLock(self.root / f".{INDEX_NAME}.lock")
        if not lock.acquire_within(LOCK_SECONDS):
            raise HistoryBusy(f"{self.index_path} is busy (another window is saving it)")
        try:
            yield
        finally:
            lock.release()

    # --- changing it -------------------------------------------------------------------------

    def record(self, result: ScoredFile, keep: int, input_size: int) -> HistoryEntry | None:
        """Move a finished job's cache into the history and list it; the oldest entries beyond
        `keep` are removed with their files. None (nothing moved) when `keep` is 0."""
        with self._locked():
            entries = self._changeable()
            if keep <= 0:
                self._evict(entries, 0)
                return None
            entry_id = f"{datetime.now(UTC):%Y%m%dT%H%M%S}-{secrets.token_hex(3)}"
            folder = self.folder(entry_id)
            folder.mkdir()
            report = result.report
            try:
                save_table(result.table, folder / TABLE_NAME)
                save_report(report, folder / REPORT_NAME)
                result.cache_path = move_cache_into(result.cache_path, folder)
            except BaseException:
                _delete_folder(self.root, folder)
                raise
            entry = HistoryEntry(
                entry_id, report.input, report.input_sha256, input_size,
                datetime.now(UTC).replace(microsecond=0).isoformat(), report.model_version,
                report.threshold, report.text_column,
                {key: int(getattr(report, key)) for key in COUNT_KEYS},
                report.rejected[:REJECTED_KEPT], report.challenger_version,
            )  # fmt: skip
            self._evict([*entries, entry], keep)
            return entry

    def trim(self, keep: int) -> list[HistoryEntry]:
        """Keep only the newest `keep` entries (the setting may have been lowered)."""
        with self._locked():
            return self._evict(self._changeable(), keep)

    def remove(self, entry_id: str) -> bool:
        """Delete an entry and its files; False if it was not listed."""
        with self._locked():
            entries = self._changeable()
            kept = [e for e in entries if e.id != entry_id]
            if len(kept) == len(entries):
                return False
            self._write(kept)
            _delete_folder(self.root, self.folder(entry_id))
            return True

    def _evict(self, entries: list[HistoryEntry], keep: int) -> list[HistoryEntry]:
        """Write the newest `keep` entries; delete the files of the others and of folders no
        entry names (a job recorded by a process that died before listing it)."""
        kept = entries[-keep:] if keep > 0 else []
        self._write(kept)
        names = {e.id for e in kept}
        for child in self.root.iterdir():
            if child.is_dir() and _ID.match(child.name) and child.name not in names:
                _delete_folder(self.root, child)
        return kept

    # --- reading one back --------------------------------------------------------------------

    def load(self, entry: HistoryEntry) -> ScoredFile:
        """The entry's results as the job left them; OSError/ValueError if they are gone or
        damaged (the UI then offers only Remove)."""
        folder = self.folder(entry.id)
        report = load_report(folder / REPORT_NAME)
        if not report_matches(entry, report):
            raise ValueError(f"{folder}: the index does not describe this job's report")
        table = load_table(folder / TABLE_NAME)
        cache = folder / CACHE_NAME
        if not cache.is_file():
            raise FileNotFoundError(f"{cache} is gone")
        if len(table) != report.rows_written:
            raise ValueError(f"{folder}: the table holds {len(table)} rows, the report says "
                             f"{report.rows_written}")  # fmt: skip
        # The policy is the report's (checked by load_report); an entry from before bands has none.
        table.bands = (report.bands[0], report.bands[1]) if report.bands else None
        return ScoredFile(report, table, cache)


def _delete_folder(root: Path, folder: Path) -> None:
    """Delete our files in an entry folder, then the folder if it is empty: never anything
    outside the history folder, never through a link, never a file we did not write."""
    if folder.is_symlink() or not folder.is_dir():
        return
    if folder.resolve().parent != root.resolve():
        log.warning("not deleting %s: it is not in %s", folder, root)
        return
    for name in ENTRY_FILES:
        target = folder / name
        if target.is_symlink() or target.is_file():  # a link itself, never what it points at
            target.unlink(missing_ok=True)
    try:
        folder.rmdir()
    except OSError:
        log.warning("history folder %s kept: it holds files the app did not write", folder)


def entry_counts(counts: dict[str, int]) -> str:
    """The ledger's words: "2,000 scored, 1 rejected, 3 flagged" (rejected and blank only if
    any), so the history agrees with the results and the export, which count scored rows."""
    parts = [f"{counts['rows_scored']:,} scored"]
    parts += [f"{counts[f'rows_{word}']:,} {word}" for word in (REJECTED, BLANK)
              if counts[f"rows_{word}"]]  # fmt: skip
    return ", ".join([*parts, f"{counts['rows_flagged']:,} flagged"])


def entry_summary(entry: HistoryEntry, available: bool) -> str:
    """One line for the history list: file, when, counts, model, threshold (exact, as given)."""
    when = entry.finished_utc.replace("T", " ")[5:16]  # 12-07 18:20: the year rarely helps
    text = (
        f"{entry.name} · {when} UTC · {entry_counts(entry.counts)} · "
        f"{entry.model_version} @ {fmt_threshold(entry.threshold)}"
    )
    return text if available else f"{text} · cache gone — rescore"


def entry_brief(entry: HistoryEntry, available: bool) -> str:
    """The part of the line after the file name that a narrow drop-down shows: the day, flagged
    and the threshold ("12-07 · 3 flagged @ 0.45"); the list and the tooltip have it all."""
    when = entry.finished_utc[5:10]
    text = f"{when} · {entry.counts['rows_flagged']:,} flagged @ {fmt_threshold(entry.threshold)}"
    return text if available else f"{text} · cache gone — rescore"


def report_matches(entry: HistoryEntry, report: BatchReport) -> bool:
    """Whether a loaded report is the one the index describes (a hand-edited index is not
    allowed to relabel another job's results)."""
    return (
        report.input_sha256 == entry.input_sha256
        and report.model_version == entry.model_version
        and report.threshold == entry.threshold
        and all(getattr(report, k) == v for k, v in entry.counts.items())
    )
