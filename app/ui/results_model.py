"""Qt models and the table view over numpy-backed batch results, fast at a million rows.

`ResultsModel` shows a `ResultsTable` in file order; `ResultsProxy` is a `QAbstractProxyModel`
whose row mapping is the index array `app.core.results.compute_view` returns. Why not
`QSortFilterProxyModel`: it calls `filterAcceptsRow`/`lessThan` per row, which in Python takes
tens of seconds at 1M rows; one vectorised numpy pass takes a fraction of a second. Only the rows
on screen ever reach Python through `data`, and `table_view` fixes the row height so the view
never measures rows. `ResultsView` puts the filters (flagged only, score range, search) on top.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import numpy as np
from PySide6.QtCore import (
    QAbstractItemModel,
    QAbstractProxyModel,
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    QTimer,
)
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QDoubleSpinBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from app.core.results import ResultsTable, ViewSpec, compute_view
from app.core.scoring import label_for

Index = QModelIndex | QPersistentModelIndex
_DISPLAY, _TIP, _ALIGN = (
    Qt.ItemDataRole.DisplayRole,
    Qt.ItemDataRole.ToolTipRole,
    Qt.ItemDataRole.TextAlignmentRole,
)
_RIGHT = int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
_ABUSIVE = QBrush(QColor("#b3261e"))
SORT_ROLE = Qt.ItemDataRole.UserRole  # the raw value: int line, float score, str text
_SHOWN_CHARS = 400  # a one-line cell shows the start of a long text; the tooltip shows more
_TIP_CHARS = 2_000
SEARCH_DELAY_MS = 250  # typing a word refilters once, not once per key


def hbox(*items: QWidget | tuple[QWidget, int] | int | None) -> QHBoxLayout:
    """A row of widgets; (widget, n) gives it stretch n, an int adds spacing, None a stretch."""
    row = QHBoxLayout()
    for item in items:
        if item is None:
            row.addStretch(1)
        elif isinstance(item, int):
            row.addSpacing(item)
        elif isinstance(item, tuple):
            row.addWidget(*item)
        else:
            row.addWidget(item)
    return row


def table_view(model: QAbstractItemModel) -> QTableView:
    """A read-only table with fixed-height rows: the fast path that scrolls 1M rows smoothly."""
    view = QTableView()
    view.setModel(model)
    view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    view.setWordWrap(False)
    view.setAlternatingRowColors(True)
    view.setHorizontalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
    rows = view.verticalHeader()
    rows.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
    rows.setDefaultSectionSize(view.fontMetrics().height() + 8)
    rows.hide()
    view.horizontalHeader().setHighlightSections(False)
    return view


def _one_line(text: str, limit: int) -> str:
    short = text[:limit].replace("\r\n", " ↵ ").replace("\n", " ↵ ").replace("\r", " ↵ ")
    return short + ("…" if len(text) > limit else "")


class RowsModel(QAbstractTableModel):
    """A small read-only table of strings (the file preview, the rejected rows)."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._header: list[str] = []
        self._rows: list[list[str]] = []
        self._tips: Sequence[str] | None = None

    def set_rows(
        self, header: Sequence[str], rows: Sequence[Sequence[object]], tips: Sequence[str] = ()
    ) -> None:
        """`tips`: one tooltip per row (e.g. a rejected row's excerpt); default: the cell."""
        self.beginResetModel()
        self._header = [str(h) for h in header]
        self._rows = [[str(v) for v in row] for row in rows]
        self._tips = tips or None
        self.endResetModel()

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 (Qt's signature)
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._header)

    def data(self, index: Index, role: int = _DISPLAY) -> Any:
        if not index.isValid() or role not in (_DISPLAY, _TIP):
            return None
        row = self._rows[index.row()]
        value = row[index.column()] if index.column() < len(row) else ""
        if role == _TIP and self._tips is not None:
            return self._tips[index.row()]
        return _one_line(value, _SHOWN_CHARS if role == _DISPLAY else _TIP_CHARS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = _DISPLAY) -> Any:
        if role != _DISPLAY or orientation != Qt.Orientation.Horizontal:
            return None
        return self._header[section] if 0 <= section < len(self._header) else None


class ResultsModel(QAbstractTableModel):
    """Columns line, score, label (at `threshold`), text and, if chosen, the file's label column.

    Labels are derived from scores on the fly, so `set_threshold` relabels in O(visible rows).
    """

    KEYS = ("line", "score", "label", "text", "gold")

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.table = ResultsTable.from_arrays([], [], [])
        self.threshold = 0.5

    def set_table(self, table: ResultsTable, threshold: float) -> None:
        self.beginResetModel()
        self.table, self.threshold = table, threshold
        self.endResetModel()

    def set_threshold(self, threshold: float) -> None:
        self.threshold = threshold
        if len(self.table):
            col = self.KEYS.index("label")
            self.dataChanged.emit(self.index(0, col), self.index(len(self.table) - 1, col))

    def key(self, column: int) -> str:
        return self.KEYS[column]

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.table)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else 4 + (self.table.gold is not None)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = _DISPLAY) -> Any:
        if role != _DISPLAY or orientation != Qt.Orientation.Horizontal:
            return None
        if not 0 <= section < self.columnCount():
            return None
        if self.KEYS[section] == "gold":
            return f"File: {self.table.gold_column}"
        label = f"Label @ {self.threshold:.2f}" if len(self.table) else "Label"
        return ("Line", "Score", label, "Text")[section]

    def data(self, index: Index, role: int = _DISPLAY) -> Any:
        if not index.isValid():
            return None
        return self.value(index.row(), index.column(), role)

    def value(self, row: int, column: int, role: int = _DISPLAY) -> Any:
        """`data` without building an index; the proxy calls it directly."""
        key, table = self.KEYS[column], self.table
        if role == _ALIGN:
            return _RIGHT if key in ("line", "score") else None
        if key == "line":
            line = int(table.lines[row])
            return line if role in (_DISPLAY, SORT_ROLE) else None
        score = float(table.scores[row])
        if key == "score":
            if role == SORT_ROLE:
                return score
            return None if role != _DISPLAY else "" if math.isnan(score) else f"{score:.4f}"
        if key == "label":
            label = "blank text" if math.isnan(score) else label_for(score, self.threshold)
            if role == Qt.ItemDataRole.ForegroundRole:
                return _ABUSIVE if label == "abusive" else None
            return label if role in (_DISPLAY, SORT_ROLE) else None
        values = table.texts if key == "text" else table.gold
        if role not in (_DISPLAY, _TIP, SORT_ROLE) or values is None:
            return None
        text = str(values[row])
        if role == SORT_ROLE:
            return text
        return _one_line(text, _SHOWN_CHARS if role == _DISPLAY else _TIP_CHARS)


class ResultsProxy(QAbstractProxyModel):
    """Filtered, sorted rows of a `ResultsModel`; the mapping is a numpy index array."""

    def __init__(self, source: ResultsModel, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.spec = ViewSpec()
        self.rows = np.empty(0, dtype=np.intp)  # view row -> source row
        self._inverse: np.ndarray | None = None  # source row -> view row (-1: hidden), lazily
        self.setSourceModel(source)
        # A source reset swaps the arrays: reset with it, so no view reads old rows in between.
        source.modelAboutToBeReset.connect(self.beginResetModel)
        source.modelReset.connect(self._source_reset)
        source.dataChanged.connect(self._source_data_changed)
        source.headerDataChanged.connect(self.headerDataChanged)
        self.refresh()

    def results(self) -> ResultsModel:
        source = self.sourceModel()
        assert isinstance(source, ResultsModel)
        return source

    def set_spec(self, spec: ViewSpec) -> None:
        self.spec = spec
        self.refresh()

    def refresh(self) -> None:
        """Recompute the mapping. A reset (not layoutChanged): nothing to remap at 1M rows."""
        self.beginResetModel()
        self._source_reset()

    def _source_reset(self) -> None:
        """Compute the mapping and end the reset that `refresh` or the source began."""
        source = self.results()
        self.rows = compute_view(source.table, self.spec, source.threshold)
        self._inverse = None
        self.endResetModel()

    def _source_data_changed(self, *_: object) -> None:
        # Only relabelling changes source data; it moves rows in and out of "flagged only".
        if self.spec.flagged_only:
            self.refresh()
        elif len(self.rows):
            last = self.columnCount() - 1
            self.dataChanged.emit(self.index(0, 0), self.index(len(self.rows) - 1, last))
        self.headerDataChanged.emit(Qt.Orientation.Horizontal, 0, self.columnCount() - 1)

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        key = self.results().key(column) if 0 <= column < self.columnCount() else "line"
        key = "score" if key == "label" else key  # labels are a function of the score
        descending = order == Qt.SortOrder.DescendingOrder
        self.set_spec(replace(self.spec, sort_key=key, descending=descending))

    # --- QAbstractProxyModel plumbing ---------------------------------------------------------

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else self.results().columnCount()

    def index(self, row: int, column: int, parent: Index = QModelIndex()) -> QModelIndex:  # noqa: B008
        if parent.isValid() or not (0 <= row < len(self.rows) and 0 <= column < self.columnCount()):
            return QModelIndex()
        return self.createIndex(row, column)

    def parent(self, child: Index | None = None) -> Any:  # type: ignore[override]
        if child is None:  # QObject.parent(), which this name shadows
            return QObject.parent(self)
        return QModelIndex()

    def hasChildren(self, parent: Index = QModelIndex()) -> bool:  # noqa: B008
        return not parent.isValid() and len(self.rows) > 0 and self.columnCount() > 0

    def sibling(self, row: int, column: int, idx: Index) -> QModelIndex:
        return self.index(row, column)

    def mapToSource(self, proxy: Index) -> QModelIndex:
        if not proxy.isValid() or not 0 <= proxy.row() < len(self.rows):
            return QModelIndex()
        return self.results().index(int(self.rows[proxy.row()]), proxy.column())

    def mapFromSource(self, source: Index) -> QModelIndex:
        if not source.isValid():
            return QModelIndex()
        if self._inverse is None:
            self._inverse = np.full(self.results().rowCount(), -1, dtype=np.intp)
            self._inverse[self.rows] = np.arange(len(self.rows))
        row = int(self._inverse[source.row()]) if source.row() < len(self._inverse) else -1
        return self.index(row, source.column()) if row >= 0 else QModelIndex()

    def data(self, index: Index, role: int = _DISPLAY) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self.rows):
            return None
        return self.results().value(int(self.rows[index.row()]), index.column(), role)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = _DISPLAY) -> Any:
        if orientation == Qt.Orientation.Horizontal:
            return self.results().headerData(section, orientation, role)
        return section + 1 if role == _DISPLAY and 0 <= section < len(self.rows) else None

    def source_rows(self) -> np.ndarray:
        return self.rows


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
        for col, width in enumerate((70, 80, 120)):
            self.view.setColumnWidth(col, width)
        header.setStretchLastSection(False)
        header.setSectionResizeMode(ResultsModel.KEYS.index("text"), QHeaderView.ResizeMode.Stretch)
        if table.gold is not None:
            self.view.setColumnWidth(ResultsModel.KEYS.index("gold"), 150)

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
