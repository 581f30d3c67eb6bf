"""The base of the Threshold panel's matplotlib canvases: shared style and fast redraws.

Each canvas builds its artists once and afterwards only moves them (``set_data``, ``set_text``,
``set_xdata``): a supervisor drags the slider over a million rows and the core answers in
microseconds, so the plots must not be the bottleneck. New data goes through ``draw_idle``;
threshold moves redraw only the moving artists over a cached background (see
``BlittingCanvas``), and both coalesce bursts of moves (keyboard auto-repeat) into one redraw
per event-loop turn.

pyplot is never imported: it keeps global figure state and may pick its own GUI backend.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import matplotlib
from matplotlib.artist import Artist
from matplotlib.backends.backend_qtagg import FigureCanvasQTAgg
from matplotlib.colors import to_hex
from matplotlib.figure import Figure
from matplotlib.text import Text
from PySide6.QtCore import QTimer
from PySide6.QtGui import QPalette, QResizeEvent
from PySide6.QtWidgets import QApplication, QSizePolicy, QWidget

from app.ui.common.colours import is_dark, ui_scale

# The app's UI font, at sizes that stay legible on a 1280x800 screen.
STYLE = {
    "font.family": "DejaVu Sans",
    "font.size": 9.5,
    "axes.titlesize": 10.5,
    "axes.titleweight": "bold",
    "axes.labelsize": 9.5,
    "xtick.labelsize": 9,
    "ytick.labelsize": 9,
    "legend.fontsize": 8.5,
    "axes.spines.top": False,
    "axes.spines.right": False,
}


_STYLE_TEXT_COLOURS = {"#000000", "#e8e8e8"}  # the light and the dark style's text colour
_FONT_KEYS = ("font.size", "axes.titlesize", "axes.labelsize", "xtick.labelsize",
              "ytick.labelsize", "legend.fontsize")  # fmt: skip
# Text, axes and legend colours readable on a dark or black figure background.
_DARK_STYLE = {
    **{k: "#e8e8e8" for k in ("text.color", "axes.labelcolor", "xtick.color", "ytick.color")},
    "axes.edgecolor": "#bbbbbb",
    "axes.facecolor": "none",
    "legend.facecolor": "#2b2b2b",
    "legend.edgecolor": "#888888",
}


def current_style() -> dict[str, Any]:
    """``STYLE`` at the user's font size and, on a dark theme, with light text and axes."""
    style: dict[str, Any] = dict(STYLE)
    for key in _FONT_KEYS:
        style[key] = float(STYLE[key]) * ui_scale()  # type: ignore[arg-type]
    if is_dark():
        style.update(_DARK_STYLE)
    return style


@contextmanager
def plot_style() -> Iterator[None]:
    """Apply ``current_style()`` while artists are created (they read rcParams then, never
    later)."""
    with matplotlib.rc_context(current_style()):
        yield


class BlittingCanvas(FigureCanvasQTAgg):
    """A canvas that redraws only its moving artists when the threshold moves (blitting).

    A full Agg draw of one of these figures takes 30-40 ms, mostly laying out and rendering
    ticks, labels and legends that never change with the threshold; three canvases per slider
    step would be ~100 ms, visibly laggy. So the moving artists are ``animated``: a full draw
    (at start, resize or new data, through ``draw_idle``) renders the static parts once, keeps
    them as a background, and each threshold step restores that background and draws only the
    moving artists (a few ms). Constrained layout runs on those full draws only.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        with plot_style():
            figure = Figure(layout="constrained", dpi=100)
        super().__init__(figure)
        self.setParent(parent)
        # The application's palette (the theme): the canvas widget's own stays matplotlib's.
        figure.set_facecolor(QApplication.palette().color(QPalette.ColorRole.Base).name())
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(260, 220)
        self._moving: list[Artist] = []
        self._background: Any = None
        self._layout_stale = True
        # A child timer, not QTimer.singleShot(0, self._blit): deleting the canvas (a panel
        # shut down right after a refresh) deletes the timer too, so no blit runs on a deleted
        # C++ object ("Internal C++ object already deleted").
        self._blit_timer = QTimer(self)
        self._blit_timer.setSingleShot(True)
        self._blit_timer.setInterval(0)
        self._blit_timer.timeout.connect(self._blit)
        self._title: tuple[Text, str, float] | None = None  # (artist, full text, base size)

    def set_title(self, title: Text, text: str, size: float) -> None:
        """Show ``text`` in ``title``, fitted to the canvas width (see `_fit_title`)."""
        lines = title.get_text().count("\n")
        self._title = (title, text, size)
        self._fit_title()
        if title.get_text().count("\n") != lines:  # taller or shorter: lay the figure out again
            self._layout_stale, self._background = True, None

    def _fit_title(self) -> None:
        """A title wider than the canvas is set smaller (down to 80 %), then wrapped onto two
        or three lines: on a narrow window it must not run off both edges of the plot."""
        if self._title is None:
            return
        title, text, size = self._title
        renderer = self.get_renderer()
        title.set_text(text)
        # from where the title starts (a left title starts at the axes, not the figure's edge)
        start = max(0.0, title.get_window_extent(renderer).x0) if title.get_ha() == "left" else 0.0
        room = self.figure.bbox.width - start - 8
        for scale in (1.0, 0.9, 0.8):
            title.set_fontsize(size * scale)
            if title.get_window_extent(renderer).width <= room:
                return
        for lines in (2, 3):
            title.set_text(textwrap.fill(text, -(-len(text) // lines) + 2))
            if title.get_window_extent(renderer).width <= room:
                return

    def restyle(self, font_ratio: float) -> None:
        """Follow a changed theme and font size (Preferences, OK): the background, the text and
        axes colours that came from the style, and every font size times ``font_ratio``."""
        style = current_style()
        text_colour = style.get("text.color", "black")
        self.figure.set_facecolor(QApplication.palette().color(QPalette.ColorRole.Base).name())
        for text in self.figure.findobj(Text):
            text.set_fontsize(text.get_fontsize() * font_ratio)
            if to_hex(text.get_color()) in _STYLE_TEXT_COLOURS:  # not a cell's own colour
                text.set_color(text_colour)
        for ax in self.figure.axes:
            ax.tick_params(
                colors=style.get("xtick.color", "black"), labelsize=style["xtick.labelsize"]
            )
            ax.set_facecolor(style.get("axes.facecolor", "white"))
            for spine in ax.spines.values():
                spine.set_edgecolor(style.get("axes.edgecolor", "black"))
            if (legend := ax.get_legend()) is not None:
                legend.get_frame().set_facecolor(style.get("legend.facecolor", "white"))
        if self._title is not None:  # the fitted title starts again from its scaled size
            title, text, size = self._title
            self._title = (title, text, size * font_ratio)
        self._layout_stale = True
        self._background = None
        self.draw_idle()

    def _moves(self, *artists: Artist) -> None:
        """Declare artists that change with the threshold (drawn over the cached background)."""
        for artist in artists:
            artist.set_animated(True)  # skipped by the full draw, drawn by _draw_moving
        self._moving.extend(artists)

    def draw(self) -> None:
        if self._layout_stale:  # the layout depends on the size only: freeze it in between
            self._fit_title()
            self.figure.set_layout_engine("constrained")
        super().draw()
        if self._layout_stale:
            self.figure.set_layout_engine("none")
            self._layout_stale = False
        self._background = self.copy_from_bbox(self.figure.bbox)
        self._draw_moving()

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 (Qt override)
        self._layout_stale = True
        self._background = None
        super().resizeEvent(event)

    def _draw_moving(self) -> None:
        for artist in self._moving:
            self.figure.draw_artist(artist)

    def redraw_moving(self) -> None:
        """Show changed moving artists at the next event-loop turn (bursts coalesce)."""
        if self._background is None:
            self.draw_idle()
        elif not self._blit_timer.isActive():  # a burst coalesces into one blit
            self._blit_timer.start()

    def _blit(self) -> None:
        if self._background is not None:
            self.restore_region(self._background)
            self._draw_moving()
            self.update()  # paintEvent copies the Agg buffer to the screen
