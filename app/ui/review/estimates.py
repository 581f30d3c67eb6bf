"""The Review panel's whole-batch estimates: once items are labelled, the weighted precision,
recall, prevalence and flag rate of the batch the sample was drawn from, each with its 95%
interval (`app.core.audit.estimate`: stratified, smoothed bootstrap), at the app-wide threshold
and at another one the reviewer tries in a spin box; how many items are labelled and how many
not; and a warning naming every band of the batch with no labelled item (then nothing can be
estimated honestly, and the rates say "undefined").

The bootstrap runs on the worker pool. Verdicts and spin-box edits restart a short timer
(`DEBOUNCE_MS`), so a burst of verdicts or typing costs one computation, and the reviewer never
waits on it; a result that arrives after newer labels were given is dropped (generation count).
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Mapping
from functools import partial
from typing import Any

from PySide6.QtCore import QObject, QTimer
from PySide6.QtWidgets import (
    QDoubleSpinBox,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
)

from app.core.audit.estimate import RATES, AuditEstimate, Estimate, estimate
from app.core.audit.sample_file import AuditSampleFile
from app.core.common.messages import fmt_threshold
from app.ui.common.colours import error_style, muted_style
from app.ui.common.workers import Worker, WorkerPool, run_in_pool

DEBOUNCE_MS = 400
WRAP = 56  # characters per line of the warning
RATE_WORDS = {
    "precision": "Precision",
    "recall": "Recall",
    "prevalence": "Prevalence",
    "flag_rate": "Flag rate",
}
LABEL_OF = {"abusive": 1, "benign": 0}  # "skip" and no verdict: unlabelled


def shown(est: Estimate) -> str:
    """ "72.1% [61.0–80.3]", or "undefined" (the reason goes in the tooltip). A rate every
    replicate agrees on is "exact": the flag rate at the threshold the bands were cut at is
    known from the band sizes alone."""
    if not math.isfinite(est.estimate):
        return "undefined"
    if not (math.isfinite(est.low) and math.isfinite(est.high)):
        return f"{est.estimate:.1%} [no interval]"
    if math.isclose(est.low, est.high, rel_tol=1e-9, abs_tol=1e-12):  # sums' rounding only
        return f"{est.estimate:.1%} (exact)"
    return f"{est.estimate:.1%} [{est.low:.1%}–{est.high:.1%}]"


def _job(
    sample: AuditSampleFile, labels: list[int | None], thresholds: list[float], *_: Any
) -> AuditEstimate:
    return estimate(sample.scores, sample.strata, labels, sample.population, thresholds)


class EstimatesBox(QGroupBox):
    """The widgets: threshold spin box, a rates × thresholds grid, counts and warning lines."""

    def __init__(self) -> None:
        super().__init__("Whole-batch estimates (weighted, 95% interval)")
        self.setObjectName("reviewEstimates")
        self.spin = QDoubleSpinBox(objectName="reviewTryThreshold")
        self.spin.setRange(0.0, 1.0)
        self.spin.setDecimals(3)
        self.spin.setSingleStep(0.01)
        self.spin.setAccessibleName("Threshold to try")
        self.spin.setToolTip("Estimate the batch's rates at another threshold too")
        self.reset = QPushButton("App threshold")
        self.reset.setToolTip("Put the app-wide threshold back in the box")
        self.heads = [QLabel(objectName=f"reviewEstimateHead{j}") for j in range(2)]
        self.cells: dict[tuple[str, int], QLabel] = {}
        # Lines are broken here, not by the label (a word-wrapped label's height follows a width
        # it does not have yet): the box keeps the width its longest line needs.
        self.counts = QLabel("No sample open", objectName="reviewEstimateCounts")
        self.counts.setStyleSheet(muted_style())
        self.warning = QLabel(objectName="reviewEstimateWarning")
        self.warning.setStyleSheet(error_style())
        self.warning.hide()
        self.status = QLabel(objectName="reviewEstimateStatus")
        self.status.setStyleSheet(muted_style())
        try_row = QHBoxLayout()
        try_row.addWidget(QLabel("Try threshold"))
        try_row.addWidget(self.spin)
        try_row.addWidget(self.reset)
        try_row.addStretch(1)
        grid = QGridLayout()
        for j, head in enumerate(self.heads):
            head.setStyleSheet("font-weight: bold;")
            grid.addWidget(head, 0, j + 1)
        for i, name in enumerate(RATES, 1):
            grid.addWidget(QLabel(RATE_WORDS[name]), i, 0)
            for j in range(2):
                cell = QLabel("–", objectName=f"reviewEstimate_{name}_{j}")
                self.cells[(name, j)] = cell
                grid.addWidget(cell, i, j + 1)
        grid.setColumnStretch(1, 1)
        grid.setColumnStretch(2, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(try_row)
        layout.addLayout(grid)
        layout.addWidget(self.counts)
        layout.addWidget(self.warning)
        layout.addWidget(self.status)
        layout.addStretch(1)

    def text_of(self, rate: str, column: int) -> str:
        return self.cells[(rate, column)].text()

    def show_result(self, result: AuditEstimate) -> None:
        for j, te in enumerate(result.thresholds[:2]):
            self.heads[j].setText(("App " if j == 0 else "Tried ") + fmt_threshold(te.threshold))
            for name in RATES:
                est: Estimate = getattr(te, name)
                self.cells[(name, j)].setText(shown(est))
                self.cells[(name, j)].setToolTip(est.reason)
        self.counts.setText(
            f"{result.n_labelled:,} labelled · {result.n_unlabelled:,} unlabelled "
            f"(skipped or not reviewed)\nof a batch of {result.population:,} rows"
        )
        empty = [c for c in result.strata if c.population and not c.labelled]
        if not result.n_labelled:
            self.warning.setText("No item labelled yet: the estimates need verdicts.")
        elif empty:
            bands = ", ".join(f"{c.name} ({c.population:,} batch rows)" for c in empty)
            self.warning.setText(
                textwrap.fill(
                    f"No labelled item in band {bands}: the estimates are undefined until some "
                    "of its items have a verdict.",
                    WRAP,
                )
            )
        self.warning.setVisible(bool(empty))


class EstimatesController(QObject):
    """Recomputes the box's estimates on the pool after labels or thresholds change."""

    def __init__(self, box: EstimatesBox, pool: WorkerPool, app_threshold: float) -> None:
        super().__init__(box)
        self.box, self.pool = box, pool
        self.app_threshold = app_threshold
        self.sample: AuditSampleFile | None = None
        self.labels: list[int | None] = []
        self.result: AuditEstimate | None = None
        self.worker: Worker | None = None
        self._generation = 0  # bumped on every change: a stale result is dropped
        self._pending = False  # a change came while a job ran: run again when it ends
        self._running = 0  # the generation the running job computes
        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.setInterval(DEBOUNCE_MS)
        self.timer.timeout.connect(self._start)
        box.spin.setValue(app_threshold)
        box.spin.valueChanged.connect(self._changed)
        box.reset.clicked.connect(self._use_app_threshold)

    def set_sample(self, sample: AuditSampleFile | None, verdicts: Mapping[int, str]) -> None:
        self.sample = sample
        self.set_verdicts(verdicts)

    def set_verdicts(self, verdicts: Mapping[int, str]) -> None:
        """`verdicts`: each sample-file line's standing verdict (abusive | benign | skip)."""
        if self.sample is None:
            return
        self.labels = [LABEL_OF.get(verdicts.get(line, "")) for line in self.sample.file_lines]
        self._changed()

    def set_app_threshold(self, value: float) -> None:
        follow = self.box.spin.value() == round(self.app_threshold, 3)
        self.app_threshold = value
        if follow:  # the reviewer had not tried another: the box follows the app
            self.box.spin.setValue(value)
        self._changed()

    def _use_app_threshold(self) -> None:
        self.box.spin.setValue(self.app_threshold)

    def _changed(self, *_: Any) -> None:
        if self.sample is None:
            return
        self._generation += 1
        self.box.status.setText("Estimating…")
        self.timer.start()  # restarts: one computation after a burst

    def _start(self) -> None:
        if self.sample is None:
            return
        if self.worker is not None:
            self._pending = True
            return
        thresholds = [self.app_threshold, self.box.spin.value()]
        job = partial(_job, self.sample, list(self.labels), thresholds)
        self._running = self._generation
        self.worker = run_in_pool(
            job,
            self.pool,
            name="estimating the batch from its verdicts",
            on_finished=self._finished,
            on_failed=self._failed,
            on_done=self._done,
        )

    def _finished(self, result: AuditEstimate) -> None:
        if self._running != self._generation:
            return  # newer labels meanwhile: the next run shows them
        self.result = result
        self.box.show_result(result)
        self.box.status.setText(f"{result.n_bootstrap:,} bootstrap replicates, stratified.")
        self.box.status.setStyleSheet(muted_style())

    def _failed(self, message: str) -> None:
        self.box.status.setText(textwrap.fill(f"Not estimated: {message}", WRAP))
        self.box.status.setStyleSheet(error_style())

    def _done(self) -> None:
        self.worker = None
        if self._pending or self._running != self._generation:
            self._pending = False
            self.timer.start()

    @property
    def busy(self) -> bool:
        return self.timer.isActive() or self.worker is not None

    def shutdown(self) -> None:
        self.timer.stop()
        self.sample = None
        if self.worker is not None:
            self.worker.cancel()
