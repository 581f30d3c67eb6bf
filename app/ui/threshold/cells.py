"""The Threshold panel's list of the items in one confusion-matrix cell.

A supervisor clicks a cell (say "abusive missed") to read the texts behind the number; the
ones closest to the threshold come first, since the next move of the threshold changes them.
Each item shows its input line when the sample has them (a labelled CSV, a batch sent here);
double-click or Enter on an item opens it in the Score panel (`open_requested`).
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QModelIndex, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.core.analysis.threshold_sources import Dataset, cell_rows_closest_first
from app.core.common.drill import THRESHOLD, RowOrigin, RowSource
from app.core.common.messages import fmt_score
from app.ui.common.threshold_widgets import fmt_threshold

MAX_LISTED = 1_000  # more rows than anyone reads, and filling the table stays quick
CELL_NAMES = (("abusive caught", "abusive missed"), ("false alarms", "benign passed"))
TOOLTIP_CHARS = 2_000


class CellItemsTable(QTableWidget):
    """The items of one matrix cell: line number, score and text (full text in the tooltip)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(0, 3, parent)
        self.setHorizontalHeaderLabels(["line", "score", "text"])
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setWordWrap(False)
        self.setAlternatingRowColors(True)
        self.verticalHeader().setVisible(False)
        header = self.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)

    def show_items(
        self, rows: Sequence[tuple[int | None, float, str]], index: Sequence[int] = ()
    ) -> None:
        """Show (line or None, score, text) rows; ``index``: each one's row in its sample."""
        self.setUpdatesEnabled(False)  # one repaint for up to 1,000 rows, not one per cell
        self.setRowCount(0)
        self.setRowCount(len(rows))
        for r, (line, score, text) in enumerate(rows):
            # fmt_score: never "1.0000" for a score that is not 1 (issue 14's rule for scores)
            cells = ("" if line is None else str(line), fmt_score(score, 4), " ".join(text.split()))
            for c, shown in enumerate(cells):
                item = QTableWidgetItem(shown)
                if c == 0 and index:
                    item.setData(Qt.ItemDataRole.UserRole, int(index[r]))
                if c < 2:
                    item.setTextAlignment(
                        Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
                    )
                else:
                    item.setData(Qt.ItemDataRole.UserRole, text)
                    item.setToolTip(text[:TOOLTIP_CHARS])
                self.setItem(r, c, item)
        self.setUpdatesEnabled(True)

    def sample_row(self, r: int) -> int | None:
        """The listed item's row in its sample (None if the list was shown without them)."""
        item = self.item(r, 0)
        return None if item is None else item.data(Qt.ItemDataRole.UserRole)

    def texts(self) -> list[str]:
        """The listed texts, unaltered (the view collapses whitespace for display only)."""
        return [self.item(r, 2).data(Qt.ItemDataRole.UserRole) for r in range(self.rowCount())]


class CellItemsPage(QWidget):
    """A caption saying what is listed, above the table of items."""

    open_requested = Signal(object)  # RowOrigin of the item double-clicked (or Enter)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.caption = QLabel()
        self.caption.setWordWrap(True)
        self.table = CellItemsTable()
        self.table.setToolTip("Double-click an item (or press Enter) to open it in the Score panel")
        # activated: a double-click, or Enter on the current item
        self.table.activated.connect(self._open)
        self._ds: Dataset | None = None
        layout = QVBoxLayout(self)
        layout.addWidget(self.caption)
        layout.addWidget(self.table, 1)

    def clear(self) -> None:
        """No cell selected: an empty list and a hint."""
        self._ds = None
        self.table.show_items([])
        self.caption.setText("Click a cell of the confusion matrix to list its items.")

    def show_cell(self, ds: Dataset, threshold: float, cell: tuple[int, int]) -> None:
        """List the items of matrix cell (row, col) at ``threshold``, or say why it cannot."""
        name = CELL_NAMES[cell[0]][cell[1]]
        self._ds = ds
        if ds.texts is None:
            self.table.show_items([])
            self.caption.setText(
                f"“{ds.name}” has no texts, so its {name} cannot be listed. Open a labelled CSV "
                "or send a batch from the Batch panel to see the items."
            )
            return
        idx, total = cell_rows_closest_first(ds, threshold, cell, MAX_LISTED)
        texts, lines = ds.texts, ds.lines
        self.table.show_items(
            [
                (None if lines is None else int(lines[i]), float(ds.scores[i]), texts[i])
                for i in idx
            ],
            idx.tolist(),
        )
        shown = (
            f"showing the {MAX_LISTED:,} closest to the threshold"
            if total > MAX_LISTED
            else "closest to the threshold first"
        )
        self.caption.setText(
            f"<b>{name.capitalize()}</b> at {fmt_threshold(threshold)}: {total:,} items, {shown}."
        )

    def origin(self, r: int) -> RowOrigin | None:
        """Where listed item ``r`` came from, to open it in the Score panel."""
        ds, i = self._ds, self.table.sample_row(r)
        if ds is None or ds.texts is None or i is None:
            return None
        source = ds.source or RowSource(ds.name, "")  # unknown model: no claim about it
        line = None if ds.lines is None else int(ds.lines[i])
        return RowOrigin(THRESHOLD, source, i, line, ds.texts[i], float(ds.scores[i]))

    def select(self, origin: RowOrigin) -> bool:
        """Select and show the listed item ``origin`` names, if it is still listed."""
        if self._ds is None or self._ds.source is not origin.source:
            return False
        for r in range(self.table.rowCount()):
            if self.table.sample_row(r) == origin.row:
                self.table.selectRow(r)
                self.table.scrollToItem(self.table.item(r, 0))
                self.table.setFocus()
                return True
        return False

    def _open(self, index: QModelIndex) -> None:
        if (origin := self.origin(index.row())) is not None:
            self.open_requested.emit(origin)
