"""The Threshold panel's curve plots: metrics against the threshold, and precision vs recall.

Both only move their markers when the threshold moves (see ``threshold_canvas`` for why).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from PySide6.QtWidgets import QWidget

from app.ui.common.canvas import BlittingCanvas, plot_style
from app.ui.common.colours import is_dark
from app.ui.common.threshold_widgets import fmt_threshold

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
BAND_COLOUR = "#16a085"
MAX_CURVE_POINTS = 2_000
BAND_LABEL_PAD = 6.0  # pixels: band labels closer than this are merged into one label
CURVES_TITLE = "Metrics by threshold"
PR_TITLE = "Precision vs recall"


def exploring_colour() -> str:
    """Near-black on a light figure, near-white on a dark one (the theme's)."""
    return "#e8e8e8" if is_dark() else EXPLORING


# a line of a million vertices would make every redraw slow


class _ExploringFollowsTheme:
    """The exploring marker is near-black or near-white by theme: recolour it (and its legend
    entry) when Preferences changes the theme."""

    exploring: Any
    figure: Any

    def restyle(self, font_ratio: float) -> None:
        super().restyle(font_ratio)  # type: ignore[misc]
        colour = exploring_colour()
        self.exploring.set_color(colour)
        for ax in self.figure.axes:
            legend = ax.get_legend()
            if legend is None:
                continue
            for handle, text in zip(legend.legend_handles, legend.get_texts(), strict=False):
                if text.get_text() == "exploring" and handle is not None:
                    handle.set_color(colour)


def thin(n: int, limit: int = MAX_CURVE_POINTS) -> np.ndarray:
    """Indices of at most ``limit`` evenly spread points out of ``n``, first and last kept."""
    if n <= limit:
        return np.arange(n)
    return np.unique(np.linspace(0, n - 1, limit).round().astype(np.int64))


class ThresholdCurvesCanvas(_ExploringFollowsTheme, BlittingCanvas):
    """Precision, recall, F1 and queue rate against the threshold, with marker lines."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("Precision, recall, F1 and queue rate by threshold")
        with plot_style():
            ax = self.figure.add_subplot()
            self.axes = ax
            self.lines = {
                key: ax.plot([], [], color=colour, lw=2, label=METRIC_NAMES[key])[0]
                for key, colour in METRIC_COLORS.items()
            }
            self.lines["queue_rate"].set_linestyle((0, (4, 2)))
            self.exploring = ax.axvline(0.45, color=exploring_colour(), lw=1.6, label="exploring")
            self.app_wide = ax.axvline(0.45, color=APP_WIDE, lw=1.4, ls="--", label="app-wide")
            self.reference = ax.axvline(0.5, color=REFERENCE, lw=1.4, ls=":", label="reference")
            # the three-band policy's cut points (hidden until the panel shows bands)
            self.band_lines = tuple(
                ax.axvline(x, color=BAND_COLOUR, lw=1.2, ls=ls, visible=False)
                for x, ls in ((0.3, (0, (1, 1))), (0.8, (0, (6, 2))))
            )
            self.band_texts = tuple(
                ax.text(x, 1.0, name, color=BAND_COLOUR, fontsize=8, ha="center", va="bottom",
                        visible=False)
                for x, name in ((0.3, "review"), (0.8, "escalate"))
            )  # fmt: skip
            ax.set_xlim(0, 1)
            ax.set_ylim(0, 1.02)
            ax.set_xlabel("threshold (flag when score ≥ threshold)")
            ax.set_ylabel("share")
            ax.grid(alpha=0.25)
            ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
            self.title = ax.set_title(CURVES_TITLE, loc="left")
            self._title_size = self.title.get_fontsize()
        self._moves(self.reference, self.app_wide, self.exploring, *self.band_lines,
                    *self.band_texts)  # fmt: skip
        self._band_cuts: tuple[float, float] | None = None  # the cuts the labels are placed for

    def set_bands(self, cuts: tuple[float, float] | None) -> None:
        """Show the review and escalate cut lines at ``cuts`` (None: hide them)."""
        for line, text, x in zip(self.band_lines, self.band_texts, cuts or (0.0, 0.0), strict=True):
            line.set_visible(cuts is not None)
            text.set_visible(cuts is not None)
            line.set_xdata([x, x])
            text.set_x(x)
        self._band_cuts = None
        if cuts is not None:
            self._place_band_texts(*cuts)
        self.redraw_moving()

    def _place_band_texts(self, review: float, escalate: float) -> None:
        """One label per cut line, unless the two labels' measured extents (at the canvas's
        current width and font) would touch: then one label for both ("review = escalate
        0.94", "review 0.84 · escalate 0.99") beside the lines, so two labels never print over
        each other at any width; a label near the right edge is drawn to the left of its line,
        inside the axes. Run again before each draw of the moving artists (`_draw_moving`):
        a resize or a font change moves the extents, not the cuts."""
        self._band_cuts = (review, escalate)
        review_text, escalate_text = self.band_texts
        review_text.set_text("review")
        escalate_text.set_text("escalate")
        review_text.set_visible(True)
        review_text.set_x(review)
        escalate_text.set_x(escalate)
        review_text.set_ha("center")
        escalate_text.set_ha("right" if escalate > 0.92 else "center")
        if review != escalate and not self._band_texts_touch():
            return
        review_text.set_visible(False)
        r, e = fmt_threshold(review), fmt_threshold(escalate)
        both = f"review = escalate {e}" if review == escalate else f"review {r} · escalate {e}"
        escalate_text.set_text(both)
        escalate_text.set_x(escalate if escalate > 0.5 else review)
        escalate_text.set_ha("right" if escalate > 0.5 else "left")

    def _band_texts_touch(self) -> bool:
        """The two band labels' window extents overlap or come within BAND_LABEL_PAD pixels."""
        renderer = self.get_renderer()
        a, b = (text.get_window_extent(renderer) for text in self.band_texts)
        return a.x0 < b.x1 + BAND_LABEL_PAD and b.x0 < a.x1 + BAND_LABEL_PAD

    def _draw_moving(self) -> None:
        if self._band_cuts is not None and self.band_lines[0].get_visible():
            self._place_band_texts(*self._band_cuts)  # the extents follow the width
        super()._draw_moving()

    def set_curves(self, curves: Mapping[str, np.ndarray], where: str = "") -> None:
        """Plot ``ThresholdAnalysis.many`` output (one array per metric, plus "threshold"), or
        `workload.curves_at_prevalence`'s; ``where`` says which, in the title ("at 5%
        abusive")."""
        for key, line in self.lines.items():
            line.set_data(curves["threshold"], curves[key])
        self.set_title(self.title, f"{CURVES_TITLE} {where}".strip(), self._title_size)
        self.draw_idle()

    def set_markers(self, exploring: float, app_wide: float, reference: float) -> None:
        for line, x in (
            (self.exploring, exploring),
            (self.app_wide, app_wide),
            (self.reference, reference),
        ):
            line.set_xdata([x, x])
        self.redraw_moving()


class PrecisionRecallCanvas(_ExploringFollowsTheme, BlittingCanvas):
    """The precision-recall curve with the exploring and app-wide operating points."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("Precision-recall curve")
        with plot_style():
            ax = self.figure.add_subplot()
            self.axes = ax
            (self.curve,) = ax.plot([], [], color=METRIC_COLORS["precision"], lw=2)
            # not clipped: a point at recall or precision 1.0 sits on the axes' edge
            (self.app_wide,) = ax.plot(
                [], [], "o", ms=9, mfc="none", mec=APP_WIDE, mew=2, label="app-wide",
                clip_on=False,
            )  # fmt: skip
            (self.exploring,) = ax.plot(
                [], [], "o", ms=7, color=exploring_colour(), label="exploring", clip_on=False
            )
            ax.set_xlim(0, 1.03)  # room for a marker at recall 1.0 inside the frame
            ax.set_ylim(0, 1.04)
            ax.set_xlabel("recall (share of abusive caught)")
            ax.set_ylabel("precision (share of flags correct)")
            ax.grid(alpha=0.25)
            ax.legend(loc="lower left", frameon=False)
            self.title = ax.set_title(PR_TITLE, loc="left")
            self._title_size = self.title.get_fontsize()
        self._moves(self.app_wide, self.exploring)

    def set_curve(self, precision: np.ndarray, recall: np.ndarray, where: str = "") -> None:
        """Plot the curve (one point per distinct score: thinned to what a plot can show);
        ``where`` says at which share of abuse, in the title."""
        keep = thin(len(recall))
        self.curve.set_data(recall[keep], precision[keep])
        self.set_title(self.title, f"{PR_TITLE} {where}".strip(), self._title_size)
        self.draw_idle()

    def set_points(self, exploring: tuple[float, float], app_wide: tuple[float, float]) -> None:
        """Each point is (recall, precision)."""
        self.exploring.set_data([exploring[0]], [exploring[1]])
        self.app_wide.set_data([app_wide[0]], [app_wide[1]])
        self.redraw_moving()
