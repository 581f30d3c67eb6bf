"""Small parts of a batch run (`app.core.batch.run`): the caller's callbacks as one object, the
errors that drop a job's work, the ledger a checkpoint keeps and its balance check, and a
rejected row's report entry. Moved out of `run` to keep it readable; no logic of its own."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from app.core.batch.options import BatchOptions, BatchProgress, BatchReport
from app.core.common.errors import InputError
from app.core.csvio.csv_input import RejectedRow

# What a checkpoint restores into the report on resume (everything but the run's own timing).
_LEDGER = (
    "rows_read rows_scored rows_rejected rows_blank rows_written rows_flagged rows_truncated "
    "rows_disagreeing started_utc".split()
)
Write = Callable[[list[list[object]]], None]
Commit = Callable[[int], None]


@dataclass(frozen=True)
class _Hooks:
    """The caller's callbacks (see `run_batch`), passed down as one."""

    progress: Callable[[BatchProgress], None] | None
    cancelled: Callable[[], bool] | None
    on_rows: Callable[[list[list[object]], list[int]], None] | None
    notice: Callable[[str], None] | None
    before_commit: Callable[[BatchReport], None] | None


class _InputChanged(InputError):
    """The input changed under the job: its work files can never be resumed, so they go."""


class _Unbalanced(InputError):
    """The counts do not add up: the output is not put in place, and the work is dropped."""


def _check_ledger(options: BatchOptions, report: BatchReport) -> None:
    """Refuse to put an output in place whose ledger does not balance (read = scored +
    rejected + blank, and every row written is a scored or blank-text one)."""
    if report.balanced and report.rows_written <= report.rows_scored + report.rows_blank:
        if len(report.rejected) == report.rows_rejected:
            return
    raise _Unbalanced(
        f"{options.output_path}: not written, its counts do not add up ({report.rows_read:,} "
        f"read, {report.rows_scored:,} scored, {report.rows_rejected:,} rejected, "
        f"{report.rows_blank:,} blank)"
    )


def _rejected_entry(row: RejectedRow, with_text: bool) -> dict[str, Any]:
    entry = {"line": row.line, "reason": row.reason, "excerpt": row.excerpt, "last": row.last}
    if not with_text:
        return entry
    return entry | {"text": row.text} | ({"note": row.note} if row.note else {})
