"""The rejected-rows export: ``OUT.rejected.csv``, one row per rejected record of a job.

Columns: ``line`` (the span, "7" or "2–3", as the ledger shows it), ``reason``, ``raw_text`` (the
record's physical lines as read, at most `RAW_TEXT_CHARS`; bad bytes as \\xNN) and ``note`` (says
when the text is cut or not kept). Texts are attacker-controlled, so cells go through the same
formula-safe writer as every export. The text of the first `MAX_REJECTED_TEXTS` rejected rows is
kept in memory (`run` drops it after that); every row is listed and the counts stay exact: later
rows carry their 120-character excerpt, and their note says so.

Written atomically, never over the input, the output or the report (`check_rejected_target`).
The CLI writes it beside the output by default when rows were rejected; when none were, an earlier
rejected-rows file of ours at that name is removed, so it cannot claim rejections of another run
(`finish_rejected`). A file there that is not ours is left alone and not replaced.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TextIO, cast

from app.core.batch.options import BatchReport, line_span
from app.core.common.atomic import atomic_open
from app.core.common.errors import InputError
from app.core.common.output_guard import check_output
from app.core.csvio.csv_input import RAW_TEXT_CHARS
from app.core.export.csv_writer import CsvExportWriter

REJECTED_HEADER = ("line", "reason", "raw_text", "note")
MAX_REJECTED_TEXTS = 10_000  # rejected rows that keep their raw text (2,000 chars each at most)


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


def check_rejected_target(
    path: Path, protected: Mapping[str, Path | None], *, overwrite: bool = False
) -> None:
    """May `path` hold a rejected-rows export? InputError (one line naming it) if not: it is
    the input, an output or the report, a folder or database, or another program's file."""
    check_output(path, protected)
    if os.path.lexists(path) and not overwrite and not is_rejected_export(path):
        raise InputError(
            f"{path}: already exists and is not an earlier abuse-desk rejected-rows file; "
            "choose another name with --rejected, add --overwrite, or use --no-rejected"
        )


def _note(entry: Mapping[str, Any]) -> str:
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
        [line_span(e), e["reason"], e.get("text", e.get("excerpt", "")), _note(e)]
        for e in report.rejected
    ]


def write_rejected(path: Path, report: BatchReport) -> int:
    """Write the job's rejected rows to `path` atomically; return how many (the exact count)."""
    rows = rejected_rows(report)
    with atomic_open(path) as fh:
        CsvExportWriter(cast(TextIO, fh), list(REJECTED_HEADER)).write_rows(rows)
    return len(rows)


def finish_rejected(
    path: Path | None, report: BatchReport, notice: Callable[[str], None] | None
) -> None:
    """A job's end: write its rejected rows to `path` (and name the file in the report), or,
    with none rejected, remove an earlier rejected-rows file of ours there (stale)."""
    if path is None:
        return
    if report.rows_rejected:
        write_rejected(path, report)
        report.rejected_file = path.name
    elif os.path.lexists(path) and is_rejected_export(path):
        os.unlink(path)
        if notice:
            notice(f"removed {path}: it listed an earlier run's rejected rows, this run had none")
