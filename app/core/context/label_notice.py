"""What the Batch panel says about the labels shown (Qt-free: the words are the core's, the
panel only shows them): the threshold they are at, and the model
that threshold was set for when it is not the model that scored the job (re-labelling stays
possible, since a threshold is a number, but never silently)."""

from __future__ import annotations

from app.core.common.messages import fmt_threshold
from app.core.context.batch_queue import BatchJob


def labels_notice(job: BatchJob, current: float, active: str) -> str:
    """The notice above a job's results ("" when there is nothing to say). ``current`` is
    the app-wide threshold, ``active`` the model deciding now (the one it was set for)."""
    if job.result is None:
        return ""
    scored_by = job.result.report.model_version
    at = fmt_threshold(job.label_threshold)
    if job.label_threshold != current:
        text = (
            f"Labels were computed at {at}; the current threshold is {fmt_threshold(current)}. "
            "Exports use the labels shown: re-run the file, or re-label."
        )
        if active == scored_by:
            return text
        return (
            f"This job was scored by {scored_by}; the app-wide threshold "
            f"{fmt_threshold(current)} was set for {active}. {text} Re-labelling puts "
            f"{active}'s threshold on {scored_by}'s scores; re-running the file scores it "
            f"with {active}."
        )
    if job.label_threshold_model and job.label_threshold_model != scored_by:
        return (
            f"Labels at {at}: a threshold set for {job.label_threshold_model}, on the scores "
            f"of {scored_by} (the export's provenance names both)."
        )
    return ""
