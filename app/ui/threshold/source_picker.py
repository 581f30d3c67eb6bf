"""The Threshold panel's data sources: the samples it holds and the one being shown.

The samples are kept by key ("bundled", "bundled:<origin>", "data:<name>") and listed in the
controls' source combo; choosing one emits ``selected``. Labelled CSVs arrive through a
``LabeledCsvLoader``; choosing "Open labelled CSV…" emits ``open_requested`` because asking
for a file is the panel's business.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject, Signal

from app.core.analysis.threshold_sources import (
    BUNDLED,
    Dataset,
    LabeledCsvJob,
    bundled_datasets,
)
from app.core.context.state import AppState
from app.ui.common.label_dialog import LabeledCsvRequest
from app.ui.common.labeled_loader import LabeledCsvLoader
from app.ui.common.workers import WorkerPool
from app.ui.threshold.controls import OPEN_CSV, ThresholdControls


class SourcePicker(QObject):
    """Holds the labelled samples, lists them in the source combo, reports the chosen one."""

    selected = Signal(object)  # the Dataset now shown, or None
    open_requested = Signal()  # the user chose "Open labelled CSV…"

    def __init__(
        self,
        state: AppState,
        pool: WorkerPool,
        controls: ThresholdControls,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._state, self._controls = state, controls
        self._datasets: dict[str, Dataset] = {}
        self._current: Dataset | None = None
        self._loader = LabeledCsvLoader(state, pool, self)
        self._loader.running_changed.connect(controls.set_loading)
        self._loader.progress.connect(controls.progress.setValue)
        self._loader.loaded.connect(self._on_loaded)
        self._loader.failed.connect(lambda message: controls.show_notice(message, error=True))
        self._loader.cancelled.connect(lambda: controls.show_notice("Loading cancelled."))
        controls.source.currentIndexChanged.connect(self._on_chosen)
        controls.cancel_button.clicked.connect(self.cancel_loading)

    @property
    def current(self) -> Dataset | None:
        return self._current

    def show_bundled(self, scorer: Any) -> None:
        """Hold only ``scorer``'s shipped evaluation set (whole and per origin), and show it.

        Used at start and when the model changes: samples scored by another model must go.
        """
        self._datasets = bundled_datasets(scorer)
        if scorer is None:
            self._controls.show_notice("Loading model…")
        elif not self._datasets:
            self._controls.show_notice("This model ships no evaluation set: open a labelled CSV.")
        self._relist(BUNDLED if self._datasets else None)

    def load_labeled_csv(self, request: LabeledCsvRequest) -> None:
        """Score a labelled CSV with the active model on a worker, replacing any running load."""
        self.cancel_loading()
        r, scorer = request, self._state.scorer
        options = {"positive_values": r.positive_values, "text_column": r.text_column}
        self._loader.start(LabeledCsvJob(scorer, r.path, r.label_column, options))
        self._controls.show_notice(f"Scoring {r.path.name} with {scorer.version_label}…")

    def cancel_loading(self) -> None:
        """Stop the running load; its late signals are then ignored (see ``LabeledCsvLoader``)."""
        if self._loader.cancel():
            self._controls.show_notice("Loading cancelled.")

    def _on_loaded(self, ds: Dataset) -> None:
        self.add(ds)
        self._controls.show_notice("")

    def add(self, ds: Dataset) -> None:
        """Add ``ds`` to the list (replacing one of the same name) and show it."""
        key = f"data:{ds.name}"
        self._datasets.pop(key, None)  # the same name again replaces (and re-sorts) the entry
        self._datasets[key] = ds
        self._relist(key)

    def _relist(self, select: str | None) -> None:
        self._controls.list_sources(((ds.name, key) for key, ds in self._datasets.items()), select)
        self._select(select)

    def _select(self, key: str | None) -> None:
        self._current = self._datasets.get(key) if key else None
        self.selected.emit(self._current)

    def _on_chosen(self, index: int) -> None:
        key = self._controls.source.itemData(index)
        if key != OPEN_CSV:
            self._select(key)
            return
        # "Open…" is an action, not a selection: the combo goes back to the data shown.
        shown = next((k for k, d in self._datasets.items() if d is self._current), None)
        self._controls.select_source(shown)
        self.open_requested.emit()
