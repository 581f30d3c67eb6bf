"""The Threshold panel's decision dialogs: the rationale asked for by Apply (OK stays disabled
while it is blank), and "Decision records…" (the list, one record in full, Export PDF…).

Records are built, stored and read by the core (`app.core.decisions`); the PDF is drawn by
`app.reports.decision_pdf`. These widgets only ask and show.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QStandardPaths
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QLabel,
    QListWidget,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from app.core.common.errors import AbuseDeskError
from app.core.common.user import workstation_user
from app.core.decisions.records import MAX_RATIONALE, RATE_WORDS, DecisionRecord
from app.core.decisions.store import DecisionStore


class RationaleDialog(QDialog):
    """Why this threshold? Required before Apply changes anything."""

    def __init__(self, summary: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Apply threshold — rationale")
        layout = QVBoxLayout(self)
        intro = QLabel(
            f"{summary}\nRecorded by {workstation_user()} with the model, the data source and "
            "the numbers at the new and previous thresholds."
        )
        intro.setWordWrap(True)
        self.text = QPlainTextEdit()
        self.text.setPlaceholderText("Why this threshold (required), e.g. the workload it fits")
        self.text.setAccessibleName("Rationale")
        self.text.setTabChangesFocus(True)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok.setText("Apply and record")
        self.ok.setEnabled(False)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        self.text.textChanged.connect(self._changed)
        for w in (intro, self.text, self.buttons):
            layout.addWidget(w)
        self.resize(520, 260)

    def _changed(self) -> None:
        text = self.text.toPlainText()
        self.ok.setEnabled(bool(text.strip()) and len(text.strip()) <= MAX_RATIONALE)

    def rationale(self) -> str:
        return self.text.toPlainText().strip()


def record_text(r: DecisionRecord) -> str:
    """One record in full, in words ("≈": an audit sample's weighted estimates)."""
    from app.reports.decision_pdf import bands_words, day_rows, fmt_rate, items_words

    prev = "none" if r.previous is None else r.previous.describe()
    m = r.at_new
    matrix = f"caught {m.tp:,}, missed {m.fn:,}, false alarms {m.fp:,}, passed {m.tn:,}"
    how = (" (weighted estimates for the whole batch, stratified-bootstrap intervals)"
           if m.estimated else "")  # fmt: skip
    lines = [
        f"Record {r.id}: {r.policy.describe()} (previous {prev})",
        f"By {r.author}, {r.time_utc} (UTC)",
        f"Model {r.model_version}, manifest SHA-256 {r.manifest_sha256 or 'unknown'}",
        f"Data source {r.source.name} ({r.source.kind}), SHA-256 {r.source.sha256}",
        f"Matrix{how}: {matrix}; items {items_words(m)}",
        *(f"  {RATE_WORDS[key]}: {fmt_rate(rate)}" for key, rate in m.rates.items()),
        "Prevalence assumed: "
        + ("not assumed" if r.prevalence is None else f"{r.prevalence:.1%}")
        + "; volume: "
        + ("not assumed" if r.volume is None else f"{r.volume:,.0f} a day"),
    ]
    if day := day_rows(r):
        lines.append("At that traffic (chosen / previous):")
        lines += [f"  {what}: {new}" + (f" / {old}" if old else "") for what, new, old in day]
    if bands := bands_words(r):
        lines.append(f"Bands: {bands}")
    lines += ["", f"Rationale: {r.rationale}"]
    return "\n".join(lines)


class DecisionRecordsDialog(QDialog):
    """Every record, newest first; the selected one in full; Export PDF…"""

    def __init__(
        self, parent: QWidget | None = None, path: Path | None = None, *, settings: Any = None
    ) -> None:
        super().__init__(parent)
        self.settings = settings  # the app's: the last folder a file was saved in, if given
        self.setWindowTitle("Decision records")
        self.records: list[DecisionRecord] = []
        layout = QVBoxLayout(self)
        self.notice = QLabel()
        self.notice.setWordWrap(True)
        self.list = QListWidget()
        self.list.setAccessibleName("Decision records")
        self.details = QPlainTextEdit()
        self.details.setReadOnly(True)
        self.details.setAccessibleName("Selected decision record")
        split = QSplitter()
        split.setChildrenCollapsible(False)
        split.addWidget(self.list)
        split.addWidget(self.details)
        self.export_button = QPushButton("Export PDF…")
        self.export_button.setEnabled(False)
        self.export_button.clicked.connect(self.export_pdf)
        close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        close.rejected.connect(self.reject)
        close.addButton(self.export_button, QDialogButtonBox.ButtonRole.ActionRole)
        layout.addWidget(self.notice)
        layout.addWidget(split, 1)  # the list and details take the height, not the notice
        layout.addWidget(close)
        self.list.currentRowChanged.connect(self._selected)
        self.resize(900, 520)
        split.setSizes([330, 570])
        try:
            with DecisionStore(path) as store:
                self.records = list(reversed(store.list()))
        except AbuseDeskError as exc:
            self.notice.setText(str(exc))
            return
        for r in self.records:
            self.list.addItem(f"{r.id}  {r.time_utc}  {r.author}  {r.policy.describe()}")
        self.notice.setText(f"{len(self.records)} record(s)" if self.records else
                            "No decision records yet: Apply in the Threshold panel creates them.")  # fmt: skip
        if self.records:
            self.list.setCurrentRow(0)

    def current(self) -> DecisionRecord | None:
        row = self.list.currentRow()
        return self.records[row] if 0 <= row < len(self.records) else None

    def _selected(self, row: int) -> None:
        record = self.current()
        self.details.setPlainText(record_text(record) if record else "")
        self.export_button.setEnabled(record is not None)

    def suggested_pdf_path(self, record: DecisionRecord) -> Path:
        """decision-N.pdf in the last folder the app saved to (else the documents folder), as
        the other export dialogs suggest: never a bare name in the working directory."""
        last = getattr(self.settings, "last_folder", "") or ""
        if last and Path(last).is_dir():
            folder = Path(last)
        else:
            docs = QStandardPaths.writableLocation(
                QStandardPaths.StandardLocation.DocumentsLocation
            )
            folder = Path(docs) if docs and Path(docs).is_dir() else Path.home()
        return folder / f"decision-{record.id}.pdf"

    def ask_pdf_path(self, record: DecisionRecord) -> Path | None:
        name, _ = QFileDialog.getSaveFileName(
            self, "Export decision record", str(self.suggested_pdf_path(record)), "PDF (*.pdf)"
        )
        return Path(name) if name else None

    def export_pdf(self) -> None:
        from app.core.common.output_guard import check_output
        from app.reports.decision_pdf import write_pdf

        record = self.current()
        if record is None or (path := self.ask_pdf_path(record)) is None:
            return
        try:  # the file dialog already asked before replacing an existing file
            check_output(path, {})
            write_pdf(record, path, overwrite=True)
        except (AbuseDeskError, OSError) as exc:
            QMessageBox.warning(self, "Export PDF", str(exc))
            return
        self.notice.setText(f"Record {record.id} exported to {path}")
        if self.settings is not None:
            self.settings.last_folder = str(path.parent)  # the next export starts there
