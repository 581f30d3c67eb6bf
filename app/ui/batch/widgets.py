"""The Batch panel's file preview (with its format and column choices), ledger and progress bar.

They only display what `app.core` read or reported; reading, scoring and counting live there.
"""

from __future__ import annotations

import html
from typing import Any

from PySide6.QtCore import QSignalBlocker, Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QGridLayout,
    QHeaderView,
    QLabel,
    QProgressBar,
    QVBoxLayout,
    QWidget,
)

from app.core.batch.options import BatchProgress, BatchReport, line_span
from app.core.batch.words import DEFINITIONS, counted, renamed_line
from app.core.common.messages import fmt_threshold
from app.core.context.batch_queue import BatchJob
from app.core.csvio.csv_input import SniffResult
from app.core.csvio.csv_sniff import DELIMITERS, encoding_label
from app.ui.batch.layout import hbox, table_view
from app.ui.batch.results_model import RowsModel
from app.ui.common.flow_layout import FlowLayout

ENCODINGS = ("utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-16-be", "cp1252")
DELIMITER_NAMES = {",": "comma  ,", ";": "semicolon  ;", "\t": "tab", "|": "pipe  |"}


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
        self.setAccessibleName("File preview")
        self.encoding, self.delimiter = QComboBox(), QComboBox()
        _fill(self.encoding, [(encoding_label(e), e) for e in ENCODINGS], None)
        _fill(self.delimiter, [(DELIMITER_NAMES[d], d) for d in DELIMITERS], None)
        self.text_column, self.label_column = QComboBox(), QComboBox()
        for combo in (self.text_column, self.label_column):
            combo.setMinimumContentsLength(14)
        self.model = RowsModel(self)
        self.table = table_view(self.model)
        self.table.setAccessibleName("Preview of the first rows")
        choices = FlowLayout(spacing=14)  # wraps to two rows on a narrow (1024 px) window
        for text, combo in (
            ("&Encoding", self.encoding),
            ("&Delimiter", self.delimiter),
            ("Te&xt column", self.text_column),
            ("&Label column", self.label_column),
        ):
            label = QLabel(text)
            label.setBuddy(combo)
            pair = QWidget()
            pair.setLayout(hbox(label, combo))
            pair.layout().setContentsMargins(0, 0, 0, 0)
            choices.addWidget(pair)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(choices)
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
        self.setAccessibleName("Rejected and blank rows (ledger)")
        grid = QGridLayout()
        self.values: dict[str, QLabel] = {}
        for i, key in enumerate(self.FIELDS):
            value = self.values[key] = QLabel("–")
            value.setAlignment(Qt.AlignmentFlag.AlignRight)
            value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            name = QLabel(key.removeprefix("rows_").capitalize())
            name.setToolTip(DEFINITIONS[key])  # the words the CLI and the provenance use
            value.setToolTip(DEFINITIONS[key])
            grid.addWidget(name, i, 0)
            grid.addWidget(value, i, 1)
        # Only for a job with a challenger: scored rows the two models label differently.
        self.disagreeing, self.disagreeing_name = QLabel("–"), QLabel("Disagreeing")
        self.disagreeing.setAlignment(Qt.AlignmentFlag.AlignRight)
        grid.addWidget(self.disagreeing_name, len(self.FIELDS), 0)
        grid.addWidget(self.disagreeing, len(self.FIELDS), 1)
        self.note = QLabel("")
        self.note.setWordWrap(True)
        self.rejected = RowsModel(self)
        self.table = table_view(self.rejected)
        self.table.setAccessibleName("Rejected rows")
        self.table.horizontalHeader().setStretchLastSection(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(grid)
        for widget in (self.note, QLabel("Rejected rows"), self.table):
            layout.addWidget(widget)

    def show_report(
        self, report: BatchReport | None, labels_at: tuple[float, int] | None = None
    ) -> None:
        """``labels_at``: (threshold, flagged count) of the labels shown, when re-labelled."""
        for key, label in self.values.items():
            label.setText("–" if report is None else f"{getattr(report, key):,}")
        self.rejected.set_rows(["Line", "Reason"], [])
        self.note.setText("")
        shadow = report is not None and bool(report.challenger_version)
        self.disagreeing_name.setVisible(shadow)
        self.disagreeing.setVisible(shadow)
        if report is None:
            return
        if shadow:
            self.disagreeing.setText(
                f"{report.rows_disagreeing:,} at {fmt_threshold(report.threshold)}"
            )
            self.disagreeing.setToolTip(
                f"Scored rows that {report.challenger_version} (challenger) labels differently"
                f" from {report.model_version}"
            )
        flagged = f"{report.rows_flagged:,} at {fmt_threshold(report.threshold)}"
        if labels_at is not None and labels_at[0] != report.threshold:  # the labels shown
            flagged = f"{labels_at[1]:,} at {fmt_threshold(labels_at[0])} (scored: {flagged})"
        self.values["rows_flagged"].setText(flagged)
        self.note.setText(
            f"{encoding_label(report.encoding)}, {DELIMITER_NAMES[report.delimiter].split()[0]}"
            f" delimiter, text column {report.text_column!r}, {report.seconds:.1f} s"
            + (f"; {report.disagreement()}" if shadow else "")
            + (f"; {renamed_line(report.columns_renamed)}" if report.columns_renamed else "")
        )
        rows = [[line_span(r), r["reason"]] for r in report.rejected]
        # Explicit, escaped rich text: a raw excerpt that looks like HTML must show as text.
        tips = [
            f"<p>{html.escape(r['reason'])}</p><pre>{html.escape(r['excerpt'])}</pre>"
            for r in report.rejected
        ]
        self.rejected.set_rows(["Line", "Reason"], rows, tips)
        self.table.resizeColumnToContents(0)  # a span ("12–24") shows whole, not in a tooltip
        self.table.setColumnWidth(0, max(56, self.table.columnWidth(0)))


class JobProgressBar(QProgressBar):
    """The running job's rows, speed and time left; then how it ended."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("Job progress")
        self.setRange(0, 1000)
        self.setValue(0)  # a reset bar (-1) hides its text
        self.setFormat("Idle")

    def show_progress(self, name: str, p: BatchProgress) -> None:
        left = "" if p.seconds_left is None else f" · {p.seconds_left:,.0f} s left"
        self.setValue(int(p.fraction * 1000))
        self.setFormat(f"{name}: {counted(p.rows_read)} · {p.rows_per_second:,.0f} rows/s{left}")

    def show_finished(self, job: BatchJob) -> None:
        name = job.path.name
        if job.result is not None:
            report = job.result.report
            self.setValue(1000)
            text = f"{name}: {counted(report.rows_read)} in {report.seconds:.1f} s"
            if report.challenger_version:
                text += f" · challenger disagrees on {report.rows_disagreeing:,}"
            if report.rescored_by:
                text += f" · {counted(report.rows_rescored)} re-scored"
            if report.bands:
                text += " · " + " / ".join(f"{n:,} {b}" for b, n in report.band_counts().items())
            self.setFormat(text)
        else:
            self.setValue(0)
            self.setFormat(f"{name}: {job.status}, nothing kept")
