"""Start the Qt application: logging, crash handling, the context (`open_context`), the window.

The models load after the window shows (`app.ui.shell.startup`).
"""

from __future__ import annotations

import logging
import logging.handlers
import os
import sys
import traceback
from pathlib import Path
from types import TracebackType

from app import APP_NAME, __version__
from app.core.common.paths import user_log_dir

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
    from app.core.context.bootstrap import open_context
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
        ctx = open_context(model_path, load_models=False, app_start=True)
    except AbuseDeskError as exc:  # an unreadable user folder
        log.error("start-up failed: %s", exc)
        QMessageBox.critical(None, f"{APP_NAME} cannot start", str(exc))
        return 4
    from app.ui.shell.appearance import apply_appearance

    apply_appearance(qt_app, ctx.settings.font_scale, ctx.settings.theme)  # before any widget
    window = MainWindow(ctx)
    window.show()  # before the model is loaded: the Score panel says "Loading model…"
    loader = StartupLoader(ctx, window, model_path)
    loader.start()
    code = int(qt_app.exec())
    code = loader.exit_code or code
    window.pool.wait(10_000)
    ctx.activity.close()
    return code
