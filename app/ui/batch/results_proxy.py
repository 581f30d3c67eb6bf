"""`ResultsProxy`: the filtered, sorted rows of a `ResultsModel`, fast at a million rows.

Its row mapping is the index array `app.core.results.table.compute_view` returns. Why not
`QSortFilterProxyModel`: it calls `filterAcceptsRow`/`lessThan` per row, which in Python takes
tens of seconds at 1M rows; one vectorised numpy pass takes a fraction of a second. Only the rows
on screen ever reach Python through `data`.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
from PySide6.QtCore import QAbstractProxyModel, QModelIndex, QObject, Qt

from app.core.results.table import ViewSpec, compute_view
from app.ui.batch.results_model import Index, ResultsModel

_DISPLAY = Qt.ItemDataRole.DisplayRole


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
        # Labels are a function of the score (the challenger's of its own score).
        key = {"label": "score", "challenger_label": "challenger_score"}.get(key, key)
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
