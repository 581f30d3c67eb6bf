"""`open_context()`: the one place the app's context is loaded, for the GUI and every CLI command.

It loads, in this order, the user's settings, the activity log (opened before anything can change,
so a log that cannot be written stops a command first), the model registry, the session and the
active model with the app-wide challenger. The threshold comes from the settings into the state,
its only home while the app runs; `AppContext.save_settings` is the one way back to the file.

Loading the models takes ~0.3 s plus imports, so the GUI opens its context with
``load_models=False``, shows its window, and runs `load_models` on a worker and `install_models`
on the GUI thread (`app.ui.shell.startup`). A command line runs both here, at once.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

from app import APP_NAME, __version__
from app.core.activity.log import ActivityLog
from app.core.common.errors import AbuseDeskError, InputError
from app.core.common.paths import activity_db_path, user_data_dir
from app.core.context import model_switch
from app.core.context.session import SessionMetrics
from app.core.context.settings import Settings, load_settings, settings_notice, settings_path
from app.core.context.state import THRESHOLD, AppContext, AppState
from app.core.engine.scoring import Scorer
from app.core.models.registry import ModelRegistry

log = logging.getLogger(__name__)

Warn = Callable[[str], None]
ModelRef = str | Path | None


class LoadedModels(NamedTuple):
    """What `load_models` found: the deciding model, the challenger, and why a choice of the
    settings was not used (the app then runs on a fallback, and says so)."""

    scorer: Scorer
    challenger: Scorer | None
    problems: list[str]


def _log_warning(message: str) -> None:
    log.warning("%s", message)


def open_context(
    model: ModelRef = None,
    *,
    load_models: bool = True,
    app_start: bool = False,
    record: bool = True,
    warn: Warn = _log_warning,
) -> AppContext:
    """The user's settings, activity log, registry, session and (with `load_models`) models.

    `model`: ``--model``, a bundle folder or installed version for this run only (no
    challenger then: one is chosen against the active model). `app_start`: the desktop app's
    start — log retention is applied (unless paused) and ``app_started`` recorded. `warn`
    receives each problem as one line (the CLI prints it on stderr, the GUI logs it).
    InputError (one line) if the activity log cannot be opened for writing; without `record`
    (commands that record nothing: ``info``, ``self-test``, ``models list``) it is not opened.
    """
    settings = load_settings(settings_path())
    if notice := settings_notice(settings):
        warn(f"settings: {notice}")
    activity = open_activity(settings) if record or app_start else None
    state = AppState(threshold=settings.threshold)
    ctx = AppContext(state, settings, activity, SessionMetrics(), settings_path())
    registry_of(ctx)
    if app_start:
        _start_app(ctx, warn)
    if load_models:
        loaded = load_models_for(ctx, model, warm=app_start)
        install_models(ctx, loaded, warn, log_unsigned=app_start)
    return ctx


def close_context(ctx: AppContext) -> None:
    """Close what `open_context` opened (the activity log)."""
    if ctx.activity is not None:
        ctx.activity.close()


def open_activity(settings: Settings) -> ActivityLog:
    """The user's activity log, ready to write; InputError (one line) if it cannot be."""
    folder = user_data_dir()
    try:
        return ActivityLog.open_default(folder, store_raw_text=settings.store_raw_text)
    except (sqlite3.Error, OSError) as exc:
        why = getattr(exc, "strerror", None) or exc
        raise InputError(
            f"cannot open the activity log {activity_db_path(folder)}: {why}; nothing was changed"
        ) from None


def registry_of(ctx: AppContext) -> ModelRegistry:
    """The context's model registry, built on first use from its settings (the signature policy
    and where bundles live): the one place the default registry is looked up."""
    if ctx.registry is None:
        ctx.registry = ModelRegistry.default(ctx.settings)
    return ctx.registry


def _start_app(ctx: AppContext, warn: Warn) -> None:
    if ctx.settings.retention_paused:  # defaults chosen for an unreadable file never purge
        warn(
            "settings: log retention paused (nothing is purged) until it is confirmed with OK "
            "in Preferences"
        )
    elif ctx.activity is not None:
        ctx.activity.purge_older_than(ctx.settings.log_retention_days)
    ctx.log("app_started", detail=f"{APP_NAME} {__version__}")
    ctx.state.observe(lambda _name, _value: _persist_threshold(ctx, warn), THRESHOLD)


def _persist_threshold(ctx: AppContext, warn: Warn) -> None:
    """A threshold applied in the app is saved at once, so a command run meanwhile decides at
    it too. Never blocks the change (it is logged and applied): a file that must not be
    replaced (a newer schema's) is kept, and said."""
    try:
        ctx.save_settings("threshold")
    except (OSError, AbuseDeskError) as exc:
        warn(f"settings not saved: {exc}")


def load_models_for(ctx: AppContext, model: ModelRef = None, *, warm: bool = True) -> LoadedModels:
    """`model` for this run only, else the settings' choice with fallbacks
    (`ModelRegistry.load_startup`), from the context's registry. `warm` builds a model's
    scikit-learn vectorisers now (the GUI, on its worker), not at the first keystroke, if it
    needs any: only models no fast scorer covers (the bundled ones explain from their own
    counts); the CLI skips them (its worker processes never explain)."""
    return load_models(registry_of(ctx), ctx.settings, model, warm=warm)


def load_models(
    registry: ModelRegistry, settings: Settings, model: ModelRef = None, *, warm: bool = True
) -> LoadedModels:
    """`load_models_for` on a registry and settings given: it changes neither, so a worker
    thread may run it (the GUI's start-up does)."""
    if model:
        loaded = LoadedModels(registry.load(model), None, [])
    else:
        loaded = LoadedModels(*registry.load_startup(settings))
    if warm:
        for scorer in (loaded.scorer, loaded.challenger):
            if scorer is not None:
                scorer.model.build_vectorizers()
    return loaded


def install_models(
    ctx: AppContext, loaded: LoadedModels, warn: Warn = _log_warning, *, log_unsigned: bool = True
) -> None:
    """Put loaded models into the state (the GUI: on its own thread); say why a choice was not
    used, and log an unsigned model's use (the GUI at start; a command when it uses one)."""
    for problem in loaded.problems:
        warn(problem)
    ctx.settings.problems.extend(loaded.problems)
    ctx.state.set_scorer(loaded.scorer)
    ctx.state.set_challenger(loaded.challenger)
    if log_unsigned:
        model_switch.log_if_unsigned(ctx, loaded.scorer, "active model")
        if loaded.challenger is not None:
            model_switch.log_if_unsigned(ctx, loaded.challenger, "challenger")
