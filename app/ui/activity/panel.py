"""The Activity panel (the original service's request log): filter, export and verify the log.

All log logic lives in ``app.core.activity.log``: this panel turns its filter widgets into a
``query`` call, shows the events (formatted by ``app.ui.activity.table_model``), and calls
``export_csv``, ``verify`` and ``purge_older_than``. Below the table, a detail pane says the
selected event in full and in words (``app.ui.activity.details``); double-click or Enter on a
row opens that pane (shown, scrolled to the top, focused) if it was collapsed.
New events appear without a restart: the panel re-queries when it becomes visible and, while
visible, every ``AUTO_REFRESH_MS`` if the log changed (a cheap id/count check). Verifying
re-hashes the whole log, so it runs in a worker.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any

from PySide6.QtCore import QDate, QModelIndex, Qt, QTimer
from PySide6.QtGui import QHideEvent, QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDateEdit,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from app.core.activity.log import ACTIONS
from app.core.common.errors import InputError
from app.core.context.state import AppContext
from app.core.results.output_names import (
    check_log_export_target,
    check_replace,
    export_name_refusal,
)
from app.ui.activity.details import action_words, describe
from app.ui.activity.table_model import (
    COLUMN_WIDTHS,
    EventTableModel,
    count_summary,
    local_time,
    privacy_notice,
)
from app.ui.common.colours import fail_colour, ok_colour
from app.ui.common.dialogs import ask_yes_no
from app.ui.common.workers import Worker, WorkerPool, run_in_pool

AUTO_REFRESH_MS = 2_000
SEARCH_DEBOUNCE_MS = 300
DEFAULT_DAYS = 7
DISPLAY_LIMIT = 5_000  # rows shown; exports always include every matching event
DETAIL_MIN_HEIGHT = 120  # the detail pane opened by double-click/Enter gets at least this
NO_EVENT = "Select an event to see it here in full; double-click or Enter opens this pane."


class ActivityPanel(QWidget):
    title = "Activity"

    def __init__(self, ctx: AppContext, pool: WorkerPool, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.pool = pool
        self.model = EventTableModel()
        self._revision: tuple[int, int] | None = None
        self._today = QDate.currentDate()
        self._verify_worker: Worker | None = None
        self._detail_id: int | None = None  # the event in the detail pane, kept across refreshes
        self._build()
        self._poll_timer = QTimer(self, interval=AUTO_REFRESH_MS, objectName="activityPoll")
        self._poll_timer.timeout.connect(self._poll)
        self._debounce = QTimer(
            self, singleShot=True, interval=SEARCH_DEBOUNCE_MS, objectName="activitySearch"
        )
        self._debounce.timeout.connect(self.refresh)
        self.search.textChanged.connect(self._on_search_edited)
        self.action_combo.currentIndexChanged.connect(self.refresh)
        self.from_date.dateChanged.connect(self._on_from_changed)
        self.to_date.dateChanged.connect(self._on_to_changed)
        self.all_dates.toggled.connect(self._on_all_dates)
        self.refresh()

    # --- layout -------------------------------------------------------------------------------
    def _build(self) -> None:
        self.action_combo = QComboBox()
        self.action_combo.addItem("All actions", None)
        for action in ACTIONS:
            self.action_combo.addItem(action_words(action), action)
        today = QDate.currentDate()
        self.from_date = QDateEdit(today.addDays(1 - DEFAULT_DAYS), calendarPopup=True)
        self.to_date = QDateEdit(today, calendarPopup=True)
        for edit in (self.from_date, self.to_date):
            edit.setDisplayFormat("yyyy-MM-dd")
        self.all_dates = QCheckBox("All dates")
        self.from_date.setAccessibleName("From date")
        self.to_date.setAccessibleName("To date")
        self.search = QLineEdit(
            placeholderText="Search user, model, file, detail, HMAC or a whole text"
        )
        self.search.setClearButtonEnabled(True)
        filters = QHBoxLayout()
        for label, widget in (
            ("Action", self.action_combo),
            ("From", self.from_date),
            ("to", self.to_date),
        ):
            filters.addWidget(QLabel(label))
            filters.addWidget(widget)
        filters.addWidget(self.all_dates)
        filters.addSpacing(16)
        filters.addWidget(self.search, 1)

        self.privacy = QLabel(wordWrap=True, objectName="activityPrivacy")
        self.table = QTableView()
        self.table.setAccessibleName("Activity events")
        self.search.setAccessibleName("Search events")
        self.table.setModel(self.model)
        self.table.setAlternatingRowColors(True)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setWordWrap(False)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(24)
        header = self.table.horizontalHeader()
        header.setStretchLastSection(True)
        header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        for column, width in enumerate(COLUMN_WIDTHS):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.Interactive)
            self.table.setColumnWidth(column, width)

        self.export_button = QPushButton("Export CSV…")
        self.export_button.setToolTip("Save the events matching the filters (all of them)")
        self.export_button.clicked.connect(self._on_export_clicked)
        self.verify_button = QPushButton("Verify chain")
        self.verify_button.setToolTip("Re-check every event's hash: shows edits and deletions")
        self.verify_button.clicked.connect(self.verify)
        self.purge_button = QPushButton()
        self.purge_button.clicked.connect(self._on_purge_clicked)
        self.count_label = QLabel(objectName="activityCount")
        self.result_label = QLabel(objectName="activityResult", wordWrap=True)
        buttons = QHBoxLayout()
        for button in (self.export_button, self.verify_button, self.purge_button):
            buttons.addWidget(button)
        buttons.addSpacing(12)
        buttons.addWidget(self.result_label, 1)
        buttons.addWidget(self.count_label)

        self.detail = QPlainTextEdit(readOnly=True, objectName="activityDetail")
        self.detail.setAccessibleName("Selected event in full")
        self.detail.setPlaceholderText(NO_EVENT)
        self.table.selectionModel().currentRowChanged.connect(self._on_current_row)
        self.table.activated.connect(self.open_event)  # double-click, Enter/Return
        self.splitter = QSplitter(Qt.Orientation.Vertical, childrenCollapsible=True)
        self.splitter.addWidget(self.table)
        self.splitter.addWidget(self.detail)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 1)

        layout = QVBoxLayout(self)
        layout.addLayout(filters)
        layout.addWidget(self.privacy)
        layout.addWidget(self.splitter, 1)
        layout.addLayout(buttons)
        self._update_labels()

    def _update_labels(self) -> None:
        days = self.ctx.settings.log_retention_days
        self.purge_button.setText(f"Purge older than {days} days…")
        self.privacy.setText(privacy_notice(self.ctx.activity.store_raw_text))
        self.privacy.setToolTip(f"Log file: {self.ctx.activity.path}")

    # --- querying -----------------------------------------------------------------------------
    def filters(self) -> dict[str, Any]:
        """The current filters as ``ActivityLog.query`` arguments (local days, converted)."""
        since = until = None
        if not self.all_dates.isChecked():
            first = self.from_date.date().toPython()
            last = self.to_date.date().toPython()
            since = datetime.combine(first, time.min).astimezone()  # local midnight
            until = datetime.combine(last + timedelta(days=1), time.min).astimezone()
        return {
            "action": self.action_combo.currentData(),
            "since": since,
            "until": until,
            "search": self.search.text().strip() or None,
        }

    def refresh(self) -> None:
        """Re-query the log with the current filters."""
        self._debounce.stop()
        self._revision = (self.ctx.activity.last_id(), self.ctx.activity.count())
        events = self.ctx.activity.query(**self.filters(), limit=DISPLAY_LIMIT + 1)
        shown = events[:DISPLAY_LIMIT]
        self.model.set_events(shown)
        self._reselect()
        more = len(events) > DISPLAY_LIMIT
        self.count_label.setText(count_summary(len(shown), more, total=self._revision[1]))
        self._update_labels()

    # --- the detail pane -----------------------------------------------------------------------
    def _on_current_row(self, current: QModelIndex, _previous: QModelIndex) -> None:
        self.show_event(current.row() if current.isValid() else None)

    def show_event(self, row: int | None) -> None:
        """Fill the detail pane with the event on `row` (None: empty it)."""
        events = self.model.events
        if row is None or not 0 <= row < len(events):
            self._detail_id = None
            self.detail.setPlainText("")
            return
        event = events[row]
        self._detail_id = event.id
        self.detail.setPlainText(describe(event, local_time(event.time_utc)))

    def open_event(self, index: QModelIndex) -> None:
        """Double-click or Enter: show the row's event and bring the pane into view."""
        if not index.isValid():
            return
        self.table.selectRow(index.row())
        self.show_event(index.row())
        table, pane = self.splitter.sizes()
        if pane < DETAIL_MIN_HEIGHT:  # collapsed or squeezed by the user: open it again
            total = table + pane
            opened = max(DETAIL_MIN_HEIGHT, total * 2 // 5)
            self.splitter.setSizes([max(0, total - opened), opened])
        self.detail.moveCursor(self.detail.textCursor().MoveOperation.Start)
        self.detail.ensureCursorVisible()
        self.detail.setFocus(Qt.FocusReason.OtherFocusReason)

    def _reselect(self) -> None:
        """After a re-query, select the event shown in the pane again (rows move as events
        arrive); if the filters no longer show it, the pane empties."""
        ids = [e.id for e in self.model.events]
        if self._detail_id in ids:
            self.table.selectRow(ids.index(self._detail_id))
        else:
            self.show_event(None)

    def _poll(self) -> None:
        today = QDate.currentDate()
        if today != self._today:  # past midnight: a range ending "today" moves along
            if self.to_date.date() == self._today:
                shift = self._today.daysTo(today)
                self.to_date.setDate(today)
                self.from_date.setDate(self.from_date.date().addDays(shift))
            self._today = today
        if (self.ctx.activity.last_id(), self.ctx.activity.count()) != self._revision:
            self.refresh()

    def _on_from_changed(self, value: QDate) -> None:
        if value > self.to_date.date():
            self.to_date.setDate(value)  # refreshes through its own signal
            return
        self.refresh()

    def _on_to_changed(self, value: QDate) -> None:
        if value < self.from_date.date():
            self.from_date.setDate(value)
            return
        self.refresh()

    def _on_search_edited(self, _text: str) -> None:
        self._debounce.start()  # query once typing pauses, not on every keystroke

    def _on_all_dates(self, checked: bool) -> None:
        self.from_date.setEnabled(not checked)
        self.to_date.setEnabled(not checked)
        self.refresh()

    # --- actions ------------------------------------------------------------------------------
    def export_csv(self, path: Path, *, overwrite: bool = True) -> int:
        """Write every event matching the filters (not only those shown); returns the count.

        Never onto the log, its head or key, or a database; an existing file only if
        `overwrite` (the save dialog asked about that very name) or it is an earlier export."""
        check_log_export_target(self.ctx.activity.path, Path(path))
        check_replace(Path(path), "log", overwrite=overwrite, hint="choose it in the dialog")
        filters = self.filters()
        events = self.ctx.activity.query(**filters, limit=None)
        written = int(self.ctx.activity.export_csv(Path(path), events))
        self.ctx.log(
            "export",
            file_name=Path(path).name,
            counts={"rows_written": written},
            detail="activity log export",
        )
        self._show_result(True, f"Exported {written:,} events to {path}")
        self.refresh()
        return written

    def _on_export_clicked(self) -> None:
        start = Path(self.ctx.settings.last_folder or Path.home()) / "activity-log.csv"
        chosen, _ = QFileDialog.getSaveFileName(
            self, "Export activity log", str(start), "CSV files (*.csv)"
        )
        if not chosen:
            return
        path = Path(chosen)
        confirmed = bool(path.suffix)  # the dialog asked about this name, not about name.csv
        if not path.suffix:
            path = path.with_suffix(".csv")
        if (refusal := export_name_refusal(path, "csv")) is not None:
            self._show_result(False, refusal)
            return
        try:
            self.export_csv(path, overwrite=confirmed)
        except (OSError, InputError) as exc:
            self._show_result(False, f"Export failed: {exc}")

    def verify(self) -> None:
        """Check the hash chain in a worker; the outcome appears next to the buttons."""
        if self._verify_worker is not None:
            return
        self.verify_button.setEnabled(False)
        self.result_label.setText("Verifying…")
        self.result_label.setStyleSheet("")
        verify = self.ctx.activity.verify
        self._verify_worker = run_in_pool(
            lambda _progress, _cancelled: verify(),
            self.pool,
            name="verify activity log",
            on_finished=self._on_verified,
            on_failed=self._on_verify_failed,
            on_done=self._on_verify_done,
        )

    def _on_verified(self, outcome: tuple[bool, str]) -> None:
        ok, message = outcome
        self._show_result(ok, f"Log verified: {message}" if ok else f"Log check FAILED: {message}")

    def _on_verify_failed(self, message: str) -> None:
        self._show_result(False, message)

    def _on_verify_done(self) -> None:
        self._verify_worker = None
        self.verify_button.setEnabled(True)

    def purge_now(self) -> int:
        """Apply the retention setting now (the core logs the purge); returns events removed."""
        days = self.ctx.settings.log_retention_days
        removed = int(self.ctx.activity.purge_older_than(days))
        self._show_result(True, f"Removed {removed:,} events older than {days} days")
        self.refresh()
        return removed

    def _on_purge_clicked(self) -> None:
        days = self.ctx.settings.log_retention_days
        if ask_yes_no(
            self,
            "Purge the activity log",
            f"Delete every event older than {days} days? This cannot be undone; "
            "the purge itself is recorded in the log.",
        ):
            self.purge_now()

    def _show_result(self, ok: bool, message: str) -> None:
        self.result_label.setText(("✓ " if ok else "✗ ") + message)
        self.result_label.setStyleSheet(f"color: {ok_colour() if ok else fail_colour()};")

    # --- visibility and lifetime ----------------------------------------------------------------
    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 (Qt API)
        super().showEvent(event)
        self.refresh()
        self._poll_timer.start()

    def hideEvent(self, event: QHideEvent) -> None:  # noqa: N802 (Qt API)
        super().hideEvent(event)
        self._poll_timer.stop()
        if self._debounce.isActive():
            self.refresh()  # apply the search typed last, then stop the timer

    def shutdown(self) -> None:
        self._poll_timer.stop()
        self._debounce.stop()
