"""Batch scoring of a CSV file (the original service's /batch), streamed in chunks.

Memory is set by the chunk size, not the file. The output holds every accepted input row with
all its columns plus ``abuse_score``, ``abuse_label``, ``model_version`` and ``abuse_note`` (then
a challenger's columns, if the job has one: see `app.core.batch.rows`); it is written to a hidden
temporary file that is renamed into place only when complete, so a cancelled or crashed job
never leaves a file that looks finished.

The ledger: ``rows_read = rows_scored + rows_rejected + rows_blank``. Rejected rows (malformed
records) are listed with their line numbers and reasons and are not in the output. Blank rows are
empty lines (not in the output) and rows whose text cell is empty (in the output, without score,
noted "blank text").

CSV jobs are checkpointed after every chunk and can be resumed (``resume=True``) with a
byte-identical result; a cancelled job deletes its work, any other interruption keeps it. XLSX
jobs are not checkpointed and restart. See `app.core.batch.checkpoint` for the design.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from operator import itemgetter
from pathlib import Path
from typing import Any

from app import __version__
from app.core.batch import checkpoint as batch_checkpoint
from app.core.batch import checkpoint_schema
from app.core.batch.rows import OUTPUT_COLUMNS, score_rows, unique_output_columns
from app.core.common.atomic import atomic_path
from app.core.common.errors import InputError, JobCancelled
from app.core.common.input_guard import input_identity, open_input
from app.core.common.messages import fmt_threshold
from app.core.common.output_guard import check_output, output_lock
from app.core.csvio.csv_input import RejectedRow, choose_text_column, iter_chunks, sniff
from app.core.engine.scoring import Scorer
from app.core.export.csv_writer import XlsxExportWriter, write_provenance_sidecar
from app.core.export.xlsx_writer import check_xlsx_width

__all__ = ["OUTPUT_COLUMNS", "BatchOptions", "BatchProgress", "BatchReport", "run_batch"]
DEFAULT_CHUNK_ROWS = 5_000
PARALLEL_MIN_BYTES = 8 << 20  # below ~8 MB starting the workers costs more than they save
# What a checkpoint restores into the report on resume (everything but the run's own timing).
_LEDGER = (
    "rows_read rows_scored rows_rejected rows_blank rows_written rows_flagged rows_truncated "
    "rows_disagreeing started_utc".split()
)


@dataclass(frozen=True)
class BatchOptions:
    input_path: Path
    output_path: Path
    threshold: float
    text_column: str | None = None  # None: the automatic rule of csv_sniff.choose_text_column
    output_format: str = "csv"  # "csv" or "xlsx"
    encoding: str | None = None  # None: detected
    delimiter: str | None = None  # None: detected
    chunk_rows: int = DEFAULT_CHUNK_ROWS
    # Worker processes that score ahead of the reader/writer (app.core.batch.parallel); 1 scores in
    # this process. Files under PARALLEL_MIN_BYTES are always scored here (start-up would cost
    # more than it saves).
    workers: int = 1


@dataclass(frozen=True)
class BatchProgress:
    bytes_read: int
    bytes_total: int
    rows_read: int
    rows_scored: int
    elapsed: float

    @property
    def fraction(self) -> float:
        return min(1.0, self.bytes_read / self.bytes_total) if self.bytes_total else 1.0

    @property
    def rows_per_second(self) -> float:
        return self.rows_read / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def seconds_left(self) -> float | None:
        done = self.fraction
        return self.elapsed * (1 - done) / done if done > 0 else None


@dataclass
class BatchReport:
    input: str
    output: str
    output_format: str
    rows_read: int = 0
    rows_scored: int = 0
    rows_rejected: int = 0
    rows_blank: int = 0
    rows_written: int = 0
    rows_flagged: int = 0
    rows_truncated: int = 0
    rows_disagreeing: int = 0  # scored rows the challenger labels differently (0 without one)
    rejected: list[dict[str, Any]] = field(default_factory=list)
    encoding: str = ""
    delimiter: str = ""
    text_column: str = ""
    model_version: str = ""
    challenger_version: str = ""  # "" when the job had no challenger
    challenger_manifest_sha256: str = ""
    threshold: float = 0.0
    input_sha256: str = ""
    started_utc: str = ""
    seconds: float = 0.0
    app_version: str = __version__

    @property
    def balanced(self) -> bool:
        return self.rows_read == self.rows_scored + self.rows_rejected + self.rows_blank

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def provenance(self) -> dict[str, Any]:
        keys = (
            "model_version",
            "threshold",
            "input",
            "input_sha256",
            "text_column",
            "encoding",
            "delimiter",
            "started_utc",
            "app_version",
            "rows_read",
            "rows_scored",
            "rows_rejected",
            "rows_blank",
        )
        provenance = {key: getattr(self, key) for key in keys}
        if self.challenger_version:  # absent without a challenger: such outputs are unchanged
            provenance.update(
                challenger_version=self.challenger_version,
                challenger_manifest_sha256=self.challenger_manifest_sha256,
                rows_disagreeing=self.rows_disagreeing,
            )
        return provenance

    def disagreement(self) -> str:
        """One line on the challenger ("" without one), for summaries and the log."""
        if not self.challenger_version:
            return ""
        return (
            f"challenger {self.challenger_version} disagrees on {self.rows_disagreeing:,} of "
            f"{self.rows_scored:,} scored rows"
        )

    def summary(self) -> str:
        rate = self.rows_read / self.seconds if self.seconds > 0 else 0.0
        text = (
            f"{self.rows_read:,} rows read: {self.rows_scored:,} scored "
            f"({self.rows_flagged:,} flagged at {fmt_threshold(self.threshold)}), {self.rows_rejected:,} "
            f"rejected, {self.rows_blank:,} blank; wrote {self.output} in {self.seconds:.1f} s "
            f"({rate:,.0f} rows/s)"
        )
        if self.challenger_version:
            text += f"\n{self.disagreement()}"
        if self.rejected:
            first = self.rejected[0]
            text += f"\nfirst rejected row: line {first['line']}: {first['reason']}"
            # An unterminated quote swallows the lines after it into one rejected row: the
            # row count alone would hide them, so say how many lines went that way.
            spans = [r for r in self.rejected if "consumed)" in str(r.get("reason", ""))]
            if spans:
                text += (
                    f"\nwarning: {len(spans):,} rejected row(s) took several lines each (an "
                    f"unterminated quote runs on to the next quote), first at line "
                    f"{spans[0]['line']}: those lines were not scored; fix the quote and score again"
                )
        return text


def file_sha256(path: Path, cancelled: Callable[[], bool] | None = None) -> str:
    digest = hashlib.sha256()
    with open_input(path) as fh:
        while block := fh.read(1 << 22):
            if cancelled and cancelled():
                raise JobCancelled("cancelled")
            digest.update(block)
    return digest.hexdigest()


def run_batch(
    scorer: Scorer,
    options: BatchOptions,
    progress: Callable[[BatchProgress], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
    on_rows: Callable[[list[list[object]], list[int]], None] | None = None,
    *,
    resume: bool = False,
    challenger: Scorer | None = None,
    notice: Callable[[str], None] | None = None,
    before_commit: Callable[[BatchReport], None] | None = None,
) -> BatchReport:
    """Score ``options.input_path`` into ``options.output_path``; returns the ledger.

    ``before_commit`` receives the finished report after every row is written and the ledger
    balances, but before the output is put in place: the CLI logs the job there, so an output
    whose event cannot be written never appears (if it raises, the work is dropped).

    ``on_rows`` receives each chunk's output rows (exactly as written, before formula
    neutralisation) with their input line numbers, on the calling thread, so a caller can keep
    results in memory (the desktop results table) without reading the output back. On resume
    it only sees the rows scored in this run.

    ``resume=True`` continues an interrupted CSV job from its checkpoint (InputError if the job
    differs, e.g. the input, threshold or challenger changed); with no checkpoint, or one that
    does not verify against its work files, the job starts from the beginning. ``notice``
    receives one line saying which (or that an XLSX job restarts).

    ``challenger`` shadow-scores every row: its score, label (at the same threshold) and
    version follow the active model's columns (`batch_rows.CHALLENGER_COLUMNS`), and the report
    counts the rows the two labels differ on. It decides nothing: every other column, count and
    the flagged total are the active model's.
    """
    if options.output_format not in ("csv", "xlsx"):
        raise InputError(f"unknown output format {options.output_format!r} (use csv or xlsx)")
    csv_job = options.output_format == "csv"
    check_output(
        options.output_path,
        {"the input": options.input_path},
        checkpointed=csv_job,
        sidecar=csv_job,
    )
    before = input_identity(options.input_path)
    with output_lock(options.output_path):  # held until the output and provenance are in place
        hooks = _Hooks(progress, cancelled, on_rows, notice, before_commit)
        return _run_batch(scorer, options, hooks, resume, challenger, before)


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


def _run_batch(
    scorer: Scorer,
    options: BatchOptions,
    hooks: _Hooks,
    resume: bool,
    challenger: Scorer | None,
    before: tuple[int, ...],
) -> BatchReport:
    progress, cancelled, on_rows, notice = (
        hooks.progress,
        hooks.cancelled,
        hooks.on_rows,
        hooks.notice,
    )
    started = time.perf_counter()
    sniffed = sniff(options.input_path, encoding=options.encoding, delimiter=options.delimiter)
    if not sniffed.has_records:
        raise InputError(f"{options.input_path} has a header line but no rows to score.")
    text_column = choose_text_column(
        sniffed.header, sniffed.preview, options.text_column, source=options.input_path
    )
    if options.output_format == "xlsx":  # refused before the input is hashed or scored
        width = len(unique_output_columns(sniffed.header, challenger is not None))
        check_xlsx_width(width, options.input_path)
    report = BatchReport(
        input=str(options.input_path),
        output=str(options.output_path),
        output_format=options.output_format,
        encoding=sniffed.format.encoding,
        delimiter=sniffed.format.delimiter,
        text_column=text_column,
        model_version=scorer.version_label,
        challenger_version=challenger.version_label if challenger is not None else "",
        challenger_manifest_sha256=(
            challenger.bundle.manifest_sha256 if challenger is not None else ""
        ),
        threshold=options.threshold,
        started_utc=datetime.now(UTC).replace(microsecond=0).isoformat(),
    )
    report.input_sha256 = file_sha256(options.input_path, cancelled)
    text_index = sniffed.header.index(text_column)
    header = unique_output_columns(sniffed.header, challenger is not None)
    chunk_rows, skip, earlier = options.chunk_rows, 0, 0.0
    job: dict[str, Any] = {}
    saved: batch_checkpoint.Checkpoint | None = None
    if options.output_format == "csv":
        job = checkpoint_schema.job_identity(scorer, options, report, header, challenger)
        if resume:
            saved, note = batch_checkpoint.load(options.output_path, job)
            if notice:
                notice(note)
    elif resume and notice:
        notice(f"{options.output_path.name}: XLSX jobs are not checkpointed; starting over")
    if saved is not None:
        for key in _LEDGER:
            setattr(report, key, saved.ledger[key])
        report.rejected = list(saved.rejected)
        chunk_rows, skip, earlier = saved.chunk_rows, saved.chunks_done, saved.ledger["seconds"]
    digest = hashlib.sha256()  # the bytes actually scored, for the provenance
    chunks = iter_chunks(
        options.input_path,
        sniffed.format,
        header_expected=sniffed.header,
        chunk_rows=chunk_rows,
        cancelled=cancelled,
        digest=digest,
    )

    def elapsed() -> float:
        return earlier + time.perf_counter() - started

    pool = None
    if options.workers > 1 and sniffed.size_bytes >= PARALLEL_MIN_BYTES:
        from app.core.batch.parallel import ChunkScorer

        pool = ChunkScorer(scorer, challenger, options.workers)

    def numbered() -> Any:
        for done, chunk in enumerate(chunks, 1):
            if done > skip:  # earlier chunks are already in the resumed work file and ledger
                yield done, chunk

    text_of = itemgetter(text_index)

    def scored_chunks() -> Any:
        if pool is None:
            for item in numbered():
                yield item, None
            return
        yield from pool.ahead(numbered(), lambda item: list(map(text_of, item[1].rows)))

    def consume(
        write: Callable[[list[list[object]]], None], commit: Callable[[int], None] | None
    ) -> None:
        for (done, chunk), precomputed in scored_chunks():
            report.rows_read += len(chunk.rows) + len(chunk.rejected) + chunk.blank_lines
            report.rows_blank += chunk.blank_lines
            report.rows_rejected += len(chunk.rejected)
            report.rejected.extend(_rejected_entry(r) for r in chunk.rejected)
            scored: list[list[object]] = []
            if chunk.rows:
                scored = score_rows(
                    scorer,
                    challenger,
                    chunk.rows,
                    text_index,
                    options.threshold,
                    report,
                    precomputed,
                )
                write(scored)
                report.rows_written += len(chunk.rows)
            if commit:
                commit(done)
            if scored and on_rows:
                on_rows(scored, chunk.lines)
            if cancelled and cancelled():
                raise JobCancelled("cancelled")
            if progress:
                progress(
                    BatchProgress(
                        chunk.bytes_read,
                        sniffed.size_bytes,
                        report.rows_read,
                        report.rows_scored,
                        elapsed(),
                    )
                )
        # Every byte is read: before the output is finished, make sure it was one input.
        if (
            digest.hexdigest() != report.input_sha256
            or input_identity(options.input_path) != before
        ):
            raise _InputChanged(
                f"{options.input_path} changed while it was being scored; no output was written, "
                "score it again."
            )

    try:
        _write(options, header, job, saved, skip, chunk_rows, report, elapsed, consume, hooks)
    finally:
        if pool is not None:
            pool.close()
        if saved is not None:
            saved.close()
    report.seconds = elapsed()
    return report


def _write(
    options: BatchOptions,
    header: list[str],
    job: dict[str, Any],
    saved: batch_checkpoint.Checkpoint | None,
    skip: int,
    chunk_rows: int,
    report: BatchReport,
    elapsed: Callable[[], float],
    consume: Callable[..., None],
    hooks: _Hooks,
) -> None:
    """Run ``consume`` into the output: a checkpointed CSV or an atomically written XLSX."""
    if options.output_format == "csv":
        work = batch_checkpoint.CheckpointedCsv(options.output_path, header, job, saved)

        def commit(done: int) -> None:
            ledger = {key: getattr(report, key) for key in _LEDGER} | {"seconds": elapsed()}
            work.commit(chunk_rows, done, ledger, report.rejected)

        try:
            commit(skip)
            consume(work.writer.write_rows, commit)
            _check_ledger(options, report)
            report.seconds = elapsed()
            if hooks.before_commit:
                hooks.before_commit(report)
            # Provenance first: once the output appears, what describes it is already there.
            write_provenance_sidecar(options.output_path, report.provenance())
            work.finish()
        except BaseException as exc:
            # Kept for --resume only when a resume can continue it (Ctrl+C, a crash, a log
            # that could not be written); a cancelled, unbalanced or changed-input job is gone.
            gone = JobCancelled | _Unbalanced | _InputChanged
            work.abandon(keep=not isinstance(exc, gone))
            raise
    else:
        with atomic_path(options.output_path) as tmp, XlsxExportWriter(tmp, header) as xlsx:
            consume(xlsx.write_rows, None)
            _check_ledger(options, report)
            report.seconds = elapsed()
            if hooks.before_commit:
                hooks.before_commit(report)
            xlsx.close(report.provenance())


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


def _rejected_entry(row: RejectedRow) -> dict[str, Any]:
    return {"line": row.line, "reason": row.reason, "excerpt": row.excerpt}
