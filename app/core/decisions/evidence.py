"""Decide from what the Threshold panel shows: its data source (a `Dataset`) and the active
model become a decision record, stored and logged (`store.record_decision`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from app.core.analysis.threshold_sources import Dataset
from app.core.analysis.thresholds import ThresholdAnalysis
from app.core.decisions.records import (
    DataSource,
    DecisionRecord,
    Policy,
    arrays_sha256,
    build_record,
)
from app.core.decisions.store import record_decision


def source_of_dataset(ds: Dataset) -> DataSource:
    """A labelled CSV is named by its file's SHA-256; the bundled evaluation set (no texts, no
    file) and a sample sent from Batch by the hash of their scores and labels. An audit sample
    (weighted) is kind "sample", named by its SAMPLE.csv's SHA-256."""
    if ds.weights is not None:
        return DataSource(
            f"{ds.name} ({len(ds.scores):,} labelled items)", "sample", ds.file_sha256
        )
    if ds.file_sha256:
        return DataSource(ds.name, "csv", ds.file_sha256)
    kind = "bundled" if ds.source is None and ds.texts is None else "sample"
    return DataSource(ds.name, kind, arrays_sha256(ds.scores, ds.labels))


def evidence_analysis(ds: Dataset) -> ThresholdAnalysis:
    """What a record's matrix holds: the data source's items, or an audit sample's weighted
    estimates for the whole batch (their intervals from its stratified bootstrap: `decide`
    passes its resampler; the record keeps how many labelled items they rest on)."""
    return ds.analysis


def decide(
    ctx: Any,
    ds: Dataset,
    policy: Policy,
    previous: Policy | None,
    rationale: str,
    *,
    prevalence: float | None = None,
    volume: float | None = None,
    path: Path | None = None,
) -> DecisionRecord:
    """Build, store and log the record of applying ``policy`` on ``ds`` with the context's
    active model; DecisionError (nothing stored) if it cannot be built, stored or logged."""
    scorer = ctx.state.scorer
    bundle = getattr(scorer, "bundle", None)
    record = build_record(
        analysis=evidence_analysis(ds), policy=policy, previous=previous,
        model_version=scorer.version_label if scorer is not None else "none",
        manifest_sha256=str(getattr(bundle, "manifest_sha256", "") or ""),
        source=source_of_dataset(ds), rationale=rationale,
        prevalence=prevalence, volume=volume, resampler=ds.resampler,
    )  # fmt: skip
    return record_decision(ctx, record, path)
