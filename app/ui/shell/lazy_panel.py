"""A tab whose panel is built the first time it is needed.

The Threshold and Compare panels draw with matplotlib, whose import and first figures cost
~0.3 s; building them before the window is first shown would make every launch that much
slower for panels most sessions open later, if at all. A ``LazyPanel`` stands in the tab and
builds its panel when the tab is first shown or when code asks for ``.panel`` (the Batch panel
sending labelled results to the Threshold panel, say): a one-time pause of ~0.4 s then.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import QVBoxLayout, QWidget


class LazyPanel(QWidget):
    def __init__(self, title: str, factory: Callable[[], QWidget]) -> None:
        super().__init__()
        self.title = title
        self._factory = factory
        self._panel: Any = None
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)

    @property
    def built(self) -> bool:
        return self._panel is not None

    @property
    def panel(self) -> Any:
        if self._panel is None:
            self._panel = self._factory()
            self._layout.addWidget(self._panel)
        return self._panel

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 (Qt override)
        self.panel  # noqa: B018 -- building is the point
        super().showEvent(event)

    def shutdown(self) -> None:
        if self._panel is not None:
            self._panel.shutdown()
