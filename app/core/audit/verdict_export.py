"""The verdicts of a sample, exported as a CSV that ``abuse-desk audit estimate --label-column
verdict`` reads as it is: the sample's columns, with ``verdict`` filled in (``abusive`` /
``benign``; empty for skipped and unreviewed items, which the estimate counts as unlabelled),
then ``verdict_status`` (reviewed / skipped / unreviewed), ``verdict_note``,
``verdict_reviewer`` and ``verdict_time_utc``. Written atomically (formula-safe, as every CSV
export), never over the sample itself, the labels store or any other database.

The export is itself an audit sample (`app.core.audit.sample_file.read_sample` reads it): when
the sample has its provenance sidecar, the same provenance is written beside the export (with a
``verdicts_export`` entry naming the sample and its SHA-256), so ``audit estimate EXPORT.csv``
checks the bands as it would on the sample. A sample without a sidecar gives an export without
one (band sizes from weight × count, as for the sample); a sidecar of an earlier export left at
that name would then describe another file, so it is refused rather than deleted.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TextIO, cast

from app.core.audit.review_queue import VERDICT_COLUMN, ReviewQueue
from app.core.audit.verdicts import SKIP, Verdict
from app.core.common.atomic import atomic_open
from app.core.common.errors import InputError
from app.core.common.output_guard import check_output, output_lock, provenance_path
from app.core.common.paths import labels_db_path
from app.core.export.csv_writer import CsvExportWriter, write_provenance_sidecar

EXTRA_COLUMNS = ("verdict_status", "verdict_note", "verdict_reviewer", "verdict_time_utc")


def export_verdicts(queue: ReviewQueue, verdicts: Mapping[int, Verdict], output: str | Path) -> int:
    """Write the export (see the module docstring); returns the number of items labelled
    abusive or benign. InputError naming `output` if it cannot be written there."""
    output = Path(output)
    protected = {"the audit sample": queue.path, "the labels store": labels_db_path()}
    protected["the audit sample's provenance"] = provenance_path(queue.path)
    provenance = queue.sample.provenance if queue.sample is not None else None
    check_output(output, protected, sidecar=True)
    if provenance is None and provenance_path(output).exists():
        raise InputError(
            f"{output}: {provenance_path(output).name} beside it describes an earlier file and "
            "this sample has no provenance to replace it with; choose another name"
        )
    header = list(queue.header)
    if VERDICT_COLUMN not in header:
        header.append(VERDICT_COLUMN)
    # Our columns from an earlier export are refilled, not repeated.
    header += [name for name in EXTRA_COLUMNS if name not in header]
    at = {name: header.index(name) for name in (VERDICT_COLUMN, *EXTRA_COLUMNS)}
    labelled = 0
    try:
        with output_lock(output), atomic_open(output) as fh:
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
            if provenance is not None:  # first: once the export appears, its sidecar is there
                mark = {"sample": queue.path.name, "sample_sha256": queue.sha256}
                write_provenance_sidecar(output, provenance | {"verdicts_export": mark})
    except OSError as exc:
        raise InputError(f"{output}: cannot write the export: {exc.strerror or exc}") from None
    return labelled
