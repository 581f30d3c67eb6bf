"""The Models panel: the installed model versions, and the controls that change which one decides.

Everything here is a call into the core: `app.core.models.registry` lists and verifies versions,
`app.core.models.model_import` installs one, `app.core.context.model_switch` makes one active, rolls back or
sets a challenger (and writes the settings and the activity events). Listing, importing and
loading hash whole bundles, so they run on a worker (``ModelJobs``, one at a time); the switch
itself then happens on the GUI thread, where ``AppState`` lives.

The switch time shown ("switched in 0.18 s") runs from the click to the moment ``AppState``
reports the new model, i.e. what the analyst waits for: load, verification and the swap.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from PySide6.QtCore import QModelIndex
from PySide6.QtWidgets import QFileDialog, QVBoxLayout, QWidget

from app.core.common.errors import AbuseDeskError
from app.core.context import model_switch
from app.core.context.bootstrap import registry_of
from app.core.context.state import ACTIVE_SCORER, CHALLENGER, AppContext
from app.core.models.registry import ModelEntry, ModelRegistry
from app.ui.common.dialogs import ask_yes_no
from app.ui.common.workers import WorkerPool
from app.ui.models.details import ModelDetails
from app.ui.models.jobs import ImportOutcome, ListedModel, ModelJobs, import_model, list_models
from app.ui.models.jobs import load_model as load_job
from app.ui.models.table import ModelTableModel, make_proxy
from app.ui.models.view import ModelsView, listing_summary, trust_summary

LIST, IMPORT, ACTIVATE, ROLLBACK, CHALLENGE = "list", "import", "activate", "rollback", "challenger"


class ModelsPanel(QWidget):
    title = "Models"

    def __init__(self, ctx: AppContext, pool: WorkerPool, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.registry: ModelRegistry = registry_of(ctx)  # shared with the rest of the app
        self.listed: dict[str, ListedModel] = {}  # by bundle folder name
        self.last_switch_seconds: float | None = None
        self._switch: tuple[str, float] | None = None  # (state field awaited, click time)
        self._notes = {ACTIVE_SCORER: "", CHALLENGER: ""}  # "switched in 0.18 s"
        self.model = ModelTableModel()
        self.proxy = make_proxy(self.model)
        self.jobs = ModelJobs(pool, self)
        self.jobs.finished.connect(self._on_job_finished)
        self.jobs.failed.connect(self._on_job_failed)
        self.jobs.running_changed.connect(self._on_running_changed)
        self.view = ModelsView(self.proxy, ModelDetails())
        layout = QVBoxLayout(self)
        layout.addWidget(self.view)
        self._connect_buttons()
        self.view.trust_line.setText(trust_summary(self.registry))
        self.view.table.selectionModel().currentRowChanged.connect(self._on_current_changed)
        self._unobserve = [
            ctx.state.observe(self._on_state, ACTIVE_SCORER),
            ctx.state.observe(self._on_state, CHALLENGER),
        ]
        self._show_roles()
        self.refresh()

    def _connect_buttons(self) -> None:
        v = self.view
        for button, slot in (
            (v.import_folder_button, self.import_folder),
            (v.import_zip_button, self.import_zip),
            (v.verify_button, self.refresh),
            (v.activate_button, self.make_active),
            (v.rollback_button, self.roll_back),
            (v.challenger_button, self.use_as_challenger),
            (v.stop_challenger_button, self.stop_challenger),
        ):
            button.clicked.connect(slot)

    # --- what is shown ------------------------------------------------------------------------
    @property
    def busy(self) -> bool:
        return self.jobs.busy

    def selected_entry(self) -> ModelEntry | None:
        index = self.view.table.currentIndex()
        if not index.isValid():
            return None
        return self.model.entries[self.proxy.mapToSource(index).row()]

    def select(self, ref: str) -> bool:
        """Make the version in folder ``ref`` the current row; whether it is listed."""
        row = self.model.row_of(ref)
        if row is None:
            return False
        index = self.proxy.mapFromSource(self.model.index(row, 0))
        self.view.table.setCurrentIndex(index)
        self.view.table.scrollTo(index)
        return True

    def _active_ref(self, name: str = ACTIVE_SCORER) -> str | None:
        scorer = getattr(self.ctx.state, name)
        return model_switch.bundle_folder(scorer) if scorer is not None else None

    def _previous_ref(self) -> str | None:
        """The rollback target, if it is installed, verified and not already active."""
        ref = self.ctx.settings.previous_model
        listed = self.listed.get(ref) if ref else None
        if listed is None or not listed.entry.verified or ref == self._active_ref():
            return None
        return ref

    def _show_roles(self) -> None:
        roles: dict[str, list[str]] = {}
        for ref, role in (
            (self._active_ref(), "active"),
            (self._active_ref(CHALLENGER), "challenger"),
            (self.ctx.settings.previous_model, "previous"),
        ):
            if ref and not (role == "previous" and ref == self._active_ref()):
                roles.setdefault(ref, []).append(role)
        for ref, item in self.listed.items():  # the bundled model a fresh install starts on
            if item.entry.default_fast:
                roles.setdefault(ref, []).append("default fast")
        self.model.set_roles(roles)
        state = self.ctx.state
        self.view.show_lines(state.scorer, state.challenger, self._notes)
        self._update_buttons()

    def _update_buttons(self) -> None:
        entry, idle = self.selected_entry(), not self.busy
        usable = entry is not None and entry.verified
        ref = entry.ref if entry is not None else None
        previous = self._previous_ref()
        self.view.update_buttons(
            idle=idle,
            can_activate=usable and ref != self._active_ref(),
            can_challenge=usable and ref not in (self._active_ref(), self._active_ref(CHALLENGER)),
            can_stop=self.ctx.state.challenger is not None,
            previous_label=self.listed[previous].entry.label if previous else None,
            refused=entry.problem if entry is not None and not entry.verified else None,
        )

    def _on_current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        entry = self.selected_entry() if current.isValid() else None
        self.view.details.show_version(self.listed.get(entry.ref) if entry else None)
        self._update_buttons()

    def _show_listing(self, listing: list[ListedModel], select: str | None = None) -> None:
        current = self.selected_entry()
        self.listed = {item.entry.ref: item for item in listing}
        self.model.set_entries([item.entry for item in listing])
        self._show_roles()
        wanted = [select, current.ref if current else None, self._active_ref()]
        if not any(ref and self.select(ref) for ref in wanted) and listing:
            self.view.table.setCurrentIndex(self.proxy.index(0, 0))
        self._on_current_changed(self.view.table.currentIndex(), QModelIndex())

    # --- actions ------------------------------------------------------------------------------
    def refresh(self) -> None:
        """List every installed version again, re-checking hashes and signatures."""
        registry = self.registry
        if self.jobs.start(LIST, lambda _p, _c: list_models(registry), "list models"):
            self.view.say("Checking the installed model versions…", "busy")

    def choose_import_folder(self) -> Path | None:
        """Ask for a bundle folder (tests replace this to answer for the user)."""
        chosen = QFileDialog.getExistingDirectory(
            self, "Import a model bundle folder", self.ctx.settings.last_folder
        )
        return Path(chosen) if chosen else None

    def choose_import_zip(self) -> Path | None:
        """Ask for a zipped bundle (tests replace this to answer for the user)."""
        chosen, _filter = QFileDialog.getOpenFileName(
            self, "Import a zipped model bundle", self.ctx.settings.last_folder, "Zip (*.zip)"
        )
        return Path(chosen) if chosen else None

    def import_folder(self) -> None:
        path = self.choose_import_folder()
        if path is not None:
            self.import_path(path)

    def import_zip(self) -> None:
        path = self.choose_import_zip()
        if path is not None:
            self.import_path(path)

    def import_path(self, source: Path) -> None:
        """Verify and install a bundle folder or zip on a worker, then list again."""
        registry = self.registry
        job = lambda _p, _c: import_model(registry, source)  # noqa: E731
        if self.jobs.start(IMPORT, job, f"import {source.name}"):
            self.view.say(f"Importing and verifying {source}…", "busy")

    def make_active(self) -> None:
        entry = self.selected_entry()
        if entry is not None:
            self._load_then(ACTIVATE, entry.ref, entry.label)

    def roll_back(self) -> None:
        ref = self._previous_ref()
        if ref is not None:
            self._load_then(ROLLBACK, ref, self.listed[ref].entry.label)

    def use_as_challenger(self) -> None:
        entry = self.selected_entry()
        if entry is not None:
            self._load_then(CHALLENGE, entry.ref, entry.label)

    def stop_challenger(self) -> None:
        if self.ctx.state.challenger is None or self.busy:
            return
        old = self.ctx.state.challenger.version_label
        if self._switch_model(CHALLENGE, None):
            self.view.say(f"Stopped shadow-scoring with {old}.", "ok")

    def _load_then(self, kind: str, ref: str, label: str) -> None:
        """Load ``ref`` on a worker; ``_on_job_finished`` then switches on the GUI thread."""
        started = time.perf_counter()  # the click: the user waits from here
        registry = self.registry
        if self.jobs.start(kind, lambda _p, _c: load_job(registry, ref), f"load {ref}"):
            self._switch = (CHALLENGER if kind == CHALLENGE else ACTIVE_SCORER, started)
            self.view.say(f"Loading and verifying {label}…", "busy")

    def _switch_model(self, kind: str, scorer: Any) -> bool:
        """Hand a loaded model to `app.core.context.model_switch`; errors are shown, not raised."""
        try:
            if kind in (ACTIVATE, ROLLBACK):
                return self._activate_confirmed(scorer, rollback=kind == ROLLBACK)
            return model_switch.set_challenger(self.ctx, scorer)
        except (AbuseDeskError, OSError, ValueError) as exc:
            self.view.say(f"The model was not switched: {exc}", "error")
            return False
        finally:
            self._switch = None

    def confirm_activation(self, message: str, title: str = "Make active") -> bool:
        """Ask before changing the active model (tests answer through QMessageBox.question)."""
        return ask_yes_no(self, title, message)

    def _activate_confirmed(self, scorer: Any, *, rollback: bool = False) -> bool:
        """Say what would change (model, threshold as Promote migrates it, challenger) and
        do it only once the user agrees; a No changes and logs nothing. Make active and
        Roll back ask alike and move the threshold alike (`model_switch.plan_activation`)."""
        active = self.ctx.state.scorer
        if active is not None and model_switch.bundle_folder(active) == model_switch.bundle_folder(
            scorer
        ):
            return False
        plan = model_switch.plan_activation(self.ctx, scorer)
        if rollback:  # the same dialog as Make active, titled for what the user clicked
            message = f"Roll back to {plan.new_label}?\n\n{plan.describe()}"
            yes = self.confirm_activation(message, "Roll back")
            no = f"Not rolled back to {plan.new_label}"
        else:
            message = f"Make {plan.new_label} the active model?\n\n{plan.describe()}"
            yes = self.confirm_activation(message)
            no = f"{plan.new_label} was not made active"
        if not yes:
            self.view.say(f"{no}: nothing changed.", "info")
            return False
        action = "model_rolled_back" if rollback else "model_activated"
        return model_switch.activate_planned(self.ctx, scorer, plan, action=action)

    # --- results ------------------------------------------------------------------------------
    def _on_job_finished(self, kind: str, result: Any) -> None:
        if kind == LIST:
            self._show_listing(result)
            self.view.say(listing_summary([item.entry for item in result]), "ok")
        elif kind == IMPORT:
            self._on_imported(result)
        elif self._switch_model(kind, result):
            label = result.version_label
            self.view.say(
                {
                    ACTIVATE: f"{label} now decides.",
                    ROLLBACK: f"Rolled back: {label} decides again.",
                    CHALLENGE: f"{label} now shadow-scores as the challenger.",
                }[kind],
                "ok",
            )
        elif self.view.message_kind not in ("error", "info"):
            self.view.say(f"{result.version_label} already has that role.", "info")

    def _on_imported(self, outcome: ImportOutcome) -> None:
        entry = outcome.listed.entry
        if outcome.installed:
            self.ctx.log(
                "model_imported",
                file_name=outcome.source.name,
                file_sha256=outcome.listed.manifest_sha256,
                detail=f"{entry.label} ({entry.signature_text}) from {outcome.source}",
            )
            message = f"Imported {entry.label} ({entry.signature_text}) into {entry.folder.parent}."
        else:
            message = f"{entry.label} is already installed (identical bundle): nothing changed."
        self._show_listing(outcome.listing, select=entry.ref)
        self.view.say(message, "ok" if outcome.installed else "info")

    def _on_job_failed(self, kind: str, message: str) -> None:
        self._switch = None
        prefix = {LIST: "Listing failed", IMPORT: "Import refused"}.get(kind, "Not switched")
        self.view.say(f"{prefix}: {message}", "error")

    def _on_running_changed(self, running: bool) -> None:
        self.view.busy_bar.setVisible(running)
        self._update_buttons()

    def _on_state(self, name: str, _value: Any) -> None:
        if self._switch is not None and self._switch[0] == name:
            self.last_switch_seconds = time.perf_counter() - self._switch[1]
            self._notes[name] = f"switched in {self.last_switch_seconds:.2f} s"
            self._switch = None
        else:  # changed elsewhere (another panel promoted a challenger, ...): no time to show
            self._notes[name] = ""
        self._show_roles()

    def shutdown(self) -> None:
        self.jobs.forget()
        for unobserve in self._unobserve:
            unobserve()
        self._unobserve = []
