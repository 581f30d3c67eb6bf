"""Exporting a job's results: its scored cache streamed through the formula-safe writers.

Exports read the cache file (every input column) rather than the in-memory table (only the
columns the view needs), with each label recomputed at the export threshold by
`scoring.label_for`, the rule the results table shows labels by. A challenger's label, when the
job had one, is recomputed at the same threshold, as the table shows it.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO, cast

import numpy as np

from app.core.batch.options import BatchReport
from app.core.batch.rows import added_columns, challenger_offset
from app.core.bundles.bundle import sha256_file
from app.core.common.atomic import atomic_open, atomic_path
from app.core.common.errors import InputError, JobCancelled
from app.core.common.output_guard import check_output
from app.core.engine.scoring import label_for
from app.core.export.cells import restore_cell
from app.core.export.csv_writer import CsvExportWriter, XlsxExportWriter, write_provenance_sidecar
from app.core.export.xlsx_writer import check_xlsx_width
from app.core.results.output_names import check_replace
from app.core.results.table import ViewSpec

_CANCEL_EVERY = 2_000  # rows between cancel checks in the export: well under 0.1 s


@dataclass(frozen=True)
class ExportResult:
    """What an export wrote, for the status line and the activity log."""

    rows: int
    sha256: str  # of the exported file, read back once it is in place
    control_cells: int = 0  # XLSX: cells whose control characters became U+FFFD


def export_provenance(
    report: BatchReport,
    threshold: float,
    rows: int,
    spec: ViewSpec | None,
    threshold_model: str = "",
) -> dict[str, Any]:
    """The job's provenance, with ``threshold`` the one the exported labels were computed at.
    Re-labelled labels also name ``threshold_model``, the model that threshold was set for:
    ``model_version`` (who scored) and it may differ, and a reader must see both."""
    provenance = report.provenance()
    relabelled = threshold != report.threshold
    if relabelled and threshold_model:
        provenance["threshold_set_for_model"] = threshold_model
    provenance.update(
        threshold=threshold,
        job_threshold=report.threshold,
        relabelled=relabelled,
        exported_utc=datetime.now(UTC).replace(microsecond=0).isoformat(),
        rows_exported=rows,
        export_filter=(spec or ViewSpec()).describe(),
    )
    return provenance


def _relabelled(cell: str, threshold: float) -> tuple[float | None, str]:
    """A cached score cell as a number, with its label at `threshold` ("" if blank)."""
    score = float(cell) if cell else None
    return score, "" if score is None else label_for(score, threshold)


def export_scored(
    cache: Path,
    dest: Path,
    fmt: str,
    *,
    report: BatchReport,
    threshold: float,
    keep: np.ndarray | None = None,
    spec: ViewSpec | None = None,
    progress: Callable[[int], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
    overwrite: bool = False,
    threshold_model: str = "",
) -> ExportResult:
    """Stream the scored cache into `dest` (csv or xlsx), relabelled at `threshold`.

    An existing `dest` is replaced only if it is an earlier export of ours or `overwrite` is
    given (the GUI gives it once its save dialog has asked the user to confirm replacing).
    `keep` (a boolean mask in file order, e.g. `filter_mask`) selects rows; `spec` only names
    that filter in the provenance. Returns the rows written, the written file's SHA-256 and (XLSX)
    the cells whose control characters had to be replaced. The cache is a CSV
    whose cells were neutralised; each is restored to the analyst's text (`restore_cell`) and
    written by the format's own rule, so nothing is quoted twice and XLSX text is exact.
    """
    if fmt not in ("csv", "xlsx"):
        raise InputError(f"unknown export format {fmt!r} (use csv or xlsx)")
    if dest.resolve() == cache.resolve():
        raise InputError(f"{dest} is the job's own cache file; choose another name.")
    # The same checks as a batch job's output: never the scored input, a database, a folder...
    protected = {"the scored input": Path(report.input), "the job's cache file": cache}
    check_output(dest, protected, sidecar=fmt == "csv")
    check_replace(dest, fmt, overwrite=overwrite, hint="choose it in the save dialog to replace it")
    with open(cache, encoding="utf-8-sig", newline="") as fh:
        reader = csv.reader(fh)
        header = [restore_cell(name) for name in next(reader)]
        if fmt == "xlsx":
            check_xlsx_width(len(header), dest)
        # Input columns, then ours (with the band after the label if the job had a policy),
        # then the challenger's (the report says whether it had one and a policy). The band is
        # not relabelled: it depends on the policy's cut points, not the threshold.
        challenger, banded = bool(report.challenger_version), bool(report.bands)
        score_at = len(header) - len(added_columns(challenger, banded))
        challenger_at = score_at + challenger_offset(banded) if challenger else None
        written = [0]

        def rows() -> Any:
            index = -1
            for index, row in enumerate(reader):
                if index % _CANCEL_EVERY == 0:
                    if cancelled and cancelled():
                        raise JobCancelled("Export cancelled.")
                    if progress:
                        progress(index)
                if keep is not None and (index >= len(keep) or not keep[index]):
                    continue
                written[0] += 1
                out: list[object] = list(map(restore_cell, row))
                for at in (score_at, challenger_at):
                    if at is not None:  # score and label: a number, and relabelled
                        out[at : at + 2] = _relabelled(row[at], threshold)
                yield out
            if keep is not None and index + 1 != len(keep):  # cache and table out of step
                raise RuntimeError(f"{cache} holds {index + 1} rows, the table {len(keep)}")

        control = 0
        if fmt == "csv":
            with atomic_open(dest) as out:
                CsvExportWriter(cast(TextIO, out), header).write_rows(rows())
            write_provenance_sidecar(
                dest, export_provenance(report, threshold, written[0], spec, threshold_model)
            )
        else:
            with atomic_path(dest) as tmp, XlsxExportWriter(tmp, header) as xlsx:
                xlsx.write_rows(rows())
                control = xlsx.close(
                    export_provenance(report, threshold, written[0], spec, threshold_model)
                ).illegal_cells
    # Streamed from the file in place: the hash the log gives is the one a recipient can check.
    return ExportResult(written[0], sha256_file(dest), control)


CACHE_GONE = "its cached results are gone (removed from the history elsewhere): rescore the file"


def export_cached(cache: Path, *args: Any, **kwargs: Any) -> ExportResult:
    """`export_scored`, saying in one line that the cache is gone (another window or `history
    remove` deleted it) rather than failing "unexpectedly" with a traceback."""
    if not cache.is_file():
        raise InputError(CACHE_GONE)
    try:
        return export_scored(cache, *args, **kwargs)
    except FileNotFoundError as exc:
        if exc.filename is None or Path(exc.filename) != cache:
            raise
        raise InputError(CACHE_GONE) from exc
