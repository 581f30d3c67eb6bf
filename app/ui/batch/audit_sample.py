"""The Batch panel's "Draw audit sample…": a stratified audit sample of the shown batch, written
as SAMPLE.csv with its provenance sidecar (`app.core.context.audit_draw`), on the worker pool,
then offered to the Review panel ("Open in Review").

The sample is drawn from a scored CSV: the batch's last whole CSV export if it has one (and it is
still there), else one the export path writes beside the sample first. The bands are cut around
the app-wide threshold. Each sample drawn is an ``audit_sample_drawn`` activity event.

A mixin of `BatchPanel` (it uses the panel's shown job, status line and buttons).
"""

from __future__ import annotations

import secrets
from functools import partial
from pathlib import Path
from typing import Any

from PySide6.QtGui import QRegularExpressionValidator
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QWidget,
)

from app.core.audit.sample import MAX_SEED
from app.core.common.errors import AbuseDeskError
from app.core.common.messages import fmt_threshold
from app.core.context.audit_draw import (
    DEFAULT_SAMPLE_SIZE,
    DrawnFromBatch,
    draw_from_batch,
    log_sample_drawn,
)
from app.core.context.batch_queue import BatchJob
from app.ui.common.workers import Worker, run_in_pool


class AuditSampleDialog(QDialog):
    """Size (default 200), seed (a random one, shown, editable) and where to save."""

    def __init__(self, parent: QWidget | None, suggested: Path, threshold: float) -> None:
        super().__init__(parent)
        self.setWindowTitle("Draw audit sample")
        self.size = QSpinBox(objectName="auditSampleSize")
        self.size.setRange(1, 100_000)
        self.size.setValue(DEFAULT_SAMPLE_SIZE)
        self.seed = QLineEdit(str(secrets.randbelow(MAX_SEED + 1)), objectName="auditSampleSeed")
        self.seed.setValidator(QRegularExpressionValidator(r"[0-9]{1,19}"))
        self.seed.setToolTip("The same seed draws the same sample again")
        self.path = QLineEdit(str(suggested), objectName="auditSamplePath")
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        where = QHBoxLayout()
        where.addWidget(self.path, 1)
        where.addWidget(browse)
        self.error = QLabel(objectName="auditSampleError", wordWrap=True)
        form = QFormLayout(self)
        form.addRow(QLabel(f"Score bands around the app-wide threshold {fmt_threshold(threshold)}; "
                           "every band sampled, more near it and in the high band."))  # fmt: skip
        form.addRow("Items to sample", self.size)
        form.addRow("Seed", self.seed)
        form.addRow("Save as", where)
        form.addRow(self.error)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def _browse(self) -> None:
        name, _ = QFileDialog.getSaveFileName(self, "Save the audit sample", self.path.text(),
                                              "CSV (*.csv)")  # fmt: skip
        if name:
            self.path.setText(name)

    def accept(self) -> None:
        seed = self.seed.text().strip()
        if not seed.isdigit() or int(seed) > MAX_SEED:
            self.error.setText(f"The seed is a whole number from 0 to {MAX_SEED}.")
            return
        if not self.path.text().strip():
            self.error.setText("Choose where to save the sample.")
            return
        super().accept()

    def values(self) -> tuple[int, int, Path]:
        return self.size.value(), int(self.seed.text()), Path(self.path.text().strip())


def _draw_job(job: BatchJob, output: Path, size: int, seed: int, threshold: float,
              scored: Path | None, _progress: Any, cancelled: Any) -> DrawnFromBatch:  # fmt: skip
    return draw_from_batch(job, output, size=size, seed=seed, threshold=threshold,
                           scored=scored, cancelled=cancelled)  # fmt: skip


class BatchAuditSample:
    """Draw audit sample… and Open in Review (mixed into `BatchPanel`)."""

    # Provided by BatchPanel / BatchPanelView.
    ctx: Any
    pool: Any
    shown: BatchJob | None
    status: Any
    sample_button: Any
    review_button: Any
    open_in_review: Any  # Signal(object): the SAMPLE.csv path
    _scored_csv: dict[int, Path]  # job id -> its last whole CSV export
    _sampler: Worker | None
    _sample_path: Path | None

    def sample_dialog(self) -> None:
        job = self.shown
        if job is None or job.result is None or self._sampler is not None:
            return
        folder = Path(self.ctx.settings.last_folder or job.path.parent)
        dialog = AuditSampleDialog(
            self,  # type: ignore[arg-type]
            folder / f"{job.path.stem}-audit-sample.csv",
            self.ctx.state.threshold,
        )
        if dialog.exec() == QDialog.DialogCode.Accepted:
            self.draw_sample(*dialog.values())

    def draw_sample(self, size: int, seed: int, output: Path) -> None:
        """Write the sample on the worker pool; `_sample_drawn` offers it to the Review panel."""
        job = self.shown
        if job is None or job.result is None or self._sampler is not None:
            return
        scored = self._scored_csv.get(job.id)
        self.status.setText(f"Drawing an audit sample of {size:,} from {job.path.name}…")
        self.sample_button.setEnabled(False)
        self._sampler = run_in_pool(
            partial(_draw_job, job, output, size, seed, self.ctx.state.threshold, scored),
            self.pool,
            name="drawing an audit sample",
            on_finished=self._sample_drawn,
            on_failed=self._sample_failed,
            on_done=self._sample_done,
        )

    def _sample_drawn(self, drawn: DrawnFromBatch) -> None:
        written = drawn.written
        try:
            log_sample_drawn(self.ctx, written, drawn.sha256)
        except AbuseDeskError as exc:  # written, but the log could not say so: the user knows
            self.status.setText(f"Sample written to {written.output}, not logged: {exc}")
        else:
            made = (
                f" (scored CSV written first: {drawn.scored.name})" if drawn.scored_written else ""
            )
            self.status.setText(
                f"Audit sample of {written.rows_written:,} items (seed "
                f"{written.provenance['seed']}) written to {written.output}{made}."
            )
        self._sample_path = written.output
        self.review_button.setVisible(True)
        self.review_button.setEnabled(True)
        self.ctx.settings.last_folder = str(written.output.parent)

    def _sample_failed(self, message: str) -> None:
        self.status.setText(f"No audit sample: {message}")

    def _sample_done(self) -> None:
        self._sampler = None
        self.sample_button.setEnabled(self.shown is not None and self.shown.result is not None)

    def open_sample_in_review(self) -> None:
        if self._sample_path is not None:
            self.open_in_review.emit(self._sample_path)
