"""Is a rejected-rows file at a name "ours"? Only if it is untouched since we wrote it.

A header alone proves nothing: an analyst edits ``OUT.rejected.csv`` (adds notes, fixes rows)
and a second output (``o.xlsx`` beside ``o.csv``) shares its default name. So when a job writes
the file, its provenance records the file's name and SHA-256 (``rejected_file``,
``rejected_sha256``); a later job on the same output reads that record from the output's previous
provenance (the CSV's ``.provenance.json`` or the workbook's ``provenance`` sheet) before it is
replaced, and may remove or replace the file only if its bytes still hash to the recorded value.
The provenance is a user-writable file: anything unexpected in it means "not ours".
"""

from __future__ import annotations

import html
import json
import os
import re
import stat
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

from app.core.common import portable_fs
from app.core.common.hashing import sha256_stream
from app.core.common.output_guard import provenance_path

_MAX_BYTES = 1 << 20  # a provenance (JSON or the workbook's sheet) is a few KB
_SHA = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class RejectedRecord:
    """What an output's provenance says of the rejected-rows file written with it."""

    name: str
    sha256: str


def _record(name: object, sha: object) -> RejectedRecord | None:
    if not isinstance(name, str) or not isinstance(sha, str) or not _SHA.fullmatch(sha):
        return None
    if not name or name in (".", "..") or "/" in name or "\\" in name or "\0" in name:
        return None
    return RejectedRecord(name, sha)


def _read_bounded(fd: int) -> bytes | None:
    data = os.read(fd, _MAX_BYTES + 1)
    return None if len(data) > _MAX_BYTES else data


def _from_json(sidecar: Path) -> RejectedRecord | None:
    try:
        fd = portable_fs.open_regular_file(sidecar, follow_links=False)
    except OSError:
        return None
    try:
        raw = _read_bounded(fd)
        data = json.loads(raw.decode("utf-8")) if raw else None
    except (OSError, ValueError, RecursionError):
        return None
    finally:
        os.close(fd)
    if not isinstance(data, dict):
        return None
    return _record(data.get("rejected_file"), data.get("rejected_sha256"))


def _sheet_pairs(xml: str) -> dict[str, str]:
    """Key/value rows of our provenance sheet (inline strings, as xlsxwriter writes them)."""
    pairs: dict[str, str] = {}
    for row in re.findall(r"<row\b[^>]*>(.*?)</row>", xml, re.S):
        cells = [html.unescape(t) for t in re.findall(r"<t\b[^>]*>([^<]*)</t>", row)]
        if len(cells) == 2:
            pairs.setdefault(cells[0], cells[1])
    return pairs


def _from_workbook(output: Path) -> RejectedRecord | None:
    """The record in the workbook's last sheet, ``provenance`` (sheetN.xml, N = sheet count)."""
    from app.core.export.xlsx_writer import PROVENANCE_SHEET

    try:
        fd = portable_fs.open_regular_file(output, follow_links=False)
    except OSError:
        return None
    try:
        with os.fdopen(fd, "rb") as fh, zipfile.ZipFile(fh) as archive:
            book = archive.getinfo("xl/workbook.xml")
            if book.file_size > _MAX_BYTES:
                return None
            names = re.findall(r'<sheet\b[^>]*\bname="([^"]*)"', archive.read(book).decode())
            if not names or names[-1] != PROVENANCE_SHEET:
                return None
            sheet = archive.getinfo(f"xl/worksheets/sheet{len(names)}.xml")
            if sheet.file_size > _MAX_BYTES:
                return None
            pairs = _sheet_pairs(archive.read(sheet).decode("utf-8", "replace"))
    except (OSError, KeyError, ValueError, EOFError, RuntimeError, NotImplementedError):
        return None
    except (zipfile.BadZipFile, zlib.error):
        return None
    return _record(pairs.get("rejected_file"), pairs.get("rejected_sha256"))


def recorded_rejected(output: Path, fmt: str) -> RejectedRecord | None:
    """The rejected-rows file the previous provenance of `output` records (None: none, or the
    provenance is missing, unreadable or not as we write it)."""
    return _from_workbook(output) if fmt == "xlsx" else _from_json(provenance_path(output))


def sha256_of(path: Path) -> str | None:
    """SHA-256 of a regular file (not a link), or None."""
    try:
        fd = portable_fs.open_regular_file(path, follow_links=False)
    except OSError:
        return None
    try:
        with os.fdopen(fd, "rb") as fh:
            return sha256_stream(fh)
    except OSError:
        return None


def is_ours(path: Path, record: RejectedRecord | None) -> bool:
    """`path` is the rejected-rows file `record` names, byte for byte as we wrote it."""
    try:
        if record is None or path.name != record.name or not stat.S_ISREG(os.lstat(path).st_mode):
            return False
    except OSError:
        return False
    return sha256_of(path) == record.sha256
