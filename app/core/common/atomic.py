"""Atomic file writes: a reader sees either the old complete file or the new complete one.

Every output (scored spreadsheets, provenance sidecars, settings) is first written to a hidden
temporary file in the *same* folder, flushed to disk, then moved over the final name with
`os.replace`, which is atomic on POSIX and on Windows (NTFS) as long as both paths are on the same
volume; that is why the temporary file is never put in the system temp folder. If the process is
interrupted (exception, Ctrl+C, cancellation, even SIGKILL or power loss) the final name still
holds the previous file or nothing, never half a spreadsheet that looks finished.

Temporary files are named ``.<name>.<random>.partial``: hidden, and with a suffix no program
opens by default, so a leftover after a hard kill cannot be mistaken for a complete output.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import IO, Any

from app.core.common.portable_fs import open_new_file, open_regular_file

__all__ = [
    "PARTIAL_SUFFIX",
    "atomic_open",
    "atomic_path",
    "atomic_write_bytes",
    "atomic_write_json",
    "atomic_write_text",
]

PARTIAL_SUFFIX = ".partial"

# Keep ".<name>.<random>.partial" under the usual 255-byte file-name limit even for long names.
_MAX_NAME_BYTES = 180


def _temp_path_for(final: Path) -> Path:
    stem = final.name.encode("utf-8", "surrogateescape")[:_MAX_NAME_BYTES]
    stem_text = stem.decode("utf-8", "ignore") or "file"
    return final.with_name(f".{stem_text}.{secrets.token_hex(8)}{PARTIAL_SUFFIX}")


def stale_temps(final: Path) -> list[Path]:
    """Work files of `final` left by a process that died (SIGKILL, power loss): regular files
    named exactly as `_temp_path_for` names them. Only call this while holding the output's
    lock, when no live job can own one."""
    stem = final.name.encode("utf-8", "surrogateescape")[:_MAX_NAME_BYTES]
    prefix = "." + (stem.decode("utf-8", "ignore") or "file") + "."
    found = []
    with suppress(OSError):
        for entry in os.scandir(final.parent):
            name = entry.name
            middle = name[len(prefix) : -len(PARTIAL_SUFFIX)]
            if (
                name.startswith(prefix)
                and name.endswith(PARTIAL_SUFFIX)
                and len(middle) == 16
                and all(c in "0123456789abcdef" for c in middle)
                and entry.is_file(follow_symlinks=False)
            ):
                found.append(Path(entry.path))
    return found


def temp_name_for(final: Path) -> str:
    """The name a work file of `final` gets (the random part varies, never its length)."""
    return _temp_path_for(final).name


def _create_temp(final: Path) -> Path:
    """Create an empty, exclusively-new temporary file next to `final` and return its path.

    O_EXCL (and O_NOFOLLOW, through `portable_fs.open_new_file`) guarantees we never adopt (and
    later delete) a file someone else owns, nor write through a link planted at the name; 0o666
    lets the umask decide permissions, so the output ends up with the same rights as a normally
    written one (mkstemp would make it 0600).
    """
    for _ in range(16):
        tmp = _temp_path_for(final)
        try:
            fd = open_new_file(tmp, 0o666)
        except FileExistsError:
            continue
        os.close(fd)
        return tmp
    raise FileExistsError(f"could not create a temporary file next to {final}")


def _fsync_path(path: Path) -> None:
    # O_RDWR rather than O_RDONLY: on Windows FlushFileBuffers needs a handle with write access.
    # Never through a link: the temporary name could have been swapped since we created it.
    fd = open_regular_file(path, os.O_RDWR)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_dir(folder: Path) -> None:
    """Persist the rename itself (POSIX only; Windows cannot open a folder this way)."""
    if os.name != "posix":
        return
    with suppress(OSError):
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _remove_quietly(path: Path) -> None:
    # Never let cleanup mask the exception that is already propagating.
    with suppress(OSError):
        os.unlink(path)


@contextmanager
def _atomic(final_path: str | os.PathLike[str], *, fsync_temp: bool) -> Iterator[Path]:
    final = Path(final_path)
    tmp = _create_temp(final)
    try:
        yield tmp
        if fsync_temp:
            _fsync_path(tmp)
        os.replace(tmp, final)
    except BaseException:
        # BaseException on purpose: KeyboardInterrupt, SystemExit and JobCancelled must not leave
        # a temporary file behind either.
        _remove_quietly(tmp)
        raise
    fsync_dir(final.parent)


@contextmanager
def atomic_path(final_path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path next to `final_path`; move it into place only on success.

    For libraries that want a file name rather than an open file (XlsxWriter). On normal exit the
    temporary file is fsynced, replaces `final_path` and the folder is fsynced (best effort). On
    any exception the temporary file is removed, `final_path` is left untouched and the exception
    propagates.
    """
    with _atomic(final_path, fsync_temp=True) as tmp:
        yield tmp


@contextmanager
def atomic_open(
    final_path: str | os.PathLike[str],
    mode: str = "w",
    *,
    encoding: str | None = "utf-8",
    newline: str | None = "",
) -> Iterator[IO[Any]]:
    """Like `open(final_path, mode)` for writing, but the file appears only once complete.

    `mode` must be a write mode ("w", "wb", "w+", ...). For binary modes `encoding` and `newline`
    are ignored. The default ``newline=""`` writes text exactly as given (what the csv module
    expects) instead of translating "\\n" to the platform's line ending.
    """
    if "w" not in mode or any(ch in mode for ch in "rax"):
        raise ValueError(f"atomic_open needs a write mode such as 'w' or 'wb', not {mode!r}")
    binary = "b" in mode
    with _atomic(final_path, fsync_temp=False) as tmp:
        # Reopened without following a link, so a link swapped in for our temporary file is
        # refused rather than written through.
        with open(
            open_regular_file(tmp, os.O_RDWR),
            mode,
            encoding=None if binary else encoding,
            newline=None if binary else newline,
        ) as fh:
            yield fh
            if fh.closed:  # the caller closed it early; still make the data durable
                _fsync_path(tmp)
            else:
                fh.flush()
                os.fsync(fh.fileno())
        # The file is closed here, before os.replace: Windows refuses to rename an open file.


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    """Atomically replace `path` with `data`."""
    with atomic_open(path, "wb") as fh:
        fh.write(data)


def atomic_write_text(path: str | os.PathLike[str], text: str, encoding: str = "utf-8") -> None:
    """Atomically replace `path` with `text`, written without newline translation."""
    with atomic_open(path, "w", encoding=encoding, newline="") as fh:
        fh.write(text)


def atomic_write_json(path: str | os.PathLike[str], obj: Any) -> None:
    """Atomically write `obj` as human-readable JSON (indent 2, key order kept, UTF-8).

    Serialised before the file is created, so an object that cannot be encoded raises without
    leaving anything behind.
    """
    text = json.dumps(obj, indent=2, sort_keys=False, ensure_ascii=False) + "\n"
    atomic_write_text(path, text, encoding="utf-8")
