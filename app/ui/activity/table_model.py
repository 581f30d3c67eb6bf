"""The Activity panel's table: events formatted for reading, one row each, newest first.

Formatting only; which events are shown is decided by ``ActivityLog.query`` (in the panel).
Full values (UTC time, whole hashes, the stored text) are kept for the tooltips. The user is
read from a file anyone could have edited: shown escaped and cut (`display_user`), never raw.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QColor, QFontDatabase

from app.core.activity.log import Event
from app.core.common.messages import fmt_score, fmt_threshold
from app.core.common.user import display_user
from app.ui.activity.details import MATRIX_WORDS, action_words, file_words
from app.ui.common.colours import muted_colour

COLUMNS = (
    "Time",
    "Action",
    "User",
    "Model",
    "Threshold",
    "Score",
    "Counts / detail",
    "File",
    "SHA-256",
    "Text / HMAC",
)
# Initial widths of every column but the last, which stretches to fill the view.
COLUMN_WIDTHS = (145, 125, 90, 115, 72, 58, 270, 140, 110)
TIME_COLUMN, ACTION_COLUMN, USER_COLUMN, THRESHOLD_COLUMN, SCORE_COLUMN = 0, 1, 2, 4, 5
SHA_COLUMN, TEXT_COLUMN = 8, 9
_NUMBER_COLUMNS = (THRESHOLD_COLUMN, SCORE_COLUMN)
# Columns showing hashes when the text is not stored: fixed-width and greyed.
_HASH_COLUMNS = (SHA_COLUMN, TEXT_COLUMN)
_TOOLTIP_TEXT_CHARS = 2000
_TOOLTIP_USER_CHARS = 200
_ModelIndex = QModelIndex | QPersistentModelIndex


def local_time(iso: str) -> str:
    """A stored UTC time as this computer's local time, to the second."""
    return datetime.fromisoformat(iso).astimezone().strftime("%Y-%m-%d %H:%M:%S")


def format_counts(raw: str | None) -> str:
    """The JSON ``counts`` column in short words, the batch counts first and in the ledger's
    order: "read 1,000 · scored 998 · flagged 40 · rejected 1 · blank 1", and the
    confusion-matrix counts as "caught", "missed"... (`details.MATRIX_WORDS`); other text as
    it is. The detail pane below the table says each in full."""
    try:
        counts = json.loads(raw) if raw else {}
    except ValueError:
        return raw or ""
    if not isinstance(counts, dict):
        return str(counts)
    words = {  # "missed", not "fn"; "blank", not "rows_blank"
        key: MATRIX_WORDS.get(key, key.removeprefix("rows_").replace("_", " ")) for key in counts
    }
    known = [key for key in _LEDGER_ORDER if key in counts]
    ordered = known + [key for key in counts if key not in known]
    return " · ".join(
        f"{words[key]} {counts[key]:,}"
        if type(counts[key]) is int
        else f"{words[key]} {counts[key]}"
        for key in ordered  # (not bools: type(True) is bool)
    )


_LEDGER_ORDER = ("rows_read", "rows_scored", "rows_flagged", "rows_rejected", "rows_blank")


def privacy_notice(store_raw_text: bool) -> str:
    """Rich text telling the analyst whether this log holds the scored texts themselves."""
    if store_raw_text:
        return (
            "<b>Raw texts are stored</b> in this log (setting “store raw text”). "
            "Without it, each text is kept only as an HMAC-SHA256 fingerprint."
        )
    return (
        "Texts are <b>not stored</b>: each is kept as an HMAC-SHA256 fingerprint keyed "
        "with this installation’s secret. Search for a whole text to find where it was "
        "scored."
    )


def count_summary(shown: int, more: bool, total: int) -> str:
    """The count caption, e.g. "Showing 12 of 40 events"; ``more``: older matches not shown."""
    what = f"newest {shown:,}" if more else f"{shown:,}"
    return f"Showing {what} of {total:,} event{'' if total == 1 else 's'}"


class EventTableModel(QAbstractTableModel):
    """The queried events, newest first, formatted for reading (full values in tooltips)."""

    def __init__(self) -> None:
        super().__init__()
        self.events: list[Event] = []
        self._fixed = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)

    def set_events(self, events: list[Event]) -> None:
        self.beginResetModel()
        self.events = events
        self.endResetModel()

    def rowCount(self, parent: _ModelIndex = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(self.events)

    def columnCount(self, parent: _ModelIndex = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = 0) -> Any:  # noqa: N802
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        return None

    def display(self, e: Event, column: int) -> str:
        if column == TEXT_COLUMN:
            if e.text is not None:
                return " ".join(e.text.split())  # one line per event, whatever the text holds
            return f"HMAC {e.text_hmac[:16]}…" if e.text_hmac else ""
        values = (
            local_time(e.time_utc),
            action_words(e.action),  # in words; the logged name is in the tooltip
            display_user(e.user),  # events from before the user was logged: blank
            e.model_version or "",
            "" if e.threshold is None else fmt_threshold(e.threshold),
            "" if e.score is None else fmt_score(e.score),
            " — ".join(part for part in (format_counts(e.counts), e.detail) if part),
            e.file_name or "",
            f"{e.file_sha256[:12]}…" if e.file_sha256 else "",
        )
        return values[column]

    def tooltip(self, e: Event, column: int) -> str | None:
        if column == TIME_COLUMN:
            return f"{e.time_utc} (UTC) · event {e.id}"
        if column == ACTION_COLUMN:
            return f"{action_words(e.action)} (logged as “{e.action}”)"
        if column == USER_COLUMN:
            if e.user is None:
                return "Not recorded (logged before events named their user)"
            return f"Workstation user: {display_user(e.user, _TOOLTIP_USER_CHARS)}"
        if column == SHA_COLUMN:
            return f"{file_words(e.action)[1]}: {e.file_sha256}" if e.file_sha256 else None
        if column == TEXT_COLUMN:
            if e.text is not None:
                return e.text[:_TOOLTIP_TEXT_CHARS]
            return f"HMAC-SHA256 of the text: {e.text_hmac}" if e.text_hmac else None
        text = self.display(e, column)
        return text or None

    def data(self, index: _ModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        event, column = self.events[index.row()], index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return self.display(event, column)
        if role == Qt.ItemDataRole.ToolTipRole:
            return self.tooltip(event, column)
        if role == Qt.ItemDataRole.TextAlignmentRole and column in _NUMBER_COLUMNS:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.FontRole and column in _HASH_COLUMNS and event.text is None:
            return self._fixed
        if role == Qt.ItemDataRole.ForegroundRole and column == TEXT_COLUMN and event.text is None:
            return QColor(muted_colour())
        return None
