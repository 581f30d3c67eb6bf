"""The Models panel's widgets and layout, with no behaviour of their own.

Top: which model decides and which shadows it, the action buttons, and one message line where
results and refusals appear (a refusal is read, not clicked away, so it is not a dialog).
Middle: the table of installed versions. Bottom: the selected version's facts and model card.
The trust line states the signature policy; it is read-only here because changing it is an
administrator's act (trusted_keys/ and ``allow_unsigned_models`` in settings.json).
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QSortFilterProxyModel, Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QProgressBar,
    QPushButton,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from app.core.context.state import ACTIVE_SCORER, CHALLENGER
from app.core.models.registry import ModelEntry, ModelRegistry
from app.ui.common.colours import error_style, muted_style, ok_colour
from app.ui.models.details import ModelDetails
from app.ui.models.table import COLUMN_WIDTHS, SIGNATURE


def _message_style(kind: str) -> str:
    """The message line's colour for its kind, readable on the current theme ("info": the
    theme's own text colour)."""
    if kind == "ok":
        return f"color: {ok_colour()};"
    if kind == "error":
        return f"{error_style()} font-weight: bold;"
    return muted_style() if kind == "busy" else ""


ROW_HEIGHT = 24


def trust_summary(registry: ModelRegistry) -> str:
    """One line: the keys a bundle may be signed with, and whether unsigned ones are accepted."""
    keys = ", ".join(registry.trust.describe()) or "none"
    unsigned = (
        "accepted (each use is logged)"
        if registry.allow_unsigned
        else "refused (an administrator can allow them in settings.json)"
    )
    text = f"Trusted signing keys: {keys}  ·  Unsigned bundles: {unsigned}"
    if registry.trust.problems:
        text += f"  ·  Skipped key files: {'; '.join(registry.trust.problems)}"
    return text


def listing_summary(entries: list[ModelEntry]) -> str:
    """E.g. "Checked 3 installed versions: 2 verified, 1 refused (select it to see why)."."""
    refused = sum(not entry.verified for entry in entries)
    total = len(entries)
    text = f"Checked {total} installed version{'' if total == 1 else 's'}: "
    text += f"{total - refused} verified"
    return text + (f", {refused} refused (select it to see why)." if refused else ".")


def _model_text(scorer: Any, note: str) -> str:
    if scorer is None:
        return "none"
    return f"{scorer.version_label} · {note}" if note else str(scorer.version_label)


class ModelsView(QWidget):
    def __init__(
        self, proxy: QSortFilterProxyModel, details: ModelDetails, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.details = details
        self.message_kind = ""
        self.active_line = QLabel(objectName="modelsActiveLine")
        bold = self.active_line.font()
        bold.setBold(True)
        self.active_line.setFont(bold)
        self.challenger_line = QLabel(objectName="modelsChallengerLine")
        self.trust_line = QLabel(wordWrap=True, objectName="modelsTrustLine")
        self.trust_line.setStyleSheet(muted_style())
        self.trust_line.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        lines = QHBoxLayout()
        lines.addWidget(self.active_line)
        lines.addSpacing(32)
        lines.addWidget(self.challenger_line)
        lines.addStretch(1)

        self.import_folder_button = QPushButton("Import folder…")
        self.import_zip_button = QPushButton("Import zip…")
        self.verify_button = QPushButton("Verify again")
        self.verify_button.setToolTip("Re-check every installed version's files and signature")
        self.activate_button = QPushButton("Make active")
        self.rollback_button = QPushButton("Roll back")
        self.challenger_button = QPushButton("Use as challenger")
        self.challenger_button.setToolTip(
            "Score with this version too, in the shadow: its scores are shown, never decide"
        )
        self.stop_challenger_button = QPushButton("Stop challenger")
        self.busy_bar = QProgressBar(objectName="modelsBusy")
        self.busy_bar.setRange(0, 0)  # indeterminate: a load or import has no useful percentage
        self.busy_bar.setTextVisible(False)
        self.busy_bar.setFixedWidth(120)
        self.busy_bar.hide()
        buttons = QHBoxLayout()
        for button in (self.import_folder_button, self.import_zip_button, self.verify_button):
            buttons.addWidget(button)
        buttons.addSpacing(24)
        for button in (
            self.activate_button,
            self.rollback_button,
            self.challenger_button,
            self.stop_challenger_button,
        ):
            buttons.addWidget(button)
        buttons.addStretch(1)
        buttons.addWidget(self.busy_bar)

        self.message = QLabel(wordWrap=True, objectName="modelsMessage")
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.table = self._make_table(proxy)
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(self.table)
        splitter.addWidget(details)
        # A handful of versions at most: the card gets most of the room.
        splitter.setStretchFactor(0, 1)
        splitter.setStretchFactor(1, 3)
        splitter.setSizes([170, 520])
        splitter.setChildrenCollapsible(False)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(lines)
        layout.addWidget(self.trust_line)
        layout.addLayout(buttons)
        layout.addWidget(self.message)
        layout.addWidget(splitter, 1)

    def _make_table(self, proxy: QSortFilterProxyModel) -> QTableView:
        table = QTableView(objectName="modelsTable")
        table.setAccessibleName("Installed model versions")
        table.setModel(proxy)
        table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        table.setWordWrap(False)
        table.verticalHeader().setVisible(False)
        table.verticalHeader().setDefaultSectionSize(ROW_HEIGHT)
        header = table.horizontalHeader()
        header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        for column, width in enumerate(COLUMN_WIDTHS):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.Interactive)
            table.setColumnWidth(column, width)
        header.setSectionResizeMode(SIGNATURE, QHeaderView.ResizeMode.Stretch)
        # Sortable by any header, but start in the registry's order (newest version first).
        header.setSortIndicator(-1, Qt.SortOrder.AscendingOrder)
        table.setSortingEnabled(True)
        return table

    def say(self, text: str, kind: str) -> None:
        """Show a result, progress note or refusal in the message line."""
        self.message_kind = kind
        self.message.setStyleSheet(_message_style(kind))
        self.message.setText(text)

    def show_lines(self, active: Any, challenger: Any, notes: dict[str, str]) -> None:
        """Which model decides and which shadows it; ``notes`` by state field: switch times."""
        self.active_line.setText(f"Active model: {_model_text(active, notes[ACTIVE_SCORER])}")
        self.challenger_line.setText(f"Challenger: {_model_text(challenger, notes[CHALLENGER])}")

    def update_buttons(
        self,
        *,
        idle: bool,
        can_activate: bool,
        can_challenge: bool,
        can_stop: bool,
        previous_label: str | None,
        refused: str | None,
    ) -> None:
        """Enable what makes sense now; ``refused``: why the selected version cannot be used."""
        for button in (self.import_folder_button, self.import_zip_button, self.verify_button):
            button.setEnabled(idle)
        self.activate_button.setEnabled(idle and can_activate)
        self.challenger_button.setEnabled(idle and can_challenge)
        self.stop_challenger_button.setEnabled(idle and can_stop)
        self.rollback_button.setEnabled(idle and previous_label is not None)
        self.rollback_button.setText(
            f"Roll back to {previous_label}" if previous_label else "Roll back"
        )
        self.rollback_button.setToolTip(
            "Make the previously active model active again"
            if previous_label
            else "No earlier model to return to (none was replaced, or it is not installed)"
        )
        why = f"This version was refused: {refused}" if refused else ""
        self.activate_button.setToolTip(why or "Make the selected version the deciding model")
