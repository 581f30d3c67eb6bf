"""Building blocks the Batch panel and its parts are laid out with.

Kept in one Qt-only module without panel logic so the widgets, the results view and the panel
can all share them without importing one another.
"""

from __future__ import annotations

from PySide6.QtCore import QAbstractItemModel, Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)


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


def group(title: str, widget: QWidget) -> QGroupBox:
    """`widget` in a titled frame."""
    box = QGroupBox(title)
    QVBoxLayout(box).addWidget(widget)
    return box


def split(orientation: Qt.Orientation, sizes: list[int], *widgets: QWidget) -> QSplitter:
    """`widgets` side by side (or stacked), resizable by the user, starting at `sizes`."""
    splitter = QSplitter(orientation)
    for widget in widgets:
        splitter.addWidget(widget)
    splitter.setSizes(sizes)
    return splitter


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
