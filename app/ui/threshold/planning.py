"""The Threshold panel's planning widgets: "Traffic" (prevalence, volume, capacity),
"Confidence", and the "Three-band policy" page.

Layout and display only: `planner.Planner` connects them and decides what they show; the words
come from `app.core.analysis.planning`.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.core.analysis.planning import Planning
from app.ui.common.colours import muted_style, warn_colour
from app.ui.common.threshold_widgets import ThresholdSpinBox

NOT_SET = "not set"
MIN_SPIN_WIDTH = 70


def _label(muted: bool = False) -> QLabel:
    label = QLabel()
    label.setWordWrap(True)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    if muted:
        label.setStyleSheet(muted_style())
    return label


def _whole(high: int, suffix: str, name: str) -> QSpinBox:
    """A count where 0 means "not set"."""
    spin = QSpinBox()
    spin.setRange(0, high)
    spin.setSpecialValueText(NOT_SET)
    spin.setSuffix(suffix)
    spin.setGroupSeparatorShown(True)
    spin.setAccessibleName(name)
    spin.setMinimumWidth(MIN_SPIN_WIDTH)  # its range's widest text would widen the column
    return spin


def _percent(value: float, name: str, low: float = 0.0) -> QDoubleSpinBox:
    spin = QDoubleSpinBox()
    spin.setRange(low, 99.9)
    spin.setDecimals(1)
    spin.setSingleStep(0.5)
    spin.setSuffix(" %")
    spin.setValue(value)
    spin.setAccessibleName(name)
    return spin


def _row(*widgets: QWidget, stretch: int | None = None) -> QHBoxLayout:
    row = QHBoxLayout()
    row.setSpacing(4)
    for i, widget in enumerate(widgets):
        row.addWidget(widget, 1 if i == stretch else 0)
    return row


class TrafficBox(QWidget):
    """Expected share of abuse, daily volume and capacity; what the capacity allows."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.prevalence_spin = _percent(0.0, "Expected share of abusive messages")
        self.prevalence_spin.setSpecialValueText(NOT_SET)
        self.prevalence_spin.setMinimumWidth(MIN_SPIN_WIDTH)
        self.prevalence_spin.setToolTip(
            "The share of abusive messages in a real day (0 = not set: counts are the data "
            "source's own)."
        )
        self.estimate_button = QPushButton("From this batch")
        self.estimate_button.setToolTip(
            "Estimate the share as the mean calibrated score of the batch shown."
        )
        self.caveat = _label(muted=True)
        self.caveat.hide()
        self.volume_spin = _whole(1_000_000_000, " /day", "Messages per day")
        self.reviewers_spin = _whole(1_000_000, "", "Reviewers")
        self.items_spin = _whole(1_000_000_000, "", "Items per reviewer per day")
        self.per_day_check = QCheckBox("Counts per day at your traffic")
        self.per_day_check.setChecked(True)
        self.per_day_check.setToolTip("Untick to see the data source's own counts.")
        self.day_label = _label()  # the explored threshold's day: flagged, caught, ...
        self.day_label.setTextFormat(Qt.TextFormat.RichText)
        self.capacity_label, self.backlog_label = _label(), _label()
        self.backlog_label.setStyleSheet(f"color: {warn_colour()};")
        self.capacity_button = QPushButton("Move there")
        self.capacity_button.setToolTip("Explore the lowest threshold that fits the capacity.")

        form = QFormLayout()
        form.setVerticalSpacing(3)
        form.setContentsMargins(0, 0, 0, 0)
        form.addRow("Abusive", _row(self.prevalence_spin, self.estimate_button, stretch=0))
        form.addRow("Volume", self.volume_spin)
        form.addRow("Capacity", _row(self.reviewers_spin, QLabel("×"), self.items_spin, stretch=2))
        self.reviewers_spin.setToolTip("Reviewers")
        self.items_spin.setToolTip("Items each reviewer handles per day")
        self.items_spin.setSuffix(" each/day")
        self.reviewers_spin.setSuffix(" rev.")
        layout = QVBoxLayout(self)
        layout.setSpacing(3)
        layout.setContentsMargins(6, 4, 6, 6)
        layout.addLayout(form)
        layout.addWidget(self.caveat)
        layout.addWidget(self.per_day_check)
        layout.addWidget(self.day_label)
        layout.addLayout(_row(self.capacity_label, self.capacity_button, stretch=0))
        layout.addWidget(self.backlog_label)
        layout.addStretch(1)

    def inputs(self, bands: tuple[float | None, float | None]) -> Planning:
        """The inputs as a Planning (0 in a spin box: not set); ``bands`` as kept elsewhere."""
        p, v = self.prevalence_spin.value(), self.volume_spin.value()
        r, i = self.reviewers_spin.value(), self.items_spin.value()
        return Planning(
            prevalence=p / 100 if p > 0 else None, volume=float(v) if v > 0 else None,
            reviewers=r if r > 0 else None, items_per_reviewer=float(i) if i > 0 else None,
            review_at=bands[0], escalate_at=bands[1],
        )  # fmt: skip

    def show_inputs(self, planning: Planning) -> None:
        """Fill the spin boxes (callers block their signals)."""
        self.prevalence_spin.setValue(100 * (planning.prevalence or 0.0))
        self.volume_spin.setValue(round(min(planning.volume or 0, self.volume_spin.maximum())))
        self.reviewers_spin.setValue(planning.reviewers or 0)
        items = planning.items_per_reviewer or 0
        self.items_spin.setValue(round(min(items, self.items_spin.maximum())))


class ConfidenceBox(QWidget):
    """95 % intervals at the explored threshold, and the small-sample warnings."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.source_label, self.day_label, self.finder_label = _label(), _label(), _label()
        self.warnings = _label()
        self.warnings.setStyleSheet(f"color: {warn_colour()};")
        layout = QVBoxLayout(self)
        layout.setSpacing(3)
        layout.setContentsMargins(6, 4, 6, 6)
        # the precision at the supervisor's traffic first: it is the one that describes their day
        for label in (self.day_label, self.source_label, self.finder_label, self.warnings):
            layout.addWidget(label)
        layout.addStretch(1)
        self.finder_label.hide()


class BandsPage(QWidget):
    """Clear / review / escalate: targets, the finder, editable cut points and the counts."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.precision_spin = _percent(90.0, "Escalate precision target", low=1.0)
        self.recall_spin = _percent(80.0, "Review recall floor", low=1.0)
        self.find_button = QPushButton("Find bands")
        self.review_spin = ThresholdSpinBox(0.3)
        self.review_spin.setAccessibleName("Review cut")
        self.escalate_spin = ThresholdSpinBox(0.8)
        self.escalate_spin.setAccessibleName("Escalate cut")
        self.apply_button = QPushButton("Apply with bands…")
        self.apply_button.setToolTip(
            "Make the review cut the app-wide threshold and keep both cut points, with a "
            "decision record."
        )
        self.result = _label()
        self.counts = _label()
        self.counts.setTextFormat(Qt.TextFormat.RichText)
        self.warnings = _label()
        self.warnings.setStyleSheet(f"color: {warn_colour()};")
        self.warnings.hide()

        targets = QFormLayout()
        targets.setVerticalSpacing(3)
        targets.addRow("Escalate where precision ≥", self.precision_spin)
        targets.addRow("Review down to recall ≥", self.recall_spin)
        targets.addRow(self.find_button)
        cuts = QFormLayout()
        cuts.setVerticalSpacing(3)
        cuts.addRow("Review from score ≥", self.review_spin)
        cuts.addRow("Escalate from score ≥", self.escalate_spin)
        cuts.addRow(self.apply_button)
        top = QHBoxLayout()
        top.addLayout(targets)
        top.addSpacing(16)
        top.addLayout(cuts)
        top.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.result)
        layout.addWidget(self.counts)
        layout.addWidget(self.warnings)
        layout.addStretch(1)

    def show_warnings(self, warnings: list[str]) -> None:
        """What is wrong with the cut points, beside the Apply button."""
        self.warnings.setText("\n".join(f"⚠ {w[0].upper()}{w[1:]}." for w in warnings))
        self.warnings.setVisible(bool(warnings))
