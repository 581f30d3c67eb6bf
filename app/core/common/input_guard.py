"""What an input must be before it is read as CSV: a regular file, of text, in a text encoding.

* A FIFO, device, folder or socket is refused from its ``stat``, before it is opened for
  reading: ``/dev/zero`` would never end and a FIFO without a writer would hang the job. The
  open itself is non-blocking and re-checks the opened file (it may be swapped in between).
* Clearly binary files (images, archives, PDFs, databases, or many NUL bytes in the first KiB of a
  file that is not UTF-16/32) are refused as "not a text file (looks like ...)": decoded as
  cp1252 they would score garbage, with exit 0.
* ``--encoding`` must name a text encoding: ``base64``, ``rot13``, ``zlib``, ``hex`` are codecs
  Python knows, but not ways to read text from bytes. ``idna`` and ``punycode`` are text
  codecs that refuse any error handler but "strict", so they cannot read a file with the
  app's escaping of bad bytes (`ESCAPE_ERRORS`): they are refused the same way.
"""

from __future__ import annotations

import codecs
import os
import stat
from pathlib import Path
from typing import BinaryIO

from app.core.common import portable_fs
from app.core.common.errors import InputError

__all__ = [
    "ESCAPE_ERRORS",
    "input_identity",
    "kind_of",
    "open_input",
    "refuse_binary",
    "text_codec",
]

ESCAPE_ERRORS = "abuse_desk.escape"  # registered by csv_sniff, which documents it

_KINDS = {
    stat.S_IFDIR: "a folder",
    stat.S_IFIFO: "a FIFO (named pipe)",
    stat.S_IFCHR: "a device",
    stat.S_IFBLK: "a device",
    stat.S_IFSOCK: "a socket",
}
# Leading bytes of the formats a user most often picks by mistake.
SQLITE_MAGIC = b"SQLite format 3\x00"  # also how outputs recognise a database

_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "PNG image"),
    (b"GIF87a", "GIF image"),
    (b"GIF89a", "GIF image"),
    (b"\xff\xd8\xff", "JPEG image"),
    (b"%PDF-", "PDF document"),
    (b"\x1f\x8b", "gzip archive"),
    (b"\xfd7zXZ\x00", "xz archive"),
    (b"7z\xbc\xaf\x27\x1c", "7-Zip archive"),
    (b"\x28\xb5\x2f\xfd", "zstd archive"),
    (SQLITE_MAGIC, "SQLite database"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "old Excel/Office document; save it as CSV first"),
    (b"\x7fELF", "program"),
)
_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")
_NUL_SAMPLE = 1024
_NUL_LIMIT = 0.1  # share of NUL bytes in the first KiB above which a non-UTF-16/32 file is binary


def kind_of(mode: int) -> str | None:
    """ "a folder", "a FIFO (named pipe)", ... for anything that is not a regular file."""
    return None if stat.S_ISREG(mode) else _KINDS.get(stat.S_IFMT(mode), "not a regular file")


def open_input(path: str | Path) -> BinaryIO:
    """Open a user's input for reading in binary; InputError naming it if it is not a file."""
    path = Path(path)
    try:
        info = os.stat(path)  # follows a link: the file it leads to is what is read
    except OSError as exc:
        raise InputError(f"Cannot open {path}: {exc.strerror or exc}.") from None
    if kind := kind_of(info.st_mode):
        raise InputError(f"{path}: is {kind}, not a regular file; choose a CSV file.")
    try:
        fd = portable_fs.open_regular_file(path, follow_links=True)
    except portable_fs.NotARegularFile:  # swapped between the stat and the open
        raise InputError(f"{path}: is not a regular file; choose a CSV file.") from None
    except OSError as exc:
        raise InputError(f"Cannot open {path}: {exc.strerror or exc}.") from None
    return os.fdopen(fd, "rb")


def input_identity(path: Path) -> tuple[int, ...]:
    """What changes when a file is edited or replaced: size, mtime, inode, device."""
    try:
        info = os.stat(path)
    except OSError as exc:
        raise InputError(f"Cannot open {path}: {exc.strerror or exc}.") from None
    return (info.st_size, info.st_mtime_ns, info.st_ino, info.st_dev)


def refuse_binary(path: str | Path, head: bytes, encoding: str) -> None:
    """InputError if `head` (the file's first bytes) is clearly not text in `encoding`."""
    if head.startswith(_ZIP_MAGIC):
        raise InputError(
            f"{path}: not a text file (looks like a ZIP archive or Excel workbook); "
            "save it as CSV first."
        )
    if head[:3] == b"BZh" and head[4:10] == b"1AY&SY":
        raise InputError(f"{path}: not a text file (looks like bzip2 archive).")
    for magic, what in _MAGIC:
        if head.startswith(magic):
            raise InputError(f"{path}: not a text file (looks like {what}).")
    if "16" in encoding or "32" in encoding:  # NUL bytes are part of UTF-16/32 text
        return
    sample = head[:_NUL_SAMPLE]
    if sample and sample.count(0) > _NUL_LIMIT * len(sample):
        raise InputError(f"{path}: not a text file (many NUL bytes: looks like binary data).")


def text_codec(encoding: str, path: str | Path) -> str:
    """The codec's canonical name; InputError if it is unknown or not a text encoding."""
    try:
        info = codecs.lookup(encoding)
    except (LookupError, ValueError, TypeError):
        raise InputError(f"{path}: unknown text encoding {encoding!r}.") from None
    # base64, hex, zlib, bz2, uu, quopri (bytes to bytes) and rot13 (str to str) are not text
    # encodings; "undefined" refuses everything.
    if not getattr(info, "_is_text_encoding", True) or info.name == "undefined":
        raise InputError(
            f"{path}: {encoding!r} is not a text encoding; use e.g. utf-8, cp1252 or utf-16."
        )
    try:  # non-final: an incomplete first byte is not an error, a refused handler is
        codecs.getincrementaldecoder(info.name)(errors=ESCAPE_ERRORS).decode(b"a")
    except (UnicodeError, LookupError, TypeError, ValueError):
        raise InputError(
            f"{path}: {encoding!r} cannot be used to read files (it cannot mark bad bytes); "
            "use e.g. utf-8, cp1252 or utf-16."
        ) from None
    return info.name
