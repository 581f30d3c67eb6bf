"""Preferences: activity-log retention, whether raw text may be stored, reference threshold,
how many batch jobs the history keeps;
and accessibility: the font size (80-200 %) and the theme (System, Dark, High contrast).

The dialog only collects values; the core validates and applies them, and every change is an
activity event (who changed what is part of the record the log exists to keep).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDoubleSpinBox,
    QFormLayout,
    QLabel,
    QSpinBox,
    QWidget,
)

from app.core.context.settings import FONT_SCALE_RANGE, MAX_BATCH_HISTORY, apply_user_changes
from app.core.context.state import AppContext
from app.ui.common.colours import muted_colour
from app.ui.common.dialogs import ok_cancel_layout
from app.ui.shell.appearance import THEME_LABELS


class SettingsDialog(QDialog):
    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.setWindowTitle("Preferences")
        settings = ctx.settings
        self.retention = QSpinBox(minimum=1, maximum=36_500, suffix=" days")
        self.retention.setValue(settings.log_retention_days)
        self.store_text = QCheckBox("Store the raw text of scored items in the activity log")
        self.store_text.setChecked(settings.store_raw_text)
        self.reference = QDoubleSpinBox(minimum=0.0, maximum=1.0, singleStep=0.01, decimals=2)
        self.reference.setValue(settings.reference_threshold)
        self.history = QSpinBox(minimum=0, maximum=MAX_BATCH_HISTORY, suffix=" jobs")
        self.history.setValue(settings.batch_history_size)
        self.history.setToolTip(
            "Finished batch jobs whose results are kept after closing (reopen or export them "
            "again from the Batch panel's History); 0 keeps none. Scored texts may be personal data."
        )
        warning = QLabel(
            "Off by default: the log then keeps an HMAC fingerprint of each text, which proves a "
            "text was scored without revealing it. Stored texts may be personal data."
        )
        warning.setWordWrap(True)
        warning.setStyleSheet(f"color: {muted_colour()};")
        self.font_scale = QSpinBox(minimum=FONT_SCALE_RANGE[0], maximum=FONT_SCALE_RANGE[1])
        self.font_scale.setSuffix(" %")
        self.font_scale.setSingleStep(10)
        self.font_scale.setValue(settings.font_scale)
        self.theme = QComboBox()
        for value, label in THEME_LABELS:
            self.theme.addItem(label, value)
        self.theme.setCurrentIndex(max(0, self.theme.findData(settings.theme)))
        form = QFormLayout()
        form.addRow("&Keep activity events for", self.retention)
        form.addRow(self.store_text)
        form.addRow(warning)
        form.addRow("&Reference threshold for comparisons", self.reference)
        form.addRow("Batch &history: keep the last", self.history)
        form.addRow("&Font size", self.font_scale)
        form.addRow("&Theme", self.theme)
        ok_cancel_layout(self, form)
        self._shown = self._widget_values()  # what the controls showed before any edit

    def _widget_values(self) -> dict[str, Any]:
        return {
            "log_retention_days": self.retention.value(),
            "store_raw_text": self.store_text.isChecked(),
            "reference_threshold": round(self.reference.value(), 2),
            "batch_history_size": self.history.value(),
            "font_scale": self.font_scale.value(),
            "theme": str(self.theme.currentData()),
        }

    def values(self) -> dict[str, Any]:
        """The dialog's values; a field the user left as shown keeps the setting's own value.
        A control may show a setting rounded (the reference threshold 0.449 as 0.45): pressing
        OK must not write the rounded value back."""
        return {
            name: value if value != self._shown[name] else getattr(self.ctx.settings, name)
            for name, value in self._widget_values().items()
        }

    def apply(self) -> dict[str, tuple[Any, Any]]:
        """Apply the dialog's values: settings, the live activity log, the file, the log event."""
        # Applied to a copy, logged, saved, and only then made current: a change that cannot
        # be logged or saved (a newer settings file is never overwritten) is not made at all.
        updated = replace(self.ctx.settings, problems=list(self.ctx.settings.problems))
        changes = apply_user_changes(updated, self.values())
        if changes:
            self.ctx.log(
                "settings_changed",
                detail="; ".join(f"{k}: {a!r} -> {b!r}" for k, (a, b) in changes.items()),
            )
            self.ctx.save_settings(*changes, source=updated)
            for name in changes:
                setattr(self.ctx.settings, name, getattr(updated, name))
            self.ctx.activity.store_raw_text = self.ctx.settings.store_raw_text
        return changes
