"""The Compare panel: the active model (champion) against the challenger, on the same items.

Before a supervisor promotes a challenger they need three answers, all computed by
``app.core.analysis.compare`` and only shown here: how often the two models decide alike at today's
threshold (and on which items they differ), how each does against the labels, and which
challenger threshold keeps what the champion gives today (its recall, precision or queue size).
Promotion goes through ``app.core.context.model_switch.promote_challenger``, which logs it.

The items are the two bundles' shipped evaluation sets paired by item id, or a labelled CSV
scored by both models on a worker. Everything is recomputed when the active model, the
challenger or the app-wide threshold changes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtWidgets import QFileDialog, QVBoxLayout, QWidget

from app.core.analysis.compare import (
    Migration,
    PairedScores,
    agreement,
    disagreements,
    migrate_threshold,
    pair_bundled_evaluations,
)
from app.core.analysis.thresholds import ThresholdAnalysis
from app.core.common.errors import InputError
from app.core.context.model_switch import promote_challenger
from app.core.context.state import ACTIVE_SCORER, CHALLENGER, THRESHOLD, AppContext
from app.ui.common.dialogs import ask_yes_no
from app.ui.common.label_dialog import LabeledCsvActions, LabeledCsvRequest
from app.ui.common.labeled_loader import LabeledCsvLoader
from app.ui.common.threshold_widgets import fmt_threshold
from app.ui.common.workers import WorkerPool
from app.ui.compare.source import BUNDLED, CSV, SampleRequest, paired_job
from app.ui.compare.view import (
    COMPARE_PAGE,
    CONTENT_BODY,
    NONE_PAGE,
    NOTHING_TO_COMPARE,
    ComparePanelView,
)


class ComparePanel(LabeledCsvActions, QWidget):
    """Champion vs challenger on the same items, and promoting the challenger."""

    title = "Compare"

    def __init__(self, ctx: AppContext, pool: WorkerPool, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._ctx = ctx
        self._paired: PairedScores | None = None
        self._migration: Migration | None = None
        # Built once per paired data (a sort each), so a threshold change costs binary searches.
        self._analyses: tuple[ThresholdAnalysis, ThresholdAnalysis] | None = None
        self._csv: LabeledCsvRequest | None = None  # the labelled CSV listed as a source
        self._csv_paired: PairedScores | None = None  # its scores, by these models:
        self._csv_models: tuple[Any, Any] | None = None  # (champion, challenger)
        # A CSV being scored, and by whom (champion, challenger).
        self._pending: tuple[LabeledCsvRequest, Any, Any] | None = None
        v = self.view = ComparePanelView()
        self.source_bar, self.scatter, self.disagreements = v.source_bar, v.scatter, v.disagreements
        self.agreement_box, self.migration_box = v.agreement_box, v.migration_box
        self.champion_matrix, self.challenger_matrix = v.champion_matrix, v.challenger_matrix
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(v)
        v.source_bar.source.currentIndexChanged.connect(self._on_source_chosen)
        v.source_bar.open_button.clicked.connect(self.open_labeled_csv)
        v.source_bar.sample_button.clicked.connect(self.open_audit_sample)
        v.source_bar.cancel_button.clicked.connect(self.cancel_loading)
        v.message_open_button.clicked.connect(self.open_labeled_csv)
        v.migration_box.keep.currentIndexChanged.connect(self._on_keep_chosen)
        v.migration_box.promote_button.clicked.connect(self.promote)
        self._loader = LabeledCsvLoader(ctx.state, pool, self)
        self._loader.running_changed.connect(v.source_bar.set_loading)
        self._loader.progress.connect(v.source_bar.progress.setValue)
        self._loader.loaded.connect(self._on_csv_loaded)
        self._loader.failed.connect(self._on_csv_failed)
        self._loader.cancelled.connect(self._on_csv_cancelled)
        self._unsubscribe = [
            ctx.state.observe(self._on_state, name)
            for name in (ACTIVE_SCORER, CHALLENGER, THRESHOLD)
        ]
        self.reload()

    # --- what is compared -------------------------------------------------------------------

    @property
    def paired(self) -> PairedScores | None:
        """The items being compared (None: no challenger, or nothing to compare on)."""
        return self._paired

    @property
    def migration(self) -> Migration | None:
        """The current proposal (at the app-wide threshold, for the chosen objective)."""
        return self._migration

    def reload(self) -> None:
        """Pair the current models on the chosen source and show them (models or source changed)."""
        champion, challenger = self._ctx.state.scorer, self._ctx.state.challenger
        if self._loader.cancel():  # scoring for other models or another source: not wanted now
            self._pending = None
        self.source_bar.show_error("")
        if champion is None or challenger is None:
            self._show(None)
            self.view.pages.setCurrentIndex(NONE_PAGE)
            return
        self.view.promoted.clear()
        self.view.pages.setCurrentIndex(COMPARE_PAGE)
        self.source_bar.set_models(
            champion.version_label,
            challenger.version_label,
            (champion.engine, challenger.engine),
        )
        if self.source_bar.key() == CSV and self._csv is not None:
            if self._csv_paired is not None and self._csv_models == (champion, challenger):
                self._show(self._csv_paired)
            else:  # scored by other models: never show those scores under these names
                self._show_problem("", f"Scoring {self._csv.path.name} with both models…")
                self._start_csv(self._csv)
            return
        try:
            self._show(pair_bundled_evaluations(champion, challenger))
        except InputError as exc:
            self._show_problem(str(exc))

    def _show(self, paired: PairedScores | None) -> None:
        self._paired = paired
        self._analyses = None if paired is None or paired.labels is None else paired.analyses()
        if paired is None:  # forget the last data: nothing may be promoted on it
            self._migration = None
            self.migration_box.clear()
            self.disagreements.show_rows(None, np.empty(0, np.int64), self._ctx.state.threshold)
            return
        self.source_bar.show_note(f"{paired.name}: {paired.note}.")
        self.scatter.set_data(paired)
        self.view.body.setCurrentIndex(CONTENT_BODY)
        self._refresh()

    def _show_problem(self, error: str, message: str = NOTHING_TO_COMPARE) -> None:
        """Nothing can be shown: say why, and how to get something to compare."""
        self._show(None)
        self.source_bar.show_note("")
        self.source_bar.show_error(error)
        self.view.show_message(message, offer_csv=message == NOTHING_TO_COMPARE)

    def _refresh(self) -> None:
        """Show everything that depends on the threshold (it changed, or the data did)."""
        p = self._paired
        if p is None:
            return
        t = self._ctx.state.threshold
        ag = agreement(p, t)
        self.agreement_box.show_agreement(ag)
        self.scatter.set_threshold(ag)
        self.disagreements.show_rows(p, disagreements(p, t), t)
        if self._analyses is None:
            self._migration = None
            self.agreement_box.ranking.clear()
            self.migration_box.clear("Labels are needed to propose a threshold.")
            return
        champion, challenger = self._analyses
        self.agreement_box.show_ranking(champion.roc_auc(), challenger.roc_auc())
        for canvas, analysis, who in (
            (self.champion_matrix, champion, "Champion"),
            (self.challenger_matrix, challenger, "Challenger"),
        ):
            m = analysis.at(t)
            canvas.show_matrix(
                m.matrix_abusive_first(),
                f"{who} at {fmt_threshold(t)}: {m.flagged:,} of {m.n:,} flagged",
            )
        self._migration = migrate_threshold(
            champion, challenger, t, self.migration_box.keep_key(),
            champion_label=p.champion_label,
        )  # fmt: skip
        self.migration_box.show_migration(self._migration, p.challenger_label)

    def _on_source_chosen(self, _index: int) -> None:
        self.reload()

    def _on_keep_chosen(self, _index: int) -> None:
        self._refresh()

    def _on_state(self, name: str, _value: Any) -> None:
        if name == THRESHOLD:
            self._refresh()
        else:
            self.reload()

    # --- a labelled CSV ---------------------------------------------------------------------

    def _show_csv_error(self, message: str) -> None:
        self.source_bar.show_error(message)

    def _score_labeled_csv(self, request: LabeledCsvRequest) -> None:
        """Score a labelled CSV with both models on a worker; shown when done."""
        if self._ctx.state.scorer is None or self._ctx.state.challenger is None:
            return
        self.source_bar.show_error("")
        self._start_csv(request)

    def open_audit_sample(self) -> None:
        """Compare on an audit sample: both models score its labelled items (weighted)."""
        name, _ = QFileDialog.getOpenFileName(
            self, "Open a labelled audit sample", "", "CSV (*.csv)"
        )
        if name:
            self._score_labeled_csv(SampleRequest(Path(name)))  # type: ignore[arg-type]

    def _start_csv(self, request: LabeledCsvRequest) -> None:
        champion, challenger = self._ctx.state.scorer, self._ctx.state.challenger
        self._loader.cancel()
        self._pending = (request, champion, challenger)
        # The loader only needs a job with a ``path``; it is annotated for the Threshold panel's.
        self._loader.start(paired_job(champion, challenger, request))  # type: ignore[arg-type]
        self.source_bar.show_note(f"Scoring {request.path.name} with both models…")

    def cancel_loading(self) -> None:
        """Stop scoring the CSV; its late results are then ignored."""
        if self._loader.cancel():
            self._on_csv_cancelled()

    def _on_csv_loaded(self, paired: PairedScores) -> None:
        if self._pending is None:
            return
        request, champion, challenger = self._pending
        self._pending = None
        self._csv, self._csv_paired = request, paired
        self._csv_models = (champion, challenger)
        self.source_bar.set_csv_entry(paired.name)
        self.source_bar.select(CSV)
        self.source_bar.show_error("")
        self._show(paired)

    def _on_csv_failed(self, message: str) -> None:
        name = self._pending[0].path.name if self._pending is not None else "the CSV"
        self._fall_back(f"Cannot compare on {name}: {message}")

    def _on_csv_cancelled(self) -> None:
        self._fall_back("")
        self.source_bar.show_note("Scoring cancelled.")

    def _fall_back(self, error: str) -> None:
        """A CSV did not arrive. Keep what is shown; if nothing is, go back to the bundled sets
        (the CSV was being re-scored for new models, so its old scores must go)."""
        self._pending = None
        if self._paired is None:
            if self.source_bar.key() == CSV:
                self._csv = self._csv_paired = self._csv_models = None
                self.source_bar.set_csv_entry(None)
                self.source_bar.select(BUNDLED)
            self.reload()
        else:
            self.source_bar.show_note(f"{self._paired.name}: {self._paired.note}.")
        if error:  # else keep any error reload() just showed
            self.source_bar.show_error(error)

    # --- promotion --------------------------------------------------------------------------

    def confirm_promotion(self, message: str) -> bool:
        """Ask before promoting (tests replace this to answer for the user)."""
        return ask_yes_no(self, "Promote the challenger", message)

    def promote(self) -> None:
        """Make the challenger the deciding model at the proposed threshold, once confirmed."""
        m, p = self._migration, self._paired
        if m is None or m.threshold is None or p is None:
            return
        t, rationale = m.threshold, m.describe()
        message = (
            f"Make {p.challenger_label} the deciding model at threshold {fmt_threshold(t)}?\n\n"
            f"{rationale}\n\nMeasured on: {p.name}. {p.champion_label} becomes the model to "
            "roll back to."
        )
        if not self.confirm_promotion(message):
            return
        try:
            promote_challenger(self._ctx, t, rationale=rationale)
        except (ValueError, OSError) as exc:
            self.source_bar.show_error(f"Promotion failed: {exc}")
            return
        self.view.promoted.setText(
            f"{p.challenger_label} is now the deciding model at threshold {fmt_threshold(t)}."
        )

    # --- shutdown ---------------------------------------------------------------------------

    def shutdown(self) -> None:
        """Stop scoring, stop observing the state (the window is closing)."""
        self._loader.cancel()
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe.clear()
