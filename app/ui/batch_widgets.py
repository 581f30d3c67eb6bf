"""The Batch panel's parts: the file preview with its format choices, the ledger, the job queue.

`JobQueue` owns the background work: scoring jobs run one at a time (each is a `Worker` around
`app.core.results.score_file`) and exports run beside them; it logs each job's activity events.
Scoring, filtering and exporting themselves live in `app.core`; nothing here touches rows.
"""

from __future__ import annotations

import shutil
from collections import deque
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QSignalBlocker, Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QGridLayout,
    QHeaderView,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.core.batch import BatchOptions, BatchReport
from app.core.csv_sniff import DELIMITERS, SniffResult, encoding_label
from app.core.results import (
    ScoredFile,
    ViewSpec,
    export_scored,
    jobs_folder,
    remove_cache,
    score_file,
    summary_counts,
)
from app.core.state import AppContext
from app.ui.results_model import RowsModel, hbox, table_view
from app.ui.workers import Worker, WorkerPool

ENCODINGS = ("utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-16-be", "cp1252")
DELIMITER_NAMES = {",": "comma  ,", ";": "semicolon  ;", "\t": "tab", "|": "pipe  |"}
CHUNK_ROWS = 2_000  # ~0.15 s of scoring: the core checks for cancel between chunks


def _fill(combo: QComboBox, items: list[tuple[str, Any]], current: Any) -> None:
    with QSignalBlocker(combo):  # showing what was detected is not a user choice
        if items:
            combo.clear()
            for text, data in items:
                combo.addItem(text, data)
        combo.setCurrentIndex(max(0, combo.findData(current)))


class PreviewWidget(QWidget):
    """The first rows of the opened file, with its encoding, delimiter and columns as choices."""

    format_changed = Signal()  # encoding or delimiter chosen: the panel re-reads the file

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.encoding, self.delimiter = QComboBox(), QComboBox()
        _fill(self.encoding, [(encoding_label(e), e) for e in ENCODINGS], None)
        _fill(self.delimiter, [(DELIMITER_NAMES[d], d) for d in DELIMITERS], None)
        self.text_column, self.label_column = QComboBox(), QComboBox()
        for combo in (self.text_column, self.label_column):
            combo.setMinimumContentsLength(14)
        self.model = RowsModel(self)
        self.table = table_view(self.model)
        items: list[Any] = []
        for text, combo in (
            ("&Encoding", self.encoding),
            ("&Delimiter", self.delimiter),
            ("Te&xt column", self.text_column),
            ("&Label column", self.label_column),
        ):
            label = QLabel(text)
            label.setBuddy(combo)
            items += [label, combo, 14]
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(hbox(*items, None))
        layout.addWidget(self.table)
        self.encoding.currentIndexChanged.connect(self.format_changed)
        self.delimiter.currentIndexChanged.connect(self.format_changed)
        self.setEnabled(False)

    def show_sniff(self, sniffed: SniffResult, text: str | None, label: str | None) -> None:
        fmt, header = sniffed.format, sniffed.header
        if self.encoding.findData(fmt.encoding) < 0:
            self.encoding.addItem(encoding_label(fmt.encoding), fmt.encoding)
        _fill(self.encoding, [], fmt.encoding)
        _fill(self.delimiter, [], fmt.delimiter)
        _fill(self.text_column, [(h, h) for h in header], text)
        _fill(self.label_column, [("none", None)] + [(h, h) for h in header], label)
        self.model.set_rows(header, sniffed.preview)
        self.table.horizontalHeader().resizeSections(QHeaderView.ResizeMode.ResizeToContents)
        for col in range(len(header)):  # long texts would push the other columns off screen
            self.table.setColumnWidth(col, min(self.table.columnWidth(col), 420))
        self.setEnabled(True)

    def show_error(self, message: str) -> None:
        """The chosen format cannot read the file: no preview, but the choices stay open."""
        self.model.set_rows(["Cannot read the file with these settings"], [[message]])
        self.table.setColumnWidth(0, 800)

    def choices(self) -> tuple[str, str, str | None, str | None]:
        """(encoding, delimiter, text column, label column or None)."""
        combos = (self.encoding, self.delimiter, self.text_column, self.label_column)
        encoding, delimiter, text, label = (c.currentData() for c in combos)
        return encoding, delimiter, text, label


class LedgerWidget(QWidget):
    """Where every row went: read = scored + rejected + blank, and each rejected line's reason."""

    FIELDS = ("rows_read", "rows_scored", "rows_flagged", "rows_rejected", "rows_blank")

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        grid = QGridLayout()
        self.values: dict[str, QLabel] = {}
        for i, key in enumerate(self.FIELDS):
            value = self.values[key] = QLabel("–")
            value.setAlignment(Qt.AlignmentFlag.AlignRight)
            value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            grid.addWidget(QLabel(key.removeprefix("rows_").capitalize()), i, 0)
            grid.addWidget(value, i, 1)
        self.note = QLabel("")
        self.note.setWordWrap(True)
        self.rejected = RowsModel(self)
        self.table = table_view(self.rejected)
        self.table.horizontalHeader().setStretchLastSection(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(grid)
        for widget in (self.note, QLabel("Rejected rows"), self.table):
            layout.addWidget(widget)

    def show_report(self, report: BatchReport | None) -> None:
        for key, label in self.values.items():
            label.setText("–" if report is None else f"{getattr(report, key):,}")
        self.rejected.set_rows(["Line", "Reason"], [])
        self.note.setText("")
        if report is None:
            return
        self.values["rows_flagged"].setText(f"{report.rows_flagged:,} at {report.threshold:.2f}")
        self.note.setText(
            f"{encoding_label(report.encoding)}, {DELIMITER_NAMES[report.delimiter].split()[0]}"
            f" delimiter, text column {report.text_column!r}, {report.seconds:.1f} s"
        )
        rows = [[r["line"], r["reason"]] for r in report.rejected]
        tips = [f"{r['reason']}\n{r['excerpt']}" for r in report.rejected]  # the raw start
        self.rejected.set_rows(["Line", "Reason"], rows, tips)
        self.table.setColumnWidth(0, 56)


@dataclass
class BatchJob:
    id: int
    path: Path
    encoding: str
    delimiter: str
    text_column: str
    gold_column: str | None
    cache: Path | None = None  # the scored cache file, once started
    status: str = "queued"  # queued, running, done, cancelled, failed
    message: str = ""  # why it failed
    result: ScoredFile | None = None
    label_threshold: float = 0.0  # labels shown and exported: the job's, until re-labelled


class JobQueue(QWidget):
    """The list of jobs, and the workers behind them. Signals are delivered on the GUI thread."""

    progress = Signal(object)  # BatchProgress of the running job
    job_done = Signal(object)  # the BatchJob, whatever its outcome
    show_requested = Signal(object)  # a finished BatchJob the user picked
    removed = Signal(object)
    export_progress = Signal(int)  # rows read
    export_done = Signal(str, str)  # path, "done: ..." | "cancelled" | "failed: ..."

    def __init__(self, ctx: AppContext, pool: WorkerPool, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx, self.pool = ctx, pool
        self.jobs: dict[int, BatchJob] = {}
        self.queue: deque[int] = deque()
        self.running: BatchJob | None = None
        self.worker: Worker | None = None
        self.export_worker: Worker | None = None
        self._export: tuple[BatchJob, Path, str, float, ViewSpec | None] | None = None
        self._outcome = ""
        self._folder: Path | None = None  # this session's caches, created on first use
        self._closing = False
        self.list = QListWidget()
        self.list.setAlternatingRowColors(True)
        remove = QPushButton("Remove")
        remove.setToolTip("Drop a queued job, or a finished job's results and cache file")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.list)
        layout.addLayout(hbox(QLabel("Click a finished job to show it."), None, remove))
        self.list.itemClicked.connect(self._clicked)
        remove.clicked.connect(self.remove_selected)

    def busy(self) -> bool:
        return self.running is not None or bool(self.queue) or self.export_worker is not None

    def enqueue(self, job: BatchJob) -> None:
        self.jobs[job.id] = job
        self.queue.append(job.id)
        self._show_status(job)
        self._start_next()

    def _show_status(self, job: BatchJob) -> None:
        items = [self.list.item(i) for i in range(self.list.count())]
        item = next((i for i in items if i.data(Qt.ItemDataRole.UserRole) == job.id), None)
        if item is None:
            item = QListWidgetItem()
            item.setData(Qt.ItemDataRole.UserRole, job.id)
            self.list.addItem(item)
        item.setText(f"{job.path.name} · {job.status}")

    def _start_next(self) -> None:
        if self.running is not None or not self.queue:
            return
        job = self.running = self.jobs[self.queue.popleft()]
        threshold = job.label_threshold = self.ctx.state.threshold
        self._folder = self._folder or jobs_folder()
        job.cache = self._folder / f"{job.id:03d}-{job.path.stem}.scored.csv"
        options = BatchOptions(
            job.path, job.cache, threshold, job.text_column, "csv", job.encoding, job.delimiter,
            chunk_rows=CHUNK_ROWS,
        )  # fmt: skip
        run = partial(score_file, self.ctx.state.scorer, options, job.gold_column)
        self.worker = self._start(Worker(run, f"batch {job.path.name}"), "job")
        job.status = "running"
        self._show_status(job)
        self.ctx.state.job_started()
        self.ctx.log("batch_started", file_name=job.path.name, threshold=threshold)

    def _start(self, worker: Worker, kind: str) -> Worker:
        # Slots are methods of this QObject (never lambdas): Qt queues them to the GUI thread.
        for signal in ("progress", "finished", "failed", "cancelled", "done"):
            getattr(worker.signals, signal).connect(getattr(self, f"_{kind}_{signal}"))
        return self.pool.start(worker)

    def cancel(self) -> None:
        """Stop the running job; the core notices before its next chunk (well under 1 s)."""
        if self.worker is not None:
            self.worker.cancel()

    def cancelling(self) -> bool:
        return self.worker is not None and self.worker.is_cancelled

    def remove_selected(self) -> None:
        item = self.list.currentItem()
        job = self.jobs.get(item.data(Qt.ItemDataRole.UserRole)) if item else None
        exporting = self._export is not None and self._export[0] is job
        if job is None or job is self.running or exporting:
            return
        if job.id in self.queue:
            self.queue.remove(job.id)
        if job.cache is not None:
            remove_cache(job.cache)
        del self.jobs[job.id]
        self.list.takeItem(self.list.row(item))
        self.removed.emit(job)

    def _clicked(self, item: QListWidgetItem) -> None:
        job = self.jobs.get(item.data(Qt.ItemDataRole.UserRole))
        if job is not None and job.result is not None:
            self.show_requested.emit(job)

    def _job_progress(self, progress: object) -> None:
        if not self.cancelling():  # after Cancel, stale progress would contradict the button
            self.progress.emit(progress)

    def _job_finished(self, result: ScoredFile) -> None:
        job, report = self.running, result.report
        assert job is not None
        job.result, job.status = result, "done"
        self.ctx.log(
            "batch_finished",
            counts=summary_counts(report),
            file_name=job.path.name,
            file_sha256=report.input_sha256,
            threshold=report.threshold,
        )
        self.ctx.session.record_batch(report.rows_scored, report.rows_flagged, report.seconds)

    def _job_failed(self, message: str) -> None:
        assert self.running is not None
        self.running.status, self.running.message = "failed", message
        self.ctx.log("batch_failed", file_name=self.running.path.name, detail=message)

    def _job_cancelled(self) -> None:
        job = self.running
        assert job is not None and job.cache is not None
        job.status = "cancelled"
        remove_cache(job.cache)  # a cancel after the last chunk leaves a complete cache
        self.ctx.log("batch_cancelled", file_name=job.path.name, threshold=job.label_threshold)

    def _job_done(self) -> None:
        job = self.running
        assert job is not None
        self.running = self.worker = None
        self.ctx.state.job_finished()
        self._show_status(job)
        self.job_done.emit(job)
        self._start_next()
        self._clean_up_if_closing()

    def export(
        self, job: BatchJob, path: Path, fmt: str, keep: np.ndarray | None, spec: ViewSpec | None
    ) -> bool:
        """Export `job`'s results in the background; False if an export is already running."""
        if self.export_worker is not None or job.result is None:
            return False
        result, threshold = job.result, job.label_threshold
        run = partial(
            export_scored, result.cache_path, path, fmt,
            report=result.report, threshold=threshold, keep=keep, spec=spec,
        )  # fmt: skip
        self._export, self._outcome = (job, path, fmt, threshold, spec), "done"
        self.ctx.state.job_started()
        self.export_worker = self._start(
            Worker(partial(_keywords, run), f"export {path.name}"), "export"
        )
        return True

    def _export_progress(self, rows: int) -> None:
        self.export_progress.emit(rows)

    def _export_finished(self, rows: int) -> None:
        assert self._export is not None
        job, path, fmt, threshold, spec = self._export
        assert job.result is not None
        self._outcome = f"done: {rows:,} rows, labels at {threshold:.2f}"
        self.ctx.log(
            "export",
            file_name=path.name,
            file_sha256=job.result.report.input_sha256,
            threshold=threshold,
            counts={"rows_exported": rows},
            detail=f"{fmt} of {job.path.name}; {(spec or ViewSpec()).describe()}",
        )

    def _export_failed(self, message: str) -> None:
        self._outcome = f"failed: {message}"

    def _export_cancelled(self) -> None:
        self._outcome = "cancelled"

    def _export_done(self) -> None:
        assert self._export is not None
        path = self._export[1]
        self.export_worker, self._export = None, None
        self.ctx.state.job_finished()
        self.export_done.emit(str(path), self._outcome)
        self._clean_up_if_closing()

    def shutdown(self) -> None:
        """Cancel everything and delete this session's caches (they may hold personal data):
        now if idle, else once the cancelled workers report done (a worker may still be writing
        there). A folder left behind by a crash is pruned by `jobs_folder` a day later."""
        self._closing = True
        self.queue.clear()
        for worker in (self.worker, self.export_worker):
            if worker is not None:
                worker.cancel()
        self._clean_up_if_closing()

    def _clean_up_if_closing(self) -> None:
        if self._closing and not self.busy() and self._folder is not None:
            shutil.rmtree(self._folder, ignore_errors=True)
            self._folder = None


def _keywords(run: Any, progress: Any, cancelled: Any) -> Any:
    """Adapt a core function's keyword callbacks to Worker's positional job(progress, cancelled)."""
    return run(progress=progress, cancelled=cancelled)
