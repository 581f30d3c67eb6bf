"""The Threshold panel's data sources: the samples it holds and the one being shown.

The samples are kept by key ("bundled", "bundled:<origin>", "data:<name>") and listed in the
controls' source combo; choosing one emits ``selected``. Labelled CSVs arrive through a
``LabeledCsvLoader``; choosing "Open labelled CSV…" emits ``open_requested`` because asking
for a file is the panel's business.

Audit samples (`app.core.audit.sample_source`) are listed before the labelled-CSV action: the
samples reviewed in the labels store (their verdicts are used without an export, if the file is
unchanged) and "Open audit sample…" (a SAMPLE.csv with a filled verdict column). A sample is a
few hundred rows, read here at once; its Dataset is weighted, its counts estimates for the batch.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QSignalBlocker, Signal
from PySide6.QtWidgets import QFileDialog

from app.core.analysis.threshold_sources import (
    BUNDLED,
    Dataset,
    LabeledCsvJob,
    bundled_datasets,
)
from app.core.audit import sample_source
from app.core.audit.verdicts import LabelsStore
from app.core.common.errors import InputError
from app.core.common.paths import labels_db_path
from app.core.context.state import AppState
from app.ui.common.label_dialog import LabeledCsvRequest
from app.ui.common.labeled_loader import LabeledCsvLoader
from app.ui.common.workers import WorkerPool
from app.ui.threshold.controls import OPEN_CSV, ThresholdControls

OPEN_SAMPLE = "open-audit-sample"  # item data of "Open audit sample…", an action
KNOWN_SAMPLE = "audit:"  # + a path: a sample reviewed in the labels store


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

    def open_audit_sample(self, path: Path) -> None:
        """Show an audit sample, labelled by the labels store's verdicts for this very file if
        it has any, else by its verdict column; a notice (and no change) if it cannot be used."""
        try:
            if labels_db_path().exists():
                with LabelsStore.open_default() as store:
                    data = sample_source.from_path(path, store)
            else:  # nothing reviewed yet: do not create the store just to look
                data = sample_source.from_path(path)
            self.add(sample_source.audit_dataset(data))
        except (InputError, ValueError) as exc:  # ValueError: an unanalysable sample
            self._controls.show_notice(str(exc), error=True)
            return
        self._controls.show_notice("")

    def _known_samples(self) -> list[tuple[str, str]]:
        """(name, key) of the samples reviewed in the labels store; none if it cannot be read
        (the Review panel says why: here it would only hide the other sources)."""
        if not labels_db_path().exists():
            return []
        try:
            with LabelsStore.open_default() as store:
                known = sample_source.reviewed_samples(store)
        except InputError:
            return []
        return [
            (f"{sample_source.SOURCE_PREFIX}{Path(k.path).name} (reviewed)", KNOWN_SAMPLE + k.path)
            for k in known
        ]

    def _relist(self, select: str | None) -> None:
        self._controls.list_sources(((ds.name, key) for key, ds in self._datasets.items()), select)
        combo = self._controls.source
        with QSignalBlocker(combo):  # between the data and "Open labelled CSV…" (kept last)
            at = combo.count() - 2  # the controls' separator before "Open labelled CSV…"
            combo.insertSeparator(at)
            for name, key in [*self._known_samples(), ("Open audit sample…", OPEN_SAMPLE)]:
                at += 1
                combo.insertItem(at, name, key)
        self._select(select)

    def _select(self, key: str | None) -> None:
        self._current = self._datasets.get(key) if key else None
        self.selected.emit(self._current)

    def _on_chosen(self, index: int) -> None:
        key = self._controls.source.itemData(index)
        if key not in (OPEN_CSV, OPEN_SAMPLE) and not str(key).startswith(KNOWN_SAMPLE):
            self._select(key)
            return
        # "Open…" is an action, not a selection: the combo goes back to the data shown.
        shown = next((k for k, d in self._datasets.items() if d is self._current), None)
        self._controls.select_source(shown)
        if key == OPEN_CSV:
            self.open_requested.emit()
        elif key == OPEN_SAMPLE:
            name, _ = QFileDialog.getOpenFileName(
                self._controls, "Open a labelled audit sample", "", "CSV (*.csv)"
            )
            if name:
                self.open_audit_sample(Path(name))
        else:
            self.open_audit_sample(Path(str(key)[len(KNOWN_SAMPLE) :]))
