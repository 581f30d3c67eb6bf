"""Start the Qt application: checks that a display exists, loads the model, shows the window."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from app import APP_NAME


def has_display() -> bool:
    """Whether Qt can open a window: a display server, or a platform chosen explicitly."""
    if sys.platform != "linux" or os.environ.get("QT_QPA_PLATFORM"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def run_gui(model_path: Path | None = None, argv: list[str] | None = None) -> int:
    if not has_display():
        print(
            f"{APP_NAME}: no display found (DISPLAY/WAYLAND_DISPLAY unset). Run it on a desktop, "
            "under xvfb-run, or use the command-line subcommands (python -m app --help).",
            file=sys.stderr,
        )
        return 2
    from PySide6.QtWidgets import QApplication

    from app.core.scoring import Scorer, default_bundle_path
    from app.ui.main_window import MainWindow

    qt_app = QApplication.instance() or QApplication(argv or sys.argv[:1])
    qt_app.setApplicationName(APP_NAME)
    scorer = Scorer.load(model_path or default_bundle_path())
    window = MainWindow(scorer, scorer.default_threshold)
    window.show()
    return int(qt_app.exec())
