"""Matplotlib canvases of the Threshold panel: confusion matrix, metric curves, precision-recall.

Each canvas builds its artists once and afterwards only moves them (``set_data``, ``set_text``,
``set_xdata``): a supervisor drags the slider over a million rows and the core answers in
microseconds, so the plots must not be the bottleneck. New data goes through ``draw_idle``;
threshold moves redraw only the moving artists over a cached background (see ``_Canvas``), and
both coalesce bursts of moves (keyboard auto-repeat) into one redraw per event-loop turn.

pyplot is never imported: it keeps global figure state and may pick its own GUI backend.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import matplotlib
import numpy as np
from matplotlib.artist import Artist
from matplotlib.backend_bases import MouseEvent
from matplotlib.backends.backend_qtagg import FigureCanvasQTAgg
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from PySide6.QtCore import QTimer, Signal
from PySide6.QtGui import QPalette, QResizeEvent
from PySide6.QtWidgets import QSizePolicy, QWidget

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
METRIC_COLORS = {
    "precision": "#1f77b4",
    "recall": "#d62728",
    "f1": "#2ca02c",
    "queue_rate": "#7f7f7f",
}
METRIC_NAMES = {
    "precision": "precision",
    "recall": "recall",
    "f1": "F1",
    "queue_rate": "queue rate",
}
EXPLORING = "#1b1b1b"
APP_WIDE = "#8e44ad"
REFERENCE = "#e67e22"
MAX_CURVE_POINTS = 2_000  # a line of a million vertices would make every redraw slow


@contextmanager
def _style() -> Iterator[None]:
    # Artists read rcParams when they are created, so the style only needs to wrap construction.
    with matplotlib.rc_context(STYLE):
        yield


def thin(n: int, limit: int = MAX_CURVE_POINTS) -> np.ndarray:
    """Indices of at most ``limit`` evenly spread points out of ``n``, first and last kept."""
    if n <= limit:
        return np.arange(n)
    return np.unique(np.linspace(0, n - 1, limit).round().astype(np.int64))


class _Canvas(FigureCanvasQTAgg):
    """A canvas that redraws only its moving artists when the threshold moves (blitting).

    A full Agg draw of one of these figures takes 30-40 ms, mostly laying out and rendering
    ticks, labels and legends that never change with the threshold; three canvases per slider
    step would be ~100 ms, visibly laggy. So the moving artists are ``animated``: a full draw
    (at start, resize or new data, through ``draw_idle``) renders the static parts once, keeps
    them as a background, and each threshold step restores that background and draws only the
    moving artists (a few ms). Constrained layout runs on those full draws only.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        with _style():
            figure = Figure(layout="constrained", dpi=100)
        super().__init__(figure)
        self.setParent(parent)
        figure.set_facecolor(self.palette().color(QPalette.ColorRole.Base).name())
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(260, 220)
        self._moving: list[Artist] = []
        self._background: Any = None
        self._layout_stale = True
        self._blit_pending = False

    def _moves(self, *artists: Artist) -> None:
        for artist in artists:
            artist.set_animated(True)  # skipped by the full draw, drawn by _draw_moving
        self._moving.extend(artists)

    def draw(self) -> None:
        if self._layout_stale:  # the layout depends on the size only: freeze it in between
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
        elif not self._blit_pending:
            self._blit_pending = True
            QTimer.singleShot(0, self._blit)

    def _blit(self) -> None:
        self._blit_pending = False
        if self._background is not None:
            self.restore_region(self._background)
            self._draw_moving()
            self.update()  # paintEvent copies the Agg buffer to the screen


class ConfusionMatrixCanvas(_Canvas):
    """2x2 heatmap, abusive first: rows actual, columns predicted (the core's layout).

    The colour is the row percentage, so a cell looks dark when most of its actual class lands
    there, whatever the class balance; the count is written on top.
    """

    cell_clicked = Signal(int, int)  # row (actual), column (predicted); 0 = abusive
    CLASSES = ("abusive", "benign")
    ROLES = (("caught", "missed"), ("false alarms", "correctly passed"))

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        with _style():
            ax = self.figure.add_subplot()
            self.axes = ax
            self._image = ax.imshow(
                np.zeros((2, 2)), cmap="Blues", vmin=0.0, vmax=100.0, aspect="auto"
            )
            ax.set_xticks([0, 1], [f"{c}" for c in self.CLASSES])
            ax.set_yticks([0, 1], [f"{c}" for c in self.CLASSES], rotation=90, va="center")
            ax.xaxis.tick_top()
            ax.xaxis.set_label_position("top")
            ax.set_xlabel("predicted", labelpad=6)
            ax.set_ylabel("actual", labelpad=6)
            ax.tick_params(length=0)
            for spine in ax.spines.values():
                spine.set_visible(False)
            cell = {"ha": "center", "va": "center"}
            self.count_texts = [
                [ax.text(c, r - 0.12, "", fontsize=17, weight="bold", **cell) for c in range(2)]
                for r in range(2)
            ]
            self.percent_texts = [
                [ax.text(c, r + 0.1, "", fontsize=9.5, **cell) for c in range(2)] for r in range(2)
            ]
            self._role_texts = [
                ax.text(c, r + 0.28, self.ROLES[r][c], fontsize=9, style="italic", **cell)
                for r in range(2)
                for c in range(2)
            ]
            self._selection = Rectangle(
                (-0.47, -0.47), 0.94, 0.94, fill=False, lw=3, ec="#f39c12", visible=False
            )
            ax.add_patch(self._selection)
            self.title = self.figure.suptitle("", fontsize=10.5, weight="bold")
        texts = [t for grid in (self.count_texts, self.percent_texts) for row in grid for t in row]
        self._moves(self._image, *texts, *self._role_texts, self._selection, self.title)
        self._counts = np.zeros((2, 2), dtype=np.int64)
        self._share = np.zeros((2, 2))
        self._short = False
        self.mpl_connect("button_press_event", self._on_press)
        self.setToolTip("Click a cell to list the items in it (when the data has texts).")

    def draw(self) -> None:
        if self._layout_stale:  # resized: fit the cell texts to the cells' new width
            cell_px = (self.width() - 70) / 2
            scale = float(np.clip(cell_px / 185, 0.75, 1.0))
            self._short = cell_px < 170  # "92.5%" instead of "92.5% of actual abusive"
            self._write_cells()
            for texts, size in ((self.count_texts, 17), (self.percent_texts, 9.5)):
                for text in (t for row in texts for t in row):
                    text.set_fontsize(size * scale)
            for text in self._role_texts:
                text.set_fontsize(9 * scale)
            self.title.set_fontsize(10.5 * float(np.clip(self.width() / 380, 0.7, 1.0)))
        super().draw()

    def show_matrix(self, matrix: np.ndarray, title: str) -> None:
        """Show [[tp, fn], [fp, tn]] with counts and row percentages."""
        counts = np.asarray(matrix, dtype=np.int64)
        totals = counts.sum(axis=1, keepdims=True)
        share = np.divide(100.0 * counts, totals, out=np.zeros((2, 2)), where=totals > 0)
        self._image.set_data(share)
        self._counts, self._share = counts, share
        self._write_cells()
        self.title.set_text(title)
        self.redraw_moving()

    def _write_cells(self) -> None:
        counts, share = self._counts, self._share
        for r in range(2):
            for c in range(2):
                colour = "white" if share[r, c] > 55 else "#1b1b1b"
                of = "" if self._short else f" of actual {self.CLASSES[r]}"
                self.count_texts[r][c].set_text(f"{counts[r, c]:,}")
                self.percent_texts[r][c].set_text(f"{share[r, c]:.1f}%{of}")
                for text in (self.count_texts[r][c], self.percent_texts[r][c]):
                    text.set_color(colour)
                self._role_texts[2 * r + c].set_color(colour)

    def shown_counts(self) -> np.ndarray:
        """The counts as written in the cells (what the user reads), as [[tp, fn], [fp, tn]]."""
        return np.array(
            [[int(t.get_text().replace(",", "") or 0) for t in row] for row in self.count_texts]
        )

    def select_cell(self, cell: tuple[int, int] | None) -> None:
        self._selection.set_visible(cell is not None)
        if cell is not None:
            self._selection.set_xy((cell[1] - 0.47, cell[0] - 0.47))
        self.redraw_moving()

    @staticmethod
    def cell_at(x: float | None, y: float | None) -> tuple[int, int] | None:
        """The (row, column) under data coordinates, or None outside the matrix."""
        if x is None or y is None:
            return None
        row, col = round(y), round(x)
        return (row, col) if row in (0, 1) and col in (0, 1) else None

    def _on_press(self, event: MouseEvent) -> None:
        if event.inaxes is self.axes and (cell := self.cell_at(event.xdata, event.ydata)):
            self.cell_clicked.emit(*cell)


class ThresholdCurvesCanvas(_Canvas):
    """Precision, recall, F1 and queue rate against the threshold, with marker lines."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        with _style():
            ax = self.figure.add_subplot()
            self.axes = ax
            self.lines = {
                key: ax.plot([], [], color=colour, lw=2, label=METRIC_NAMES[key])[0]
                for key, colour in METRIC_COLORS.items()
            }
            self.lines["queue_rate"].set_linestyle((0, (4, 2)))
            self.exploring = ax.axvline(0.45, color=EXPLORING, lw=1.6, label="exploring")
            self.app_wide = ax.axvline(0.45, color=APP_WIDE, lw=1.4, ls="--", label="app-wide")
            self.reference = ax.axvline(0.5, color=REFERENCE, lw=1.4, ls=":", label="reference")
            ax.set_xlim(0, 1)
            ax.set_ylim(0, 1.02)
            ax.set_xlabel("threshold (flag when score ≥ threshold)")
            ax.set_ylabel("share")
            ax.grid(alpha=0.25)
            ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
            ax.set_title("Metrics by threshold", loc="left")
        self._moves(self.reference, self.app_wide, self.exploring)

    def set_curves(self, curves: Mapping[str, np.ndarray]) -> None:
        for key, line in self.lines.items():
            line.set_data(curves["threshold"], curves[key])
        self.draw_idle()

    def set_markers(self, exploring: float, app_wide: float, reference: float) -> None:
        for line, x in ((self.exploring, exploring), (self.app_wide, app_wide)):
            line.set_xdata([x, x])
        self.reference.set_xdata([reference, reference])
        self.redraw_moving()


class PrecisionRecallCanvas(_Canvas):
    """The precision-recall curve with the exploring and app-wide operating points."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        with _style():
            ax = self.figure.add_subplot()
            self.axes = ax
            (self.curve,) = ax.plot([], [], color=METRIC_COLORS["precision"], lw=2)
            (self.app_wide,) = ax.plot(
                [], [], "o", ms=9, mfc="none", mec=APP_WIDE, mew=2, label="app-wide"
            )
            (self.exploring,) = ax.plot([], [], "o", ms=7, color=EXPLORING, label="exploring")
            ax.set_xlim(0, 1.01)
            ax.set_ylim(0, 1.02)
            ax.set_xlabel("recall (share of abusive caught)")
            ax.set_ylabel("precision (share of flags correct)")
            ax.grid(alpha=0.25)
            ax.legend(loc="lower left", frameon=False)
            ax.set_title("Precision vs recall", loc="left")
        self._moves(self.app_wide, self.exploring)

    def set_curve(self, precision: np.ndarray, recall: np.ndarray) -> None:
        keep = thin(len(recall))
        self.curve.set_data(recall[keep], precision[keep])
        self.draw_idle()

    def set_points(self, exploring: tuple[float, float], app_wide: tuple[float, float]) -> None:
        """Each point is (recall, precision)."""
        self.exploring.set_data([exploring[0]], [exploring[1]])
        self.app_wide.set_data([app_wide[0]], [app_wide[1]])
        self.redraw_moving()
