"""The Compare panel's two boxes: agreement at the app-wide threshold, and the migration proposal.

Display only: the numbers come from ``app.core.analysis.compare`` (``Agreement``, ``Migration``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.core.analysis.compare import Agreement, Migration
from app.ui.common.confusion_matrix import ConfusionMatrixCanvas
from app.ui.common.threshold_widgets import fmt_threshold

# (label, Agreement attribute) of the agreement box's rows
AGREEMENT_ROWS = (
    ("Both flag", "both"),
    ("Neither flags", "neither"),
    ("Only the champion flags", "only_champion"),
    ("Only the challenger flags", "only_challenger"),
)
# (combo text, Migration.keep, tooltip)
KEEP_CHOICES = (
    ("recall", "recall", "the share of abusive items caught"),
    ("precision", "precision", "the share of flagged items that are abusive"),
    ("review-queue size", "queue_rate", "the share of items flagged for review"),
)
# (label, ThresholdMetrics attribute, format) of the migration box's side-by-side rows
MIGRATION_ROWS: tuple[tuple[str, str, Callable[[Any], str]], ...] = (
    ("threshold", "threshold", fmt_threshold),
    ("abusive caught", "tp", "{:,}".format),
    ("abusive missed", "fn", "{:,}".format),
    ("false alarms", "fp", "{:,}".format),
    ("flagged", "flagged", "{:,}".format),
    ("recall", "recall", "{:.1%}".format),
    ("precision", "precision", "{:.1%}".format),
)


def _wrapping(text: str = "") -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label


class AgreementBox(QGroupBox):
    """How often the two models decide alike at the app-wide threshold, in counts."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Agreement", parent)
        self.headline = _wrapping()
        self.values: dict[str, QLabel] = {}
        form = QFormLayout()
        form.setHorizontalSpacing(16)
        form.setVerticalSpacing(3)
        for label in (*(row[0] for row in AGREEMENT_ROWS), "Mean |score difference|"):
            value = QLabel("–")
            value.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            self.values[label] = value
            form.addRow(label, value)
        self.ranking = _wrapping()
        self.ranking.setToolTip(
            "ROC AUC: how well each model ranks abusive above benign items, whatever the "
            "threshold (0.5 is chance, 1 perfect)."
        )
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 6, 8, 8)
        layout.addWidget(self.headline)
        layout.addLayout(form)
        layout.addSpacing(6)
        layout.addWidget(self.ranking)
        layout.addStretch(1)

    def show_agreement(self, ag: Agreement) -> None:
        self.headline.setText(
            f"At {fmt_threshold(ag.threshold)} the models decide <b>"
            f"{100 * ag.agreement_rate:.1f}%</b> of {ag.n:,} items alike "
            f"({ag.disagree:,} differently)."
        )
        for label, attr in AGREEMENT_ROWS:
            count = getattr(ag, attr)
            self.values[label].setText(f"{count:,} ({100 * count / max(ag.n, 1):.1f}%)")
        self.values["Mean |score difference|"].setText(f"{ag.mean_abs_difference:.4f}")

    def show_ranking(self, champion_auc: float, challenger_auc: float) -> None:
        """ROC AUC of both models on these items (NaN when only one class is present)."""
        if math.isnan(champion_auc) or math.isnan(challenger_auc):
            self.ranking.setText("Ranking (ROC AUC): needs both abusive and benign items.")
            return
        self.ranking.setText(
            f"Ranking at any threshold, ROC AUC: champion <b>{champion_auc:.4f}</b>, "
            f"challenger <b>{challenger_auc:.4f}</b>."
        )

    def value(self, label: str) -> str:
        """The text shown for a row (by its label), for tests and accessibility."""
        return self.values[label].text()


class MigrationBox(QGroupBox):
    """Which challenger threshold keeps what the champion gives today, and the promote button."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Switch to the challenger", parent)
        self.keep = QComboBox()
        self.keep.setAccessibleName("Keep the champion's")
        for index, (text, key, tip) in enumerate(KEEP_CHOICES):
            self.keep.addItem(text, key)
            self.keep.setItemData(index, tip, Qt.ItemDataRole.ToolTipRole)
        self.target = _wrapping()
        self.proposed = _wrapping()
        self.side_by_side = QGridLayout()
        self.side_by_side.setHorizontalSpacing(12)
        self.side_by_side.setVerticalSpacing(2)
        self.headers = (QLabel("<b>champion</b>"), QLabel("<b>challenger</b>"))
        self.cells: dict[str, tuple[QLabel, QLabel]] = {}
        for col, header in enumerate(self.headers, 1):
            header.setAlignment(Qt.AlignmentFlag.AlignRight)
            self.side_by_side.addWidget(header, 0, col)
        for row, (label, _, _) in enumerate(MIGRATION_ROWS, 1):
            self.side_by_side.addWidget(QLabel(label), row, 0)
            pair = (QLabel("–"), QLabel("–"))
            for col, cell in enumerate(pair, 1):
                cell.setAlignment(Qt.AlignmentFlag.AlignRight)
                self.side_by_side.addWidget(cell, row, col)
            self.cells[label] = pair
        self.matrix = ConfusionMatrixCanvas()
        self.matrix.setToolTip("")  # nothing to click here: the panel lists disagreements
        self.matrix.setMinimumSize(240, 200)
        self.sentence = _wrapping()
        self.promote_button = QPushButton("Promote challenger…")
        keep_row = QHBoxLayout()
        keep_row.addWidget(QLabel("Keep the champion's"))
        keep_row.addWidget(self.keep, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 6, 8, 8)
        layout.setSpacing(5)
        layout.addLayout(keep_row)
        layout.addWidget(self.target)
        layout.addWidget(self.proposed)
        layout.addLayout(self.side_by_side)
        layout.addWidget(self.matrix, 1)
        layout.addWidget(self.sentence)
        layout.addWidget(self.promote_button)

    def keep_key(self) -> str:
        return str(self.keep.currentData())

    def show_migration(self, m: Migration, challenger_label: str) -> None:
        name = {"queue_rate": "queue rate"}.get(m.keep, m.keep)
        self.target.setText(
            f"{m.champion_label} at {fmt_threshold(m.champion.threshold)}: "
            f"{name} <b>{100 * m.target:.1f}%</b>"
        )
        self.sentence.setText(m.describe())
        self._show_side_by_side(m)
        if m.challenger is None:
            self.proposed.setText(f"No threshold of {challenger_label} keeps it.")
            self.matrix.hide()
            self.promote_button.setText("Promote challenger…")
            self.promote_button.setEnabled(False)
            return
        t = fmt_threshold(m.challenger.threshold)
        self.proposed.setText(f"Proposed threshold for {challenger_label}: <b>{t}</b>")
        self.matrix.show()
        self.matrix.show_matrix(
            m.challenger.matrix_abusive_first(),
            f"Challenger at {t}: {m.challenger.flagged:,} of {m.challenger.n:,} flagged",
        )
        self.promote_button.setText(f"Promote challenger at {t}…")
        self.promote_button.setEnabled(True)

    def _show_side_by_side(self, m: Migration) -> None:
        """Champion at its threshold beside the challenger at the proposed one, in counts."""
        proposed = m.challenger
        for label, attr, fmt in MIGRATION_ROWS:
            old_cell, new_cell = self.cells[label]
            old_cell.setText(fmt(getattr(m.champion, attr)))
            new_cell.setText("–" if proposed is None else fmt(getattr(proposed, attr)))

    def shown(self, label: str) -> tuple[str, str]:
        """(champion, challenger) texts of a side-by-side row, for tests."""
        old_cell, new_cell = self.cells[label]
        return old_cell.text(), new_cell.text()

    def clear(self, why: str = "") -> None:
        """No proposal (no data, or no labels): say ``why``, and nothing can be promoted."""
        self.target.setText(why)
        self.proposed.clear()
        self.sentence.clear()
        self.matrix.hide()
        for cells in self.cells.values():
            for cell in cells:
                cell.setText("–")
        self.promote_button.setEnabled(False)
