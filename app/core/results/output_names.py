"""What an output name may be: its format follows its extension, and an existing file is kept.

Two mistakes this module stops before any work starts:

* ``-o scored.csv --format xlsx`` (or ``-o x.xlsx --format csv``) would write one format under
  the other's name; `output_format` makes the extension decide and refuses a contradiction.
* ``-o notes.txt`` (or any other file of the user's) would be replaced without a word;
  `check_replace` lets a file be replaced only when it is recognisably our own earlier output of
  the same kind (checked cheaply: a header, a sheet name, a few keys), or when the user said
  ``--overwrite`` (the GUI says it once its save dialog has asked). A scored CSV's
  ``.provenance.json`` is replaced with it, so it must be ours too.

A scored CSV edited after we wrote it (newer than its provenance) is no longer "ours": the
analyst's edits are refused like any other file. Every message names the user's file.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import zipfile
import zlib
from pathlib import Path

from app.core.common import portable_fs
from app.core.common.errors import InputError
from app.core.common.paths import activity_key_path

__all__ = [
    "CSV_EXTENSIONS",
    "FormatConflict",
    "check_log_export_target",
    "check_replace",
    "export_name_refusal",
    "output_format",
    "replaced_note",
]

CSV_EXTENSIONS = (".csv", ".tsv", ".txt")
KINDS = ("csv", "xlsx", "report", "log")
_WORKBOOK_MAX = 1 << 20  # xl/workbook.xml of a workbook we wrote is a few hundred bytes
_EDIT_SLACK_S = 2.0  # FAT keeps times to 2 s; our sidecar is written just before the output
_REPORT_KEYS = ("input", "output", "output_format", "rows_read", "rows_scored")
_PROVENANCE_KEYS = ("model_version", "threshold", "input_sha256", "app_version")
_WHAT = {
    "csv": "a scored CSV",
    "xlsx": "a scored XLSX workbook",
    "report": "a score report",
    "log": "an activity log export",
}


class FormatConflict(ValueError):
    """``--format`` contradicts the output's extension (a usage error: exit 2)."""


def output_format(output: Path, requested: str | None) -> str:
    """The format `output` is written in: ``.xlsx`` means XLSX, anything else CSV; a `requested`
    format that contradicts a known extension raises FormatConflict."""
    suffix = output.suffix.lower()
    if requested is None:
        return "xlsx" if suffix == ".xlsx" else "csv"
    if (requested == "xlsx" and suffix in CSV_EXTENSIONS) or (
        requested == "csv" and suffix == ".xlsx"
    ):
        raise FormatConflict(
            f"--format {requested} contradicts the name {output.name} ({suffix} is "
            f"{'CSV' if requested == 'xlsx' else 'XLSX'}); name the output .{requested} or drop "
            "--format"
        )
    return requested


def export_name_refusal(path: Path, fmt: str) -> str | None:
    """For a save dialog: why `path` cannot hold a `fmt` export (its extension says otherwise),
    or None if it can."""
    try:
        output_format(path, fmt)
    except FormatConflict:
        return f"Not exported: {path.name} is not a .{fmt} name; choose a name ending in .{fmt}."
    return None


def _first_record(path: Path) -> list[str] | None:
    head = portable_fs.read_head(path)
    if not head:
        return None
    text = head.decode("utf-8-sig", "replace")
    return next(csv.reader(io.StringIO(text)), None)


def _ends_with_ours(header: list[str]) -> bool:
    """The header ends with our columns (suffixed ``_2``... when the input had them too)."""
    from app.core.batch.rows import added_columns

    every = [added_columns(c, b) for c in (True, False) for b in (True, False)]
    for ours in every:  # with or without a challenger's columns and the band
        tail = header[-len(ours) :] if len(header) >= len(ours) else []
        if tail and all(
            re.fullmatch(rf"{name}(_\d+)?", cell) for name, cell in zip(ours, tail, strict=True)
        ):
            return True
    return False


def _our_provenance(sidecar: Path) -> bool:
    head = portable_fs.read_head(sidecar)
    try:
        data = json.loads(head.decode("utf-8")) if head else None
    except ValueError:
        return False
    return isinstance(data, dict) and all(key in data for key in _PROVENANCE_KEYS)


def _edited_after(output: Path, sidecar: Path) -> bool:
    """True if `output` was written after its provenance: someone saved it since."""
    try:
        return os.stat(output).st_mtime > os.stat(sidecar).st_mtime + _EDIT_SLACK_S
    except OSError:
        return True


def _ours_csv(output: Path, sidecar: Path) -> bool:
    header = _first_record(output)
    if header is None or not _ends_with_ours(header):
        return False
    return not (os.path.lexists(sidecar) and _edited_after(output, sidecar))


def _ours_xlsx(output: Path) -> bool:
    """Our workbooks end with a sheet named ``provenance`` (read from xl/workbook.xml only)."""
    from app.core.export.xlsx_writer import PROVENANCE_SHEET

    try:
        fd = portable_fs.open_regular_file(output, follow_links=True)
    except OSError:
        return False
    try:
        with os.fdopen(fd, "rb") as fh, zipfile.ZipFile(fh) as archive:
            info = archive.getinfo("xl/workbook.xml")
            if info.file_size > _WORKBOOK_MAX:
                return False
            xml = archive.read(info).decode("utf-8", "replace")
    except (OSError, KeyError, ValueError, EOFError, RuntimeError, NotImplementedError):
        return False
    except (zipfile.BadZipFile, zlib.error):
        return False
    names = re.findall(r'<sheet\b[^>]*\bname="([^"]*)"', xml)
    return bool(names) and names[-1] == PROVENANCE_SHEET


def _ours_report(output: Path) -> bool:
    head = portable_fs.read_head(output)
    if not head or not head.lstrip().startswith(b"{"):
        return False
    keys = set(re.findall(rb'"([a-z_]+)"\s*:', head))
    return all(key.encode() in keys for key in _REPORT_KEYS)


def _ours_log(output: Path) -> bool:
    from app.core.activity.verify import EXPORT_COLUMNS, LEGACY_EXPORT_COLUMNS

    return _first_record(output) in (list(EXPORT_COLUMNS), list(LEGACY_EXPORT_COLUMNS))


def _is_ours(output: Path, kind: str) -> bool:
    if kind == "csv":
        return _ours_csv(output, Path(f"{output}.provenance.json"))
    if kind == "xlsx":
        return _ours_xlsx(output)
    if kind == "report":
        return _ours_report(output)
    return _ours_log(output)


def check_replace(
    output: Path, kind: str, *, overwrite: bool, hint: str = "add --overwrite to replace it"
) -> str | None:
    """May `output` (a `kind` of output: csv, xlsx, report, log) be written? None if nothing is
    there, "earlier" if it replaces an earlier output of ours, "overwrite" if it replaces another
    file because `overwrite` was given; InputError naming the file, before any work, otherwise."""
    if kind not in KINDS:
        raise ValueError(f"unknown output kind {kind!r}")
    sidecar = Path(f"{output}.provenance.json")
    if kind == "csv" and os.path.lexists(sidecar) and not overwrite:
        if not _our_provenance(sidecar):
            raise InputError(
                f"{sidecar}: already exists and is not abuse-desk's provenance file (it would be "
                f"replaced with {output.name}); choose another name, or {hint}"
            )
    if not os.path.lexists(output):
        return None
    if _is_ours(output, kind):
        return "earlier"
    if overwrite:
        return "overwrite"
    link = f", a link to {os.path.realpath(output)}" if os.path.islink(output) else ""
    raise InputError(
        f"{output}: already exists{link} and is not an earlier abuse-desk output "
        f"({_WHAT[kind]}); choose another name, or {hint}"
    )


def check_log_export_target(db: Path, output: Path) -> None:
    """A log export never replaces the log, its head or key, or any other SQLite database:
    the same output checks as every command's (`output_guard.check_output`)."""
    from app.core.activity.head import head_path
    from app.core.common.output_guard import check_output

    protected = {
        "the activity log": db,
        "the activity log's head file": head_path(db),
        "the activity log's key": activity_key_path(db),
    }
    check_output(output, protected)


def replaced_note(paths: list[Path]) -> str:
    """The one line said after a command replaced earlier outputs of its own ("" if none)."""
    if not paths:
        return ""
    names = " and ".join(str(p) for p in paths)
    return f"replaced the earlier output{'s' if len(paths) > 1 else ''} {names}"
