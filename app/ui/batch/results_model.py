"""Qt table models over batch data: `ResultsModel` for scored results, `RowsModel` for small tables.

`ResultsModel` shows a `ResultsTable` in file order and computes each cell only when a view asks,
so a million rows cost nothing until they scroll into sight; filtering and sorting are the
`results_proxy.ResultsProxy` on top of it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QPersistentModelIndex, Qt
from PySide6.QtGui import QBrush, QColor

from app.core.analysis.bands import BANDS
from app.core.common.messages import fmt_score, fmt_threshold
from app.core.engine.scoring import label_for
from app.core.results.table import ResultsTable
from app.ui.common.colours import fail_colour, muted_colour, warn_colour

Index = QModelIndex | QPersistentModelIndex
_DISPLAY, _TIP, _ALIGN = (
    Qt.ItemDataRole.DisplayRole,
    Qt.ItemDataRole.ToolTipRole,
    Qt.ItemDataRole.TextAlignmentRole,
)
_RIGHT = int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
_ABUSIVE = QBrush(QColor("#b3261e"))
_DISAGREES = QBrush(QColor("#fff4ce"))  # the Batch panel's notice colour
# clear, review, escalate: the theme's muted, caution and refusal colours (read per paint, so a
# theme change shows at once).
_BAND_COLOURS = (muted_colour, warn_colour, fail_colour)
SORT_ROLE = Qt.ItemDataRole.UserRole  # the raw value: int line, float score, str text
# A score as copied into a spreadsheet or ticket: a plain number with 4 decimals ("" if blank),
# while the cell shows `fmt_score` ("> 0.999"), which never claims more certainty than it has.
COPY_ROLE = Qt.ItemDataRole.UserRole + 1
_SHOWN_CHARS = 400  # a one-line cell shows the start of a long text; the tooltip shows more
_TIP_CHARS = 2_000


def _one_line(text: str, role: int) -> str:
    """A cell on one line: the start of a long text, more of it in the tooltip."""
    limit = _SHOWN_CHARS if role == _DISPLAY else _TIP_CHARS
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
        return _one_line(value, role)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = _DISPLAY) -> Any:
        if role != _DISPLAY or orientation != Qt.Orientation.Horizontal:
            return None
        return self._header[section] if 0 <= section < len(self._header) else None


class ResultsModel(QAbstractTableModel):
    """Columns line, score, label (at `threshold`), the challenger's score and label if the job
    had one, text and, if chosen, the file's label column.

    Labels are derived from scores on the fly, so `set_threshold` relabels in O(visible rows).
    A challenger's label uses the same threshold; where it differs from the main label the cell
    is tinted, since those rows are what a comparison of models is about.
    """

    KEYS = (
        "line", "score", "label", "band", "challenger_score", "challenger_label", "text", "gold"
    )  # fmt: skip
    _HEADERS = {"line": "Line", "score": "Score", "text": "Text", "band": "Band"}
    _LABELS = ("label", "challenger_label")

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.table = ResultsTable.from_arrays([], [], [])
        self.threshold = 0.5
        self.columns = self._columns(self.table)  # the KEYS this table shows, in order
        self._bands: np.ndarray | None = None  # each row's band code, with a band policy

    @staticmethod
    def _columns(table: ResultsTable) -> tuple[str, ...]:
        return tuple(
            key
            for key in ResultsModel.KEYS
            if not (key.startswith("challenger") and table.challenger_scores is None)
            and not (key == "gold" and table.gold is None)
            and not (key == "band" and table.bands is None)  # a job without a band policy
        )

    def set_table(self, table: ResultsTable, threshold: float) -> None:
        self.beginResetModel()
        self.table, self.threshold = table, threshold
        self.columns = self._columns(table)
        self._bands = table.band_codes()  # computed once per table: O(1) per cell after
        self.endResetModel()

    def set_threshold(self, threshold: float) -> None:
        self.threshold = threshold
        if len(self.table):
            for key in self._LABELS:
                if key in self.columns:
                    col = self.columns.index(key)
                    last = self.index(len(self.table) - 1, col)
                    self.dataChanged.emit(self.index(0, col), last)
                    # The header names the threshold ("Label @ 0.45"): it changes too.
                    self.headerDataChanged.emit(Qt.Orientation.Horizontal, col, col)

    def key(self, column: int) -> str:
        return self.columns[column]

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.table)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.columns)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = _DISPLAY) -> Any:
        if orientation != Qt.Orientation.Horizontal or not 0 <= section < len(self.columns):
            return None
        key = self.columns[section]
        if role == _TIP and key == "band" and self.table.bands is not None:
            review, escalate = (fmt_threshold(cut) for cut in self.table.bands)
            return f"The job's band policy: review from {review}, escalate from {escalate}"
        if role == _TIP and key.startswith("challenger"):
            return f"Challenger {self.table.challenger_version}: shadow scores, never decide"
        if role != _DISPLAY:
            return None
        if key == "gold":
            return f"File: {self.table.gold_column}"
        if key in self._LABELS:
            name = "Label" if key == "label" else "Challenger label"
            return f"{name} @ {fmt_threshold(self.threshold)}" if len(self.table) else name
        return "Challenger score" if key == "challenger_score" else self._HEADERS[key]

    def data(self, index: Index, role: int = _DISPLAY) -> Any:
        if not index.isValid():
            return None
        return self.value(index.row(), index.column(), role)

    def value(self, row: int, column: int, role: int = _DISPLAY) -> Any:
        """`data` without building an index; the proxy calls it directly."""
        key, table = self.columns[column], self.table
        if role == _ALIGN:
            return _RIGHT if key in ("line", "score", "challenger_score") else None
        if key == "line":
            line = int(table.lines[row])
            return line if role in (_DISPLAY, SORT_ROLE) else None
        if key in ("score", "challenger_score"):
            score = self._score(key, row)
            if role == SORT_ROLE:
                return score
            if role == COPY_ROLE:
                return "" if math.isnan(score) else f"{score:.4f}"
            return None if role != _DISPLAY else "" if math.isnan(score) else fmt_score(score)
        if key in self._LABELS:
            label = self._label(key, row)
            if role == Qt.ItemDataRole.ForegroundRole:
                return _ABUSIVE if label == "abusive" else None
            if role == Qt.ItemDataRole.BackgroundRole and key == "challenger_label":
                return _DISAGREES if label != self._label("label", row) else None
            return label if role in (_DISPLAY, SORT_ROLE) else None
        if key == "band":
            return self._band(row, role)
        values = table.texts if key == "text" else table.gold
        if role not in (_DISPLAY, _TIP, SORT_ROLE) or values is None:
            return None
        text = str(values[row])
        if role == SORT_ROLE:
            return text
        return _one_line(text, role)

    def _band(self, row: int, role: int) -> Any:
        code = -1 if self._bands is None else int(self._bands[row])
        if role == SORT_ROLE:
            return code
        if role == Qt.ItemDataRole.ForegroundRole and code >= 0:
            return QBrush(QColor(_BAND_COLOURS[code]()))
        return (BANDS[code] if code >= 0 else "") if role == _DISPLAY else None

    def _score(self, key: str, row: int) -> float:
        scores = self.table.scores if key == "score" else self.table.challenger_scores
        return math.nan if scores is None else float(scores[row])

    def _label(self, key: str, row: int) -> str:
        score = self._score("score" if key == "label" else "challenger_score", row)
        return "blank text" if math.isnan(score) else label_for(score, self.threshold)
