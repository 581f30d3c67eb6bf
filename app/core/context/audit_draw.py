"""Drawing an audit sample of a batch the desktop scored, and the ``audit_sample_drawn`` event
the GUI and ``abuse-desk audit sample`` both record.

A sample is drawn from a scored CSV (`app.core.audit.sample_file.write_sample`). A batch job
keeps its scores in its cache; when it has not been exported whole as a CSV, the export path
(`app.core.results.export.export_cached`) first writes one beside the sample,
``<SAMPLE>.scored.csv``, which an earlier export of ours may be replaced by but nothing else
(never the batch's input: the export refuses it).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from app.core.audit.sample_file import SampleWritten, write_sample
from app.core.bundles.bundle import sha256_file
from app.core.common.errors import InputError, JobCancelled
from app.core.common.output_guard import check_output
from app.core.context.batch_queue import BatchJob
from app.core.context.state import AppContext
from app.core.results.export import export_cached

DEFAULT_SAMPLE_SIZE = 200
SAMPLE_DRAWN = "audit_sample_drawn"


@dataclass
class DrawnFromBatch:
    written: SampleWritten
    scored: Path  # the scored CSV the sample was drawn from
    scored_written: bool  # True: written for this sample (no whole CSV export existed)
    sha256: str  # SAMPLE.csv's


def scored_csv_for(output: Path) -> Path:
    """Where the scored CSV a sample needs is written when the batch has none."""
    return output.with_name(f"{output.stem}.scored.csv")


def draw_from_batch(
    job: BatchJob,
    output: Path,
    *,
    size: int,
    seed: int,
    threshold: float,
    scored: Path | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> DrawnFromBatch:
    """Write SAMPLE.csv (+ sidecar) for `job`'s results; `scored`: the job's whole CSV export
    if it has one (else one is written first, see the module docstring)."""
    result = job.result
    if result is None:
        raise InputError(f"{job.path.name}: not scored yet: nothing to sample")
    # write_sample protects the scored CSV it reads; the batch's own input is protected here.
    protected = {"the batch's input": job.path, "the batch's scored export": scored,
                 "the job's cache file": result.cache_path}  # fmt: skip
    check_output(output, protected, sidecar=True)
    wrote = scored is None or not scored.is_file()
    if wrote:
        scored = scored_csv_for(output)
        export_cached(result.cache_path, scored, "csv", report=result.report,
                      threshold=job.label_threshold, threshold_model=job.label_threshold_model,
                      cancelled=cancelled)  # fmt: skip
    assert scored is not None
    if cancelled is not None and cancelled():
        raise JobCancelled("Sample cancelled.")
    # The save dialog asked before replacing a file: an earlier sample may go, nothing else.
    written = write_sample(scored, output, size=size, seed=seed, threshold=threshold,
                           text_column=job.text_column, overwrite=True)  # fmt: skip
    return DrawnFromBatch(written, scored, wrote, sha256_file(output))


def log_sample_drawn(ctx: AppContext, written: SampleWritten, sha256: str) -> None:
    """The ``audit_sample_drawn`` event: the sample's name and hash, its size and the batch's,
    and what it was drawn from (name, hash, seed, the bands' threshold) in the detail."""
    prov = written.provenance
    ctx.log(
        SAMPLE_DRAWN,
        file_name=written.output.name,
        file_sha256=sha256,
        threshold=prov["threshold"],
        counts={
            "sample_size": written.rows_written,
            "size_requested": prov["size_requested"],
            "population": prov["population"],
            "left_out_unscored": prov["left_out_unscored"],
        },
        detail=f"from {prov['source']} (SHA-256 {prov['source_sha256']}), seed {prov['seed']}, "
        f"bands around {prov['threshold']:g} ± {prov['margin']:g}",
    )
