"""`ResultsView`: the batch results table behind its filters (flagged only, score range, search).

The table is `batch_layout.table_view`, whose fixed row height means the view never measures
rows, over a `ResultsProxy` over a `ResultsModel`; the filters only ever build a `ViewSpec`.
Active filters are shown beside the row count with a one-click "Clear filters". Ctrl+C and the
context menu copy the selected rows as TSV (`app.core.results.tsv`), their texts or their scores.
Double-click, Enter or the menu's "Open in Score" ask to open the current row in the Score panel
(`open_requested`); `select_row` shows it again on the way back.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
from PySide6.QtCore import QEvent, QObject, QPoint, Qt, QTimer, Signal
from PySide6.QtGui import QKeyEvent, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMenu,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.core.analysis.bands import BANDS
from app.core.batch.words import counted
from app.core.results.table import ResultsTable, ViewSpec
from app.core.results.tsv import rows_tsv
from app.ui.batch.layout import hbox, table_view
from app.ui.batch.results_model import COPY_ROLE, SORT_ROLE, ResultsModel
from app.ui.batch.results_proxy import ResultsProxy

SEARCH_DELAY_MS = 250  # typing a word refilters once, not once per key
COPY_LIMIT = 100_000  # rows; more is an export's job, not the clipboard's
_ACTIVE_STYLE = "color:#4d3800; background:#fff4ce; padding:0 4px; font-weight:bold;"
_RAW = ("line", "text", "gold")  # copied whole (the cell shows the start of a long text)
_WIDTHS = {
    "line": 70,
    "score": 80,
    "label": 120,
    "band": 90,
    "challenger_score": 120,
    "challenger_label": 160,
    "gold": 150,
}


class ResultsView(QWidget):
    """The results table behind its filters: flagged only, score range, text search."""

    message = Signal(str)  # what a copy did, for the panel's status line
    open_requested = Signal(int)  # a source row (index into the table) to open in Score

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
        self.low.setAccessibleName("Lowest score shown")
        self.high.setAccessibleName("Highest score shown")
        self.view.setAccessibleName("Scored rows")
        self.search = QLineEdit()
        self.search.setAccessibleName("Search text")
        self.search.setPlaceholderText("Search text (case-insensitive)…")
        self.search.setClearButtonEnabled(True)
        self.search.setAcceptDrops(False)  # a dropped file is for the panel, not a search
        self.count = QLabel("")
        self.clear_button = QPushButton("Clear filters")
        self.clear_button.setToolTip(
            "Show every row: flagged only off, any band, any score, no search"
        )
        self.clear_button.clicked.connect(self.clear_filters)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(SEARCH_DELAY_MS)
        self._timer.timeout.connect(self.apply)
        self.search.textChanged.connect(self._timer.start)
        self.flagged.toggled.connect(self.apply)
        # Only for a job with a band policy (hidden otherwise): one band's rows.
        self.band = QComboBox()
        self.band.setAccessibleName("Band shown")
        self.band.addItem("Any band", "")
        for name in BANDS:
            self.band.addItem(name.capitalize(), name)
        self.band.setVisible(False)
        self.band.currentIndexChanged.connect(self.apply)
        self.proxy.modelReset.connect(self._update_count)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(
            hbox(self.flagged, self.band, 12, QLabel("Score from"), self.low, QLabel("to"), self.high, 12,
                 (self.search, 1), self.count, self.clear_button)
        )  # fmt: skip
        layout.addWidget(self.view, 1)
        self.view.installEventFilter(self)
        self.view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.view.customContextMenuRequested.connect(self._show_menu)
        self.view.activated.connect(lambda index: self._open(index.row()))  # double-click/Enter
        self.model.headerDataChanged.connect(self._fit_headers)  # re-labelled: a new title
        self._update_count()

    def set_results(self, table: ResultsTable, threshold: float) -> None:
        if table.bands is None and self.band.currentIndex():  # no band to filter by: any
            self.band.setCurrentIndex(0)
        self.band.setVisible(table.bands is not None)
        self.model.set_table(table, threshold)
        header = self.view.horizontalHeader()
        header.setStretchLastSection(False)
        # Modes belong to positions, not keys: the text column moves with the challenger's.
        modes = QHeaderView.ResizeMode
        for col, key in enumerate(self.model.columns):
            header.setSectionResizeMode(col, modes.Stretch if key == "text" else modes.Interactive)
            if key in _WIDTHS:
                self.view.setColumnWidth(col, _WIDTHS[key])
        self._fit_headers()

    def _fit_headers(self, *_args: object) -> None:
        """A header naming its threshold ("Label @ 0.40705") is never clipped: its column is
        at least as wide as the title."""
        header = self.view.horizontalHeader()
        metrics = header.fontMetrics()
        for col, key in enumerate(self.model.columns):
            if key in _WIDTHS:
                title = str(self.model.headerData(col, Qt.Orientation.Horizontal) or "")
                needed = metrics.horizontalAdvance(title) + 32  # margins and the sort arrow
                if self.view.columnWidth(col) < needed:
                    self.view.setColumnWidth(col, needed)

    def spec(self) -> ViewSpec:
        """The filters as the core's ViewSpec (a bound at 0 or 1 excludes nothing)."""
        low, high = self.low.value(), self.high.value()
        return replace(
            self.proxy.spec,
            flagged_only=self.flagged.isChecked(),
            min_score=low if low > 0.0 else None,
            max_score=high if high < 1.0 else None,
            search=self.search.text().strip(),
            band=str(self.band.currentData() or ""),
        )

    def apply(self) -> None:
        self._timer.stop()
        self.proxy.set_spec(self.spec())

    def stop(self) -> None:
        """Apply a pending search now: no timer may outlive the panel or run while hidden."""
        if self._timer.isActive():
            self.apply()

    def filters_active(self) -> bool:
        """True if a filter hides rows or is about to (a search still being typed)."""
        spec = self.proxy.spec
        return bool(spec.flagged_only or spec.min_score is not None or spec.max_score is not None
                    or spec.search or spec.band or self.spec().search
                    or self._timer.isActive())  # fmt: skip

    def clear_filters(self) -> None:
        """Every row again: one refilter, not one per widget."""
        widgets = (self.flagged, self.low, self.high, self.search, self.band)
        for widget in widgets:
            widget.blockSignals(True)
        self.flagged.setChecked(False)
        self.band.setCurrentIndex(0)
        self.low.setValue(0.0)
        self.high.setValue(1.0)
        self.search.clear()
        for widget in widgets:
            widget.blockSignals(False)
        self.apply()

    def _update_count(self) -> None:
        text = f"{self.proxy.rowCount():,} of {counted(self.model.rowCount())}"
        active = self.filters_active()
        # Filters that hide rows must not be missed: a highlighted count naming them, and the
        # way out beside it.
        self.count.setText(text)
        self.count.setStyleSheet(_ACTIVE_STYLE if active else "")
        self.count.setToolTip(f"Filters: {self.proxy.spec.describe()}" if active else "")
        self.clear_button.setEnabled(active)

    # --- copying ------------------------------------------------------------------------------

    def selected_rows(self) -> np.ndarray:
        """The selected view rows, in display order."""
        spans = [np.arange(r.top(), r.bottom() + 1) for r in self.view.selectionModel().selection()]
        return np.unique(np.concatenate(spans)) if spans else np.empty(0, dtype=np.intp)

    def copy_rows(self) -> None:
        """The selected rows as TSV with a header, columns as shown, texts whole."""
        rows = self._selection_or_say_why()
        if rows is None:
            return
        header = self.view.horizontalHeader()
        columns = [header.logicalIndex(v) for v in range(header.count())]
        columns = [c for c in columns if not header.isSectionHidden(c)]
        titles = [self.model.headerData(c, Qt.Orientation.Horizontal) for c in columns]
        roles = [SORT_ROLE if self.model.key(c) in _RAW else COPY_ROLE if "score" in self.model.key(c)
                 else Qt.ItemDataRole.DisplayRole for c in columns]  # fmt: skip
        values = [[self.model.value(r, c, role) for c, role in zip(columns, roles, strict=True)]
                  for r in rows]  # fmt: skip
        self._copy(rows_tsv(titles, ([("" if v is None else v) for v in row] for row in values)),
                   f"{len(rows):,} row{'s' if len(rows) != 1 else ''} with a header")  # fmt: skip

    def copy_texts(self) -> None:
        """The selected rows' texts exactly as in the file, one per line."""
        rows = self._selection_or_say_why()
        if rows is not None:
            texts = self.model.table.texts[rows].tolist()
            self._copy("\n".join(texts), f"{len(rows):,} text{'s' if len(rows) != 1 else ''}")

    def copy_scores(self) -> None:
        """The selected rows' scores as numbers (blank for a blank text), one per line."""
        rows = self._selection_or_say_why()
        if rows is not None:
            col = self.model.columns.index("score")
            scores = [self.model.value(r, col, COPY_ROLE) for r in rows]
            self._copy("\n".join(scores), f"{len(rows):,} score{'s' if len(rows) != 1 else ''}")

    def _selection_or_say_why(self) -> np.ndarray | None:
        """Source rows of the selection in display order, or None (and a message) if none."""
        rows = self.selected_rows()
        if not len(rows):
            self.message.emit("Select rows to copy first.")
            return None
        if len(rows) > COPY_LIMIT:
            self.message.emit(f"{len(rows):,} rows are too many to copy (at most "
                              f"{COPY_LIMIT:,}); export them instead.")  # fmt: skip
            return None
        return self.proxy.rows[rows]

    def _copy(self, text: str, what: str) -> None:
        QApplication.clipboard().setText(text)
        self.message.emit(f"Copied {what}.")

    # --- drill-down --------------------------------------------------------------------------

    def open_current(self) -> None:
        """Ask to open the current row in the Score panel (else the first selected one)."""
        current, rows = self.view.currentIndex(), self.selected_rows()
        if current.isValid() and current.row() in rows:
            self._open(current.row())
        elif len(rows):
            self._open(int(rows[0]))
        else:
            self.message.emit("Select a row to open first.")

    def _open(self, view_row: int) -> None:
        if 0 <= view_row < len(self.proxy.rows):
            self.open_requested.emit(int(self.proxy.rows[view_row]))

    def select_row(self, row: int) -> bool:
        """Select source row ``row``, scrolled into view; False if the filters hide it."""
        hits = np.flatnonzero(self.proxy.rows == row)
        if not len(hits):
            return False
        index = self.proxy.index(int(hits[0]), 0)
        self.view.setCurrentIndex(index)  # selects the whole row (SelectRows)
        self.view.scrollTo(index, self.view.ScrollHint.PositionAtCenter)
        self.view.setFocus()
        return True

    def context_menu(self) -> QMenu:
        menu = QMenu(self.view)
        open_action = menu.addAction("Open in Score")
        open_action.setToolTip("Show the row's text scored and explained in the Score panel")
        open_action.triggered.connect(self.open_current)
        open_action.setEnabled(self.view.selectionModel().hasSelection())
        for title, slot in (("Copy rows", self.copy_rows), ("Copy text", self.copy_texts),
                            ("Copy score", self.copy_scores)):  # fmt: skip
            action = menu.addAction(title)
            action.triggered.connect(slot)
            action.setEnabled(self.view.selectionModel().hasSelection())
        copy_rows = next(a for a in menu.actions() if a.text() == "Copy rows")
        copy_rows.setShortcut(QKeySequence(QKeySequence.StandardKey.Copy))
        return menu

    def _show_menu(self, pos: QPoint) -> None:
        menu = self.context_menu()
        menu.exec(self.view.viewport().mapToGlobal(pos))
        menu.deleteLater()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Ctrl+C on the table copies rows, not the one cell QTableView would copy."""
        if watched is self.view and event.type() in (QEvent.Type.KeyPress,
                                                     QEvent.Type.ShortcutOverride):  # fmt: skip
            assert isinstance(event, QKeyEvent)
            if event.matches(QKeySequence.StandardKey.Copy):
                event.accept()  # ShortcutOverride: the table handles it, not a window shortcut
                if event.type() == QEvent.Type.KeyPress:
                    self.copy_rows()
                return True
        return super().eventFilter(watched, event)

    def hideEvent(self, event: Any) -> None:
        self.stop()
        super().hideEvent(event)
