"""`ResultsView`: the batch results table behind its filters (flagged only, score range, search).

The table is `batch_layout.table_view`, whose fixed row height means the view never measures
rows, over a `ResultsProxy` over a `ResultsModel`; the filters only ever build a `ViewSpec`.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QCheckBox,
    QDoubleSpinBox,
    QHeaderView,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from app.core.results.table import ResultsTable, ViewSpec
from app.ui.batch.layout import hbox, table_view
from app.ui.batch.results_model import ResultsModel
from app.ui.batch.results_proxy import ResultsProxy

SEARCH_DELAY_MS = 250  # typing a word refilters once, not once per key
_WIDTHS = {
    "line": 70,
    "score": 80,
    "label": 120,
    "challenger_score": 120,
    "challenger_label": 160,
    "gold": 150,
}


class ResultsView(QWidget):
    """The results table behind its filters: flagged only, score range, text search."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = ResultsModel(self)
        self.proxy = ResultsProxy(self.model, self)
        self.view = table_view(self.proxy)
        self.view.setSortingEnabled(True)
        self.view.sortByColumn(0, Qt.SortOrder.AscendingOrder)
        self.flagged = QCheckBox("Flagged only")
        self.low, self.high = QDoubleSpinBox(), QDoubleSpinBox()
        for spin, value in ((self.low, 0.0), (self.high, 1.0)):
            spin.setRange(0.0, 1.0)
            spin.setDecimals(3)
            spin.setSingleStep(0.05)
            spin.setValue(value)
            spin.setKeyboardTracking(False)  # filter on Enter or arrows, not on each digit
            spin.valueChanged.connect(self.apply)
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search text (case-insensitive)…")
        self.search.setClearButtonEnabled(True)
        self.search.setAcceptDrops(False)  # a dropped file is for the panel, not a search
        self.count = QLabel("")
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(SEARCH_DELAY_MS)
        self._timer.timeout.connect(self.apply)
        self.search.textChanged.connect(self._timer.start)
        self.flagged.toggled.connect(self.apply)
        self.proxy.modelReset.connect(self._update_count)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(
            hbox(self.flagged, 12, QLabel("Score from"), self.low, QLabel("to"), self.high, 12,
                 (self.search, 1), self.count)
        )  # fmt: skip
        layout.addWidget(self.view, 1)

    def set_results(self, table: ResultsTable, threshold: float) -> None:
        self.model.set_table(table, threshold)
        header = self.view.horizontalHeader()
        header.setStretchLastSection(False)
        # Modes belong to positions, not keys: the text column moves with the challenger's.
        modes = QHeaderView.ResizeMode
        for col, key in enumerate(self.model.columns):
            header.setSectionResizeMode(col, modes.Stretch if key == "text" else modes.Interactive)
            if key in _WIDTHS:
                self.view.setColumnWidth(col, _WIDTHS[key])

    def spec(self) -> ViewSpec:
        """The filters as the core's ViewSpec (a bound at 0 or 1 excludes nothing)."""
        low, high = self.low.value(), self.high.value()
        return replace(
            self.proxy.spec,
            flagged_only=self.flagged.isChecked(),
            min_score=low if low > 0.0 else None,
            max_score=high if high < 1.0 else None,
            search=self.search.text().strip(),
        )

    def apply(self) -> None:
        self._timer.stop()
        self.proxy.set_spec(self.spec())

    def stop(self) -> None:
        """Apply a pending search now: no timer may outlive the panel or run while hidden."""
        if self._timer.isActive():
            self.apply()

    def _update_count(self) -> None:
        self.count.setText(f"{self.proxy.rowCount():,} of {self.model.rowCount():,} rows")

    def hideEvent(self, event: Any) -> None:
        self.stop()
        super().hideEvent(event)
