"""Start the Qt application: logging, crash handling, settings, model, activity log, window."""

from __future__ import annotations

import logging
import logging.handlers
import os
import sys
import traceback
from pathlib import Path
from types import TracebackType

from app import APP_NAME, __version__
from app.core.common.paths import user_data_dir, user_log_dir

log = logging.getLogger(__name__)


def has_display() -> bool:
    """Whether Qt can open a window: a display server, or a platform chosen explicitly."""
    if sys.platform != "linux" or os.environ.get("QT_QPA_PLATFORM"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def install_file_log(folder: Path | None = None) -> Path:
    """A rotating log file (5 x 1 MiB) in the user's log folder; returns its path."""
    folder = folder or user_log_dir()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{APP_NAME}.log"
    handler = logging.handlers.RotatingFileHandler(
        path, maxBytes=1 << 20, backupCount=5, encoding="utf-8"
    )
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    return path


def install_excepthook(log_path: Path) -> None:
    """Unexpected errors are logged and shown in a dialog instead of killing the app."""

    def hook(kind: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
        text = "".join(traceback.format_exception(kind, exc, tb))
        log.error("unhandled exception:\n%s", text)
        if issubclass(kind, KeyboardInterrupt):
            sys.__excepthook__(kind, exc, tb)
            return
        from PySide6.QtWidgets import QApplication, QMessageBox

        if QApplication.instance() is not None:
            box = QMessageBox(
                QMessageBox.Icon.Critical,
                f"{APP_NAME}: unexpected error",
                f"{exc}\n\nThe app keeps running; details are in {log_path}.",
            )
            box.setDetailedText(text)
            box.exec()

    sys.excepthook = hook


def build_context(model_path: Path | str | None, *, load_models: bool = True):  # -> AppContext
    """Settings, activity log (with retention applied), session metrics and the model registry;
    with ``load_models`` also the verified models (the GUI loads them on a worker instead, see
    `app.ui.shell.startup`, so that its window shows first)."""
    from app.core.activity.log import ActivityLog
    from app.core.context.session import SessionMetrics
    from app.core.context.settings import load_settings, settings_path
    from app.core.context.state import AppContext, AppState
    from app.core.models.registry import ModelRegistry

    settings = load_settings()
    for problem in settings.problems:
        log.warning("settings: %s", problem)
    activity = ActivityLog.open_default(user_data_dir(), store_raw_text=settings.store_raw_text)
    if settings.retention_paused:  # defaults chosen for an unreadable file never purge
        log.warning(
            "settings: log retention paused (nothing is purged) until it is confirmed with OK "
            "in Preferences"
        )
    else:
        activity.purge_older_than(settings.log_retention_days)
    registry = ModelRegistry.default(settings)
    state = AppState(threshold=settings.threshold)
    ctx = AppContext(state, settings, activity, SessionMetrics(), settings_path(), registry)
    ctx.log("app_started", detail=f"{APP_NAME} {__version__}")
    if load_models:
        install_models(ctx, *load_models_for(registry, settings, model_path))
    return ctx


def load_models_for(registry, settings, model_path: Path | str | None):  # type: ignore[no-untyped-def]
    """(active, challenger, problems): ``--model`` for this session only, else the settings'
    choice with fallbacks (`ModelRegistry.load_startup`). Slow (~0.3 s plus imports): a worker's job."""
    if model_path:
        scorer, challenger, problems = registry.load(model_path), None, []
    else:
        scorer, challenger, problems = registry.load_startup(settings)
    for loaded in (scorer, challenger):
        if loaded is not None:  # here on the worker, not at the first keystroke
            loaded.model.build_vectorizers()
    return scorer, challenger, problems


def install_models(ctx, scorer, challenger, problems: list[str]) -> None:  # type: ignore[no-untyped-def]
    """Put the loaded models into the state (on the GUI thread); log what must be logged."""
    from app.core.context import model_switch

    for problem in problems:
        log.warning("models: %s", problem)
    ctx.settings.problems.extend(problems)
    ctx.state.set_scorer(scorer)
    ctx.state.set_challenger(challenger)
    model_switch.log_if_unsigned(ctx, scorer, "active model")
    if challenger is not None:
        model_switch.log_if_unsigned(ctx, challenger, "challenger")


def _command() -> str:
    """How the user started us, for messages: the frozen bundle's program or python -m app."""
    return Path(sys.executable).name if getattr(sys, "frozen", False) else "python -m app"


def run_gui(model_path: Path | str | None = None, argv: list[str] | None = None) -> int:
    if not has_display():
        print(
            f"{APP_NAME}: no display found (DISPLAY/WAYLAND_DISPLAY unset). Run it on a desktop, "
            f"under xvfb-run, or use the command-line subcommands ({_command()} --help).",
            file=sys.stderr,
        )
        return 2
    from PySide6.QtWidgets import QApplication, QMessageBox

    from app.core.common.errors import AbuseDeskError
    from app.core.common.private_tmp import clean_stale
    from app.ui.shell.main_window import MainWindow
    from app.ui.shell.startup import StartupLoader

    clean_stale()  # temporary files of runs that were killed
    log_path = install_file_log()
    install_excepthook(log_path)
    qt_app = QApplication.instance() or QApplication(argv or sys.argv[:1])
    qt_app.setApplicationName(APP_NAME)
    qt_app.setApplicationVersion(__version__)
    from app.ui.shell.fonts import ensure_fonts

    if family := ensure_fonts(qt_app):  # text must never render as boxes
        log.warning("no usable system font; using the bundled %s", family)
    try:
        ctx = build_context(model_path, load_models=False)
    except AbuseDeskError as exc:  # an unreadable user folder
        log.error("start-up failed: %s", exc)
        QMessageBox.critical(None, f"{APP_NAME} cannot start", str(exc))
        return 4
    window = MainWindow(ctx)
    window.show()  # before the model is loaded: the Score panel says "Loading model…"
    loader = StartupLoader(ctx, window, model_path)
    loader.start()
    code = int(qt_app.exec())
    code = loader.exit_code or code
    window.pool.wait(10_000)
    ctx.activity.close()
    return code
