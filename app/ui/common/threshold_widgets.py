"""Small display widgets of the Threshold panel: the threshold spin box and the metrics table.

They only display what the core computed (``ThresholdMetrics``); the panel decides what to
compute and when.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDoubleSpinBox,
    QHeaderView,
    QTableWidget,
    QTableWidgetItem,
    QWidget,
)

from app.core.analysis.thresholds import ThresholdMetrics
from app.core.common import messages

METRICS_ROW_HEIGHT = 20


def fmt_threshold(t: float, max_decimals: int = 6) -> str:
    """`messages.fmt_threshold` capped at the spin box's 6 decimals: slider positions read
    "0.45", a finder's readable threshold "0.96948" as the status bar and the log write it (the
    finders give at most 6 decimals: `ThresholdAnalysis.readable`)."""
    return messages.fmt_threshold(t, max_decimals)


class ThresholdSpinBox(QDoubleSpinBox):
    """0..1 in steps of 0.01, showing 2 decimals unless the value needs up to 6."""

    def __init__(self, value: float = 0.45, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setRange(0.0, 1.0)
        self.setDecimals(6)
        self.setSingleStep(0.01)
        self.setKeyboardTracking(False)  # typing "0.6" must not jump to 0.0 then 0.6
        self.setAccelerated(True)
        self.setValue(value)
        # Qt sizes a spin box for its minimum and maximum ("0.00", "1.00"): make room for 0.96948.
        metrics = self.fontMetrics()
        extra = metrics.horizontalAdvance("0.00000") - metrics.horizontalAdvance("1.00")
        self.setMinimumWidth(super().sizeHint().width() + extra)

    def textFromValue(self, value: float) -> str:  # noqa: N802 (Qt override)
        return fmt_threshold(round(value, 6))


def _percent(x: float) -> str:
    return f"{100 * x:.1f}%"


def _change(delta: float, kind: str) -> str:
    """A difference in the unit of its row: percentage points, F1, or items per 1,000."""
    if kind == "pts":
        return f"{100 * delta:+.1f} pts"
    return f"{delta:+.3f}" if kind == "f1" else f"{delta:+,.1f}"


# (label, attribute of ThresholdMetrics, value format, change kind for _change)
METRIC_ROWS = (
    ("Precision", "precision", _percent, "pts"),
    ("Recall", "recall", _percent, "pts"),
    ("F1", "f1", lambda x: f"{x:.3f}", "f1"),
    ("Accuracy", "accuracy", _percent, "pts"),
    ("Specificity", "specificity", _percent, "pts"),
    ("Queue rate", "queue_rate", _percent, "pts"),
    ("Flagged per 1,000", "flagged_per_1000", lambda x: f"{x:,.1f}", "per1000"),
)


class MetricsTable(QTableWidget):
    """Metrics at the explored threshold, at the reference, and the difference."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(len(METRIC_ROWS), 3, parent)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.setVerticalHeaderLabels([row[0] for row in METRIC_ROWS])
        self.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        self.verticalHeader().setDefaultSectionSize(METRICS_ROW_HEIGHT)
        self.setAlternatingRowColors(True)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        for r in range(self.rowCount()):
            for c in range(self.columnCount()):
                item = QTableWidgetItem("–")
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.setItem(r, c, item)
        # Fixed height, no scroll bar: every row is always visible.
        header = self.horizontalHeader().sizeHint().height()
        self.setFixedHeight(header + METRICS_ROW_HEIGHT * len(METRIC_ROWS) + 4)

    def show_metrics(self, exploring: ThresholdMetrics, reference: ThresholdMetrics) -> None:
        self.setHorizontalHeaderLabels(
            [
                f"at {fmt_threshold(exploring.threshold)}",
                f"ref. {fmt_threshold(reference.threshold)}",
                "change",
            ]
        )
        for r, (_, attr, fmt, kind) in enumerate(METRIC_ROWS):
            new, ref = getattr(exploring, attr), getattr(reference, attr)
            texts = (fmt(new), fmt(ref), _change(new - ref, kind))
            for c, text in enumerate(texts):
                self.item(r, c).setText(text)

    def value(self, label: str, column: int = 0) -> str:
        """The text shown for a metric (by its row label), for tests and accessibility."""
        row = [r[0] for r in METRIC_ROWS].index(label)
        return self.item(row, column).text()
