"""The Batch panel's widgets and how they are arranged; `batch_panel.BatchPanel` adds what they do.

Layout: a file bar and a progress bar on top; the preview (with encoding, delimiter, text and
label column choices) above the results table; the job queue, the history of earlier jobs and the
ledger on the right.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QCheckBox, QLabel, QPushButton, QVBoxLayout, QWidget

from app.ui.batch.history import HistoryBar
from app.ui.batch.jobs import JobQueue
from app.ui.batch.layout import group, hbox, split
from app.ui.batch.mode_box import ModeBox
from app.ui.batch.results_view import ResultsView
from app.ui.batch.widgets import JobProgressBar, LedgerWidget, PreviewWidget

_NOTICE_STYLE = "background:#fff4ce; color:#4d3800; border:1px solid #e0c060; padding:4px 8px;"


class BatchPanelView(QWidget):
    """Every widget of the Batch panel, in place; no behaviour, no signal connections."""

    def __init__(self, jobs: JobQueue, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.jobs = jobs
        self.history = HistoryBar(jobs.core.history)
        self.open_button = QPushButton("Open CSV…")
        self.file_label = QLabel("Open a CSV file (Ctrl+O) or drop .csv, .tsv or .txt files here.")
        self.start_button = QPushButton("Start scoring")
        self.mode_box = ModeBox()  # fast, cascade, thorough
        self.cancel_button = QPushButton("Cancel")
        self.progress = JobProgressBar()
        self.preview, self.results, self.ledger = PreviewWidget(), ResultsView(), LedgerWidget()
        self.notice = QLabel()
        self.notice.setWordWrap(True)
        self.notice.setStyleSheet(_NOTICE_STYLE)
        self.relabel_button = QPushButton("Re-label")
        self.csv_button, self.xlsx_button = QPushButton("Export CSV…"), QPushButton("Export XLSX…")
        self.rejected_button = QPushButton("Export rejected rows…")
        self.rejected_button.setToolTip(
            "The rows that could not be read: line, reason and raw text, as a CSV"
        )
        self.sample_button = QPushButton("Draw audit sample…")
        self.sample_button.setToolTip(
            "A stratified sample of this batch to review by hand (SAMPLE.csv and its provenance)"
        )
        self.review_button = QPushButton("Open in Review")
        self.review_button.setToolTip("Review the audit sample just drawn in the Review panel")
        self.review_button.setVisible(False)  # offered once a sample is drawn
        self.shown_only = QCheckBox("Only rows shown by the filters")
        self.send_button = QPushButton("Send to Threshold panel")
        self.send_button.setToolTip("Scores and the file's labels, to choose a threshold from data")
        self.status = QLabel("")
        self.status.setWordWrap(True)
        results = QWidget()
        box = QVBoxLayout(results)
        box.setContentsMargins(0, 0, 0, 0)
        box.addLayout(hbox((self.notice, 1), self.relabel_button))
        box.addWidget(self.results, 1)
        box.addLayout(
            hbox(
                self.csv_button,
                self.xlsx_button,
                self.shown_only,
                None,
                self.send_button,
            )
        )
        box.addWidget(self.status)
        vertical, horizontal = Qt.Orientation.Vertical, Qt.Orientation.Horizontal
        preview = group("Preview and columns", self.preview)
        left = split(vertical, [210, 510], preview, group("Results", results))
        queue = QWidget()
        queue_box = QVBoxLayout(queue)
        queue_box.setContentsMargins(0, 0, 0, 0)
        queue_box.addWidget(self.jobs, 1)
        queue_box.addWidget(self.history)
        ledger = QWidget()  # the rejected rows are exported from beside their count
        ledger_box = QVBoxLayout(ledger)
        ledger_box.setContentsMargins(0, 0, 0, 0)
        ledger_box.addWidget(self.ledger, 1)
        ledger_box.addWidget(self.rejected_button)
        # Per-batch, like the rejected rows: here the results row keeps its width at 1024 px.
        ledger_box.addWidget(self.sample_button)
        ledger_box.addWidget(self.review_button)
        side = split(
            vertical, [220, 500], group("Queue and history", queue), group("Ledger", ledger)
        )
        main = split(horizontal, [940, 320], left, side)
        main.setStretchFactor(0, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(
            hbox(self.open_button, (self.file_label, 1), self.mode_box, self.start_button)
        )
        layout.addLayout(hbox(self.progress, self.cancel_button))
        layout.addWidget(main, 1)
