"""Loading the models after the window is up, so the app looks alive at once.

Importing scikit-learn and verifying a ~10 MB bundle takes about a second; doing it before the
first paint would leave the user looking at nothing. The window is shown with no model (every
panel then says so), the models load on a worker, and the state is set on the GUI thread.

``ABUSE_DESK_STARTUP_PROBE=<file>`` makes the app record, as wall-clock times, when the window
was first shown, when the model was ready and when the first text was scored, write them to
the file and quit: ``bench/bench_startup.py`` uses it to time launches of the source and the
frozen bundle alike.
"""

from __future__ import annotations

import json
import os
import time
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QTimer, Slot
from PySide6.QtWidgets import QApplication, QMessageBox

from app import APP_NAME
from app.core.context.bootstrap import LoadedModels, install_models, load_models, registry_of
from app.core.context.state import AppContext
from app.ui.common.workers import run_in_pool

if TYPE_CHECKING:
    from app.ui.shell.main_window import MainWindow

PROBE_ENV = "ABUSE_DESK_STARTUP_PROBE"
PROBE_TEXT = "you are a complete idiot and everybody knows it"


class StartupLoader(QObject):
    def __init__(self, ctx: AppContext, window: MainWindow, model_path: Path | str | None) -> None:
        super().__init__(window)
        self.ctx, self.window, self.model_path = ctx, window, model_path
        self.exit_code = 0
        self.probe_path = os.environ.get(PROBE_ENV)
        self.times: dict[str, float] = {}

    def start(self) -> None:
        # The registry is resolved here, on the GUI thread; the worker only reads.
        load = partial(load_models, registry_of(self.ctx), self.ctx.settings, self.model_path)
        run_in_pool(
            lambda _progress, _cancelled: load(),
            self.window.pool,
            name="load models",
            on_finished=self._loaded,
            on_failed=self._failed,
        )
        if self.probe_path:  # the first turn of the event loop paints the shown window
            QTimer.singleShot(0, self._window_shown)

    @Slot()
    def _window_shown(self) -> None:
        self.times["window"] = time.time()

    @Slot(object)
    def _loaded(self, result: LoadedModels) -> None:
        install_models(self.ctx, result)
        if self.probe_path:
            self._probe_first_score()
        elif self.ctx.settings.problems:  # once, after the window is up, so both are seen
            QMessageBox.warning(self.window, APP_NAME, "\n\n".join(self.ctx.settings.problems))

    @Slot(str)
    def _failed(self, message: str) -> None:
        """No usable model at all (not even the bundled one): say why and close."""
        self.exit_code = 4
        if not self.probe_path:
            QMessageBox.critical(self.window, f"{APP_NAME} cannot start", message)
        self.window.close()

    def _probe_first_score(self) -> None:
        self.times["model"] = time.time()
        score = self.window.score
        score.editor.setPlainText(PROBE_TEXT)
        score.score_now()  # what the debounce timer would do 150 ms later
        self.times["first_score"] = time.time()
        self.times["score_shown"] = float(score.score_label.text() not in ("", "–"))
        Path(self.probe_path or "").write_text(json.dumps(self.times))
        QTimer.singleShot(0, QApplication.quit)
