"""Checks made on every output location before any work starts, and the lock held while writing.

A mistyped path must never destroy a user's file, and an hour of scoring must not end in
"file name too long" or "permission denied". So, before the first row is read:

* an output may not be the input, another output of the same command (``--report``, the CSV's
  ``.provenance.json``), the activity database or any SQLite file (found by its 16-byte header):
  paths are compared resolved and by inode (`portable_fs.same_file`: hard links, symbolic links,
  ``./x``, case-insensitive file systems);
* an output may not be an existing folder, FIFO, device or socket;
* its folder must exist and accept a new file (a probe is created and removed), and every name
  derived from it (sidecar, lock, work files, checkpoint) must fit the file system's name limit.

`output_lock` then keeps a second job off the same output: an OS lock on ``.<name>.lock`` beside
it (released by the OS even after a crash), held from before scoring until the output and its
provenance are in place. Every message names the user's path, never a work file.
"""

from __future__ import annotations

import errno
import hashlib
import os
import secrets
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager, suppress
from pathlib import Path

from app import APP_NAME
from app.core.common import atomic, portable_fs
from app.core.common.errors import InputError
from app.core.common.input_guard import SQLITE_MAGIC, kind_of
from app.core.common.paths import (
    activity_db_path,
    jobs_root,
    user_config_dir,
    user_data_dir,
    user_log_dir,
)

__all__ = [
    "check_output",
    "derived_names",
    "job_work_paths",
    "lock_path",
    "looks_like_sqlite",
    "output_lock",
    "refuse_same",
]

PROVENANCE_SUFFIX = ".provenance.json"
_FALLBACK_NAME_MAX = 255  # bytes: NTFS, ext4, APFS, and most others
_STEM_BYTES = 180  # as atomic.py cuts long names for its work files (and `job_work_paths`)
_SQLITE_SIDECARS = ("-journal", "-wal", "-shm")


def provenance_path(output: Path) -> Path:
    return Path(f"{output}{PROVENANCE_SUFFIX}")


def lock_path(output: Path) -> Path:
    """``.<name>.lock`` beside `output`; a long name is cut and made unique by a short hash."""
    raw = output.name.encode("utf-8", "surrogateescape")
    stem = raw[:_STEM_BYTES].decode("utf-8", "ignore") or "output"
    if len(raw) > _STEM_BYTES:
        stem += "-" + hashlib.sha256(raw).hexdigest()[:12]
    return output.with_name(f".{stem}.lock")


def job_work_paths(output: Path) -> tuple[Path, Path, Path]:
    """The work files of a checkpointed job writing `output` (`app.core.batch.checkpoint`): the
    hidden work file ``.<name>.partial``, the checkpoint ``.<name>.checkpoint.json`` and the
    rejected rows ``.<name>.rejected.jsonl``. Defined here so the name checks above and the
    checkpoint agree on them without this package importing the batch one."""
    stem = output.name.encode("utf-8", "surrogateescape")[:_STEM_BYTES]
    name = stem.decode("utf-8", "ignore") or "output"
    return (
        output.with_name(f".{name}{atomic.PARTIAL_SUFFIX}"),
        output.with_name(f".{name}.checkpoint.json"),
        output.with_name(f".{name}.rejected.jsonl"),
    )


def looks_like_sqlite(path: Path) -> bool:
    """True if `path` is a regular file starting with SQLite's header (never blocks on a FIFO)."""
    try:
        fd = portable_fs.open_regular_file(path, follow_links=True)
    except OSError:
        return False
    try:
        return os.read(fd, len(SQLITE_MAGIC)) == SQLITE_MAGIC
    finally:
        os.close(fd)


def refuse_same(output: Path, protected: Mapping[str, Path | None]) -> None:
    """InputError if `output` is any of `protected` (label -> path), compared as files."""
    for label, path in protected.items():
        if path is not None and portable_fs.same_file(output, path):
            also = "" if str(path) == str(output) else f" ({path})"
            raise InputError(f"{output}: refusing to write there, it is {label}{also}")


def _refuse_database(output: Path) -> None:
    db = activity_db_path()
    targets = [db, *(Path(f"{db}{suffix}") for suffix in _SQLITE_SIDECARS)]
    if any(portable_fs.same_file(output, target) for target in targets):
        raise InputError(f"{output}: refusing to overwrite the activity log")
    if looks_like_sqlite(output):
        raise InputError(f"{output}: refusing to overwrite an SQLite database")
    for suffix in _SQLITE_SIDECARS:  # a journal beside its database is part of that database
        name = output.name
        if name.endswith(suffix) and looks_like_sqlite(output.with_name(name[: -len(suffix)])):
            raise InputError(f"{output}: refusing to overwrite an SQLite database's journal")


def _refuse_special(path: Path, of: Path | None = None) -> None:
    """`path` must be a file or nothing; `of` is the user's output when `path` is its sidecar."""
    output = of or path
    try:
        info = os.stat(path)  # follows links: what a write would reach
    except FileNotFoundError:
        return
    except OSError as exc:
        raise InputError(f"{output}: cannot check the output: {exc.strerror or exc}") from None
    if kind := kind_of(info.st_mode):
        if of is not None:
            raise InputError(f"{output}: its provenance file {path.name} would replace {kind}")
        raise InputError(f"{output}: is {kind}, not a file; choose a file name")


def _real(path: Path) -> Path:
    return Path(os.path.abspath(path)).resolve()


def _refuse_app_folders(output: Path) -> None:
    """Settings, the activity log, its key and head file, installed models and private work
    folders live under the app's own folders: no output of a user's goes there."""
    where = Path(os.path.abspath(output)).resolve()
    if where.is_relative_to(_real(jobs_root())):  # the desktop app's own session cache
        return
    for folder in (user_config_dir(), user_data_dir(), user_log_dir()):
        if where.is_relative_to(_real(folder)):
            raise InputError(
                f"{output}: refusing to write into {APP_NAME}'s own folder {folder} (settings, "
                "activity log, models); choose another folder"
            )


def name_max(folder: Path) -> int:
    """The longest file name, in bytes, that `folder`'s file system accepts."""
    pathconf = getattr(os, "pathconf", None)
    if pathconf is not None:
        with suppress(OSError, ValueError):
            value = pathconf(folder, "PC_NAME_MAX")
            if value and value > 0:
                return int(value)
    return _FALLBACK_NAME_MAX


def derived_names(output: Path, *, checkpointed: bool, sidecar: bool) -> list[str]:
    """Every name a job writing `output` creates beside it, the output's own name first."""

    names = [output.name, lock_path(output).name]
    finals = [output] + ([provenance_path(output)] if sidecar else [])
    names += [f.name for f in finals[1:]]
    names += [atomic.temp_name_for(f) for f in finals]
    if checkpointed:
        names += [p.name for p in job_work_paths(output)]
    return names


def names_fit(output: Path) -> bool:
    """Whether `output` and its temporary name fit its folder's file-name limit (a default name
    derived from a long one may not: OUT.rejected.csv beside a 250-byte OUT.xlsx)."""
    limit = name_max(output.parent)
    names = (output.name, atomic.temp_name_for(output))
    return all(len(os.fsencode(name)) <= limit for name in names)


def _check_names(output: Path, names: Iterable[str]) -> None:
    limit = name_max(output.parent)
    for name in names:
        size = len(os.fsencode(name))
        if size > limit:
            raise InputError(
                f"{output}: file name too long ({name[:40]}… needs {size} bytes; "
                f"this folder allows {limit}); choose a shorter name"
            )


def _probe_folder(output: Path) -> None:
    folder = output.parent
    if not folder.is_dir():
        why = "does not exist" if not folder.exists() else "is not a folder"
        raise InputError(f"{output}: cannot write there, the folder {folder} {why}")
    probe = folder / f".abuse-desk-probe.{secrets.token_hex(6)}"
    try:
        os.close(portable_fs.open_new_file(probe))
    except OSError as exc:
        why = exc.strerror or str(exc)
        if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
            why = "permission denied" if exc.errno != errno.EROFS else "read-only file system"
        raise InputError(f"{output}: cannot write in the folder {folder}: {why}") from None
    with suppress(OSError):
        probe.unlink()


def check_output(
    output: Path,
    protected: Mapping[str, Path | None],
    *,
    checkpointed: bool = False,
    sidecar: bool = False,
) -> None:
    """Everything that can be known about `output` before a job starts; InputError if unusable.

    `protected` names the files this output must not be (the input, other outputs); the
    activity log and SQLite files are always protected. `checkpointed`/`sidecar`: the job also
    creates a checkpoint and work file / a ``.provenance.json``, whose names must fit too.
    """
    _check_names(output, derived_names(output, checkpointed=checkpointed, sidecar=sidecar))
    refuse_same(output, protected)
    if sidecar:  # "-o x.csv" must not write its sidecar over the input or the report
        sidecar_path = provenance_path(output)
        for label, path in protected.items():
            if path is not None and portable_fs.same_file(sidecar_path, path):
                raise InputError(
                    f"{output}: refusing to write there, its provenance file is {label}"
                )
    _refuse_app_folders(output)
    _refuse_special(output)
    _refuse_database(output)
    if sidecar:  # a folder or FIFO at the sidecar's name would only fail after the scoring
        _refuse_special(provenance_path(output), of=output)
        _refuse_database(provenance_path(output))
    _probe_folder(output)


@contextmanager
def output_lock(output: Path) -> Iterator[None]:
    """Hold ``.<name>.lock`` beside `output` for the duration; a second job is refused."""
    lock = portable_fs.FileLock(lock_path(output))
    try:
        lock.acquire()
    except portable_fs.LockBusy:
        pid = lock.owner_pid()
        who = f" (pid {pid})" if pid else ""
        raise InputError(f"{output} is being written by another job{who}") from None
    except OSError as exc:
        raise InputError(f"{output}: cannot lock the output: {exc.strerror or exc}") from None
    try:
        # Under the lock no live job owns a work file of this output: leftovers of a killed
        # one (an XLSX job's half-written temporary file) are removed, never adopted.
        for final in (output, provenance_path(output)):
            for stale in atomic.stale_temps(final):
                with suppress(OSError):
                    stale.unlink()
        yield
    finally:
        lock.release()


def check_score_paths(input_path: Path, output: Path, report: Path | None, fmt: str) -> None:
    """`score`'s outputs (``-o``, its provenance sidecar for CSV, ``--report``) against the input
    and each other, before the model is even loaded."""
    csv_job = fmt == "csv"
    check_output(
        output,
        {"the input": input_path, "the report": report},
        checkpointed=csv_job,
        sidecar=csv_job,
    )
    if report is not None:
        sidecar = provenance_path(output) if csv_job else None
        protected = {
            "the input": input_path,
            "the output": output,
            "the output's provenance": sidecar,
        }
        check_output(report, protected)
