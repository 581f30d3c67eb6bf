"""The Threshold panel's "From this batch": the share of abuse estimated from the agency's own
traffic, which needs no labels — the Batch panel's scored batch (its mean calibrated score,
with the caveat) or, on an audit-sample source, the sample's weighted estimate with its
interval. A mixin of `app.ui.threshold.planner.Planner`, kept apart to keep it short.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from app.core.analysis.planning import fmt_interval, fmt_percent, sample_prevalence
from app.core.analysis.threshold_sources import Dataset
from app.core.analysis.workload import estimate_prevalence
from app.ui.threshold.planning import TrafficBox


class PrevalenceEstimate:
    """The "From this batch" button of the planner this is mixed into."""

    _ds: Dataset | None
    traffic: TrafficBox
    # (name, scores) of the Batch panel's scored batch, or None: set by the main window
    batch_scores: Callable[[], tuple[str, np.ndarray] | None] | None = None

    def _estimate_source(self) -> tuple[str, Any, str] | None:
        """What "From this batch" estimates from: ("sample", dataset, name) for an audit-sample
        source (its weighted estimate), else ("batch", scores, name) for the Batch panel's
        scored batch or a batch sent here; None when there is none. No labels needed: it is
        the share of abuse in the agency's traffic."""
        ds = self._ds
        if ds is not None and ds.resampler is not None:
            return "sample", ds, ds.name
        if self.batch_scores is not None and (shown := self.batch_scores()) is not None:
            return "batch", shown[1], shown[0]
        if ds is not None and ds.source is not None and not ds.file_sha256:
            return "batch", ds.scores, ds.name
        return None

    def update_estimate_button(self) -> None:
        """Enabled when there is a batch to estimate from; its tooltip says which, or why not."""
        src, button = self._estimate_source(), self.traffic.estimate_button
        button.setEnabled(src is not None)
        if src is None:
            button.setToolTip(
                "Score a batch first (Batch panel), or choose an audit sample as the data source."
            )
        elif src[0] == "sample":
            button.setToolTip(
                f"Use the weighted estimate of “{src[2]}” for its batch's share of abuse (with "
                "its 95% interval)."
            )
        else:
            button.setToolTip(
                f"Estimate the share as the mean calibrated score of the scored batch “{src[2]}”."
            )

    def estimate_from_batch(self) -> None:
        """The share of abuse from a batch, shown with its caveat (an audit sample: its
        weighted estimate and interval)."""
        if (src := self._estimate_source()) is None:
            return
        kind, what, name = src
        if kind == "sample":
            value, iv = sample_prevalence(what.analysis, what.resampler)
            words = (
                f"{fmt_percent(value)} (95% interval {fmt_interval(iv, True)}): the weighted "
                f"estimate of “{name}” for its batch, measured by the verdicts."
            )
        else:
            est = estimate_prevalence(what)
            value = est.value
            words = f"{fmt_percent(value)} over {est.n:,} scored rows of “{name}”, {est.caveat}."
        if not 0.0 < value < 1.0:
            return
        self.traffic.prevalence_spin.setValue(max(0.1, round(100 * value, 1)))
        self.traffic.caveat.setText(words)
        self.traffic.caveat.show()
