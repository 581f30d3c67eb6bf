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
from app.core.paths import user_data_dir, user_log_dir

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


def build_context(model_path: Path | str | None):  # -> AppContext
    """Settings, activity log (with retention applied), session metrics and the verified models.

    ``model_path`` (``--model``) overrides the active model for this session only. Problems
    that did not stop the start (a damaged settings file, a refused active model or challenger)
    are logged and kept in ``settings.problems`` for the window to show.
    """
    from app.core import model_switch
    from app.core.activity import ActivityLog
    from app.core.registry import ModelRegistry
    from app.core.session import SessionMetrics
    from app.core.settings import load_settings, settings_path
    from app.core.state import AppContext, AppState

    settings = load_settings()
    for problem in settings.problems:
        log.warning("settings: %s", problem)
    activity = ActivityLog.open_default(user_data_dir(), store_raw_text=settings.store_raw_text)
    activity.purge_older_than(settings.log_retention_days)
    registry = ModelRegistry.default(settings)
    if model_path:
        scorer, challenger, problems = registry.load(model_path), None, []
    else:
        scorer, challenger, problems = registry.load_startup(settings)
    for problem in problems:
        log.warning("models: %s", problem)
    settings.problems.extend(problems)
    state = AppState(scorer=scorer, challenger=challenger, threshold=settings.threshold)
    ctx = AppContext(state, settings, activity, SessionMetrics(), settings_path(), registry)
    ctx.log("app_started", detail=f"{APP_NAME} {__version__}")
    model_switch.log_if_unsigned(ctx, scorer, "active model")
    if challenger is not None:
        model_switch.log_if_unsigned(ctx, challenger, "challenger")
    return ctx


def run_gui(model_path: Path | None = None, argv: list[str] | None = None) -> int:
    if not has_display():
        print(
            f"{APP_NAME}: no display found (DISPLAY/WAYLAND_DISPLAY unset). Run it on a desktop, "
            "under xvfb-run, or use the command-line subcommands (python -m app --help).",
            file=sys.stderr,
        )
        return 2
    from PySide6.QtWidgets import QApplication

    from app.ui.main_window import MainWindow

    log_path = install_file_log()
    install_excepthook(log_path)
    qt_app = QApplication.instance() or QApplication(argv or sys.argv[:1])
    qt_app.setApplicationName(APP_NAME)
    qt_app.setApplicationVersion(__version__)
    from app.core.errors import AbuseDeskError

    try:
        ctx = build_context(model_path)
    except AbuseDeskError as exc:  # a refused model bundle or an unreadable user folder
        from PySide6.QtWidgets import QMessageBox

        log.error("start-up failed: %s", exc)
        QMessageBox.critical(None, f"{APP_NAME} cannot start", str(exc))
        return 4
    window = MainWindow(ctx)
    window.show()
    if ctx.settings.problems:  # said once, after the window is up, so the user sees both
        from PySide6.QtWidgets import QMessageBox

        QMessageBox.warning(window, APP_NAME, "\n\n".join(ctx.settings.problems))
    code = int(qt_app.exec())
    ctx.activity.close()
    return code
