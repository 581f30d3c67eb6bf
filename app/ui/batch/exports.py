"""The Batch panel's exports: results to CSV/XLSX in the background, rejected rows to a CSV.

A mixin of `BatchPanel` (it uses the panel's widgets, job queue and state); kept apart so the
panel module stays readable. Exports are labelled as shown; one that would write no rows asks
first; the rejected rows never go over the scored input or the job's cache.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtWidgets import QFileDialog, QMessageBox

from app.core.batch.words import counted
from app.core.common.errors import AbuseDeskError
from app.core.context.rejected_export import export_rejected_rows
from app.core.results.export import CACHE_GONE
from app.core.results.output_names import export_name_refusal
from app.core.results.table import filter_mask


class BatchExports:
    """Export actions of the Batch panel (mixed into `BatchPanel`)."""

    # Provided by BatchPanel / BatchPanelView.
    ctx: Any
    jobs: Any
    shown: Any
    status: Any
    results: Any
    shown_only: Any
    export_done: Any
    _exporting: tuple[int, float] | None
    _exported: dict[int, float]
    _scored_csv: dict[int, Path]  # job id -> its last whole CSV export (an audit sample's source)
    _export_file: tuple[int, Path] | None
    _refresh: Any  # BatchPanel's: enable what makes sense now

    def export_dialog(self, fmt: str = "csv") -> None:
        if self.shown is None:
            return
        if self.shown.result is not None and not self.shown.result.cache_path.is_file():
            self.status.setText(f"{self.shown.path.name} cannot be exported: {CACHE_GONE}.")
            return  # before the save dialog: there is nothing to write
        folder = Path(self.ctx.settings.last_folder or Path.home())
        suggested = folder / f"{self.shown.path.stem}-scored.{fmt}"
        name, _ = QFileDialog.getSaveFileName(self, "Export results", str(suggested), f"*.{fmt}")
        if not name:
            return
        path = Path(name)
        if (refusal := export_name_refusal(path, fmt)) is not None:
            self.status.setText(refusal)  # a CSV named .xlsx (or the reverse) opens as garbage
            return
        self.export(path, fmt)

    def export_rejected_dialog(self) -> None:
        """Save the shown job's rejected rows (line, reason, raw text) as a CSV."""
        if self.shown is None or self.shown.result is None:
            return
        folder = Path(self.ctx.settings.last_folder or Path.home())
        suggested = folder / f"{self.shown.path.stem}.rejected.csv"
        name, _ = QFileDialog.getSaveFileName(self, "Export rejected rows", str(suggested), "*.csv")
        if name:
            self.export_rejected(Path(name))

    def export_rejected(self, path: Path) -> None:
        """Write the rejected rows to `path` (the save dialog asked before replacing a file)."""
        result = self.shown.result if self.shown is not None else None
        if result is None:
            return
        try:
            count = export_rejected_rows(self.ctx, self.shown, path)
        except (AbuseDeskError, OSError) as exc:
            self.status.setText(f"Rejected rows not exported to {path.name}: {exc}")
            return
        self.status.setText(f"Exported {counted(count, 'rejected row')} to {path.name}.")

    def export(self, path: Path, fmt: str) -> None:
        """Export the shown results in the background (see `export_done`), labelled as shown."""
        job = self.shown
        if job is None or job.result is None:
            self.status.setText("Nothing to export yet.")
            return
        spec = self.results.spec() if self.shown_only.isChecked() else None
        keep = None if spec is None else filter_mask(job.result.table, spec, job.label_threshold)
        rows = len(job.result.table) if keep is None else int(keep.sum())
        if rows == 0 and not self._confirm_empty_export(path, spec):
            self.status.setText(f"Export to {path.name} cancelled: it would have written 0 rows.")
            return
        if not self.jobs.export(job, path, fmt, keep, spec):
            self.status.setText("An export is already running.")
            return
        self._exporting = (job.id, job.label_threshold)
        self._export_file = (job.id, path) if fmt == "csv" and keep is None else None
        self.ctx.settings.last_folder = str(path.parent)
        self.status.setText(f"Exporting to {path.name}…")
        self._refresh()

    def _confirm_empty_export(self, path: Path, spec: Any) -> bool:
        why = "the results have no rows" if spec is None else (
            f"no row passes the filters ({spec.describe()}) and only rows shown by the filters "
            "are exported")  # fmt: skip
        answer = QMessageBox.question(
            self,
            "Export 0 rows?",
            f"The export to {path.name} would write no rows: {why}.\n\nWrite it anyway?",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.No,
        )
        return answer == QMessageBox.StandardButton.Yes

    def _export_progress(self, rows: int) -> None:
        self.status.setText(f"Exporting… {counted(rows)}")

    def _export_done(self, path: str, outcome: str) -> None:
        if self._exporting is not None and outcome.startswith("done"):
            self._exported[self._exporting[0]] = self._exporting[1]
            if self._export_file is not None:
                self._scored_csv[self._export_file[0]] = self._export_file[1]
        self._exporting = self._export_file = None
        self.status.setText(f"Export to {path}: {outcome}.")
        self.export_done.emit(path, outcome)
        self._refresh()
