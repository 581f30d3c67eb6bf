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
jobs are not checkpointed and restart. See `app.core.batch.checkpoint` for the design. A job that
will never be resumed (the desktop app's, scored into a throwaway cache) says
``checkpoint=False``: its CSV is written like an XLSX, to a temporary file renamed into place,
with no work files and no workstation key.

The job reads its input's format once (`csv_input.sniff`, unless the caller already did and
passes it as ``sniffed``) and resolves its text column once (`resolve_input`).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Generator, Iterator
from contextlib import closing
from datetime import UTC, datetime
from operator import itemgetter
from typing import Any, TextIO, cast

from app.core.batch import checkpoint as batch_checkpoint
from app.core.batch import checkpoint_schema
from app.core.batch.cascade import Cascade, mark_rescored, mode_fields
from app.core.batch.options import (
    DEFAULT_CHUNK_ROWS,
    BatchOptions,
    BatchProgress,
    BatchReport,
)
from app.core.batch.rejected import MAX_REJECTED_TEXTS, check_rejected_target, finish_rejected
from app.core.batch.rejected_record import recorded_rejected
from app.core.batch.rows import (
    BAND_COUNT_KEYS,
    OUTPUT_COLUMNS,
    score_rows,
    unique_output_columns,
)
from app.core.batch.run_parts import (
    _LEDGER,
    Commit,
    Write,
    _check_ledger,
    _Hooks,
    _InputChanged,
    _rejected_entry,
    _Unbalanced,
)
from app.core.batch.source import BatchInput, file_sha256, resolve_input
from app.core.common.atomic import atomic_open, atomic_path
from app.core.common.errors import InputError, JobCancelled
from app.core.common.input_guard import input_identity
from app.core.common.output_guard import check_output, names_fit, output_lock
from app.core.csvio.csv_input import Chunk, iter_chunks
from app.core.engine.scoring import Scorer
from app.core.export.csv_writer import CsvExportWriter, XlsxExportWriter, write_provenance_sidecar
from app.core.export.xlsx_writer import check_xlsx_width

__all__ = [
    "DEFAULT_CHUNK_ROWS",
    "OUTPUT_COLUMNS",
    "BatchInput",
    "BatchOptions",
    "BatchProgress",
    "BatchReport",
    "resolve_input",
    "run_batch",
]
PARALLEL_MIN_BYTES = 8 << 20  # below ~8 MB starting the workers costs more than they save


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
    sniffed: BatchInput | None = None,
    checkpoint: bool = True,
    rescorer: Scorer | None = None,
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

    ``sniffed``: the input as the caller already resolved it (`resolve_input`), so the file is
    sniffed once per job. ``checkpoint=False``: no checkpoint, work files or workstation key
    (a job nobody will resume); it cannot be combined with ``resume``.

    Modes (`app.core.batch.cascade`): an encoder ``scorer`` scores every row in this process
    (onnxruntime uses every core; no worker processes), a linear one as before; ``rescorer``
    (an encoder whose cascade band was chosen for ``scorer``, else ModelError) re-scores the rows
    whose fast score is in its band, and the report counts them.
    """
    if options.output_format not in ("csv", "xlsx"):
        raise InputError(f"unknown output format {options.output_format!r} (use csv or xlsx)")
    if resume and not checkpoint:
        raise ValueError("resume needs a checkpointed job")
    cascade = Cascade.for_models(scorer, rescorer) if rescorer is not None else None
    csv_job = options.output_format == "csv"
    check_output(
        options.output_path,
        {"the input": options.input_path},
        checkpointed=csv_job and checkpoint,
        sidecar=csv_job,
    )
    rejected = options.rejected_path
    # The CLI checked the existing-file rule already; a default name too long for the folder is
    # not refused here: the job's end says the rows were not written (`finish_rejected`).
    if rejected is not None and names_fit(rejected):
        check_rejected_target(
            rejected,
            options.output_path,
            {"the input": options.input_path, "the output": options.output_path},
            overwrite=True,
        )
    before = input_identity(options.input_path)
    with output_lock(options.output_path):  # held until the output and provenance are in place
        hooks = _Hooks(progress, cancelled, on_rows, notice, before_commit)
        job = _Job(scorer, challenger, options, hooks, before, sniffed or resolve_input(options))
        job.cascade = cascade
        return job.run(resume, checkpoint)


class _Job:
    """One run of `run_batch`, in named steps: start (report, hash, checkpoint), read and score
    the chunks, write them to one of the three outputs, check the ledger."""

    def __init__(
        self,
        scorer: Scorer,
        challenger: Scorer | None,
        options: BatchOptions,
        hooks: _Hooks,
        before: tuple[int, ...],
        source: BatchInput,
    ) -> None:
        self.scorer, self.challenger, self.options, self.hooks = scorer, challenger, options, hooks
        self.before, self.source = before, source  # the input's identity when the job began
        self.header = unique_output_columns(
            source.sniffed.header, challenger is not None, options.bands is not None
        )
        self.started = time.perf_counter()
        self.earlier = 0.0  # seconds spent by the runs this one resumes
        self.chunk_rows, self.skip = options.chunk_rows, 0
        self.saved: batch_checkpoint.Checkpoint | None = None
        self.digest = hashlib.sha256()  # the bytes actually scored, for the provenance
        # Read under the lock, before this job replaces the output's provenance.
        self.previous = recorded_rejected(options.output_path, options.output_format)
        self.cascade: Cascade | None = None  # set by `run_batch` for a cascade job

    def elapsed(self) -> float:
        return self.earlier + time.perf_counter() - self.started

    def run(self, resume: bool, checkpoint: bool) -> BatchReport:
        options = self.options
        if self.source.sniffed.size_bytes != self.before[0]:  # sniffed before the job began
            raise InputError(f"{options.input_path} changed since it was read; reopen it.")
        if options.output_format == "xlsx":  # refused before the input is hashed or scored
            check_xlsx_width(len(self.header), options.input_path)
        self.report = self._new_report()
        self.report.input_sha256 = file_sha256(options.input_path, self.hooks.cancelled)
        try:
            if options.output_format == "xlsx":
                if resume and self.hooks.notice:
                    self.hooks.notice(
                        f"{options.output_path.name}: XLSX jobs are not checkpointed; starting over"
                    )
                self._write_xlsx()
            elif checkpoint:
                self._write_checkpointed(resume)
            else:
                self._write_csv()
        finally:
            if self.saved is not None:
                self.saved.close()
        self.report.seconds = self.elapsed()
        return self.report

    def _new_report(self) -> BatchReport:
        options, challenger, fmt = self.options, self.challenger, self.source.sniffed.format
        return BatchReport(
            input=str(options.input_path),
            output=str(options.output_path),
            output_format=options.output_format,
            encoding=fmt.encoding,
            delimiter=fmt.delimiter,
            text_column=self.source.text_column,
            columns_renamed=self.source.sniffed.renamed,
            model_version=self.scorer.version_label,
            challenger_version=challenger.version_label if challenger is not None else "",
            challenger_manifest_sha256=(
                challenger.bundle.manifest_sha256 if challenger is not None else ""
            ),
            threshold=options.threshold,
            bands=list(options.bands) if options.bands is not None else [],
            **mode_fields(self.scorer, self.cascade),
            started_utc=datetime.now(UTC).replace(microsecond=0).isoformat(),
        )

    # --- reading and scoring -----------------------------------------------------------------

    def _chunks(self) -> Iterator[tuple[int, Chunk]]:
        """The input's chunks, numbered from 1, after those a resumed job has done already."""
        chunks = iter_chunks(
            self.options.input_path,
            self.source.sniffed.format,
            header_expected=self.source.sniffed.header,
            chunk_rows=self.chunk_rows,
            cancelled=self.hooks.cancelled,
            digest=self.digest,
        )
        for done, chunk in enumerate(chunks, 1):
            if done > self.skip:  # earlier chunks are already in the resumed work file and ledger
                yield done, chunk

    def _scored_chunks(self) -> Generator[tuple[tuple[int, Chunk], Any], None, None]:
        """Each chunk with its scores when worker processes computed them (else None)."""
        options = self.options
        # An encoder scores here, with every core (N processes of N threads would fight).
        encoder = self.scorer.engine == "encoder"
        if options.workers <= 1 or encoder or self.source.sniffed.size_bytes < PARALLEL_MIN_BYTES:
            for item in self._chunks():
                yield item, None
            return
        from app.core.batch.parallel import ChunkScorer  # only jobs that use workers pay for it

        text_of = itemgetter(self.source.text_index)
        pool = ChunkScorer(self.scorer, self.challenger, options.workers)
        try:
            yield from pool.ahead(
                self._chunks(), lambda item: list(map(text_of, item[1].rows)), self.hooks.cancelled
            )
        except BaseException:  # cancelled, failed, or closed by a failure while writing
            pool.abandon()
            raise
        pool.close()

    def _consume(self, write: Write, commit: Commit | None) -> None:
        """Read, score and write every chunk; then check that it was one input throughout."""
        # closing(): the worker processes, if any, stop as soon as this loop ends or raises.
        with closing(self._scored_chunks()) as chunks:
            for (done, chunk), precomputed in chunks:
                scored = self._add_chunk(chunk, precomputed)
                if scored:
                    write(scored)
                    self.report.rows_written += len(scored)
                if commit:
                    commit(done)
                if scored and self.hooks.on_rows:
                    self.hooks.on_rows(scored, chunk.lines)
                if self.hooks.cancelled and self.hooks.cancelled():
                    raise JobCancelled("cancelled")
                if self.hooks.progress:
                    self.hooks.progress(self._progress(chunk))
        options = self.options
        if (
            self.digest.hexdigest() != self.report.input_sha256
            or input_identity(options.input_path) != self.before
        ):
            raise _InputChanged(
                f"{options.input_path} changed while it was being scored; no output was written, "
                "score it again."
            )

    def _add_chunk(self, chunk: Chunk, precomputed: Any) -> list[list[object]]:
        """One chunk into the ledger; its output rows (none if every record was rejected)."""
        report = self.report
        report.rows_read += len(chunk.rows) + len(chunk.rejected) + chunk.blank_lines
        report.rows_blank += chunk.blank_lines
        report.rows_rejected += len(chunk.rejected)
        for row in chunk.rejected:  # raw texts kept for the first MAX_REJECTED_TEXTS only
            report.rejected.append(_rejected_entry(row, len(report.rejected) < MAX_REJECTED_TEXTS))
        if not chunk.rows:
            return []
        chosen: list[int] = []
        if self.cascade is not None:  # fast scores for every row, then the band re-scored
            precomputed, chosen = self.cascade.rescore(
                self.scorer, chunk.rows, self.source.text_index, precomputed
            )
            report.rows_rescored += len(chosen)
        out = score_rows(
            self.scorer,
            self.challenger,
            chunk.rows,
            self.source.text_index,
            self.options.threshold,
            report,
            precomputed,
            self.options.bands,
        )
        if chosen and self.cascade is not None:
            label = self.cascade.thorough.version_label
            mark_rescored(out, chunk.rows, chosen, self.options.bands is not None, label)
        return out

    def _progress(self, chunk: Chunk) -> BatchProgress:
        report = self.report
        size = self.source.sniffed.size_bytes
        return BatchProgress(
            chunk.bytes_read, size, report.rows_read, report.rows_scored, self.elapsed()
        )

    # --- the three outputs -------------------------------------------------------------------

    def _finish(self) -> None:
        """Every row is written: check the counts, let the caller log the job."""
        _check_ledger(self.options, self.report)
        # Before the provenance is written: it names the rejected-rows file.
        options = self.options
        finish_rejected(
            options.rejected_path,
            options.output_path,
            self.report,
            self.hooks.notice,
            previous=self.previous,
            replace=options.rejected_replace,
            stale=options.rejected_stale,
        )
        self.report.seconds = self.elapsed()
        if self.hooks.before_commit:
            self.hooks.before_commit(self.report)

    def _write_xlsx(self) -> None:
        with (
            atomic_path(self.options.output_path) as tmp,
            XlsxExportWriter(tmp, self.header) as xlsx,
        ):
            self._consume(xlsx.write_rows, None)
            self._finish()
            stats = xlsx.close(self.report.provenance())  # the sheet says the count itself
            self.report.control_cells_replaced = stats.illegal_cells

    def _write_csv(self) -> None:
        """A CSV nobody will resume: written like the XLSX, renamed into place when complete."""
        output = self.options.output_path
        with atomic_open(output) as fh:
            writer = CsvExportWriter(cast(TextIO, fh), self.header)
            self._consume(writer.write_rows, None)
            self._finish()
            write_provenance_sidecar(output, self.report.provenance())

    def _ledger_keys(self) -> tuple[str, ...]:
        """The ledger a checkpoint keeps: with a band policy, the rows per band too."""
        rescored = ("rows_rescored",) if self.cascade is not None else ()
        return (*_LEDGER, *(BAND_COUNT_KEYS if self.options.bands is not None else ()), *rescored)

    def _resume_from(self, job: dict[str, Any]) -> None:
        saved, note = batch_checkpoint.load(self.options.output_path, job)
        if self.hooks.notice:
            self.hooks.notice(note)
        if saved is None:
            return
        self.saved = saved
        for key in self._ledger_keys():
            setattr(self.report, key, saved.ledger[key])
        self.report.rejected = list(saved.rejected)
        self.chunk_rows, self.skip, self.earlier = (
            saved.chunk_rows,
            saved.chunks_done,
            saved.ledger["seconds"],
        )

    def _write_checkpointed(self, resume: bool) -> None:
        """The CLI's CSV: a work file and a checkpoint after every chunk (`batch.checkpoint`)."""
        options, report = self.options, self.report
        job = checkpoint_schema.job_identity(
            self.scorer, options, report, self.header, self.challenger, self.cascade
        )
        if resume:
            self._resume_from(job)
        work = batch_checkpoint.CheckpointedCsv(options.output_path, self.header, job, self.saved)

        def commit(done: int) -> None:
            ledger = {key: getattr(report, key) for key in self._ledger_keys()}
            ledger["seconds"] = self.elapsed()
            work.commit(self.chunk_rows, done, ledger, report.rejected)

        try:
            commit(self.skip)
            self._consume(work.writer.write_rows, commit)
            self._finish()
            # Provenance first: once the output appears, what describes it is already there.
            write_provenance_sidecar(options.output_path, report.provenance())
            work.finish()
        except BaseException as exc:
            # Kept for --resume only when a resume can continue it (Ctrl+C, a crash, a log
            # that could not be written); a cancelled, unbalanced or changed-input job is gone.
            gone = JobCancelled | _Unbalanced | _InputChanged
            work.abandon(keep=not isinstance(exc, gone))
            raise
