"""The blitting canvas: a redraw queued just before the canvas is deleted never runs on it."""

from __future__ import annotations

import sys

import pytest
from PySide6.QtWidgets import QApplication
from shiboken6 import delete

from app.ui.common.canvas import BlittingCanvas


class _Canvas(BlittingCanvas):
    def __init__(self) -> None:
        super().__init__()
        ax = self.figure.add_subplot()
        (self.line,) = ax.plot([0, 1], [0, 1])
        self._moves(self.line)


def test_redraw_then_delete_at_once_runs_nothing_on_the_deleted_canvas(
    qtbot, monkeypatch: pytest.MonkeyPatch
) -> None:
    errors: list[BaseException] = []
    monkeypatch.setattr(sys, "excepthook", lambda t, e, tb: errors.append(e))
    canvas = _Canvas()
    canvas.resize(300, 240)
    canvas.draw()  # a background is kept: the next redraw blits at the next turn
    assert canvas._background is not None
    canvas.line.set_xdata([0, 0.5])
    canvas.redraw_moving()
    delete(canvas)  # the panel is shut down right after a refresh
    for _ in range(3):
        QApplication.processEvents()
    assert errors == []


def test_a_queued_redraw_still_blits(qtbot) -> None:
    canvas = _Canvas()
    qtbot.addWidget(canvas)
    canvas.resize(300, 240)
    canvas.draw()
    blits: list[int] = []
    canvas.update = lambda *a: blits.append(1)  # type: ignore[method-assign]
    canvas.redraw_moving()
    canvas.redraw_moving()  # a burst coalesces into one blit
    qtbot.waitUntil(lambda: bool(blits), timeout=2000)
    QApplication.processEvents()
    assert blits == [1]
