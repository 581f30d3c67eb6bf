"""The rejected-rows export: ``OUT.rejected.csv``, one row per rejected record of a job.

Columns: ``line`` (the span, "7" or "2–3", as the ledger shows it), ``reason``, ``raw_text`` (the
record's physical lines as read, at most `RAW_TEXT_CHARS`; bad bytes as \\xNN) and ``note`` (says
when the text is cut or not kept). Texts are attacker-controlled, so cells go through the same
formula-safe writer as every export. The text of the first `MAX_REJECTED_TEXTS` rejected rows is
kept in memory (`run` drops it after that); every row is listed and the counts stay exact: later
rows carry their 120-character excerpt, and their note says so.

Written atomically, never over the input, the output, the report or any work file or sidecar
of the output (`check_rejected_target`). The CLI writes it beside the output by default when rows
were rejected; when none were, an earlier rejected-rows file of ours at that name is removed, so it
cannot claim rejections of another run (`finish_rejected`). "Ours" means untouched since the
output's previous provenance recorded it (`rejected_record`). A file there that is not ours is
never removed, and replaced only when the user named it with ``--rejected FILE --overwrite``: at
the default name the rows are then not written, and the provenance says why.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TextIO, cast

from app.core.batch.options import BatchReport, line_span
from app.core.batch.rejected_record import RejectedRecord, is_ours, sha256_of
from app.core.common.atomic import atomic_open
from app.core.common.errors import InputError
from app.core.common.output_guard import check_output, derived_names, names_fit, provenance_path
from app.core.csvio.csv_input import RAW_TEXT_CHARS
from app.core.export.csv_writer import CsvExportWriter

REJECTED_HEADER = ("line", "reason", "raw_text", "note")
MAX_REJECTED_TEXTS = 10_000  # rejected rows that keep their raw text (2,000 chars each at most)
# C0 control characters but tab and line breaks, written as \xNN: a NUL or ESC in a cell breaks
# or misleads the programs that open the file.
_CONTROLS = {c: f"\\x{c:02x}" for c in range(0x20) if c not in (9, 10, 13)}


def default_rejected_path(output: Path) -> Path:
    """``OUT.rejected.csv`` beside ``OUT.csv`` (the output's stem + ``.rejected.csv``)."""
    return output.with_name(f"{output.stem}.rejected.csv")


def is_rejected_export(path: Path) -> bool:
    """A file this module wrote (its header is ours); False if missing or unreadable."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(4096).decode("utf-8-sig", "replace")
    except OSError:
        return False
    first = next(csv.reader(io.StringIO(head)), None)
    return first is not None and tuple(first) == REJECTED_HEADER


def _work_files(output: Path) -> dict[str, Path | None]:
    """Every file a job writing `output` creates beside it (`output_guard.derived_names`), each
    labelled for the refusal."""
    files: dict[str, Path | None] = {}
    for name in derived_names(output, checkpointed=True, sidecar=True)[1:]:
        path = output.with_name(name)
        label = "the output's provenance" if path == provenance_path(output) else "a work file"
        files[f"{label} of {output.name} ({name})"] = path
    return files


def check_rejected_target(
    path: Path,
    output: Path | None,
    protected: Mapping[str, Path | None],
    *,
    overwrite: bool = False,
    previous: RejectedRecord | None = None,
) -> None:
    """May `path` hold a rejected-rows export? InputError (one line naming it) if not: it is
    the input, `output` or one of its work files and sidecars, another of `protected`, a folder
    or database, or (unless `overwrite`) a file that is not the untouched rejected-rows file
    `previous` records."""
    check_output(path, dict(protected) | (_work_files(output) if output is not None else {}))
    if os.path.lexists(path) and not overwrite and not is_ours(path, previous):
        raise InputError(
            f"{path}: already exists and is not the rejected-rows file of an earlier run "
            "(untouched since); choose another name with --rejected, add --overwrite, or use "
            "--no-rejected"
        )


def _note(entry: Mapping[str, Any]) -> str:
    if entry.get("note"):  # set by the reader: the raw text was not kept (an over-long line)
        return str(entry["note"])
    if "text" not in entry:
        return (
            f"text not kept (only the first {MAX_REJECTED_TEXTS:,} rejected rows keep theirs): "
            "the record's first 120 characters"
        )
    if len(entry["text"]) >= RAW_TEXT_CHARS:
        return f"text cut at {RAW_TEXT_CHARS:,} characters"
    return ""


def rejected_rows(report: BatchReport) -> list[list[object]]:
    """The export's rows, in file order."""
    return [
        [
            line_span(e),
            e["reason"],
            str(e.get("text", e.get("excerpt", ""))).translate(_CONTROLS),
            _note(e),
        ]
        for e in report.rejected
    ]


def write_rejected(path: Path, report: BatchReport) -> int:
    """Write the job's rejected rows to `path` atomically; return how many (the exact count)."""
    rows = rejected_rows(report)
    with atomic_open(path) as fh:
        CsvExportWriter(cast(TextIO, fh), list(REJECTED_HEADER)).write_rows(rows)
    return len(rows)


def _stale(path: Path, output: Path, previous: RejectedRecord | None) -> str:
    """Why a rejected-rows file at `path` (there, not ours) is left by a run that writes none."""
    if previous is not None and previous.name == path.name:
        return f"{path} is from an earlier run and was changed since: not removed"
    return f"{path} was not written with the earlier {output.name}: not removed"


def finish_rejected(
    path: Path | None,
    output: Path,
    report: BatchReport,
    notice: Callable[[str], None] | None,
    *,
    previous: RejectedRecord | None = None,
    replace: bool = False,
    stale: Path | None = None,
) -> None:
    """A job's end: write its rejected rows to `path` (and record its name and SHA-256 in the
    report), or, with none rejected, remove an earlier rejected-rows file of ours there (stale).

    `previous`: what the output's previous provenance recorded (`recorded_rejected`). A file at
    `path` that is not that one untouched is never removed, and replaced only with `replace`;
    otherwise the rows are not written and the report says why. `stale` (with `path` None,
    --no-rejected): none is written, but an earlier file of ours there goes just the same."""
    say = notice or (lambda _line: None)
    if path is None:
        if stale is not None:
            _remove_stale(stale, output, previous, say, "this run writes none (--no-rejected)")
        return
    if report.rows_rejected:
        if os.path.lexists(path) and not replace and not is_ours(path, previous):
            report.rejected_not_written = f"{path.name} is not ours"
            say(f"rejected rows not written: {path.name} is not ours (use --rejected FILE)")
            return
        if not names_fit(path):  # only a default name can be too long: a chosen one was checked
            report.rejected_not_written = "its default name is too long for the folder"
            say(
                f"rejected rows not written: {path.name[:40]}… is too long a name for its "
                "folder (use --rejected FILE)"
            )
            return
        write_rejected(path, report)
        report.rejected_file = path.name
        report.rejected_sha256 = sha256_of(path) or ""
    else:
        _remove_stale(path, output, previous, say, "this run had none")


def _remove_stale(
    path: Path, output: Path, previous: RejectedRecord | None, say: Callable[[str], None], why: str
) -> None:
    """Remove an earlier rejected-rows file of ours at `path` (the new provenance will not name
    it, so it must not stay to claim this run's rejections); note one that is kept."""
    if is_ours(path, previous):
        os.unlink(path)
        say(f"removed {path}: it listed an earlier run's rejected rows, {why}")
    elif os.path.lexists(path) and is_rejected_export(path):
        say(_stale(path, output, previous))
