"""The Session / Health panel (the original service's /metrics and /health).

Left: this session's figures from ``SessionMetrics.snapshot()`` (refreshed every second while
visible), the active model with the SHA-256 of each of its verified files, and the self-test,
which re-verifies the bundle from disk and scores known texts in a worker. Right: the model card,
so a supervisor can read how the model was trained without leaving the app. The panel follows
model changes through ``AppState``.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QColor, QFont, QFontDatabase, QHideEvent, QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.core.context.state import ACTIVE_SCORER, AppContext
from app.core.selftest import checks as selftest
from app.ui.common.colours import fail_colour, muted_style, ok_colour
from app.ui.common.model_card_view import MODEL_CARD, model_card_box
from app.ui.common.workers import Worker, WorkerPool, run_in_pool

REFRESH_MS = 1_000
ROW_HEIGHT = 21
# (snapshot key, caption) of the figures, in reading order (three per row).
FIGURES = (
    ("texts_scored", "texts scored"),  # "text scored" for 1 (`caption`)
    ("batches_run", "batches run"),
    ("batch_rows_per_s", "batch rows / s"),
    ("latency_p50_ms", "median latency"),
    ("latency_p95_ms", "95th percentile latency"),
    ("flag_rate", "flagged (texts and rows)"),
)


_SINGULAR = {"texts_scored": "text scored", "batches_run": "batch run"}
LATENCY_TIP = (
    "Time to score and explain a typed text in the Score panel, once typing has paused: the "
    "150 ms pause itself is not counted. A model's first text also loads its explanation code "
    "(about a second, once); that one is left out of these figures and shown below them."
)


def caption(key: str, value: float | int | None) -> str:
    """A figure's caption, singular for one ("1 text scored")."""
    default = dict(FIGURES)[key]
    return _SINGULAR.get(key, default) if value == 1 else default


def format_figure(key: str, value: float | int | None) -> str:
    """How each snapshot value reads on screen ("–" while there is nothing to measure)."""
    if value is None:
        return "–"
    if key in ("latency_p50_ms", "latency_p95_ms"):
        return f"{value:.1f} ms" if value < 100 else f"{value:,.0f} ms"
    if key == "flag_rate":
        return f"{value:.1%}"
    if key == "batch_rows_per_s":
        return f"{value:,.0f}"
    return f"{int(value):,}"


def _uptime(seconds: float) -> str:
    minutes, _ = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min"


def _table(headers: tuple[str, ...]) -> QTableWidget:
    table = QTableWidget(0, len(headers))
    table.setHorizontalHeaderLabels(list(headers))
    table.verticalHeader().setVisible(False)
    table.verticalHeader().setDefaultSectionSize(ROW_HEIGHT)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setWordWrap(False)
    table.setFocusPolicy(Qt.FocusPolicy.ClickFocus)  # keyboard focus starts on the button
    header = table.horizontalHeader()
    header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
    header.setStretchLastSection(True)
    return table


class SessionPanel(QWidget):
    title = "Session"

    def __init__(self, ctx: AppContext, pool: WorkerPool, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.pool = pool
        self.self_test_checks: list[selftest.Check] = []
        self._self_test_worker: Worker | None = None
        self._self_test_model: str | None = None
        self._build()
        self._timer = QTimer(self, interval=REFRESH_MS, objectName="sessionRefresh")
        self._timer.timeout.connect(self.refresh)
        self._unobserve = ctx.state.observe(self._on_scorer_changed, ACTIVE_SCORER)
        self._show_model()
        self.refresh()

    # --- layout -------------------------------------------------------------------------------
    def _build(self) -> None:
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(self._session_box())
        left_layout.addWidget(self._model_box(), 1)
        left_layout.addWidget(self._self_test_box())

        card_box, self.card = model_card_box()

        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(left)
        splitter.addWidget(card_box)
        splitter.setStretchFactor(0, 1)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([640, 640])
        splitter.setChildrenCollapsible(False)
        layout = QVBoxLayout(self)
        layout.addWidget(splitter)

    def _session_box(self) -> QGroupBox:
        """The figures, large, three to a row, with their captions under them."""
        big = QFont(self.font())
        big.setPointSize(big.pointSize() + 6)
        big.setBold(True)
        session_box = QGroupBox("This session")
        grid = QGridLayout(session_box)
        self.figures: dict[str, QLabel] = {}
        self.captions: dict[str, QLabel] = {}
        for i, (key, caption) in enumerate(FIGURES):
            value = QLabel("–", objectName=f"figure_{key}")
            value.setFont(big)
            grid.addWidget(value, (i // 3) * 2, i % 3)
            words = QLabel(caption, styleSheet=muted_style())
            grid.addWidget(words, (i // 3) * 2 + 1, i % 3)
            if key.startswith("latency"):
                value.setToolTip(LATENCY_TIP)
                words.setToolTip(LATENCY_TIP)
            self.figures[key], self.captions[key] = value, words
        self.uptime = QLabel(wordWrap=True, styleSheet=muted_style())
        grid.addWidget(self.uptime, 4, 0, 1, 3)
        return session_box

    def _model_box(self) -> QGroupBox:
        """Name, version, integrity and folder of the active model, and its files' hashes."""
        fixed = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        model_box = QGroupBox("Model")
        model_layout = QVBoxLayout(model_box)
        form = QFormLayout()
        self.model_name, self.model_version = QLabel(), QLabel()
        self.model_state = QLabel(wordWrap=True)
        self.model_path = QLabel(wordWrap=True, styleSheet=muted_style())
        self.model_path.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        name_row = QHBoxLayout()  # one line for name and version: room for the file hashes
        name_row.addWidget(self.model_name)
        name_row.addSpacing(24)
        name_row.addWidget(QLabel("Version"))
        name_row.addWidget(self.model_version, 1)
        form.addRow("Name", name_row)
        form.addRow("Integrity", self.model_state)
        form.addRow("Folder", self.model_path)
        model_layout.addLayout(form)
        self.files = _table(("File", "Verified SHA-256"))
        self.files.setFont(fixed)
        self.files.horizontalHeader().setSectionResizeMode(
            0, QHeaderView.ResizeMode.ResizeToContents
        )
        model_layout.addWidget(self.files)
        return model_box

    def _self_test_box(self) -> QGroupBox:
        """The self-test button, its status and one row per check."""
        test_box = QGroupBox("Self-test")
        test_layout = QVBoxLayout(test_box)
        row = QHBoxLayout()
        self.self_test_button = QPushButton("Run self-test")
        self.self_test_button.setToolTip(
            "Re-verify the bundle from disk, score known texts, check explanations and the "
            "threshold arithmetic"
        )
        self.self_test_button.clicked.connect(self.run_self_test)
        self.self_test_status = QLabel("Not run yet in this session.", wordWrap=True)
        row.addWidget(self.self_test_button)
        row.addWidget(self.self_test_status, 1)
        test_layout.addLayout(row)
        self.checks = _table(("Check", "Result", "Detail"))
        self.checks.setFixedHeight(
            selftest.CHECK_COUNT * ROW_HEIGHT
            + self.checks.horizontalHeader().sizeHint().height()
            + 2 * self.checks.frameWidth()
            + 4
        )
        for column in (0, 1):
            self.checks.horizontalHeader().setSectionResizeMode(
                column, QHeaderView.ResizeMode.ResizeToContents
            )
        test_layout.addWidget(self.checks)
        return test_box

    # --- content ------------------------------------------------------------------------------
    def refresh(self) -> None:
        """Show the current session figures."""
        snapshot: dict[str, Any] = self.ctx.session.snapshot()
        for key, label in self.figures.items():
            label.setText(format_figure(key, snapshot.get(key)))
            self.captions[key].setText(caption(key, snapshot.get(key)))
        rows = snapshot.get("batch_rows_scored") or 0
        warmup = snapshot.get("warmup_ms")
        loading = (
            f" A model's first text took {format_figure('latency_p50_ms', warmup)} (it may load "
            "the explanation code, once): kept out of the latency figures."
            if warmup is not None
            else ""
        )
        self.uptime.setText(
            f"Session running for {_uptime(snapshot.get('uptime_s') or 0)}; "
            f"{rows:,} {'row' if rows == 1 else 'rows'} scored in batches. Figures cover this "
            f"session only.{loading}"
        )

    def _show_model(self) -> None:
        scorer = self.ctx.state.scorer
        self.files.setRowCount(0)
        if scorer is None:
            for label in (self.model_name, self.model_version, self.model_path):
                label.setText("–")
            self.model_state.setText("No model loaded")
            self.card.setPlainText("No model loaded.")
            self.self_test_button.setEnabled(False)
            return
        bundle = scorer.bundle
        self.model_name.setText(bundle.name)
        self.model_version.setText(bundle.version)
        self.model_path.setText(str(bundle.path))
        hashes = bundle.file_hashes
        self.model_state.setText(
            f"<span style='color:{ok_colour()}'>✓ Verified</span>: all {len(hashes)} files "
            "matched the SHA-256 in the bundle manifest when the model was loaded."
        )
        self.files.setRowCount(len(hashes))
        for row, name in enumerate(sorted(hashes)):
            self.files.setItem(row, 0, QTableWidgetItem(name))
            self.files.setItem(row, 1, QTableWidgetItem(hashes[name]))
        card = bundle.texts.get(MODEL_CARD)
        if card:
            self.card.setMarkdown(card)
        else:
            self.card.setPlainText(f"This model bundle has no {MODEL_CARD}.")
        self.self_test_button.setEnabled(self._self_test_worker is None)

    def _on_scorer_changed(self, _name: str, _value: Any) -> None:
        """A new model: the self-test's results, if any, were for another one.

        The window shows before the model loads, so the first model is a change of state too;
        "run it again" is only true once a self-test ran (or runs) in this session."""
        self._show_model()
        if self._self_test_model is None:
            return  # never run: "Not run yet in this session." still says it
        self.self_test_checks = []
        self.checks.setRowCount(0)
        scorer = self.ctx.state.scorer
        now = f" (now {scorer.version_label})" if scorer is not None else ""
        self.self_test_status.setText(
            f"The model changed since the self-test on {self._self_test_model}{now}: "
            "run the self-test again."
        )
        self.self_test_status.setStyleSheet("")

    # --- self-test ----------------------------------------------------------------------------
    def run_self_test(self) -> None:
        """Run ``app.core.selftest.checks.run_self_test`` on the active bundle in a worker."""
        scorer = self.ctx.state.scorer
        if scorer is None or self._self_test_worker is not None:
            return
        path = scorer.bundle.path
        self._self_test_model = scorer.version_label
        self.self_test_button.setEnabled(False)
        self.self_test_status.setText(f"Running the self-test on {scorer.version_label}…")
        self.self_test_status.setStyleSheet("")
        registry = self.ctx.registry  # its signature policy, when the app has one
        check = registry.check if registry is not None else None
        self._self_test_worker = run_in_pool(
            lambda _progress, _cancelled: selftest.run_self_test(path, check),
            self.pool,
            name="self-test",
            on_finished=self._on_self_test_finished,
            on_failed=self._on_self_test_failed,
            on_done=self._on_self_test_done,
        )

    def _on_self_test_finished(self, checks: list[selftest.Check]) -> None:
        self.self_test_checks = list(checks)
        self.checks.setRowCount(len(checks))
        for row, check in enumerate(checks):
            result = QTableWidgetItem("✓ ok" if check.ok else "✗ failed")
            result.setForeground(QColor(ok_colour() if check.ok else fail_colour()))
            detail = QTableWidgetItem(check.detail)
            detail.setToolTip(check.detail)
            for column, item in enumerate((QTableWidgetItem(check.name), result, detail)):
                self.checks.setItem(row, column, item)
        failed = sum(not check.ok for check in checks)
        ok = failed == 0 and bool(checks)
        self.self_test_status.setText(
            f"All {len(checks)} checks passed on {self._self_test_model}."
            if ok
            else f"{failed} of {len(checks)} checks FAILED on {self._self_test_model}."
        )
        self.self_test_status.setStyleSheet(f"color: {ok_colour() if ok else fail_colour()};")

    def _on_self_test_failed(self, message: str) -> None:
        self.self_test_status.setText(f"The self-test could not run: {message}")
        self.self_test_status.setStyleSheet(f"color: {fail_colour()};")

    def _on_self_test_done(self) -> None:
        self._self_test_worker = None
        self.self_test_button.setEnabled(self.ctx.state.scorer is not None)

    # --- visibility and lifetime ----------------------------------------------------------------
    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 (Qt API)
        super().showEvent(event)
        self.refresh()
        self._timer.start()

    def hideEvent(self, event: QHideEvent) -> None:  # noqa: N802 (Qt API)
        super().hideEvent(event)
        self._timer.stop()

    def shutdown(self) -> None:
        self._timer.stop()
        self._unobserve()
