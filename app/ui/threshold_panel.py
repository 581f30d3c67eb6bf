"""The Threshold panel: a supervisor explores what each decision threshold does, then applies one.

All numbers come from ``app.core.thresholds.ThresholdAnalysis`` (built once per dataset, then
O(log n) per threshold); this module wires controls to it and shows the answers. The explored
threshold is kept as an exact float: the finders (best F1, cost, recall floor) return a real
score, and rounding it to the slider's 0.01 grid would show a different matrix than the core's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QSignalBlocker, Qt, QTimer
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.core.csv_input import RejectedRow, sniff
from app.core.errors import InputError
from app.core.labeled import read_labeled_scores
from app.core.state import ACTIVE_SCORER, THRESHOLD, AppContext
from app.core.thresholds import ThresholdAnalysis, cell_mask
from app.ui.threshold_plots import (
    ConfusionMatrixCanvas,
    PrecisionRecallCanvas,
    ThresholdCurvesCanvas,
    thin,
)
from app.ui.threshold_widgets import (
    CellItemsTable,
    LabelColumnDialog,
    ThresholdControls,
    fmt_threshold,
)
from app.ui.workers import Worker, WorkerPool

CURVE_THRESHOLDS = np.linspace(0.0, 1.0, 201)
MAX_LISTED = 1_000
OPEN_CSV = "open-csv"
CELL_NAMES = (("abusive caught", "abusive missed"), ("false alarms", "benign passed"))


@dataclass
class Dataset:
    """One labelled sample and everything derived from it once (the analysis and curves)."""

    name: str
    analysis: ThresholdAnalysis
    scores: np.ndarray  # float64, aligned with labels/texts/lines
    labels: np.ndarray
    texts: Sequence[str] | None = None
    lines: np.ndarray | None = None
    note: str = ""
    rejected: list[RejectedRow] = field(default_factory=list)
    curves: dict[str, np.ndarray] = field(default_factory=dict)
    pr: tuple[np.ndarray, np.ndarray] = (np.empty(0), np.empty(0))

    @classmethod
    def build(cls, name: str, scores: Any, labels: Any, **extra: Any) -> Dataset:
        scores = np.asarray(scores, dtype=np.float64)
        ds = cls(name, ThresholdAnalysis(scores, labels), scores, np.asarray(labels), **extra)
        ds.curves = ds.analysis.many(CURVE_THRESHOLDS)
        precision, recall, _ = ds.analysis.pr_curve()
        keep = thin(len(recall))  # one point per distinct score is far more than a plot shows
        ds.pr = (precision[keep], recall[keep])
        return ds


def cell_indices(ds: Dataset, threshold: float, row: int, col: int) -> np.ndarray:
    """Rows in matrix cell (row, col), abusive first (the core decides membership)."""
    return np.flatnonzero(cell_mask(ds.scores, ds.labels, threshold, row, col))


@dataclass
class _LabeledCsvJob:
    """Reads, scores and analyses a labelled CSV on a worker thread (all of it core calls)."""

    scorer: Any
    path: Path
    label_column: str
    options: dict[str, Any]

    def __call__(self, progress: Any, cancelled: Any) -> Dataset:
        data = read_labeled_scores(
            self.scorer,
            self.path,
            label_column=self.label_column,
            keep_texts=True,
            progress=lambda done, total: progress((done, total)),
            cancelled=cancelled,
            **self.options,
        )
        note = f"labels from “{data.label_column}”, texts from “{data.text_column}”"
        return Dataset.build(
            self.path.name, data.scores, data.labels, texts=data.texts, lines=data.lines,
            note=note, rejected=data.rejected,
        )  # fmt: skip


class ThresholdPanel(QWidget):
    """The supervisor's view: explore thresholds on labelled data and apply one app-wide."""

    title = "Threshold"

    def __init__(self, ctx: AppContext, pool: WorkerPool, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._ctx, self._pool = ctx, pool
        self._datasets: dict[str, Dataset] = {}
        self._current: Dataset | None = None
        self._threshold = float(ctx.state.threshold)
        self._why = ""  # where the explored threshold came from ("best F1", ...)
        self._cell: tuple[int, int] | None = None
        self._load: Worker | None = None
        self._applying = False
        self._build()
        self._unsubscribe = [
            ctx.state.observe(self._on_state, THRESHOLD),
            ctx.state.observe(self._on_state, ACTIVE_SCORER),
        ]
        self._load_bundled()

    def _build(self) -> None:
        c = self.controls = ThresholdControls(
            self._threshold, self._ctx.settings.reference_threshold
        )
        c.source.currentIndexChanged.connect(self._on_source_chosen)
        c.cancel_button.clicked.connect(self.cancel_loading)
        c.slider.valueChanged.connect(self._on_slider)
        c.spin.valueChanged.connect(self._on_spin)
        c.apply_button.clicked.connect(self.apply_threshold)
        c.best_f1_button.clicked.connect(self.find_best_f1)
        c.cost_button.clicked.connect(self.find_cost)
        c.recall_button.clicked.connect(self.find_recall_floor)
        c.reference_spin.valueChanged.connect(self._refresh)
        self.slider, self.spin = c.slider, c.spin

        self.matrix = ConfusionMatrixCanvas()
        self.matrix.cell_clicked.connect(self.show_cell)
        self.pr_plot = PrecisionRecallCanvas()
        self.curves = ThresholdCurvesCanvas()
        self.items = CellItemsTable()
        self.items_caption = QLabel()
        self.items_caption.setWordWrap(True)
        items_page = QWidget()
        items_layout = QVBoxLayout(items_page)
        items_layout.addWidget(self.items_caption)
        items_layout.addWidget(self.items, 1)
        self.tabs = QTabWidget()
        self.tabs.addTab(self.curves, "Metrics by threshold")
        self.tabs.addTab(items_page, "Items in the selected cell")
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
        self._cell_timer.setInterval(150)
        self._cell_timer.timeout.connect(self._list_cell)

    # --- data sources -----------------------------------------------------------------------

    def _load_bundled(self) -> None:
        """(Re)build the bundled entries from the active model's shipped evaluation set."""
        scorer = self._ctx.state.scorer
        arrays = scorer.bundle.arrays if scorer is not None else {}
        if "eval_scores.npy" not in arrays:
            self._set_notice("This model ships no evaluation set: open a labelled CSV.")
            self._rebuild_source(None)
            return
        scores, labels = arrays["eval_scores.npy"], arrays["eval_labels.npy"]
        origin = arrays.get("eval_origin.npy")
        note = f"held-out test set shipped with {scorer.version_label} (scores only, no texts)"
        self._datasets["bundled"] = Dataset.build(
            "Bundled evaluation set (all)", scores, labels, note=note
        )
        for name in np.unique(origin) if origin is not None else ():
            keep = origin == name
            self._datasets[f"bundled:{name}"] = Dataset.build(
                f"Bundled: {name}", scores[keep], labels[keep], note=note
            )
        self._rebuild_source("bundled")

    def show_dataset(
        self,
        name: str,
        scores: np.ndarray,
        labels: np.ndarray,
        texts: Sequence[str] | None = None,
        lines: np.ndarray | None = None,
    ) -> None:
        """Add a labelled sample (from Batch or a CSV) to the sources and show it."""
        scores = np.asarray(scores, dtype=np.float64)
        if any(len(x) != len(scores) for x in (labels, texts, lines) if x is not None):
            self._set_notice(f"Cannot show “{name}”: its columns differ in length.", error=True)
            return
        scored = np.isfinite(scores)  # blank texts have no score: they cannot be thresholded
        note = f"{len(scores) - int(scored.sum()):,} rows without a score left out"
        if scored.all():
            note = ""
        else:
            labels = np.asarray(labels)[scored]
            texts = [texts[i] for i in np.flatnonzero(scored)] if texts is not None else None
            lines = np.asarray(lines)[scored] if lines is not None else None
            scores = scores[scored]
        try:
            ds = Dataset.build(name, scores, labels, texts=texts, lines=lines, note=note)
        except ValueError as exc:  # ThresholdInputError: the sample cannot be analysed
            self._set_notice(f"Cannot show “{name}”: {exc}", error=True)
            return
        self._add(ds)

    def _add(self, ds: Dataset) -> None:
        key = f"data:{ds.name}"
        self._datasets.pop(key, None)  # the same name again replaces (and re-sorts) the entry
        self._datasets[key] = ds
        self._rebuild_source(key)

    def _rebuild_source(self, select: str | None) -> None:
        with QSignalBlocker(self.controls.source):
            self.controls.source.clear()
            for key, ds in self._datasets.items():
                self.controls.source.addItem(ds.name, key)
            self.controls.source.insertSeparator(self.controls.source.count())
            self.controls.source.addItem("Open labelled CSV…", OPEN_CSV)
            self.controls.source.setCurrentIndex(max(0, self.controls.source.findData(select)))
        self._select(select)

    def _on_source_chosen(self, index: int) -> None:
        key = self.controls.source.itemData(index)
        if key != OPEN_CSV:
            self._select(key)
            return
        with QSignalBlocker(self.controls.source):  # "Open…" is an action, not a selection
            previous = next((k for k, d in self._datasets.items() if d is self._current), None)
            self.controls.source.setCurrentIndex(max(0, self.controls.source.findData(previous)))
        self.open_labeled_csv()

    def open_labeled_csv(self) -> None:
        """Ask for a file and its label column, then load it in the background."""
        path, _ = QFileDialog.getOpenFileName(
            self, "Open labelled CSV", self._ctx.settings.last_folder,
            "CSV files (*.csv *.tsv *.txt);;All files (*)",
        )  # fmt: skip
        if not path:
            return
        try:
            sniffed = sniff(path)
        except (InputError, OSError) as exc:
            self._set_notice(f"Cannot read {Path(path).name}: {exc}", error=True)
            return
        dialog = LabelColumnDialog(Path(path).name, sniffed.header, sniffed.text_column, self)
        if dialog.exec():
            self.load_labeled_csv(
                path, dialog.label_column(), dialog.positive_values(), dialog.text_column()
            )

    def load_labeled_csv(
        self,
        path: str | Path,
        label_column: str,
        positive_values: Sequence[str] | None = None,
        text_column: str | None = None,
    ) -> None:
        """Score a labelled CSV with the active model on a worker; progress is shown here."""
        self.cancel_loading()
        options = {"positive_values": positive_values, "text_column": text_column}
        job = _LabeledCsvJob(self._ctx.state.scorer, Path(path), label_column, options)
        worker = Worker(job, f"load {Path(path).name}")
        for signal, slot in (
            (worker.signals.progress, self._on_load_progress),
            (worker.signals.finished, self._on_loaded),
            (worker.signals.failed, self._on_load_failed),
            (worker.signals.cancelled, self._on_load_cancelled),
            (worker.signals.done, self._on_load_done),
        ):
            signal.connect(slot)
        self._load = worker
        self._ctx.state.job_started()  # the window shows that something is running
        self.controls.set_loading(True)
        self._set_notice(f"Scoring {Path(path).name} with {self._ctx.state.scorer.version_label}…")
        self._pool.start(worker)

    def cancel_loading(self) -> None:
        """Stop the running load; its late signals are then ignored (see ``_from_load``)."""
        if self._load is None:
            return
        self._load.cancel()
        self._load = None
        self._ctx.state.job_finished()
        self.controls.set_loading(False)
        self._set_notice("Loading cancelled.")

    def _from_load(self) -> bool:
        """Whether the signal being handled comes from the load still wanted."""
        return self._load is not None and self.sender() is self._load.signals

    def _on_load_progress(self, value: tuple[int, int]) -> None:
        if self._from_load() and value[1]:
            self.controls.progress.setValue(int(1000 * value[0] / value[1]))

    def _on_loaded(self, ds: Dataset) -> None:
        if not self._from_load():
            return
        self._add(ds)
        self._set_notice("")

    def _on_load_failed(self, message: str) -> None:
        if self._from_load():
            self._set_notice(message, error=True)

    def _on_load_cancelled(self) -> None:
        if self._from_load():
            self._set_notice("Loading cancelled.")

    def _on_load_done(self) -> None:
        if self._from_load():
            self._load = None
            self._ctx.state.job_finished()
            self.controls.set_loading(False)

    # --- the explored threshold -------------------------------------------------------------

    @property
    def threshold(self) -> float:
        """The threshold being explored (exact; the slider shows its nearest 0.01)."""
        return self._threshold

    @property
    def dataset(self) -> Dataset | None:
        return self._current

    def _select(self, key: str | None) -> None:
        ds = self._datasets.get(key) if key else None
        self._current = ds
        self._cell = None
        self.matrix.select_cell(None)
        self.items.show_items([])
        self.items_caption.setText("Click a cell of the confusion matrix to list its items.")
        for widget in (self.controls.apply_button, self.controls.best_f1_button,
                       self.controls.cost_button, self.controls.recall_button):  # fmt: skip
            widget.setEnabled(ds is not None)
        if ds is None:
            self.controls.show_summary(None)
            return
        self.controls.show_summary(ds.analysis, ds.note, ds.rejected)
        self.curves.set_curves(ds.curves)
        self.pr_plot.set_curve(*ds.pr)
        self._refresh()

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

    def _refresh(self) -> None:
        """Show the explored threshold everywhere; the hot path of a slider drag."""
        ds = self._current
        if ds is None:
            return
        t, applied = self._threshold, self._ctx.state.threshold
        reference = self.controls.reference_spin.value()
        now, at_applied = ds.analysis.at(t), ds.analysis.at(applied)
        delta = ds.analysis.compare(t, reference)
        self.matrix.show_matrix(
            now.matrix_abusive_first(),
            f"At {fmt_threshold(t)}: {now.flagged:,} of {now.n:,} flagged "
            f"({100 * now.queue_rate:.1f}%)",
        )
        self.controls.table.show_metrics(now, delta.reference)
        self.curves.set_markers(t, applied, reference)
        self.pr_plot.set_points(
            (now.recall, now.precision), (at_applied.recall, at_applied.precision)
        )
        self.controls.show_comparison(delta)
        self.controls.show_status(t, applied, self._why, applied=round(t, 6) == applied)
        if self._cell is not None and ds.texts is not None:
            self._cell_timer.start()

    # --- finders ---------------------------------------------------------------------------

    def find_best_f1(self) -> None:
        if self._current is not None:
            m = self._current.analysis.best_f1()
            self.set_threshold(m.threshold, f"best F1 {m.f1:.3f}")

    def find_cost(self) -> None:
        if self._current is not None:
            ratio = self.controls.cost_spin.value()
            m = self._current.analysis.cost_threshold(fn_cost=ratio, fp_cost=1.0)
            self.set_threshold(m.threshold, f"lowest cost, a miss = {ratio:g} false alarms")

    def find_recall_floor(self) -> None:
        if self._current is None:
            return
        floor = self.controls.recall_spin.value()
        m = self._current.analysis.recall_floor(floor)
        if m is None:
            self._set_notice("This data has no abusive rows, so recall is undefined.", error=True)
            return
        self.set_threshold(m.threshold, f"highest with recall ≥ {floor:.2f}")

    # --- applying, and following the app-wide state ------------------------------------------

    def apply_threshold(self) -> None:
        """Make the explored threshold app-wide and record it in the activity log."""
        ds, previous = self._current, self._ctx.state.threshold
        if ds is None or round(self._threshold, 6) == previous:
            return
        self._applying = True
        try:
            self._ctx.state.set_threshold(self._threshold)
        except ValueError as exc:  # e.g. "flag nothing" just above a score of 1.0
            self._set_notice(str(exc), error=True)
            return
        finally:
            self._applying = False
        applied = self._ctx.state.threshold
        m = ds.analysis.at(applied)
        why = f"; {self._why}" if self._why else ""
        self._ctx.log(
            "threshold_applied",
            threshold=applied,
            detail=f"from {ds.name} (previous {fmt_threshold(previous, 6)}){why}",
            counts={"n": m.n, "tp": m.tp, "fp": m.fp, "fn": m.fn, "tn": m.tn},
        )
        self._set_notice(f"{fmt_threshold(applied)} is now the app-wide threshold.")
        self._refresh()

    def _on_state(self, name: str, value: Any) -> None:
        if name == THRESHOLD and not self._applying:
            self.set_threshold(value, "app-wide threshold changed")
        elif name == ACTIVE_SCORER:
            # Every sample here was scored by the previous model: keeping them would let a
            # supervisor apply a threshold chosen on another model's scores.
            self.cancel_loading()
            self._datasets.clear()
            self._load_bundled()
            if value is not None:
                self._set_notice(
                    f"Model changed to {value.version_label}: its evaluation set is shown; "
                    "samples scored by the previous model were removed."
                )

    # --- items of a matrix cell ------------------------------------------------------------

    def show_cell(self, row: int, col: int) -> None:
        """Select matrix cell (row, col), abusive first, and list its items if texts exist."""
        self._cell = (row, col)
        self.matrix.select_cell(self._cell)
        self._list_cell()
        self.tabs.setCurrentIndex(1)

    def _list_cell(self) -> None:
        ds, cell = self._current, self._cell
        if ds is None or cell is None:
            return
        name = CELL_NAMES[cell[0]][cell[1]]
        if ds.texts is None:
            self.items.show_items([])
            self.items_caption.setText(
                f"“{ds.name}” has no texts, so its {name} cannot be listed. Open a labelled CSV "
                "or send a batch from the Batch panel to see the items."
            )
            return
        t = self._threshold
        idx = cell_indices(ds, t, *cell)
        total = len(idx)
        # Closest to the threshold first: those are the items the next move would change.
        distance = np.abs(ds.scores[idx] - t)
        if total > MAX_LISTED:
            keep = np.argpartition(distance, MAX_LISTED - 1)[:MAX_LISTED]
            idx, distance = idx[keep], distance[keep]
        idx = idx[np.argsort(distance, kind="stable")]
        lines = ds.lines
        self.items.show_items(
            [
                (None if lines is None else int(lines[i]), float(ds.scores[i]), ds.texts[i])
                for i in idx
            ]
        )
        shown = (
            f"showing the {MAX_LISTED:,} closest to the threshold"
            if total > MAX_LISTED
            else "closest to the threshold first"
        )
        self.items_caption.setText(
            f"<b>{name.capitalize()}</b> at {fmt_threshold(t)}: {total:,} items, {shown}."
        )

    # --- messages and shutdown --------------------------------------------------------------

    def _set_notice(self, text: str, error: bool = False) -> None:
        self.controls.notice.setStyleSheet("color: #b03a2e" if error else "color: #555")
        self.controls.notice.setText(text)

    def shutdown(self) -> None:
        """Stop the timer, cancel the load, stop observing the state (the window is closing)."""
        self._cell_timer.stop()
        self.cancel_loading()
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe.clear()
