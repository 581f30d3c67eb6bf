"""The Batch panel's history actions: reopen an earlier job, remove one (after asking).

A mixin of `BatchPanel` (it uses the panel's job queue, history row and status line); the
history itself is `app.core.results.history`, kept by the core job queue.
"""

from __future__ import annotations

from typing import Any

from app.core.common.errors import AbuseDeskError
from app.core.common.messages import fmt_threshold, one_line
from app.core.results.history import HistoryEntry
from app.ui.common.dialogs import ask_yes_no


class BatchHistoryActions:
    """Reopen and Remove of the history row (mixed into `BatchPanel`)."""

    # Provided by BatchPanel / BatchPanelView.
    jobs: Any
    history: Any
    status: Any
    _next_id: int
    _show: Any

    def reopen(self, entry: HistoryEntry) -> None:
        """Show a history entry's results as the job left them; the results shown now stay in
        the job list (nothing is discarded)."""
        try:
            job = self.jobs.core.reopen(entry, self._next_id)
        except (OSError, ValueError) as exc:
            self.jobs.drop_forgotten()  # an open job of it whose cache went is dropped too
            self.status.setText(
                one_line(f"{entry.name}: cannot reopen ({exc}); remove it and score again.")
            )
            self.history.refresh()
            return
        if job.id == self._next_id:
            self._next_id += 1
            self.jobs.adopt(job)
        self._show(job)
        self.status.setText(
            f"Reopened {entry.name}: scored with {job.result.report.model_version} at "  # type: ignore[union-attr]
            f"{fmt_threshold(job.label_threshold)}."
            + (f"\n{job.result.report.band_status()}" if job.result.report.bands else "")  # type: ignore[union-attr]
        )

    def remove_history(self, entry: HistoryEntry) -> None:
        if not ask_yes_no(
            self,
            "Remove from history?",
            f"Delete {entry.name} ({entry.finished_utc[:16].replace('T', ' ')} UTC) from the "
            "history, with its cached results? Your input file is not touched.",
        ):
            return
        done = f"Removed {entry.name} from the history."
        try:
            removed = self.jobs.core.remove_history(entry.id)
        except AbuseDeskError as exc:  # removed, but the activity log could not record it
            removed, done = True, f"{done} The activity log could not record it: {exc}"
        except OSError as exc:  # busy, or a newer app's index: the entry stays
            self.jobs.drop_forgotten()
            self.history.refresh()
            self.status.setText(one_line(f"{entry.name} not removed: {exc}"))
            return
        if not removed:
            self.status.setText(f"{entry.name} is being exported; remove it when that is done.")
            return
        self.jobs.drop_forgotten()
        self.history.refresh()
        self.status.setText(done)
