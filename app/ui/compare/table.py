"""The Compare panel's list of the items the two models decide differently.

Largest score difference first (the core's ``disagreements`` order): those are the items where
the models most disagree about what the text is, the first ones worth reading. The model is
virtual (rows are read from the arrays on demand), so a million disagreements cost nothing
until scrolled to.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtWidgets import QHeaderView, QLabel, QTableView, QVBoxLayout, QWidget

from app.core.analysis.compare import PairedScores, champion_right
from app.core.analysis.evaluation import eval_set_name
from app.ui.common.threshold_widgets import fmt_threshold

COLUMNS = ("item", "champion", "challenger", "difference", "label", "who is right")
# The last column, "who is right", is what ``data`` answers for any other column.
TEXT, CHAMPION, CHALLENGER, DIFFERENCE, LABEL = range(len(COLUMNS) - 1)
TOOLTIP_CHARS = 2_000
_Index = QModelIndex | QPersistentModelIndex


class DisagreementsModel(QAbstractTableModel):
    """Rows are the indices of disagreeing items in a ``PairedScores``, in the given order."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._paired: PairedScores | None = None
        self._rows = np.empty(0, np.int64)
        self._champion_right: np.ndarray | None = None

    def set_rows(self, paired: PairedScores | None, rows: np.ndarray, threshold: float) -> None:
        self.beginResetModel()
        self._paired, self._rows = paired, np.asarray(rows, np.int64)
        self._champion_right = (
            None
            if paired is None or paired.labels is None
            else champion_right(paired, threshold, self._rows)
        )
        self.endResetModel()

    def right_counts(self) -> tuple[int, int] | None:
        """(champion right, challenger right) over the listed items; None without labels."""
        if self._champion_right is None:
            return None
        won = int(np.count_nonzero(self._champion_right))
        return won, len(self._rows) - won

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: N802, B008 (Qt API)
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: N802, B008 (Qt API)
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(  # noqa: N802 (Qt API)
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if role != Qt.ItemDataRole.DisplayRole or orientation != Qt.Orientation.Horizontal:
            return None
        if section == TEXT:
            return "text" if self._paired is not None and self._paired.texts else "item"
        return COLUMNS[section]

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        p = self._paired
        if p is None or not index.isValid():
            return None
        i, col = int(self._rows[index.row()]), index.column()
        if role == Qt.ItemDataRole.TextAlignmentRole and col in (CHAMPION, CHALLENGER, DIFFERENCE):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ToolTipRole and col == TEXT and p.texts is not None:
            return p.texts[i][:TOOLTIP_CHARS]
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        champion, challenger = float(p.champion_scores[i]), float(p.challenger_scores[i])
        if col == TEXT:
            if p.texts is not None:
                return " ".join(p.texts[i].split())
            return f"#{i + 1}" + ("" if p.origins is None else f" · {eval_set_name(p.origins[i])}")
        if col == CHAMPION:
            return f"{champion:.4f}"
        if col == CHALLENGER:
            return f"{challenger:.4f}"
        if col == DIFFERENCE:
            return f"{challenger - champion:+.4f}"
        if p.labels is None or self._champion_right is None:
            return "–"
        if col == LABEL:
            return "abusive" if p.labels[i] == 1 else "benign"
        return "champion" if self._champion_right[index.row()] else "challenger"


class DisagreementsPage(QWidget):
    """A caption saying what is listed and who is right, above the table."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.caption = QLabel()
        self.caption.setWordWrap(True)
        self.model = DisagreementsModel(self)
        self.table = QTableView()
        self.table.setAccessibleName("Items the two models disagree on")
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(22)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(TEXT, QHeaderView.ResizeMode.Stretch)
        for col in range(CHAMPION, len(COLUMNS)):
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.ResizeToContents)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.caption)
        layout.addWidget(self.table, 1)

    def show_rows(self, paired: PairedScores | None, rows: np.ndarray, threshold: float) -> None:
        self.model.set_rows(paired, rows, threshold)
        if paired is None:
            self.caption.clear()
            return
        at = fmt_threshold(threshold)
        if len(rows) == 0:
            self.caption.setText(f"At {at} both models decide every item the same way.")
            return
        text = (
            f"<b>{len(rows):,} items decided differently at {at}</b>, "
            "largest score difference first"
        )
        if (right := self.model.right_counts()) is not None:
            text += f": the champion is right on {right[0]:,}, the challenger on {right[1]:,}"
        if paired.texts is None:
            text += ". The bundled evaluation sets hold no texts: open a labelled CSV to read them"
        self.caption.setText(text + ".")
