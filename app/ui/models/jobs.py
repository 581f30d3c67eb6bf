"""The Models panel's background work: listing, importing and loading model versions.

Each of these hashes whole bundles (~10 MB each), so none runs on the GUI thread. The jobs are
thin calls into `app.core.models.registry` / `app.core.models.model_import`; ``ModelJobs`` runs one at a time
(the panel disables its buttons meanwhile, so two switches can never race) and reports on the GUI
thread, tagged with the kind of job so the panel knows what the result is for.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal

from app.core.bundles.bundle import MANIFEST_NAME, sha256_file
from app.core.common.errors import ModelError
from app.core.engine.scoring import Scorer
from app.core.models.model_import import import_bundle
from app.core.models.registry import ModelEntry, ModelRegistry
from app.ui.common.model_card_view import MODEL_CARD
from app.ui.common.workers import Worker, WorkerPool, run_in_pool

MAX_CARD_BYTES = 1 << 20  # a card is a page or two; more is not worth the memory


@dataclass(frozen=True)
class ListedModel:
    """A registry entry plus what the details area shows that the entry does not hold."""

    entry: ModelEntry
    manifest_sha256: str | None = None  # None for a refused bundle
    card: str | None = None  # MODEL_CARD.md, read only from bundles that verified


@dataclass(frozen=True)
class ImportOutcome:
    listed: ListedModel  # the imported (or identical, already installed) version
    installed: bool
    source: Path
    listing: list[ListedModel]  # every version, re-listed after the import


def _read_card(folder: Path) -> str | None:
    path = folder / MODEL_CARD
    if path.is_symlink() or not path.is_file():
        return None
    with open(path, "rb") as fh:
        data = fh.read(MAX_CARD_BYTES + 1)
    text = data[:MAX_CARD_BYTES].decode("utf-8", errors="replace")
    return text + ("\n\n*(model card cut short)*" if len(data) > MAX_CARD_BYTES else "")


def _listed(entry: ModelEntry) -> ListedModel:
    if not entry.verified:
        return ListedModel(entry)
    try:
        return ListedModel(
            entry, sha256_file(entry.folder / MANIFEST_NAME), _read_card(entry.folder)
        )
    except OSError:  # removed since it verified a moment ago: the next listing will say so
        return ListedModel(entry)


def list_models(registry: ModelRegistry) -> list[ListedModel]:
    """Every installed version, checked again from disk (newest first)."""
    try:
        return [_listed(entry) for entry in registry.entries()]
    except OSError as exc:
        raise ModelError(f"the model folders cannot be read: {exc}") from None


def import_model(registry: ModelRegistry, source: Path) -> ImportOutcome:
    """Install a bundle folder or zip, then list again so the new row appears with it."""
    try:
        entry, installed = import_bundle(registry, source)
    except OSError as exc:  # e.g. removable media pulled out while copying
        raise ModelError(f"{source} could not be imported: {exc}") from None
    return ImportOutcome(_listed(entry), installed, source, list_models(registry))


def load_model(registry: ModelRegistry, ref: str) -> Scorer:
    """A verified Scorer under the registry's signature policy."""
    try:
        scorer = registry.load(ref)
    except OSError as exc:
        raise ModelError(f"model {ref} could not be read: {exc}") from None
    scorer.model.build_vectorizers()  # on this worker, if the model needs them (no fast path)
    return scorer


class ModelJobs(QObject):
    """Runs one Models-panel job at a time on the pool; results arrive tagged with its kind."""

    finished = Signal(str, object)  # kind, the job's result
    failed = Signal(str, str)  # kind, a message fit for a person
    running_changed = Signal(bool)

    def __init__(self, pool: WorkerPool, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._pool = pool
        self._worker: Worker | None = None
        self._kind = ""

    @property
    def busy(self) -> bool:
        return self._worker is not None

    def start(self, kind: str, job: Any, name: str) -> bool:
        """Run ``job(progress, cancelled)``; False (and nothing started) while another runs."""
        if self._worker is not None:
            return False
        self._kind = kind
        # Signals are queued to this (GUI) thread: none is handled before ``_worker`` is set.
        self._worker = run_in_pool(
            job,
            self._pool,
            name=name,
            on_finished=self._on_finished,
            on_failed=self._on_failed,
            on_cancelled=self._on_done,
            on_done=self._on_done,
        )
        self.running_changed.emit(True)
        return True

    def forget(self) -> None:
        """Ignore the running job's late signals (the panel is closing)."""
        if self._worker is not None:
            self._worker.cancel()
            self._worker = None

    def _current(self) -> bool:
        return self._worker is not None and self.sender() is self._worker.signals

    def _on_finished(self, result: Any) -> None:
        if self._current():
            self.finished.emit(self._kind, result)

    def _on_failed(self, message: str) -> None:
        if self._current():
            self.failed.emit(self._kind, message)

    def _on_done(self) -> None:
        if self._current():
            self._worker = None
            self.running_changed.emit(False)
