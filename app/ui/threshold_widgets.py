"""Small Qt widgets of the Threshold panel: threshold spin box, metrics table, item list, dialog.

They only display what the core computed (``ThresholdMetrics``) or collect a choice; the panel
decides what to compute and when.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLayout,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSlider,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.core.csv_input import RejectedRow
from app.core.thresholds import ThresholdAnalysis, ThresholdDelta, ThresholdMetrics

LABEL_NAMES = ("label", "labels", "class", "target", "abusive", "is_abusive", "offensive", "toxic")


def fmt_threshold(t: float, max_decimals: int = 4) -> str:
    """Shortest of 2..max_decimals decimals that shows ``t`` exactly, else rounded to the max.

    Slider positions read "0.45"; an exact finder result reads "0.4537" rather than "0.4500".
    """
    for d in range(2, max_decimals + 1):
        if float(f"{t:.{d}f}") == t:
            return f"{t:.{d}f}"
    return f"{t:.{max_decimals}f}"


class ThresholdSpinBox(QDoubleSpinBox):
    """0..1 in steps of 0.01, showing 2 decimals unless the value needs up to 4."""

    def __init__(self, value: float = 0.45, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setRange(0.0, 1.0)
        self.setDecimals(4)
        self.setSingleStep(0.01)
        self.setKeyboardTracking(False)  # typing "0.6" must not jump to 0.0 then 0.6
        self.setAccelerated(True)
        self.setValue(value)
        # Qt sizes a spin box for its minimum and maximum ("0.00", "1.00"): make room for 0.4537.
        metrics = self.fontMetrics()
        extra = metrics.horizontalAdvance("0.0000") - metrics.horizontalAdvance("1.00")
        self.setMinimumWidth(super().sizeHint().width() + extra)

    def textFromValue(self, value: float) -> str:  # noqa: N802 (Qt override)
        return fmt_threshold(round(value, 4))


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


# (label, attribute of ThresholdMetrics, value format, change format)
METRIC_ROWS = (
    ("Precision", "precision", _pct, "pts"),
    ("Recall", "recall", _pct, "pts"),
    ("F1", "f1", lambda x: f"{x:.3f}", "f1"),
    ("Accuracy", "accuracy", _pct, "pts"),
    ("Specificity", "specificity", _pct, "pts"),
    ("Queue rate", "queue_rate", _pct, "pts"),
    ("Flagged per 1,000", "flagged_per_1000", lambda x: f"{x:,.1f}", "per1000"),
)


def _change(delta: float, kind: str) -> str:
    if kind == "pts":
        return f"{100 * delta:+.1f} pts"
    return f"{delta:+.3f}" if kind == "f1" else f"{delta:+,.1f}"


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
        self.verticalHeader().setDefaultSectionSize(22)
        self.setAlternatingRowColors(True)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        for r in range(self.rowCount()):
            for c in range(self.columnCount()):
                item = QTableWidgetItem("–")
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.setItem(r, c, item)
        height = self.horizontalHeader().sizeHint().height() + 22 * len(METRIC_ROWS) + 4
        self.setFixedHeight(height)

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

    def show_items(self, rows: Sequence[tuple[int | None, float, str]]) -> None:
        self.setUpdatesEnabled(False)  # one repaint for up to 1,000 rows, not one per cell
        self.setRowCount(0)
        self.setRowCount(len(rows))
        for r, (line, score, text) in enumerate(rows):
            cells = ("" if line is None else str(line), f"{score:.4f}", " ".join(text.split()))
            for c, shown in enumerate(cells):
                item = QTableWidgetItem(shown)
                if c < 2:
                    item.setTextAlignment(
                        Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
                    )
                else:
                    item.setData(Qt.ItemDataRole.UserRole, text)
                    item.setToolTip(text[:2_000])
                self.setItem(r, c, item)
        self.setUpdatesEnabled(True)

    def texts(self) -> list[str]:
        """The listed texts, unaltered (the view collapses whitespace for display only)."""
        return [self.item(r, 2).data(Qt.ItemDataRole.UserRole) for r in range(self.rowCount())]


def describe_rejected(rejected: Sequence[RejectedRow], rows_read: int, shown: int = 2) -> str:
    """ "2 of 120 rows rejected: line 4 (missing label), line 9 (blank text)"."""
    if not rejected:
        return ""
    cut = 48  # reasons can be long; the tooltip has them in full
    first = ", ".join(
        f"line {r.line} ({r.reason if len(r.reason) <= cut else r.reason[: cut - 1] + '…'})"
        for r in rejected[:shown]
    )
    more = f", and {len(rejected) - shown:,} more" if len(rejected) > shown else ""
    noun = "row" if rows_read == 1 else "rows"
    return f"{len(rejected):,} of {rows_read:,} {noun} rejected: {first}{more}."


def guess_label_column(header: Sequence[str], text_column: str | None) -> str:
    """The column most likely to hold the labels: a usual name, else the last non-text one."""
    for name in header:
        if name.strip().casefold() in LABEL_NAMES:
            return name
    others = [h for h in header if h != text_column]
    return (others or list(header))[-1]


class LabelColumnDialog(QDialog):
    """Asks which column holds the labels (and, optionally, the texts and abusive values)."""

    AUTO = "(detect automatically)"

    def __init__(
        self, file_name: str, header: Sequence[str], text_column: str | None, parent=None
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Labelled CSV")
        intro = QLabel(f"Which column of <b>{file_name}</b> says whether a row is abusive?")
        intro.setWordWrap(True)
        self.label_combo = QComboBox()
        self.label_combo.addItems(list(header))
        self.label_combo.setCurrentText(guess_label_column(header, text_column))
        self.text_combo = QComboBox()
        self.text_combo.addItems([self.AUTO, *header])
        if text_column in header:
            self.text_combo.setCurrentText(text_column)
        self.positive_edit = QLineEdit()
        self.positive_edit.setPlaceholderText("e.g. offensive, hate   (blank: 1/yes/abusive/…)")
        self.positive_edit.setToolTip(
            "Values meaning abusive, separated by commas; every other value then means benign. "
            "Blank: the standard words are used and unknown values are rejected and reported."
        )
        form = QFormLayout()
        form.addRow("Label column", self.label_combo)
        form.addRow("Text column", self.text_combo)
        form.addRow("Abusive values", self.positive_edit)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(form)
        layout.addWidget(buttons)

    def label_column(self) -> str:
        return self.label_combo.currentText()

    def text_column(self) -> str | None:
        text = self.text_combo.currentText()
        return None if text == self.AUTO else text

    def positive_values(self) -> list[str] | None:
        values = [v.strip() for v in self.positive_edit.text().split(",") if v.strip()]
        return values or None


def _box(title: str, *parts: QWidget | QLayout) -> QGroupBox:
    box = QGroupBox(title)
    layout = QVBoxLayout(box)
    layout.setSpacing(5)  # compact: the whole column should fit 800 px without scrolling
    layout.setContentsMargins(8, 6, 8, 8)
    for part in parts:
        if isinstance(part, QLayout):
            layout.addLayout(part)
        else:
            layout.addWidget(part)
    return box


def _row(*widgets: QWidget, stretch: int | None = None) -> QHBoxLayout:
    row = QHBoxLayout()
    for i, widget in enumerate(widgets):
        row.addWidget(widget, 1 if i == stretch else 0)
    return row


def _number(
    value: float, high: float, decimals: int, step: float, suffix: str = ""
) -> QDoubleSpinBox:
    spin = QDoubleSpinBox()
    spin.setRange(0.0, high)
    spin.setDecimals(decimals)
    spin.setSingleStep(step)
    spin.setSuffix(suffix)
    spin.setValue(value)
    return spin


class ThresholdControls(QScrollArea):
    """The panel's left column: data source, threshold, finders, reference and metrics.

    Layout only: the panel connects the signals and fills the labels. A scroll area, so nothing
    is cut off on a small screen.
    """

    def __init__(self, threshold: float, reference: float, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.source = QComboBox()
        self.source.setAccessibleName("Data source")
        self.summary, self.rejected, self.notice = QLabel(), QLabel(), QLabel()
        self.rejected.setStyleSheet("color: #a04000")
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.cancel_button = QPushButton("Cancel")
        loading = _row(self.progress, self.cancel_button, stretch=0)
        self.progress.hide()
        self.cancel_button.hide()

        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(0, 100)  # hundredths: the 0.01 grid
        self.slider.setPageStep(5)
        self.slider.setTickPosition(QSlider.TickPosition.TicksBelow)
        self.slider.setTickInterval(10)
        self.slider.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.slider.setAccessibleName("Threshold")
        self.slider.setValue(round(100 * threshold))
        self.spin = ThresholdSpinBox(threshold)
        self.spin.setAccessibleName("Threshold value")
        self.status = QLabel()
        self.apply_button = QPushButton("Apply as app-wide threshold")

        self.best_f1_button = QPushButton("Best F1")
        self.cost_spin = _number(5.0, 1000.0, 1, 1.0, " false alarms")
        self.cost_spin.setToolTip("How many false alarms one missed abusive item is worth.")
        self.cost_button = QPushButton("Lowest cost")
        self.recall_spin = _number(0.93, 1.0, 2, 0.01)
        self.recall_button = QPushButton()
        self.recall_spin.valueChanged.connect(self._name_recall_button)
        self._name_recall_button(self.recall_spin.value())
        finders = QFormLayout()
        finders.addRow(self.best_f1_button)
        finders.addRow("A miss costs", _row(self.cost_spin, self.cost_button, stretch=1))
        finders.addRow("Recall at least", _row(self.recall_spin, QWidget(), stretch=1))
        finders.addRow(self.recall_button)

        self.reference_spin = ThresholdSpinBox(reference)
        self.reference_spin.setAccessibleName("Reference threshold")
        self.comparison = QLabel()
        self.table = MetricsTable()

        page = QWidget()
        column = QVBoxLayout(page)
        column.setSpacing(6)
        column.setContentsMargins(4, 4, 4, 4)
        column.addWidget(_box("Data", self.source, self.summary, self.rejected, loading))
        column.addWidget(
            _box(
                "Threshold", _row(self.slider, self.spin, stretch=0), self.status, self.apply_button
            )
        )
        column.addWidget(_box("Find a threshold", finders))
        column.addWidget(
            _box(
                "Compared with a reference",
                _row(QLabel("Reference threshold"), self.reference_spin, QWidget(), stretch=2),
                self.comparison,
                self.table,
            )
        )
        column.addWidget(self.notice)
        column.addStretch(1)
        for label in (self.summary, self.rejected, self.notice, self.status, self.comparison):
            label.setWordWrap(True)
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.setWidget(page)
        self.setWidgetResizable(True)
        # Room for the scroll bar, so a long column scrolls instead of clipping its right edge.
        self.setFixedWidth(380 + self.verticalScrollBar().sizeHint().width())
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)

    def _name_recall_button(self, value: float) -> None:
        self.recall_button.setText(f"Highest threshold with recall ≥ {value:.2f}")

    def set_loading(self, loading: bool) -> None:
        self.progress.setValue(0)
        self.progress.setVisible(loading)
        self.cancel_button.setVisible(loading)

    def show_summary(
        self,
        analysis: ThresholdAnalysis | None,
        note: str = "",
        rejected: Sequence[RejectedRow] = (),
    ) -> None:
        """Size, class balance and AUC of the shown data, and what was rejected reading it."""
        if analysis is None:
            self.summary.setText("No data.")
            self.rejected.hide()
            return
        a, auc = analysis, analysis.roc_auc()
        self.summary.setText(
            f"{a.n:,} rows, {a.positives:,} abusive ({100 * a.positives / a.n:.1f}%)"
            + ("" if auc != auc else f", ROC AUC {auc:.3f}")  # NaN: a single class
            + (f"<br><span style='color:#666'>{note}</span>" if note else "")
        )
        self.rejected.setText(describe_rejected(rejected, a.n + len(rejected)))
        self.rejected.setToolTip("\n".join(f"line {r.line}: {r.reason}" for r in rejected[:50]))
        self.rejected.setVisible(bool(rejected))

    def show_status(self, exploring: float, app_wide: float, why: str, *, applied: bool) -> None:
        """Which threshold is app-wide and which one is being explored."""
        self.status.setText(
            f"App-wide threshold: <b>{fmt_threshold(app_wide)}</b><br>"
            f"Exploring: <b>{fmt_threshold(exploring)}</b>"
            + (f" ({why})" if why else "")
            + (" — this is the app-wide threshold" if applied else " — not applied")
        )
        self.apply_button.setEnabled(not applied and 0.0 <= exploring <= 1.0)

    def show_comparison(self, delta: ThresholdDelta) -> None:
        self.comparison.setText(
            f"<b>{delta.extra_caught:+,d} abusive caught, {delta.extra_false_alarms:+,d} false "
            f"alarms, review queue {delta.queue_change_per_1000:+,.1f} per 1,000</b>"
            f"<br>{delta.describe()}"
        )
