"""Application-wide state as a plain Python object that panels observe.

Why not Qt signals: the state is shared by the CLI-free core, tests and every panel, and it must be
testable without a QApplication. Observers are plain callables; the UI adapts them to Qt where it
needs to (all state changes happen on the GUI thread, so no locking is needed here).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.core.context.settings import Settings, settings_path, update_settings

if TYPE_CHECKING:  # heavy (numpy, SQLite, the engine): the types only, for a light import
    from app.core.activity.chain import Event
    from app.core.activity.log import ActivityLog
    from app.core.context.session import SessionMetrics
    from app.core.engine.scoring import Scorer
    from app.core.models.registry import ModelRegistry

Observer = Callable[[str, Any], None]

# Names of the observable fields; an observer receives (name, new value).
ACTIVE_SCORER = "scorer"
CHALLENGER = "challenger"  # a second model that shadow-scores without deciding anything
THRESHOLD = "threshold"
RUNNING_JOBS = "running_jobs"


@dataclass
class AppState:
    """What every panel shares: the active model, the app-wide threshold, running jobs.

    The threshold lives here and only here while the app runs: the settings file persists it,
    read once by `app.core.context.bootstrap.open_context` and written only by
    `AppContext.save_settings`."""

    scorer: Scorer | None = None
    challenger: Scorer | None = None  # its scores are shown and exported, never decide
    threshold: float = 0.45
    running_jobs: int = 0
    _observers: list[tuple[str | None, Observer]] = field(default_factory=list, repr=False)

    def observe(self, callback: Observer, name: str | None = None) -> Callable[[], None]:
        """Call ``callback(name, value)`` when ``name`` (or any field, if None) changes.

        Returns a function that removes the observer (panels call it when they close).
        """
        entry = (name, callback)
        self._observers.append(entry)

        def remove() -> None:
            if entry in self._observers:
                self._observers.remove(entry)

        return remove

    def _set(self, name: str, value: Any) -> None:
        if getattr(self, name) == value and not isinstance(value, list | dict):
            return
        setattr(self, name, value)
        # Every observer hears about the change even if an earlier one fails (one broken panel
        # must not leave the others showing stale state); the first error is then re-raised.
        error: Exception | None = None
        for wanted, callback in list(self._observers):
            if wanted is None or wanted == name:
                try:
                    callback(name, value)
                except Exception as exc:
                    error = error or exc
        if error is not None:
            raise error

    def set_scorer(self, scorer: Scorer | None) -> None:
        self._set(ACTIVE_SCORER, scorer)

    def set_challenger(self, challenger: Scorer | None) -> None:
        self._set(CHALLENGER, challenger)

    def set_threshold(self, threshold: float) -> None:
        threshold = float(threshold)
        if not 0.0 <= threshold <= 1.0:
            raise ValueError(f"threshold must be between 0 and 1, got {threshold}")
        self._set(THRESHOLD, threshold)  # exact: a finder's value must not drift when applied

    def job_started(self) -> None:
        self._set(RUNNING_JOBS, self.running_jobs + 1)

    def job_finished(self) -> None:
        self._set(RUNNING_JOBS, max(0, self.running_jobs - 1))


@dataclass
class AppContext:
    """Everything a panel or a command needs, passed explicitly (no globals): state, settings,
    log, metrics and the model registry. Built by `app.core.context.bootstrap.open_context`."""

    state: AppState
    settings: Settings
    activity: ActivityLog | None  # None only for a command that records nothing (`info`)
    session: SessionMetrics
    settings_path: Path | None = None  # None: the platform's config folder
    registry: ModelRegistry | None = None  # None: built on first use (`bootstrap.registry_of`)

    def log(self, action: str, **values: Any) -> Event:
        """Record an activity event stamped with the active model and threshold."""
        if self.activity is None:
            raise RuntimeError(f"{action}: this context was opened without its activity log")
        scorer = self.state.scorer
        values.setdefault("model_version", scorer.version_label if scorer is not None else None)
        values.setdefault("threshold", self.state.threshold)
        return self.activity.record(action, **values)

    def save_settings(self, *names: str, source: Settings | None = None) -> Path:
        """The one saver of the settings file: the named fields (of `source`, an edited copy,
        else the context's settings; the threshold from the state, its only home) are written
        over the file as it is now, under a lock. Fields not named keep what is on disk, so
        the app never puts back what a command or another window changed since it started."""
        source = self.settings if source is None else source
        values = {
            n: self.state.threshold if n == "threshold" else getattr(source, n) for n in names
        }
        if "threshold" in values:
            self.settings.threshold = self.state.threshold
        update_settings(values, self.settings_path)
        return self.settings_path or settings_path()
