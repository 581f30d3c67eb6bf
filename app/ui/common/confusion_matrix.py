"""The Threshold panel's confusion matrix: a clickable 2x2 heatmap, abusive first.

Layout follows ``ThresholdMetrics.matrix_abusive_first``: rows are the actual class, columns the
predicted one, index 0 = abusive. Clicking a cell emits its (row, column) so the panel can list
the items in it.
"""

from __future__ import annotations

import numpy as np
from matplotlib.backend_bases import MouseEvent
from matplotlib.patches import Rectangle
from PySide6.QtCore import Signal
from PySide6.QtWidgets import QWidget

from app.ui.common.canvas import BlittingCanvas, plot_style
from app.ui.common.colours import ui_scale

COUNT_FONT_SIZE = 17
PERCENT_FONT_SIZE = 9.5
ROLE_FONT_SIZE = 9
TITLE_FONT_SIZE = 10.5


class ConfusionMatrixCanvas(BlittingCanvas):
    """2x2 heatmap, abusive first: rows actual, columns predicted (the core's layout).

    The colour is the row percentage, so a cell looks dark when most of its actual class lands
    there, whatever the class balance; the count is written on top.
    """

    cell_clicked = Signal(int, int)  # row (actual), column (predicted); 0 = abusive
    CLASSES = ("abusive", "benign")
    ROLES = (("caught", "missed"), ("false alarms", "correctly passed"))

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("Confusion matrix")  # its description: the counts shown
        with plot_style():
            ax = self.figure.add_subplot()
            self.axes = ax
            self._image = ax.imshow(
                np.zeros((2, 2)), cmap="Blues", vmin=0.0, vmax=100.0, aspect="auto"
            )
            ax.set_xticks([0, 1], list(self.CLASSES))
            ax.set_yticks([0, 1], list(self.CLASSES), rotation=90, va="center")
            ax.xaxis.tick_top()
            ax.xaxis.set_label_position("top")
            ax.set_xlabel("predicted", labelpad=6)
            ax.set_ylabel("actual", labelpad=6)
            ax.tick_params(length=0)
            for spine in ax.spines.values():
                spine.set_visible(False)
            cell = {"ha": "center", "va": "center"}
            self.count_texts = [
                [
                    ax.text(c, r - 0.12, "", fontsize=COUNT_FONT_SIZE, weight="bold", **cell)
                    for c in range(2)
                ]
                for r in range(2)
            ]
            self.percent_texts = [
                [ax.text(c, r + 0.1, "", fontsize=PERCENT_FONT_SIZE, **cell) for c in range(2)]
                for r in range(2)
            ]
            self._role_texts = [
                ax.text(c, r + 0.28, role, fontsize=ROLE_FONT_SIZE, style="italic", **cell)
                for r, roles in enumerate(self.ROLES)
                for c, role in enumerate(roles)
            ]
            self._selection = Rectangle(
                (-0.47, -0.47), 0.94, 0.94, fill=False, lw=3, ec="#f39c12", visible=False
            )
            ax.add_patch(self._selection)
            self.title = self.figure.suptitle("", fontsize=TITLE_FONT_SIZE, weight="bold")
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
            scale = float(np.clip(cell_px / 185, 0.75, 1.0)) * ui_scale()
            self._short = cell_px < 170 * ui_scale()  # "92.5%" instead of "92.5% of actual abusive"
            self._write_cells()
            for texts, size in (
                (self.count_texts, COUNT_FONT_SIZE),
                (self.percent_texts, PERCENT_FONT_SIZE),
            ):
                for text in (t for row in texts for t in row):
                    text.set_fontsize(size * scale)
            # "correctly passed" is the widest line: smaller still before it spills over.
            role_scale = float(np.clip(cell_px / 120, 0.6, 1.0))
            for text in self._role_texts:
                text.set_fontsize(ROLE_FONT_SIZE * role_scale * ui_scale())
        super().draw()

    def show_matrix(self, matrix: np.ndarray, title: str) -> None:
        """Show [[tp, fn], [fp, tn]] with counts and row percentages."""
        # Float counts are weighted estimates (an audit sample's): written "≈ 1,234", their
        # shares taken from the unrounded values.
        self._estimated = np.asarray(matrix).dtype.kind == "f"
        counts = np.asarray(matrix, dtype=np.float64 if self._estimated else np.int64)
        totals = counts.sum(axis=1, keepdims=True)
        share = np.divide(100.0 * counts, totals, out=np.zeros((2, 2)), where=totals > 0)
        self._image.set_data(share)
        self._counts, self._share = counts, share
        self._write_cells()
        self.set_title(self.title, title, TITLE_FONT_SIZE * ui_scale())
        (tp, fn), (fp, tn) = np.rint(counts).astype(np.int64).tolist()
        self.setAccessibleDescription(  # what a screen reader says instead of the picture
            f"{title}. {'Estimated, a' if self._estimated else 'A'}busive: {tp:,} caught, "
            f"{fn:,} missed. Benign: {fp:,} false alarms, {tn:,} correctly passed."
        )
        self.redraw_moving()

    def _write_cells(self) -> None:
        counts, share = self._counts, self._share
        for r in range(2):
            for c in range(2):
                colour = "white" if share[r, c] > 55 else "#1b1b1b"  # readable on dark blue
                of = "" if self._short else f" of actual {self.CLASSES[r]}"
                approx = "≈ " if getattr(self, "_estimated", False) else ""
                self.count_texts[r][c].set_text(f"{approx}{round(counts[r, c]):,}")
                self.percent_texts[r][c].set_text(f"{share[r, c]:.1f}%{of}")
                for text in (self.count_texts[r][c], self.percent_texts[r][c]):
                    text.set_color(colour)
                self._role_texts[2 * r + c].set_color(colour)

    def shown_counts(self) -> np.ndarray:
        """The counts as written in the cells (what the user reads), as [[tp, fn], [fp, tn]]."""
        return np.array(
            [
                [int(t.get_text().replace(",", "").removeprefix("≈ ") or 0) for t in row]
                for row in self.count_texts
            ]
        )

    def select_cell(self, cell: tuple[int, int] | None) -> None:
        """Outline the selected cell (row, column), or none."""
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
