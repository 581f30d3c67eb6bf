"""The Threshold panel: a supervisor explores what each decision threshold does, then applies one.

All numbers come from ``app.core.analysis.thresholds.ThresholdAnalysis`` (built once per dataset, then
O(log n) per threshold); this module wires controls to it and shows the answers. The explored
threshold is kept as an exact float: the finders (best F1, cost, recall floor) return a real
score, and rounding it to the slider's 0.01 grid would show a different matrix than the core's.

This module coordinates the pieces: ``source_picker`` holds the labelled samples (built in
``app.core.analysis.threshold_sources``, loaded by ``app.ui.common.labeled_loader``),
``controls`` is the left column, and the confusion matrix and metric plots of ``app.ui.common``
and ``cells`` the right side.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from PySide6.QtCore import QSignalBlocker, Qt, QTimer, Signal
from PySide6.QtWidgets import QHBoxLayout, QPushButton, QSplitter, QTabWidget, QWidget

from app.core.analysis.intervals import BestF1, CostRatio, RecallFloor
from app.core.analysis.planning import (
    day_comparison_words,
    day_matrix,
    fmt_percent,
    planning_day,
)
from app.core.analysis.threshold_sources import CURVE_THRESHOLDS, Dataset, sample_dataset
from app.core.analysis.workload import Workload, curves_at_prevalence, pr_at_prevalence
from app.core.common.drill import RowOrigin, RowSource
from app.core.context.state import ACTIVE_SCORER, THRESHOLD, AppContext
from app.ui.common.confusion_matrix import ConfusionMatrixCanvas
from app.ui.common.label_dialog import LabeledCsvActions, LabeledCsvRequest
from app.ui.common.metric_plots import PrecisionRecallCanvas, ThresholdCurvesCanvas
from app.ui.common.threshold_widgets import fmt_threshold
from app.ui.common.workers import WorkerPool
from app.ui.threshold.applying import ApplyActions
from app.ui.threshold.cells import CellItemsPage
from app.ui.threshold.controls import ThresholdControls
from app.ui.threshold.planner import Planner
from app.ui.threshold.source_picker import SourcePicker

CELL_ITEMS_TAB = 1
BANDS_TAB = 2
CELL_RELIST_DELAY_MS = 150


class ThresholdPanel(LabeledCsvActions, ApplyActions, QWidget):
    """The supervisor's view: explore thresholds on labelled data and apply one app-wide."""

    title = "Threshold"
    open_in_score = Signal(object)  # RowOrigin: a matrix cell's item to explain in Score

    def __init__(self, ctx: AppContext, pool: WorkerPool, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._ctx = ctx
        self._threshold = float(ctx.state.threshold)
        self._why = ""  # where the explored threshold came from ("best F1", ...)
        self._cell: tuple[int, int] | None = None
        self._applying = False
        self._curves_key: tuple[int, float | None] | None = None  # what the curves show
        self.planner = Planner(ctx, pool, self)  # traffic, capacity, bands, confidence
        self._build()
        self._sources = SourcePicker(ctx.state, pool, self.controls, self)
        self._sources.selected.connect(self._show)
        self._sources.open_requested.connect(self.open_labeled_csv)
        self._unsubscribe = [
            ctx.state.observe(self._on_state, THRESHOLD),
            ctx.state.observe(self._on_state, ACTIVE_SCORER),
        ]
        self._sources.show_bundled(ctx.state.scorer)

    def _build(self) -> None:
        c = self.controls = ThresholdControls(
            self._threshold, self._ctx.settings.reference_threshold
        )
        c.slider.valueChanged.connect(self._on_slider)
        c.spin.valueChanged.connect(self._on_spin)
        c.apply_button.clicked.connect(self._apply_clicked)
        self.records_button = QPushButton("Decision records…")
        self.records_button.clicked.connect(self.show_decision_records)
        c.apply_button.parentWidget().layout().addWidget(self.records_button)  # under Apply
        c.best_f1_button.clicked.connect(self.find_best_f1)
        c.cost_button.clicked.connect(self.find_cost)
        c.recall_button.clicked.connect(self.find_recall_floor)
        c.reference_spin.valueChanged.connect(self._refresh)
        self.slider, self.spin = c.slider, c.spin
        pl = self.planner
        # short names: the three tabs must fit the column at 1024x700 (and "Confidence ⚠")
        c.insert_tab(1, pl.traffic, "Traffic", "Your traffic: share of abuse, volume, capacity")
        c.insert_tab(2, pl.confidence, "Confidence", "95% intervals and small-sample warnings")
        if pl.planning.reweighting:  # the supervisor planned before: show it first
            c.pages.setCurrentWidget(pl.traffic)
        pl.changed.connect(self._refresh)
        pl.warned.connect(c.mark_page)
        pl.move_to.connect(self._found)
        pl.apply_bands.connect(self._apply_bands_clicked)

        self.matrix = ConfusionMatrixCanvas()
        self.matrix.cell_clicked.connect(self.show_cell)
        self.pr_plot = PrecisionRecallCanvas()
        self.curves = ThresholdCurvesCanvas()
        self.cell_items = CellItemsPage()
        self.items, self.items_caption = self.cell_items.table, self.cell_items.caption
        self.cell_items.open_requested.connect(self.open_in_score)
        self.tabs = QTabWidget()
        self.tabs.addTab(self.curves, "Metrics by threshold")
        self.tabs.addTab(self.cell_items, "Items in the selected cell")  # CELL_ITEMS_TAB
        self.tabs.addTab(pl.bands, "Three-band policy")  # BANDS_TAB
        pl.bands_changed.connect(self._show_bands)
        if pl.planning.review_at is not None:  # bands applied before: their cut lines
            self._show_bands(pl.policy())
        top = QSplitter(Qt.Orientation.Horizontal)
        top.addWidget(self.matrix)
        top.addWidget(self.pr_plot)
        right = QSplitter(Qt.Orientation.Vertical)
        right.addWidget(top)
        right.addWidget(self.tabs)
        right.setSizes([420, 380])
        layout = QHBoxLayout(self)
        layout.addWidget(c)
        layout.addWidget(right, 1)
        self._cell_timer = QTimer(self)  # re-list the selected cell once the slider settles
        self._cell_timer.setSingleShot(True)
        self._cell_timer.setInterval(CELL_RELIST_DELAY_MS)
        self._cell_timer.timeout.connect(self._list_cell)

    # --- data sources -----------------------------------------------------------------------

    def show_dataset(
        self,
        name: str,
        scores: np.ndarray,
        labels: np.ndarray,
        texts: Sequence[str] | None = None,
        lines: np.ndarray | None = None,
        source: RowSource | None = None,
    ) -> None:
        """Add a labelled sample (from Batch or a CSV; rows without a score left out) to the
        sources and show it."""
        try:
            ds = sample_dataset(name, scores, labels, texts, lines, source)
        except ValueError as exc:  # mismatched columns, or ThresholdInputError
            self.controls.show_notice(f"Cannot show “{name}”: {exc}", error=True)
            return
        self._sources.add(ds)

    def show_item(self, origin: RowOrigin) -> bool:
        """Back from the Score panel: the cell's list, the item selected if still listed."""
        self.tabs.setCurrentIndex(CELL_ITEMS_TAB)
        return self.cell_items.select(origin)

    def _show_csv_error(self, message: str) -> None:
        self.controls.show_notice(message, error=True)

    def _score_labeled_csv(self, request: LabeledCsvRequest) -> None:
        """Score a labelled CSV with the active model on a worker; progress is shown here."""
        self._sources.load_labeled_csv(request)

    def cancel_loading(self) -> None:
        """Stop the running load; its late signals are then ignored."""
        self._sources.cancel_loading()

    # --- the explored threshold -------------------------------------------------------------

    @property
    def threshold(self) -> float:
        """The threshold being explored (exact; the slider shows its nearest 0.01)."""
        return self._threshold

    @property
    def dataset(self) -> Dataset | None:
        """The labelled sample being shown."""
        return self._sources.current

    def _show(self, ds: Dataset | None) -> None:
        """Show a newly selected sample (or none) at the explored threshold."""
        self._cell = None
        self.matrix.select_cell(None)
        self.cell_items.clear()
        self.controls.enable_actions(ds is not None)
        self.planner.show_dataset(ds)
        if ds is None:
            self.controls.show_summary(None)
            return
        self.controls.show_summary(ds.analysis, ds.note, ds.rejected, ds.blank)
        self._curves_key = None
        self._refresh()

    def _show_curves(self, ds: Dataset, day: Workload | None) -> None:
        """The curves at the supervisor's traffic when the counts are per day (precision, F1
        and the queue rate re-weighted, recall unchanged), else the data source's; titled so.
        Redrawn only when the source or the share changes, not at each slider step."""
        p = day.prevalence if day is not None else None
        if self._curves_key == (id(ds), p):
            return
        self._curves_key = (id(ds), p)
        if p is None:
            a = ds.analysis
            where = f"in the data source ({fmt_percent(a.positives / a.n)} abusive)"
            self.curves.set_curves(ds.curves, where)
            self.pr_plot.set_curve(*ds.pr, where)
            return
        where = f"at {fmt_percent(p)} abusive"
        self.curves.set_curves(curves_at_prevalence(ds.analysis, CURVE_THRESHOLDS, p), where)
        self.pr_plot.set_curve(*pr_at_prevalence(ds.analysis, p), where)

    def set_threshold(self, threshold: float, why: str = "") -> None:
        """Explore ``threshold`` exactly; the slider and spin box follow without feeding back."""
        self._threshold, self._why = float(threshold), why
        with QSignalBlocker(self.slider), QSignalBlocker(self.spin):
            self.slider.setValue(round(100 * min(max(self._threshold, 0.0), 1.0)))
            self.spin.setValue(self._threshold)
        self._refresh()

    def _on_slider(self, value: int) -> None:
        self.set_threshold(value / 100)

    def _on_spin(self, value: float) -> None:
        if value != round(self._threshold, 4):  # not just the spin box rounding our own value
            self.set_threshold(value)

    def _is_app_wide(self, threshold: float) -> bool:
        # Exact: AppState keeps thresholds unrounded, so an applied finder value compares equal.
        return threshold == self._ctx.state.threshold

    def _refresh(self) -> None:
        """Show the explored threshold everywhere; the hot path of a slider drag."""
        ds = self.dataset
        if ds is None:
            return
        t, applied = self._threshold, self._ctx.state.threshold
        reference = self.controls.reference_spin.value()
        delta = ds.analysis.compare(t, reference)
        now, at_applied = delta.new, ds.analysis.at(applied)
        day = self.planner.day(ds, t)
        if day is None:
            self.matrix.show_matrix(
                now.matrix_abusive_first(),
                f"At {fmt_threshold(t)}: {now.flagged:,} of {now.n:,} flagged "
                f"({100 * now.queue_rate:.1f}%)",
            )
        else:  # re-weighted to the supervisor's traffic, and labelled so
            traffic = self.planner.planning.traffic_words()
            self.matrix.show_matrix(
                day_matrix(day),
                f"At {fmt_threshold(t)}, {traffic}: {day.flagged_per_day:,.0f} flagged",
            )
        self.controls.table.show_metrics(now, delta.reference)
        self._show_curves(ds, day)
        self.curves.set_markers(t, applied, reference)
        if day is None:
            points = (now.recall, now.precision), (at_applied.recall, at_applied.precision)
        else:  # on the re-weighted curve
            at = curves_at_prevalence(ds.analysis, [t, applied], day.prevalence)
            points = (at["recall"][0], at["precision"][0]), (at["recall"][1], at["precision"][1])
        self.pr_plot.set_points(*points)
        self.controls.show_comparison(delta)
        if day is not None:
            ref_day = planning_day(ds.analysis, reference, self.planner.planning)
            self.controls.comparison.setText(day_comparison_words(day, ref_day, traffic))
        self.planner.refresh(ds, t, day)
        self.controls.show_status(t, applied, self._why, applied=self._is_app_wide(t))
        if self._cell is not None and ds.texts is not None:
            self._cell_timer.start()

    # --- finders ---------------------------------------------------------------------------

    def _found(self, threshold: float, why: str) -> None:
        """Explore a finder's threshold as a readable decimal deciding every item alike
        (0.97, not 0.9768937216042155); a wide tie is said, with its range."""
        analysis = self.dataset.analysis  # type: ignore[union-attr]
        span = analysis.alike_range(threshold)
        if span is not None and span[1] - span[0] >= 0.01:
            low, high = (fmt_threshold(x) for x in span)
            why += f"; any threshold from {low} to {high} decides these items alike"
        self.set_threshold(analysis.readable(threshold), why)

    def find_best_f1(self) -> None:
        if (ds := self.dataset) is not None:
            m = ds.analysis.best_f1()
            self._found(m.threshold, f"best F1 {m.f1:.3f}")
            self.planner.finder_interval(BestF1())

    def find_cost(self) -> None:
        if (ds := self.dataset) is not None:
            ratio = self.controls.cost_spin.value()
            m = ds.analysis.cost_threshold(fn_cost=ratio, fp_cost=1.0)
            self._found(m.threshold, f"lowest cost, a miss = {ratio:g} false alarms")
            self.planner.finder_interval(CostRatio(fn_cost=ratio, fp_cost=1.0))

    def find_recall_floor(self) -> None:
        if (ds := self.dataset) is None:
            return
        floor = self.controls.recall_spin.value()
        m = ds.analysis.recall_floor(floor)
        if m is None:
            self.controls.show_notice(
                "This data has no abusive rows, so recall is undefined.", error=True
            )
            return
        self._found(m.threshold, f"highest with recall ≥ {floor:.2f}")
        self.planner.finder_interval(RecallFloor(floor))

    # --- applying, and following the app-wide state ------------------------------------------

    def _on_state(self, name: str, value: Any) -> None:
        if name == THRESHOLD and not self._applying:
            self.set_threshold(value, "app-wide threshold changed")
        elif name == ACTIVE_SCORER:
            # Every sample here was scored by the previous model: keeping them would let a
            # supervisor apply a threshold chosen on another model's scores.
            self.cancel_loading()
            self._sources.show_bundled(value)
            if value is not None:
                self.controls.show_notice(
                    f"Model changed to {value.version_label}: its evaluation set is shown; "
                    "samples scored by the previous model were removed."
                )

    # --- items of a matrix cell ------------------------------------------------------------

    def show_cell(self, row: int, col: int) -> None:
        """Select matrix cell (row, col), abusive first, and list its items if texts exist."""
        self._cell = (row, col)
        self.matrix.select_cell(self._cell)
        self._list_cell()
        self.tabs.setCurrentIndex(CELL_ITEMS_TAB)

    def _list_cell(self) -> None:
        if (ds := self.dataset) is not None and self._cell is not None:
            self.cell_items.show_cell(ds, self._threshold, self._cell)

    # --- shutdown ---------------------------------------------------------------------------

    def shutdown(self) -> None:
        """Stop the timer, cancel the load, stop observing the state (the window is closing)."""
        self._cell_timer.stop()
        self.planner.shutdown()
        self.cancel_loading()
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe.clear()
