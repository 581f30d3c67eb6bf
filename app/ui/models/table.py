"""The Models panel's table: one row per installed model version, formatted for reading.

Formatting only: which versions exist and whether they verify is `app.core.models.registry`'s answer
(``ModelEntry``); which one is active, challenger or the rollback target is told by the panel
(``set_roles``), so a model switch repaints one column instead of re-hashing every bundle.
Sorting goes through ``SORT_ROLE`` (numbers and version keys, not their text), so "1.10.0"
sorts after "1.9.0" and a missing ROC-AUC sorts below every real one.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
)
from PySide6.QtGui import QColor

from app.core.common.messages import fmt_threshold
from app.core.models.registry import ModelEntry, version_key
from app.ui.common.colours import FAIL_COLOUR, OK_COLOUR

COLUMNS = (
    "Role",
    "Name",
    "Version",
    "Engine",
    "Source",
    "Signature",
    "Verified",
    "Created",
    "ROC-AUC",
    "Davidson",
    "OLID",
    "Default",
)
ROLE, NAME, VERSION, ENGINE, SOURCE, SIGNATURE, VERIFIED, CREATED = range(8)
AUC_ALL, AUC_DAVIDSON, AUC_OLID, THRESHOLD = range(8, 12)
_AUC_KEYS = {AUC_ALL: "all", AUC_DAVIDSON: "davidson", AUC_OLID: "olid"}
_NUMBER_COLUMNS = (AUC_ALL, AUC_DAVIDSON, AUC_OLID, THRESHOLD)
# Initial widths; the Signature column stretches (a key name and id are the longest text).
COLUMN_WIDTHS = (165, 100, 70, 68, 72, 0, 64, 125, 72, 72, 60, 80)
SORT_ROLE = Qt.ItemDataRole.UserRole + 1
REFUSED_BACKGROUND, REFUSED_TEXT = QColor("#fbe9e7"), QColor(FAIL_COLOUR)
OK_TEXT = QColor(OK_COLOUR)
ACTIVE_BACKGROUND = QColor("#e8f0fe")
_ModelIndex = QModelIndex | QPersistentModelIndex


def created_text(iso: str) -> str:
    """A manifest's UTC creation time as local time to the minute (the text as-is if odd)."""
    if not iso:
        return ""
    try:
        return datetime.fromisoformat(iso).astimezone().strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return iso


def short_problem(entry: ModelEntry) -> str:
    """Why a version was refused, naming its folder rather than the whole path (for a cell)."""
    return (entry.problem or "not verified").replace(str(entry.folder), entry.folder.name)


def auc_text(value: float | None) -> str:
    return "" if value is None else f"{value:.3f}"


class ModelTableModel(QAbstractTableModel):
    """Installed versions in the registry's order (newest first) with their roles."""

    def __init__(self) -> None:
        super().__init__()
        self.entries: list[ModelEntry] = []
        self.roles: dict[str, list[str]] = {}  # bundle folder name -> ["active", ...]

    def set_entries(self, entries: list[ModelEntry]) -> None:
        self.beginResetModel()
        self.entries = list(entries)
        self.endResetModel()

    def set_roles(self, roles: dict[str, list[str]]) -> None:
        """Which folder is active / challenger / previous; repaints only what changed."""
        self.roles = roles
        if self.entries:
            self.dataChanged.emit(self.index(0, 0), self.index(len(self.entries) - 1, ROLE))

    def row_of(self, ref: str) -> int | None:
        for row, entry in enumerate(self.entries):
            if entry.ref == ref:
                return row
        return None

    def role_text(self, entry: ModelEntry) -> str:
        return " · ".join(self.roles.get(entry.ref, []))

    def rowCount(self, parent: _ModelIndex = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(self.entries)

    def columnCount(self, parent: _ModelIndex = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = 0) -> Any:  # noqa: N802
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.ToolTipRole:
            if section in _AUC_KEYS:
                part = "overall" if section == AUC_ALL else f"on {COLUMNS[section]} items"
                return f"ROC-AUC on the held-out test set, {part} (from the bundle's manifest)"
            if section == ENGINE:
                return (
                    "linear: the fast bag-of-words model; encoder: the thorough transformer "
                    "(abuse-mini), slower, explained by occlusion"
                )
            if section == THRESHOLD:
                return (
                    "The default threshold the bundle recommends; the app decides at the "
                    "app-wide threshold (status bar), which a supervisor may have set otherwise"
                )
        return None

    def display(self, e: ModelEntry, column: int) -> str:
        if column == VERIFIED:
            return "✓" if e.verified else "✗"
        if column == SIGNATURE and not e.verified:
            return f"refused: {short_problem(e)}"  # no signature was accepted; say why instead
        if column in _AUC_KEYS:
            return auc_text(e.test_auc.get(_AUC_KEYS[column]))
        values = {
            ROLE: self.role_text(e),
            NAME: e.name or e.folder.name,  # a refused bundle's manifest was never read
            VERSION: e.version,
            ENGINE: e.engine if e.verified else "",  # a refused bundle was never read
            SOURCE: e.source,
            SIGNATURE: e.signature_text,
            CREATED: created_text(e.created_utc),
            THRESHOLD: "" if e.default_threshold is None else fmt_threshold(e.default_threshold),
        }
        return values[column]

    def sort_key(self, e: ModelEntry, column: int) -> Any:
        """What a column sorts by: comparable values of one type per column."""
        if column in _AUC_KEYS:
            return e.test_auc.get(_AUC_KEYS[column], -1.0)
        if column == THRESHOLD:
            return -1.0 if e.default_threshold is None else e.default_threshold
        if column == VERSION:
            return str(version_key(e.version or "0"))  # QVariant keeps strings, not tuples
        if column == VERIFIED:
            return int(e.verified)
        if column == CREATED:
            return e.created_utc
        return self.display(e, column).casefold()

    def tooltip(self, e: ModelEntry, column: int) -> str | None:
        if not e.verified:
            return f"Refused: {e.problem}"
        if column == CREATED and e.created_utc:
            return f"{e.created_utc} (as recorded in the manifest)"
        if column == NAME:
            return str(e.folder)
        if column == ENGINE:
            return e.engine_text
        text = self.display(e, column)
        return text or None

    def data(self, index: _ModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        entry, column = self.entries[index.row()], index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return self.display(entry, column)
        if role == SORT_ROLE:
            return self.sort_key(entry, column)
        if role == Qt.ItemDataRole.ToolTipRole:
            return self.tooltip(entry, column)
        if role == Qt.ItemDataRole.TextAlignmentRole and column in _NUMBER_COLUMNS:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.BackgroundRole:
            if not entry.verified:
                return REFUSED_BACKGROUND  # the whole row: a refused version must stand out
            if "active" in self.roles.get(entry.ref, []):
                return ACTIVE_BACKGROUND
        if role == Qt.ItemDataRole.ForegroundRole:
            if not entry.verified:
                return REFUSED_TEXT
            if column == VERIFIED:
                return OK_TEXT
        return None


def make_proxy(model: ModelTableModel) -> QSortFilterProxyModel:
    """A sorting proxy over ``model``; unsorted (the registry's order) until a header is clicked."""
    proxy = QSortFilterProxyModel()
    proxy.setSourceModel(model)
    proxy.setSortRole(SORT_ROLE)
    return proxy
