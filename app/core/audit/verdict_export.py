"""The verdicts of a sample, exported as a CSV that ``abuse-desk audit estimate --label-column
verdict`` reads as it is: the sample's columns, with ``verdict`` filled in (``abusive`` /
``benign``; empty for skipped and unreviewed items, which the estimate counts as unlabelled),
then ``verdict_status`` (reviewed / skipped / unreviewed), ``verdict_note``,
``verdict_reviewer`` and ``verdict_time_utc``. Written atomically (formula-safe, as every CSV
export), never over the sample itself, the labels store or any other database.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TextIO, cast

from app.core.audit.review_queue import VERDICT_COLUMN, ReviewQueue
from app.core.audit.verdicts import SKIP, Verdict
from app.core.common.atomic import atomic_open
from app.core.common.errors import InputError
from app.core.common.output_guard import check_output
from app.core.common.paths import labels_db_path
from app.core.export.csv_writer import CsvExportWriter

EXTRA_COLUMNS = ("verdict_status", "verdict_note", "verdict_reviewer", "verdict_time_utc")


def export_verdicts(queue: ReviewQueue, verdicts: Mapping[int, Verdict], output: str | Path) -> int:
    """Write the export (see the module docstring); returns the number of items labelled
    abusive or benign. InputError naming `output` if it cannot be written there."""
    output = Path(output)
    check_output(output, {"the audit sample": queue.path, "the labels store": labels_db_path()})
    header = list(queue.header)
    if VERDICT_COLUMN not in header:
        header.append(VERDICT_COLUMN)
    # Our columns from an earlier export are refilled, not repeated.
    header += [name for name in EXTRA_COLUMNS if name not in header]
    at = {name: header.index(name) for name in (VERDICT_COLUMN, *EXTRA_COLUMNS)}
    labelled = 0
    try:
        with atomic_open(output) as fh:
            writer = CsvExportWriter(cast(TextIO, fh), header)
            for item, row in zip(queue.items, queue.rows, strict=True):
                cells = list(row) + [""] * (len(header) - len(row))
                v = verdicts.get(item.line)
                status = (
                    "unreviewed" if v is None else "skipped" if v.verdict == SKIP else "reviewed"
                )
                cells[at[VERDICT_COLUMN]] = v.verdict if v and v.verdict != SKIP else ""
                cells[at["verdict_status"]] = status
                cells[at["verdict_note"]] = v.note if v else ""
                cells[at["verdict_reviewer"]] = v.reviewer if v else ""
                cells[at["verdict_time_utc"]] = v.time_utc if v else ""
                labelled += status == "reviewed"
                writer.write_row(cells)
    except OSError as exc:
        raise InputError(f"{output}: cannot write the export: {exc.strerror or exc}") from None
    return labelled
