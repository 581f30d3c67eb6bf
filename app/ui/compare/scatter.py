"""The Compare panel's scatter: each item's champion score against its challenger score.

Points on the diagonal are items both models score alike; the threshold, drawn on both axes,
cuts the square into four quadrants, and the two off-diagonal ones (top left, bottom right) are
the items the models decide differently. Colour is the true label, so a supervisor sees at a
glance whose disagreements are right.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from PySide6.QtWidgets import QWidget

from app.core.analysis.compare import Agreement, PairedScores
from app.ui.common.canvas import BlittingCanvas, plot_style
from app.ui.common.colours import ui_scale
from app.ui.common.metric_plots import APP_WIDE

MAX_POINTS = 20_000  # more points than that only hide each other and slow every redraw
ABUSIVE_COLOUR, BENIGN_COLOUR, UNLABELLED_COLOUR = "#c0392b", "#2e86c1", "#7f8c8d"
CORNER_BOX = {"boxstyle": "round,pad=0.25", "fc": "white", "ec": "#bbbbbb", "alpha": 0.9}


def sample_indices(n: int, limit: int = MAX_POINTS, seed: int = 0) -> np.ndarray:
    """At most ``limit`` of ``n`` indices, a fixed random sample (same picture every time)."""
    if n <= limit:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, limit, replace=False))


class ScoreScatterCanvas(BlittingCanvas):
    """Champion score (x) vs challenger score (y), coloured by label, threshold on both axes."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("Champion and challenger scores, item by item")
        with plot_style():
            ax = self.figure.add_subplot()
            self.axes = ax
            ax.plot([0, 1], [0, 1], color="#999999", lw=1, ls=":", zorder=1)
            point: dict[str, Any] = {"s": 7, "alpha": 0.35, "linewidths": 0, "zorder": 2}
            self.benign = ax.scatter([], [], color=BENIGN_COLOUR, label="benign", **point)
            self.abusive = ax.scatter([], [], color=ABUSIVE_COLOUR, label="abusive", **point)
            self.v_line = ax.axvline(0.45, color=APP_WIDE, lw=1.4, ls="--", label="threshold")
            self.h_line = ax.axhline(0.45, color=APP_WIDE, lw=1.4, ls="--")
            corner: dict[str, Any] = {
                "fontsize": 8.5 * ui_scale(),
                "bbox": CORNER_BOX,
                "transform": ax.transAxes,
            }
            self.only_challenger = ax.text(0.02, 0.98, "", ha="left", va="top", **corner)
            self.only_champion = ax.text(0.98, 0.02, "", ha="right", va="bottom", **corner)
            ax.set_xlim(-0.01, 1.01)
            ax.set_ylim(-0.01, 1.01)
            ax.set_aspect("equal", adjustable="box")
            ax.grid(alpha=0.25)
            # One row above the axes: beside them it would steal the square plot's width.
            self.legend = ax.legend(
                loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=3, frameon=False,
                markerscale=2.5, borderaxespad=0.2, handletextpad=0.3, columnspacing=1.2,
            )  # fmt: skip
            for handle in self.legend.legend_handles:
                if handle is not None and hasattr(handle, "set_alpha"):
                    handle.set_alpha(1.0)
            self.title = self.figure.suptitle("", fontsize=10.5 * ui_scale(), weight="bold")
        self._moves(self.v_line, self.h_line, self.only_challenger, self.only_champion)

    def set_data(self, paired: PairedScores) -> None:
        """Plot a new pair of score columns (a fixed sample of them when there are many)."""
        keep = sample_indices(paired.n)
        x, y = paired.champion_scores[keep], paired.challenger_scores[keep]
        if paired.labels is None:
            abusive = np.zeros(len(keep), bool)
            self.benign.set_color(UNLABELLED_COLOUR)
        else:
            abusive = paired.labels[keep] == 1
            self.benign.set_color(BENIGN_COLOUR)
        self.benign.set_offsets(np.column_stack([x[~abusive], y[~abusive]]))
        self.abusive.set_offsets(np.column_stack([x[abusive], y[abusive]]))
        self.axes.set_xlabel(f"champion score ({paired.champion_label})")
        self.axes.set_ylabel(f"challenger score ({paired.challenger_label})")
        shown = (
            f"a sample of {len(keep):,} of {paired.n:,}"
            if len(keep) < paired.n
            else (f"{paired.n:,}")
        )
        self.set_title(self.title, f"Scores of both models on {shown} items", 10.5 * ui_scale())
        self._layout_stale = True  # the axis labels changed: lay out again on the next draw
        self.draw_idle()

    def set_threshold(self, agreement: Agreement) -> None:
        """Move the threshold lines and write how many items each model alone flags."""
        t = agreement.threshold
        self.v_line.set_xdata([t, t])
        self.h_line.set_ydata([t, t])
        self.only_challenger.set_text(f"only the challenger flags: {agreement.only_challenger:,}")
        self.only_champion.set_text(f"only the champion flags: {agreement.only_champion:,}")
        self.redraw_moving()

    def shown_points(self) -> int:
        """How many points are drawn (for tests)."""
        return sum(
            np.asarray(points.get_offsets()).shape[0] for points in (self.benign, self.abusive)
        )
