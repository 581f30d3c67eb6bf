"""The Batch panel's scoring-mode selector: fast, cascade, thorough (`app.core.batch.cascade`).

Each entry's tooltip says what the mode does; an entry that cannot be used now (no encoder
installed, or a cascade band chosen for another fast model) is disabled, with the reason in its
tooltip. A disabled entry that was chosen falls back to fast, so Start never runs a mode that
was refused.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QShowEvent, QStandardItemModel
from PySide6.QtWidgets import QComboBox, QWidget

from app.core.batch.cascade import FAST, MODE_HELP, MODES
from app.core.context.bootstrap import registry_of
from app.core.context.engines import mode_problems, registry_stamp

_NAMES = {"fast": "Fast", "cascade": "Cascade", "thorough": "Thorough"}


class ModeBox(QComboBox):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        for mode in MODES:
            self.addItem(_NAMES[mode], mode)
        self.set_problems(dict.fromkeys(MODES, ""))
        self.setToolTip(
            "Scoring mode: "
            + "; ".join(f"{_NAMES[mode].lower()}: {MODE_HELP[mode]}" for mode in MODES)
        )

    def mode(self) -> str:
        return str(self.currentData())

    def set_mode(self, mode: str) -> None:
        self.setCurrentIndex(MODES.index(mode))

    def problem(self, mode: str) -> str:
        return str(self.itemData(MODES.index(mode), Qt.ItemDataRole.UserRole + 1) or "")

    def is_enabled(self, mode: str) -> bool:
        model = self.model()
        assert isinstance(model, QStandardItemModel)
        item = model.item(MODES.index(mode))
        return item is not None and item.isEnabled()

    def set_problems(self, problems: dict[str, str]) -> None:
        """Disable the modes with a problem (the reason in the tooltip); enable the others."""
        model = self.model()
        assert isinstance(model, QStandardItemModel)  # a QComboBox's own model
        for i, mode in enumerate(MODES):
            item = model.item(i)
            if item is None:  # pragma: no cover - one item per mode, added above
                continue
            why = problems.get(mode, "")
            item.setEnabled(not why)
            item.setData(why, Qt.ItemDataRole.UserRole + 1)
            tip = MODE_HELP[mode][0].upper() + MODE_HELP[mode][1:] + "."
            item.setToolTip(f"Unavailable: {why}." if why else tip)
        if problems.get(self.mode()):
            self.set_mode(FAST)


class BatchModes:
    """The Batch panel's part that keeps the mode entries true to the installed models (a mixin
    of `BatchPanel`: the bundles are read when the panel is shown, the model changes or a job
    starts, and only if they or the model changed; never at start-up)."""

    ctx: Any
    mode_box: ModeBox
    _modes_key: object = None  # what the entries were last worked out from

    def refresh_modes(self) -> None:
        registry, scorer = registry_of(self.ctx), self.ctx.state.scorer
        key = (scorer, registry, registry_stamp(registry))
        if key != self._modes_key:
            self._modes_key = key
            self.mode_box.set_problems(mode_problems(registry, scorer))

    def _mode_problem(self, mode: str) -> str:
        self.refresh_modes()
        return self.mode_box.problem(mode)

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)  # type: ignore[misc]
        self.refresh_modes()
