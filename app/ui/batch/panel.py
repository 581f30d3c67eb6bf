"""The Batch panel (the original service's /batch): preview a CSV, score it in the background,
look through the results, export them.

The widgets and their arrangement are `batch_panel_view`; the background work is the job queue
of `batch_jobs`. This module is what happens when the user acts and when jobs report back.

Labels: the table and every export label rows at the job's label threshold, which is the
app-wide threshold when the job started. If the app-wide threshold moves, a notice says so and
offers to re-label from the stored scores (``score >= t``, no re-scoring); export provenance
names the labels' threshold and the job's. Scored caches are deleted with the panel, except those
of the jobs the batch history keeps (`results.history`): the History row reopens one as a job
(its results, ledger, model and threshold as they were) or removes it, after asking.

Another job's results start unfiltered: filters chosen for one file would silently hide rows of
the next ("0 of 500 rows"), so showing a different job clears them, "only rows shown by the
filters" and the last job's status message. An export that would write no rows asks first.

A row opened in the Score panel (double-click, Enter, "Open in Score") goes out as a `RowOrigin`
naming the job's file, model and label threshold; `show_row` selects it again on the way back.
"""

from __future__ import annotations

import html
from functools import partial
from pathlib import Path
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QFileDialog, QWidget

from app.core.analysis.labeled import guess_label_column
from app.core.batch.options import BatchProgress
from app.core.batch.words import renamed_line
from app.core.common.drill import BATCH, RowOrigin, RowSource
from app.core.common.errors import AbuseDeskError
from app.core.common.limits import Limits, format_bytes
from app.core.common.messages import fmt_threshold
from app.core.context.batch_queue import BatchJob
from app.core.context.label_notice import labels_notice
from app.core.context.state import ACTIVE_SCORER, AppContext
from app.core.csvio.csv_input import SniffResult, sniff
from app.core.results.table import ResultsTable, threshold_dataset
from app.ui.batch.audit_sample import BatchAuditSample
from app.ui.batch.exports import BatchExports
from app.ui.batch.history_actions import BatchHistoryActions
from app.ui.batch.jobs import JobQueue
from app.ui.batch.mode_box import BatchModes
from app.ui.batch.view import BatchPanelView
from app.ui.common.colours import warn_colour
from app.ui.common.workers import WorkerPool

DROP_SUFFIXES = (".csv", ".tsv", ".txt")


class BatchPanel(BatchExports, BatchHistoryActions, BatchAuditSample, BatchModes, BatchPanelView):
    """What the Batch panel does; its widgets and their arrangement are `BatchPanelView`."""

    title = "Batch"
    labeled_scores_ready = Signal(str, object, object)  # name, ThresholdDataset, RowSource
    open_in_score = Signal(object)  # RowOrigin of a result row to explain in the Score panel
    job_progress = Signal(object)  # BatchProgress of the running job
    job_done = Signal(str, str)  # file name, "done" | "cancelled" | "failed"
    export_done = Signal(str, str)  # path, "done: ..." | "cancelled" | "failed: ..."
    open_in_review = Signal(object)  # the Path of an audit sample just drawn

    def __init__(self, ctx: AppContext, pool: WorkerPool, parent: QWidget | None = None) -> None:
        limits = Limits.from_settings(ctx.settings)
        super().__init__(JobQueue(ctx, pool, limits=limits), parent)
        self.ctx, self.limits = ctx, limits
        self.size_warning: str | None = None  # the previewed file is above warn_file_bytes
        self.shown: BatchJob | None = None  # the job whose results are on screen
        self._path: Path | None = None  # the previewed file
        self._sniffed: SniffResult | None = None  # its format; None if it cannot be read
        self._next_id = 1
        # Job id -> the label threshold of its last successful export; the export under way.
        self._exported: dict[int, float] = {}
        self._exporting: tuple[int, float] | None = None
        self.pool = pool
        self._scored_csv: dict[int, Path] = {}  # job id -> its last whole CSV export
        self._export_file: tuple[int, Path] | None = None  # the whole CSV export under way
        self._sampler = None  # drawing an audit sample (BatchAuditSample)
        self._sample_path: Path | None = None  # the last one drawn, offered to Review
        self._connect_signals()
        try:  # the setting may have been lowered since the last job: apply it now
            self.jobs.core.history.trim(ctx.settings.batch_history_size)
        except OSError as exc:
            self.status.setText(f"Batch history not trimmed: {exc}")
        self.history.refresh()
        self._sent_status = ""  # the "Sent to the Threshold panel" status, while it is shown
        removers = [
            ctx.state.observe(self._threshold_changed, "threshold"),
            ctx.state.observe(self._model_changed, ACTIVE_SCORER),
        ]

        def unobserve() -> None:
            for remove in removers:
                remove()

        self._unobserve = unobserve
        self._show(None)
        self.setAcceptDrops(True)  # Ctrl+O lives in the main window's File menu

    def _connect_signals(self) -> None:
        self.open_button.clicked.connect(self.choose_files)
        self.start_button.clicked.connect(self.start)
        self.cancel_button.clicked.connect(self.cancel)
        self.preview.format_changed.connect(self._resniff)
        self.relabel_button.clicked.connect(self.relabel)
        self.csv_button.clicked.connect(partial(self.export_dialog, "csv"))
        self.xlsx_button.clicked.connect(partial(self.export_dialog, "xlsx"))
        self.rejected_button.clicked.connect(self.export_rejected_dialog)
        self.sample_button.clicked.connect(self.sample_dialog)
        self.review_button.clicked.connect(self.open_sample_in_review)
        self.send_button.clicked.connect(self.send_to_threshold)
        self.results.message.connect(self.status.setText)
        self.results.open_requested.connect(self._open_row)
        self.jobs.progress.connect(self._job_progress)
        self.jobs.job_done.connect(self._job_done)
        self.jobs.show_requested.connect(self._show)
        self.jobs.removed.connect(self._job_removed)
        self.jobs.export_progress.connect(self._export_progress)
        self.jobs.export_done.connect(self._export_done)
        self.history.reopen_requested.connect(self.reopen)
        self.history.remove_requested.connect(self.remove_history)

    # --- opening, previewing, queueing ------------------------------------------------------

    def choose_files(self) -> None:
        paths, _ = QFileDialog.getOpenFileNames(
            self, "Open CSV", self.ctx.settings.last_folder, "Text tables (*.csv *.tsv *.txt)"
        )
        self.open_files([Path(p) for p in paths])

    def open_files(self, paths: list[Path]) -> None:
        """One file is previewed; several are each queued with their detected settings."""
        for path in paths:
            self.open_file(path)
            if len(paths) > 1:
                self.start()

    def open_file(self, path: Path) -> None:
        self._path = None
        self._read(path, None, None, None, None)

    def _resniff(self) -> None:
        """The user chose an encoding or a delimiter: read the file again with it."""
        if self._path is not None:
            self._read(self._path, *self.preview.choices())

    def _read(self, path: Path, encoding: str | None, delimiter: str | None, text: str | None,
              label: str | None) -> None:  # fmt: skip
        try:
            sniffed = sniff(path, encoding=encoding, delimiter=delimiter)
        except (AbuseDeskError, OSError, UnicodeError) as exc:  # e.g. a codec that needs a BOM
            self._sniffed, self.size_warning = None, None
            if self._path is not None:  # a bad manual choice: keep the file, let them re-choose
                self.preview.show_error(str(exc))
            else:
                self.preview.setEnabled(False)
            self.file_label.setText(f"<b>{path.name}</b>: {exc}")
            self._refresh()
            return
        self._path, self._sniffed = path, sniffed
        self.ctx.settings.last_folder = str(path.parent)
        header = sniffed.header
        text = text if text in header else sniffed.text_column
        label = label if label in header else guess_label_column(header, text)
        self.preview.show_sniff(sniffed, text, label)
        size = format_bytes(sniffed.size_bytes)
        text = f"<b>{path.name}</b> · {size} · {sniffed.format.describe()}"
        self.size_warning = self.limits.file_size_warning(sniffed.size_bytes)
        if self.size_warning:  # a warning only: Start stays enabled
            text += f'<br><span style="color:{warn_colour()};">⚠ {html.escape(self.size_warning)}</span>'
        self.file_label.setText(text)
        self.file_label.setToolTip(self.size_warning or "")
        self._refresh()

    def start(self) -> None:
        """Queue the previewed file with the chosen settings; it starts when the queue is free."""
        encoding, delimiter, text, label = self.preview.choices()
        if self._path is None or self._sniffed is None or not text or label == text:
            self.status.setText("Open a file and choose a text column (not the label column).")
            return
        if self.ctx.state.scorer is None:
            self.status.setText("No model is loaded; choose one before scoring.")
            return
        mode = self.mode_box.mode()
        if mode != "fast" and (why := self._mode_problem(mode)):
            self.status.setText(f"{mode.capitalize()} mode cannot be used: {why}.")
            return
        job = BatchJob(self._next_id, self._path, encoding, delimiter, text, label, mode=mode)
        self._next_id += 1
        waiting = self.jobs.enqueue(job)
        if waiting:  # the concurrency limit: say why it waits; the job is kept in the queue
            self.status.setText(f"{job.path.name}: {waiting}")
        self._refresh()

    def cancel(self) -> None:
        self.jobs.cancel()
        if self.jobs.cancelling():
            self.progress.setFormat("Cancelling…")
        self._refresh()

    def _job_progress(self, job: BatchJob, p: BatchProgress) -> None:
        self.progress.show_progress(job.path.name, p)
        self.job_progress.emit(p)

    def _job_done(self, job: BatchJob) -> None:
        self.progress.show_finished(job)
        self.history.refresh()
        if job.result is not None:
            self._show(job)
            report = job.result.report
            said = [renamed_line(report.columns_renamed)] if report.columns_renamed else []
            said += [report.rescored_line()] if report.rescored_by else []
            said += [report.band_status()] if report.bands else []  # counts per band, and a
            if said:  # policy that contradicts the threshold is said so
                self.status.setText("\n".join(said))
        else:
            self.status.setText(job.message)
        self.job_done.emit(job.path.name, job.status)
        self._refresh()

    def _job_removed(self, job: BatchJob) -> None:
        if job is self.shown:
            self._show(None)

    # --- results -------------------------------------------------------------------------------

    def _show(self, job: BatchJob | None) -> None:
        if job is not self.shown:  # another job's rows: nothing of the last one's view applies
            self.status.setText("")
            self.shown_only.setChecked(False)
            if self.results.filters_active():
                self.results.clear_filters()
        self.shown = job
        if job is None or job.result is None:
            self.results.set_results(ResultsTable.from_arrays([], [], []), 0.5)
            self.ledger.show_report(None)
        else:
            self.results.set_results(job.result.table, job.label_threshold)
            self._show_ledger(job)
        self._refresh()

    def _show_ledger(self, job: BatchJob) -> None:
        """The ledger counts the labels shown: re-labelled, at their threshold as well."""
        assert job.result is not None
        t = job.label_threshold
        self.ledger.show_report(job.result.report, (t, job.result.table.flagged_count(t)))

    def relabel(self) -> None:
        """Labels at the app-wide threshold, from the stored scores (scores never change)."""
        job = self.shown
        if job is not None and job.result is not None:  # the notice said which models
            job.label_threshold = self.ctx.state.threshold
            job.label_threshold_model = self._active_label()
            self.results.model.set_threshold(job.label_threshold)
            self._show_ledger(job)
            said = f"Labels recomputed at {fmt_threshold(job.label_threshold)}"
            if job.label_threshold_model != job.result.report.model_version:
                said += (
                    f", a threshold set for {job.label_threshold_model}, on the scores of "
                    f"{job.result.report.model_version}"
                )
            self.status.setText(f"{said}.")
        self._refresh()

    def _active_label(self) -> str:
        scorer = self.ctx.state.scorer
        return scorer.version_label if scorer is not None else "no model"

    def _source(self, job: BatchJob) -> RowSource:
        assert job.result is not None
        return RowSource(
            job.path.name, job.result.report.model_version, job.label_threshold, key=job.id
        )

    def _open_row(self, row: int) -> None:
        job = self.shown
        if job is None or job.result is None:
            return
        table = job.result.table
        score = float(table.scores[row])
        self.open_in_score.emit(
            RowOrigin(BATCH, self._source(job), row, int(table.lines[row]),
                      str(table.texts[row]), score)
        )  # fmt: skip

    def show_row(self, origin: RowOrigin) -> None:
        """Back from the Score panel: the row selected and scrolled into view, or why not."""
        job = self.shown
        if job is None or job.id != origin.source.key:
            self.status.setText(f"The results of {origin.source.file_name} are no longer shown.")
        elif not self.results.select_row(origin.row):
            self.status.setText(f"Line {origin.line:,} is hidden by the filters.")

    def _threshold_changed(self, _name: str, _value: Any) -> None:
        self._refresh()

    def _model_changed(self, _name: str, scorer: Any) -> None:
        """The Threshold panel drops samples scored by the previous model, so a "Sent to the
        Threshold panel" status would be stale: say what became of the sent results."""
        if self._sent_status and self.status.text() == self._sent_status:
            new = scorer.version_label if scorer is not None else "none"
            self.status.setText(
                f"Model changed to {new}: the Threshold panel removed the results sent from here "
                "(scored by the previous model)."
            )
        self._sent_status = ""
        if self.isVisible():
            self.refresh_modes()

    def send_to_threshold(self) -> None:
        """Emit the scores and the parsed file labels; unknown labels are counted, not sent."""
        if self.shown is None or self.shown.result is None:
            return
        try:
            data = threshold_dataset(self.shown.result.table)
        except AbuseDeskError as exc:
            self.status.setText(str(exc))
            return
        if not len(data.scores):
            self.status.setText(f"Nothing to send: {data.describe()}.")
            return
        name = f"{self.shown.path.name} ({self.shown.result.report.model_version})"
        self.labeled_scores_ready.emit(name, data, self._source(self.shown))
        self._sent_status = f"Sent to the Threshold panel: {data.describe()}."
        self.status.setText(self._sent_status)

    # --- state, drag and drop, shutdown -------------------------------------------------------

    def _refresh(self) -> None:
        """Enable what makes sense now, and explain a label-threshold mismatch."""
        result = self.shown.result if self.shown is not None else None
        shown = self.shown if result is not None else None
        self.start_button.setEnabled(self._sniffed is not None)
        self.cancel_button.setEnabled(self.jobs.running is not None and not self.jobs.cancelling())
        idle_export = self.jobs.export_worker is None
        self.csv_button.setEnabled(shown is not None and idle_export)
        self.xlsx_button.setEnabled(shown is not None and idle_export)
        self.rejected_button.setEnabled(result is not None and result.report.rows_rejected > 0)
        self.sample_button.setEnabled(result is not None and self._sampler is None)
        self.shown_only.setEnabled(shown is not None)
        self.send_button.setEnabled(result is not None and result.table.gold is not None)
        self._show_notice(shown)

    def _show_notice(self, shown: BatchJob | None) -> None:
        current = self.ctx.state.threshold
        stale = shown is not None and shown.label_threshold != current
        text = labels_notice(shown, current, self._active_label()) if shown is not None else ""
        self.notice.setText(text)
        self.notice.setVisible(bool(text))
        self.relabel_button.setVisible(stale)
        self.relabel_button.setText(f"Re-label at {fmt_threshold(current)}")

    def has_running_jobs(self) -> bool:
        return self.jobs.busy()

    def has_unexported_results(self) -> bool:
        """Finished results that closing the app would discard (session caches die with the
        panel): a job never exported, or re-labelled since its last export (exports carry
        labels), unless the history keeps it with the labels shown."""
        return any(
            job.result is not None
            and self._exported.get(job.id) != job.label_threshold
            and not (job.history_id and job.label_threshold == job.result.report.threshold)
            for job in self.jobs.jobs.values()
        )

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if _dropped_paths(event):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        paths = _dropped_paths(event)
        if paths:
            event.acceptProposedAction()
            self.open_files(paths)

    def shutdown(self) -> None:
        """Cancel jobs, stop timers, unsubscribe, delete this session's caches."""
        self.jobs.shutdown()
        if self._sampler is not None:
            self._sampler.cancel()
        self.results.stop()
        self._unobserve()
        self._unobserve = _no_op


def _no_op() -> None:
    """What `_unobserve` becomes once called, so a second shutdown is harmless."""


def _dropped_paths(event: QDragEnterEvent | QDropEvent) -> list[Path]:
    mime = event.mimeData()
    if not mime.hasUrls():
        return []
    paths = [Path(url.toLocalFile()) for url in mime.urls() if url.isLocalFile()]
    return [path for path in paths if path.suffix.lower() in DROP_SUFFIXES]
