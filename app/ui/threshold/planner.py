"""The Threshold panel's planning: the supervisor's traffic, capacity, bands and confidence.

Wires the `planning` widgets to the core (`app.core.analysis.planning`, `workload`, `bands`,
`intervals`): inputs are kept in the settings (saved once typing settles), bootstraps run on the
worker pool once the slider settles (a newer request makes an older answer stale: it is
dropped), and the panel asks `day` for the per-day numbers it shows.
"""

from __future__ import annotations

import math
from typing import Any

from PySide6.QtCore import QObject, QSignalBlocker, QTimer, Signal

from app.core.analysis.bands import (
    BandPolicy,
    band_counts_per_day,
    band_warnings,
    find_bands,
)
from app.core.analysis.intervals import Capacity, Finder
from app.core.analysis.planning import (
    Planning,
    backlog_words,
    bootstrap_confidence,
    capacity_words,
    day_confidence_words,
    day_words,
    finder_interval_words,
    fmt_percent,
    planning_day,
    source_confidence_words,
    wilson_confidence,
)
from app.core.analysis.threshold_sources import Dataset
from app.core.analysis.thresholds import ThresholdInputError
from app.core.analysis.workload import Workload, capacity_threshold
from app.core.common.errors import AbuseDeskError
from app.core.context.state import AppContext
from app.ui.common.threshold_widgets import fmt_threshold
from app.ui.common.workers import Worker, WorkerPool, run_in_pool
from app.ui.threshold.estimate import PrevalenceEstimate
from app.ui.threshold.planning import BandsPage, ConfidenceBox, TrafficBox

BOOTSTRAP_DELAY_MS = 250  # the slider settles before a bootstrap starts
SAVE_DELAY_MS = 600  # typing settles before the settings file is written
PENDING = "…"


def _share(ds: Dataset) -> float:
    """The data source's own share of abuse (an audit sample's: its weighted estimate)."""
    return ds.analysis.positives / ds.analysis.n


class Planner(PrevalenceEstimate, QObject):
    """Owns the planning inputs and their widgets; tells the panel when to redraw."""

    changed = Signal()  # inputs changed: the panel redraws its counts
    move_to = Signal(float, str)  # explore this threshold (a finder's), with why
    bands_changed = Signal(object)  # BandPolicy or None: the cut lines on the curves
    apply_bands = Signal(object)  # BandPolicy: the panel applies it with a record
    warned = Signal(object, bool)  # (page, has warnings): the panel marks the page's tab

    def __init__(self, ctx: AppContext, pool: WorkerPool, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._ctx, self._pool = ctx, pool
        self.traffic, self.confidence, self.bands = TrafficBox(), ConfidenceBox(), BandsPage()
        self.planning = Planning.from_settings(ctx.settings)
        self._ds: Dataset | None = None
        self._t = math.nan
        self._gen = 0  # the newest bootstrap request; older answers are stale
        self._finder_gen = 0
        self._day_error = ""  # why the counts cannot be shown per day (one class only)
        self._fit_key: tuple[int, Planning] | None = None  # what the capacity label is for
        self._workers: list[Worker] = []
        self.band_warnings: list[str] = []  # what is wrong with the bands shown, said before Apply
        self._boot_timer = QTimer(self)
        self._boot_timer.setSingleShot(True)
        self._boot_timer.setInterval(BOOTSTRAP_DELAY_MS)
        self._boot_timer.timeout.connect(self._start_bootstrap)
        self._save_timer = QTimer(self)
        self._save_timer.setSingleShot(True)
        self._save_timer.setInterval(SAVE_DELAY_MS)
        self._save_timer.timeout.connect(self.save)
        self._restore()
        tb, bp = self.traffic, self.bands
        for spin in (tb.prevalence_spin, tb.volume_spin, tb.reviewers_spin, tb.items_spin):
            spin.valueChanged.connect(self._on_input)
        tb.per_day_check.toggled.connect(self._on_input)
        tb.estimate_button.clicked.connect(self.estimate_from_batch)
        tb.capacity_button.clicked.connect(self.move_to_capacity)
        bp.find_button.clicked.connect(self.find_bands)
        bp.review_spin.valueChanged.connect(self._on_cut)
        bp.escalate_spin.valueChanged.connect(self._on_cut)
        bp.apply_button.clicked.connect(self._apply_bands_clicked)

    def _restore(self) -> None:
        p, tb, bp = self.planning, self.traffic, self.bands
        with QSignalBlocker(tb.prevalence_spin), QSignalBlocker(tb.volume_spin), \
                QSignalBlocker(tb.reviewers_spin), QSignalBlocker(tb.items_spin):  # fmt: skip
            tb.show_inputs(p)
        if p.review_at is not None and p.escalate_at is not None:
            with QSignalBlocker(bp.review_spin), QSignalBlocker(bp.escalate_spin):
                bp.review_spin.setValue(p.review_at)
                bp.escalate_spin.setValue(p.escalate_at)

    # --- inputs ---------------------------------------------------------------------------

    @property
    def per_day(self) -> bool:
        """Counts are shown per day at the supervisor's traffic."""
        return self.planning.reweighting and self.traffic.per_day_check.isChecked()

    def _on_input(self, *_: Any) -> None:
        self.planning = self.traffic.inputs((self.planning.review_at, self.planning.escalate_at))
        self.traffic.caveat.hide()
        self._save_timer.start()
        self.changed.emit()

    def save(self, *also: str) -> str:
        """Write the planning inputs (and the settings fields ``also``, e.g. "threshold") to
        the settings file in one write; returns why it could not ("" when saved, also said on
        the panel)."""
        self._save_timer.stop()
        for name, value in self.planning.settings_values().items():
            setattr(self._ctx.settings, name, value)
        try:
            self._ctx.save_settings(*self.planning.settings_values(), *also)
        except (OSError, AbuseDeskError) as exc:
            self.traffic.caveat.setText(f"Not saved: {exc}")
            self.traffic.caveat.show()
            return str(exc)
        return ""

    # --- the data source and the explored threshold ------------------------------------------

    def show_dataset(self, ds: Dataset | None) -> None:
        self._ds, self._fit_key = ds, None
        self.update_estimate_button()
        self.confidence.finder_label.hide()
        self._finder_gen += 1  # a finder's interval belongs to its data source
        for button in (self.bands.find_button, self.bands.apply_button):
            button.setEnabled(ds is not None)
        self._show_band_counts()

    def day(self, ds: Dataset, threshold: float) -> Workload | None:
        """The explored threshold's day at the supervisor's traffic (None: not per day, or
        the source lacks a class, said in the confidence box)."""
        self._day_error = ""
        if not self.per_day:
            return None
        try:
            return planning_day(ds.analysis, threshold, self.planning)
        except ThresholdInputError as exc:  # shown instead of the day: counts are the source's
            self._day_error = f"Counts are the data source's own: {exc}."
            return None

    def refresh(self, ds: Dataset, threshold: float, day: Workload | None) -> None:
        """Capacity, backlog and confidence at ``threshold``; the bootstrap is (re)started."""
        self._t = threshold
        self.update_estimate_button()  # a batch may have been scored meanwhile
        self._show_capacity(ds, day)
        self._show_band_counts()  # per day at the traffic; warnings against the capacity
        self.traffic.day_label.setVisible(day is not None or bool(self._day_error))
        self.traffic.day_label.setText(self._day_error)
        if day is not None:
            self.traffic.day_label.setText(
                f"<b>{self.planning.traffic_words().capitalize()}:</b> {day_words(day)}"
            )
        c = wilson_confidence(ds.analysis, threshold, ds.resampler)
        self.confidence.source_label.setText(source_confidence_words(c, _share(ds)))
        self.confidence.warnings.setText("<br>".join(f"⚠ {w}" for w in c.warnings))
        self.confidence.warnings.setVisible(bool(c.warnings))
        self.warned.emit(self.confidence, bool(c.warnings))
        self.confidence.day_label.setVisible(day is not None)
        self._gen += 1
        if day is not None:
            self.confidence.day_label.setText(f"95% intervals at your traffic: {PENDING}")
        if day is not None or ds.resampler is not None:  # a sample's source intervals too
            self._boot_timer.start()

    def _show_capacity(self, ds: Dataset, day: Workload | None) -> None:
        tb, cap = self.traffic, self.planning.capacity
        if day is None and self.planning.reweighting:  # counts shown from the source
            try:
                day = planning_day(ds.analysis, self._t, self.planning)
            except ThresholdInputError:
                day = None
        ready = cap is not None and day is not None
        tb.capacity_button.setEnabled(ready)
        tb.backlog_label.setVisible(ready)
        if not ready:
            tb.capacity_label.setText(
                "Set the share of abuse, the volume and the capacity to see what fits."
            )
            return
        assert cap is not None and day is not None
        p, v = self.planning.prevalence or 0.0, self.planning.volume or 0.0
        key = (id(ds), self.planning)  # the fit does not move with the slider: computed once
        if self._fit_key != key:
            self._fit_key = key
            tb.capacity_label.setText(
                capacity_words(capacity_threshold(ds.analysis, p, v, cap), cap, ds.analysis)
            )
        tb.backlog_label.setText(backlog_words(day, cap))
        over = day.backlog_per_day(cap) > 0
        tb.backlog_label.setStyleSheet(f"color: {'#c0392b' if over else '#2e7d32'};")

    def move_to_capacity(self) -> None:
        ds, cap = self._ds, self.planning.capacity
        if ds is None or cap is None or not self.planning.reweighting:
            return
        p, v = self.planning.prevalence or 0.0, self.planning.volume or 0.0
        fit = capacity_threshold(ds.analysis, p, v, cap)
        self.move_to.emit(fit.threshold, f"fits capacity {cap:,.0f}/day")
        self.finder_interval(Capacity(p, v, cap))

    # --- work on the pool -------------------------------------------------------------------

    def _start_bootstrap(self) -> None:
        ds, gen, t, planning = self._ds, self._gen, self._t, self.planning
        if ds is None or (not planning.reweighting and ds.resampler is None):
            return

        def job(progress: Any, cancelled: Any) -> tuple[int, Any]:
            return gen, bootstrap_confidence(ds.analysis, t, planning, resampler=ds.resampler)

        self._track(run_in_pool(job, self._pool, name="bootstrap intervals",
                                on_finished=self._on_bootstrap, on_failed=self._on_failed))  # fmt: skip

    def _on_bootstrap(self, result: tuple[int, Any]) -> None:
        gen, confidence = result
        if gen != self._gen:
            return
        if confidence.method != "Wilson":  # a resampled source's own intervals came with it
            share = None if self._ds is None else _share(self._ds)
            self.confidence.source_label.setText(source_confidence_words(confidence, share))
        if not self.confidence.day_label.isHidden():
            p = self.planning.prevalence
            self.confidence.day_label.setText(day_confidence_words(confidence, p))

    def _on_failed(self, message: str) -> None:
        self.confidence.day_label.setText(f"No interval: {message}")

    def finder_interval(self, finder: Finder) -> None:
        """The 95 % interval of a finder's threshold, computed on the pool ("…" until then)."""
        if (ds := self._ds) is None:
            return
        self._finder_gen += 1
        gen, label = self._finder_gen, self.confidence.finder_label
        label.setText(f"{finder.name.capitalize()}: 95% interval of this threshold: {PENDING}")
        label.show()

        def job(progress: Any, cancelled: Any) -> tuple[int, str]:
            words = finder_interval_words(ds.analysis, finder, ds.resampler)
            return gen, f"{finder.name.capitalize()}: {words}"

        self._track(run_in_pool(job, self._pool, name="threshold interval",
                                on_finished=self._on_finder, on_failed=self._on_failed))  # fmt: skip

    def _on_finder(self, result: tuple[int, str]) -> None:
        gen, words = result
        if gen == self._finder_gen:
            self.confidence.finder_label.setText(words)

    def _track(self, worker: Worker) -> None:
        self._workers = [w for w in self._workers if w in self._pool.active] + [worker]

    def shutdown(self) -> None:
        self._boot_timer.stop()
        if self._save_timer.isActive():
            self.save()
        for worker in self._workers:
            worker.cancel()
        self._gen += 1
        self._finder_gen += 1

    # --- three bands ------------------------------------------------------------------------

    def policy(self) -> BandPolicy | None:
        """The cut points in the spin boxes (None if they cross: said on the page)."""
        try:
            return BandPolicy(self.bands.review_spin.value(), self.bands.escalate_spin.value())
        except ThresholdInputError:
            return None

    def _traffic_or_source(self, ds: Dataset) -> tuple[float, float, str]:
        """(prevalence, volume, words): the supervisor's traffic, else the source's own."""
        if self.planning.reweighting:
            p, v = self.planning.prevalence or 0.0, self.planning.volume or 0.0
            return p, v, self.planning.traffic_words()
        a = ds.analysis
        return a.positives / a.n, float(a.n), "in the data source"

    def find_bands(self) -> None:
        if (ds := self._ds) is None:
            return
        p, v, _ = self._traffic_or_source(ds)
        bp = self.bands
        try:
            found = find_bands(ds.analysis, p, v, min_precision=bp.precision_spin.value() / 100,
                               min_recall=bp.recall_spin.value() / 100)  # fmt: skip
        except ThresholdInputError as exc:
            bp.result.setText(f"No bands: {exc}")
            return
        if found.policy is None:
            bp.result.setText(f"No bands: {found.reason}")
            return
        with QSignalBlocker(bp.review_spin), QSignalBlocker(bp.escalate_spin):
            bp.review_spin.setValue(ds.analysis.readable(found.policy.review_at))
            bp.escalate_spin.setValue(ds.analysis.readable(found.policy.escalate_at))
        bp.result.setText(
            f"Found at {fmt_percent(p)} abusive: escalate ≥ {fmt_threshold(bp.escalate_spin.value())}"
            f", review ≥ {fmt_threshold(bp.review_spin.value())}"
            + "".join(f"; {note}" for note in found.notes)
        )
        self._on_cut()

    def _on_cut(self, *_: Any) -> None:
        self._show_band_counts()
        self.bands_changed.emit(self.policy())

    def _show_band_counts(self) -> None:
        bp, ds, policy = self.bands, self._ds, self.policy()
        bp.apply_button.setEnabled(ds is not None and policy is not None)
        self.band_warnings = []
        bp.show_warnings([])
        if ds is None:
            bp.counts.setText("")
            return
        if policy is None:
            bp.counts.setText("The review cut must not be above the escalate cut.")
            return
        p, v, words = self._traffic_or_source(ds)
        try:
            counts = band_counts_per_day(ds.analysis, policy, p, v)
        except ThresholdInputError as exc:
            bp.counts.setText(str(exc))
            return
        per = "per day " if self.planning.reweighting else ""
        bp.counts.setText(
            f"<b>Items {per}in each band</b> ({words}): "
            + ", ".join(f"{name} <b>{counts[name]:,.0f}</b>" for name in ("clear", "review",
                                                                          "escalate"))
        )  # fmt: skip
        capacity = self.planning.capacity if self.planning.reweighting else None
        self.band_warnings = band_warnings(
            policy, counts, capacity=capacity, app_wide=self._ctx.state.threshold
        )
        bp.show_warnings(self.band_warnings)

    def _apply_bands_clicked(self) -> None:
        if (policy := self.policy()) is not None:
            self.apply_bands.emit(policy)

    def keep_bands(self, policy: BandPolicy | None) -> str:
        """Remember the applied bands (None: a single threshold was applied) and save them
        with the app-wide threshold in one write, so the settings never hold the bands of one
        Apply and the threshold of another (whoever built the context). Returns why it could
        not save ("" when saved)."""
        self.planning = self.planning.with_(
            review_at=None if policy is None else policy.review_at,
            escalate_at=None if policy is None else policy.escalate_at,
        )
        return self.save("threshold")
