"""The Batch panel's "Export rejected rows…": the rows written, then the activity event.

The raw text of rejected rows leaves the app with this file, so it is logged like any export:
the file's name and its own SHA-256, the job's input named in the detail.
"""

from __future__ import annotations

from pathlib import Path

from app.core.batch.rejected import check_rejected_target, write_rejected
from app.core.bundles.bundle import sha256_file
from app.core.context.batch_queue import BatchJob
from app.core.context.state import AppContext


def export_rejected_rows(ctx: AppContext, job: BatchJob, path: Path) -> int:
    """Write `job`'s rejected rows to `path` (never over its input or cache) and log the export;
    returns how many. InputError/OSError: nothing written (or, from the log, nothing logged)."""
    result = job.result
    if result is None:
        raise ValueError("the job has no results")
    protected = {"the scored input": job.path, "the job's cache file": result.cache_path}
    check_rejected_target(path, None, protected, overwrite=True)  # the save dialog asked
    count = write_rejected(path, result.report)
    ctx.log(
        "export",
        file_name=path.name,
        file_sha256=sha256_file(path),
        counts={"rows_rejected_exported": count},
        detail=f"rejected rows of {job.path.name} (input SHA-256 {result.report.input_sha256})",
    )
    return count
