"""The Threshold panel's Apply: the rationale asked for, the decision record and the activity
events written before the threshold (or a band policy) becomes app-wide, and the records
dialog. A mixin of `app.ui.threshold.panel.ThresholdPanel`, moved out of it to keep it short;
it uses the panel's data source, explored threshold, planner and controls.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt

from app.core.analysis.bands import BandPolicy
from app.core.analysis.planning import logged_counts
from app.core.common.errors import AbuseDeskError
from app.core.context.state import AppContext
from app.core.decisions.evidence import decide
from app.core.decisions.records import Policy
from app.ui.common.threshold_widgets import fmt_threshold
from app.ui.threshold.decision_dialog import DecisionRecordsDialog, RationaleDialog

if TYPE_CHECKING:
    from app.core.analysis.threshold_sources import Dataset
    from app.ui.threshold.controls import ThresholdControls
    from app.ui.threshold.planner import Planner


class ApplyActions:
    """Apply with a decision record, for the Threshold panel this is mixed into."""

    _ctx: AppContext
    _threshold: float
    _why: str
    _applying: bool
    planner: Planner
    controls: ThresholdControls

    if TYPE_CHECKING:  # the panel's own

        @property
        def dataset(self) -> Dataset | None: ...

        def _is_app_wide(self, threshold: float) -> bool: ...

        def set_threshold(self, threshold: float, why: str = "") -> None: ...

        def _refresh(self) -> None: ...

    def ask_rationale(
        self, applied: float, previous: float, bands: BandPolicy | None = None
    ) -> str | None:
        """The supervisor's rationale for applying (None: cancelled, nothing is applied)."""
        what = fmt_threshold(applied, 6)
        if bands is not None:
            what = f"review ≥ {what}, escalate ≥ {fmt_threshold(bands.escalate_at, 6)},"
        summary = (
            f"Apply {what} app-wide (now {fmt_threshold(previous, 6)}), "
            f"decided on {self.dataset.name if self.dataset else 'no data'}."
        )
        if bands is not None and self.planner.band_warnings:  # said again, before it is applied
            summary += "".join(f"\n⚠ {w}" for w in self.planner.band_warnings)
        dialog = RationaleDialog(summary, self)  # type: ignore[arg-type]
        try:
            return (
                dialog.rationale() if dialog.exec() == RationaleDialog.DialogCode.Accepted else None
            )
        finally:
            dialog.deleteLater()

    def show_decision_records(self) -> None:
        dialog = DecisionRecordsDialog(self, settings=self._ctx.settings)  # type: ignore[arg-type]
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()

    def _apply_clicked(self) -> None:
        self.apply_threshold()

    def _apply_bands_clicked(self, bands: BandPolicy) -> None:
        self.apply_threshold(bands=bands)

    def _show_bands(self, bands: BandPolicy | None) -> None:
        self.curves.set_bands(None if bands is None else (bands.review_at, bands.escalate_at))

    def apply_threshold(
        self, *, rationale: str | None = None, bands: BandPolicy | None = None
    ) -> None:
        """Make the explored threshold (or, with ``bands``, the review cut, the escalate cut
        kept beside it) app-wide, asking why (unless ``rationale`` is given): a decision record
        and the activity events are written before the change."""
        ds, previous = self.dataset, self._ctx.state.threshold
        applied = float(self._threshold if bands is None else bands.review_at)
        if ds is None or (bands is None and self._is_app_wide(applied)):
            return
        if not 0.0 <= applied <= 1.0:  # e.g. "flag nothing" just above a score of 1.0
            self.controls.show_notice(
                f"threshold must be between 0 and 1, got {applied}", error=True
            )
            return
        if (
            rationale is None
            and (rationale := self.ask_rationale(applied, previous, bands)) is None
        ):
            return  # cancelled: nothing applied, nothing recorded
        m = ds.analysis.at(applied)
        why = f"; {self._why}" if self._why else ""
        if bands is not None:
            why = f"; three bands, escalate ≥ {fmt_threshold(bands.escalate_at, 6)}"
        plan = self.planner.planning
        escalate = None if bands is None else bands.escalate_at
        try:  # logged before the change: a change that cannot be logged is not made
            decide(
                self._ctx, ds, Policy(applied, escalate), Policy(previous), rationale,
                prevalence=plan.prevalence if plan.reweighting else None,
                volume=plan.volume if plan.reweighting else None,
            )  # fmt: skip
            self._ctx.log(
                "threshold_applied",
                threshold=applied,
                detail=f"from {ds.name} (previous {fmt_threshold(previous, 6)}){why}",
                counts=logged_counts(m),
            )
        except AbuseDeskError as exc:
            self.controls.show_notice(f"Not applied: {exc}", error=True)
            return
        self._applying = True  # our own change: _on_state must not replace the reason logged
        try:
            self._ctx.state.set_threshold(applied)
        finally:
            self._applying = False
        # bands (none for a single threshold) and threshold saved together, in one write
        not_saved = self.planner.keep_bands(bands)
        if bands is not None:
            self.set_threshold(applied, "review cut of the applied bands")
        self.controls.show_notice(
            f"{fmt_threshold(applied)} is now the app-wide threshold"
            + (f" (not saved: {not_saved})." if not_saved else "."),
            error=bool(not_saved),
        )
        self._refresh()
