"""The main window: arranges the panels, owns the menus, shortcuts and status bar.

Panels are independent widgets that share an ``AppContext``; the window wires the few places where
one panel hands something to another (Batch -> Threshold; a Batch row or a matrix cell's item ->
Score and back) and asks before closing while a job runs or while batch results are not exported.
"""

from __future__ import annotations

import base64
import logging
from functools import partial
from typing import Any

from PySide6.QtCore import QByteArray
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import QApplication, QLabel, QMainWindow, QMessageBox, QTabWidget, QWidget

from app import APP_NAME, __version__
from app.core.common.drill import BATCH, RowOrigin, RowSource
from app.core.common.errors import AbuseDeskError
from app.core.common.messages import fmt_threshold
from app.core.context.state import ACTIVE_SCORER, CHALLENGER, RUNNING_JOBS, THRESHOLD, AppContext
from app.ui.activity.panel import ActivityPanel
from app.ui.batch.panel import BatchPanel
from app.ui.common.colours import ui_scale
from app.ui.common.dialogs import ask_yes_no
from app.ui.common.workers import WorkerPool
from app.ui.models.panel import ModelsPanel
from app.ui.review.panel import ReviewPanel
from app.ui.score.panel import ScorePanel
from app.ui.session.panel import SessionPanel
from app.ui.shell.appearance import apply_appearance
from app.ui.shell.lazy_panel import LazyPanel
from app.ui.shell.preferences import SettingsDialog


class MainWindow(QMainWindow):
    def __init__(
        self, ctx: AppContext, pool: WorkerPool | None = None, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.pool = pool or WorkerPool()
        self.setWindowTitle(f"{APP_NAME} {__version__}")
        self.resize(1280, 800)
        self.score = ScorePanel(ctx, self.pool)
        self.batch = BatchPanel(ctx, self.pool)
        self.threshold_tab = LazyPanel("Threshold", self._build_threshold)
        self.review = ReviewPanel(ctx, self.pool)
        self.activity = ActivityPanel(ctx, self.pool)
        self.session = SessionPanel(ctx, self.pool)
        self.models = ModelsPanel(ctx, self.pool)
        self.compare_tab = LazyPanel("Compare", self._build_compare)
        self.panels: list[Any] = [  # appended panels keep the earlier Ctrl+N shortcuts
            self.score,
            self.batch,
            self.threshold_tab,
            self.activity,
            self.session,
            self.models,
            self.compare_tab,
            self.review,
        ]
        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        for index, panel in enumerate(self.panels, 1):
            self.tabs.addTab(panel, f"{panel.title}")
            self.tabs.setTabToolTip(index - 1, f"{panel.title} (Ctrl+{index})")
        self.setCentralWidget(self.tabs)
        self.batch.labeled_scores_ready.connect(self._send_to_threshold)
        self.batch.open_in_score.connect(self._open_in_score)
        self.batch.open_in_review.connect(self._open_in_review)
        self.score.back_requested.connect(self._back_from_score)
        self._build_menus()
        self._build_status_bar()
        self._unsubscribe = ctx.state.observe(self._on_state, None)
        self._restore_geometry()

    # The two matplotlib panels are built on first use (see LazyPanel): the window shows sooner.
    def _build_threshold(self) -> Any:
        from app.ui.threshold.panel import ThresholdPanel

        panel = ThresholdPanel(self.ctx, self.pool)
        panel.open_in_score.connect(self._open_in_score)
        panel.planner.batch_scores = self._scored_batch  # "From this batch": no labels needed
        self.tabs.currentChanged.connect(lambda _i: panel.planner.update_estimate_button())
        return panel

    def _scored_batch(self) -> tuple[str, Any] | None:
        """(file name, scores) of the batch the Batch panel shows, if it is scored."""
        job = self.batch.shown
        if job is None or job.result is None:
            return None
        return job.path.name, job.result.table.scores

    def _build_compare(self) -> Any:
        from app.ui.compare.panel import ComparePanel

        return ComparePanel(self.ctx, self.pool)

    def _open_in_review(self, path: Any) -> None:
        """The Batch panel drew an audit sample: review it."""
        self.tabs.setCurrentWidget(self.review)
        self.review.open_sample(path)

    @property
    def threshold(self) -> Any:
        return self.threshold_tab.panel

    @property
    def compare(self) -> Any:
        return self.compare_tab.panel

    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        self._action(file_menu, "&Open CSV…", "Ctrl+O", self.open_csv)
        self._action(
            file_menu, "&Export results as CSV…", "Ctrl+E", partial(self.export_results, "csv")
        )
        self._action(
            file_menu,
            "Export results as &XLSX…",
            "Ctrl+Shift+E",
            partial(self.export_results, "xlsx"),
        )
        file_menu.addSeparator()
        self._action(file_menu, "&Quit", "Ctrl+Q", self.close)
        edit_menu = self.menuBar().addMenu("&Edit")
        self._action(edit_menu, "&Preferences…", "Ctrl+,", self.edit_preferences)
        view_menu = self.menuBar().addMenu("&View")
        for index, panel in enumerate(self.panels, 1):
            self._action(
                view_menu,
                panel.title,
                f"Ctrl+{index}",
                lambda i=index - 1: self.tabs.setCurrentIndex(i),
            )
        help_menu = self.menuBar().addMenu("&Help")
        self._action(help_menu, "&About", None, self._about)

    def _action(self, menu: Any, text: str, shortcut: str | None, slot: Any) -> QAction:
        action = QAction(text, self)
        if shortcut:
            action.setShortcut(QKeySequence(shortcut))
        # triggered(bool) would pass `checked` as the slot's first argument: drop it.
        action.triggered.connect(lambda _checked=False: slot())
        menu.addAction(action)
        return action

    def _build_status_bar(self) -> None:
        self.jobs_status = QLabel()
        self.threshold_status = QLabel()
        self.model_status = QLabel()
        self.model_status.setObjectName("modelStatus")
        # Settings that could not be used are said here for the whole session (the start-up
        # message box can be dismissed and forgotten); the tooltip holds the details.
        self.settings_notice = QLabel()
        self.settings_notice.setObjectName("settingsNotice")
        self.settings_notice.setStyleSheet("color: #a40000;")
        if self.ctx.settings.problems:
            self.settings_notice.setText("Settings could not be used: running with defaults")
            self.settings_notice.setToolTip("\n\n".join(self.ctx.settings.problems))
        self.settings_notice.setVisible(bool(self.ctx.settings.problems))
        labels = (self.settings_notice, self.jobs_status, self.threshold_status, self.model_status)
        for label in labels:
            self.statusBar().addPermanentWidget(label)
        self._refresh_status()

    def _refresh_status(self) -> None:
        scorer, challenger = self.ctx.state.scorer, self.ctx.state.challenger
        text = f"Model {scorer.version_label} · verified" if scorer else "Loading model…"
        if challenger is not None:
            text += f" · challenger {challenger.version_label}"
        self.model_status.setText(text)
        self.threshold_status.setText(f"Threshold {fmt_threshold(self.ctx.state.threshold)}")
        jobs = self.ctx.state.running_jobs
        self.jobs_status.setText(f"{jobs} job{'s' if jobs != 1 else ''} running" if jobs else "")

    def _on_state(self, name: str, _value: Any) -> None:
        if name in (ACTIVE_SCORER, CHALLENGER, THRESHOLD, RUNNING_JOBS):
            self._refresh_status()

    # --- actions ----------------------------------------------------------------------------
    def open_csv(self) -> None:
        self.tabs.setCurrentWidget(self.batch)
        self.batch.choose_files()

    def export_results(self, fmt: str) -> None:
        self.tabs.setCurrentWidget(self.batch)
        self.batch.export_dialog(fmt)

    def edit_preferences(self) -> None:
        dialog = SettingsDialog(self.ctx, self)
        if dialog.exec():
            try:
                changes = dialog.apply()
            except AbuseDeskError as exc:  # the log or the settings file refused: nothing changed
                QMessageBox.warning(self, "Preferences not changed", str(exc))
                return
            if "font_scale" in changes or "theme" in changes:
                self.apply_appearance()
            if "reference_threshold" in changes and self.threshold_tab.built:
                self.threshold.controls.reference_spin.setValue(
                    self.ctx.settings.reference_threshold
                )

    def apply_appearance(self) -> None:
        """The font size and theme of the settings, on the whole running app."""
        app = QApplication.instance()
        if not isinstance(app, QApplication):
            return
        before = ui_scale()
        apply_appearance(app, self.ctx.settings.font_scale, self.ctx.settings.theme)
        if self.threshold_tab.built or self.compare_tab.built:  # else matplotlib is not loaded
            from app.ui.common.canvas import BlittingCanvas

            for canvas in self.findChildren(BlittingCanvas):  # the plots built so far
                canvas.restyle(ui_scale() / before)

    def _send_to_threshold(self, name: str, data: Any, source: RowSource) -> None:
        self.threshold.show_dataset(name, data.scores, data.labels, data.texts, data.lines, source)
        self.tabs.setCurrentWidget(self.threshold_tab)

    def _open_in_score(self, origin: RowOrigin) -> None:
        """A Batch row or a matrix cell's item, scored and explained, with the way back."""
        self.score.show_row(origin)
        self.tabs.setCurrentWidget(self.score)

    def _back_from_score(self, origin: RowOrigin) -> None:
        if origin.panel == BATCH:
            self.tabs.setCurrentWidget(self.batch)
            self.batch.show_row(origin)
        else:
            self.tabs.setCurrentWidget(self.threshold_tab)
            self.threshold.show_item(origin)

    def _about(self) -> None:
        scorer = self.ctx.state.scorer
        QMessageBox.about(
            self,
            f"About {APP_NAME}",
            f"<b>{APP_NAME} {__version__}</b><p>Offline abuse scoring and threshold analysis.</p>"
            f"<p>Model: {scorer.version_label if scorer else 'not loaded'} (verified)</p>"
            "<p>This application never uses the network.</p>",
        )

    # --- closing ----------------------------------------------------------------------------
    def _restore_geometry(self) -> None:
        saved = self.ctx.settings.window_geometry
        if saved:
            self.restoreGeometry(QByteArray(base64.b64decode(saved)))

    def confirm_close(self) -> bool:
        """Ask before closing while jobs run (tests replace this to answer for the user)."""
        return ask_yes_no(
            self,
            "Jobs are running",
            "A batch job is still running. Cancel it and quit? Its output will not be written.",
        )

    def confirm_discard_results(self) -> bool:
        """Ask before closing with batch results never exported: their caches die with the app."""
        return ask_yes_no(
            self,
            "Results not exported",
            "Batch results have not been exported and will be deleted. Quit anyway?",
        )

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 (Qt API)
        if self.batch.has_running_jobs() and not self.confirm_close():
            event.ignore()
            return
        if self.batch.has_unexported_results() and not self.confirm_discard_results():
            event.ignore()
            return
        for panel in self.panels:
            panel.shutdown()
        self.pool.cancel_all()
        self.pool.wait(10_000)
        QApplication.processEvents()  # deliver the workers' last signals (e.g. batch_cancelled events)
        self._unsubscribe()
        self.ctx.settings.window_geometry = base64.b64encode(
            bytes(self.saveGeometry().data())
        ).decode()
        try:
            self.ctx.save_settings("window_geometry", "last_folder")
        except (OSError, AbuseDeskError) as exc:  # never block closing on settings (a newer
            # schema's file is refused on purpose and kept as it is)
            logging.getLogger(__name__).warning("settings not saved: %s", exc)
        event.accept()
