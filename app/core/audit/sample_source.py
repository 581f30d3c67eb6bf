"""A labelled audit sample as a data source of the Threshold and Compare panels and ``plan``.

The labels are either the sample file's own verdict column (the Review panel's "Export
verdicts…" output, or a sample filled in by hand) or the verdicts the labels store holds for
that file (`verdicts.LabelsStore.current`, found by the file's SHA-256: a file changed since
the reviews has another hash and none of their verdicts). Only labelled items count (abusive
or benign; skip and blank do not), each weighted ``N_h / n_h_labelled`` by
`app.core.audit.estimate.band_weights` — the same weights as ``audit estimate`` — so the matrix
and curves are estimates for the whole batch, not counts of the sample. A band of the batch
with no labelled item refuses the source: its rows would silently count as nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from app.core.analysis.compare import CHALLENGER_CHUNK, PairedScores
from app.core.analysis.intervals import Interval
from app.core.analysis.resampled import resampled_rates
from app.core.analysis.threshold_metrics import ThresholdMetrics
from app.core.analysis.threshold_sources import Dataset
from app.core.analysis.thresholds import ThresholdAnalysis
from app.core.audit.estimate import band_weights, stratified_counts
from app.core.audit.sample_file import AUDIT_COLUMNS, VERDICT, AuditSampleFile, read_sample
from app.core.audit.verdicts import ABUSIVE, BENIGN, KnownSample, LabelsStore, Verdict
from app.core.common.drill import RowSource
from app.core.common.errors import InputError
from app.core.common.hashing import sha256_stream
from app.core.common.paths import labels_db_path
from app.core.csvio.csv_lines import raise_if_cancelled

SOURCE_PREFIX = "Audit sample: "


@dataclass
class LabelledSample:
    """The labelled items of an audit sample, with their weights (aligned arrays)."""

    sample: AuditSampleFile
    sha256: str  # of the sample file's bytes
    keep: np.ndarray  # row indices (into the sample) of the labelled items
    labels: np.ndarray  # int8, 1 abusive, 0 benign
    weights: np.ndarray  # float64, N_h / n_h_labelled
    labels_from: str  # "its verdict column" / "the labels store"

    @property
    def n_labelled(self) -> int:
        return len(self.keep)

    @property
    def population(self) -> int:
        return sum(self.sample.population.values())

    @property
    def scores(self) -> np.ndarray:
        return self.sample.scores[self.keep]

    @property
    def texts(self) -> list[str]:
        return [self.sample.texts[int(i)] for i in self.keep]

    def note(self) -> str:
        skipped = len(self.sample.texts) - self.n_labelled
        return (
            f"estimates for the whole batch ({self.population:,} rows) from {self.n_labelled:,} "
            f"labelled items of the audit sample (labels from {self.labels_from}"
            + (f"; {skipped:,} unlabelled left out" if skipped else "")
            + ")"
        )


def is_audit_sample(header: Sequence[str]) -> bool:
    """Whether a CSV header is an audit sample's (the columns ``audit sample`` adds)."""
    return all(c in header for c in AUDIT_COLUMNS[:3])


def file_sha256(path: Path, cancelled: Callable[[], bool] | None = None) -> str:
    with open(path, "rb") as fh:
        return sha256_stream(fh, cancelled=cancelled)


def labelled_sample(
    sample: AuditSampleFile,
    labels: Sequence[int | None],
    sha256: str,
    labels_from: str,
) -> LabelledSample:
    """Weigh the labelled items; InputError naming the file when a band has none labelled."""
    weights, missing = band_weights(sample.strata, labels, sample.population)
    if missing:
        raise InputError(
            f"{sample.path}: no labelled item in band {', '.join(missing)}: "
            "label at least one item of every band (Review panel) to estimate for the batch"
        )
    keep = np.flatnonzero([v is not None for v in labels])
    y = np.asarray([labels[int(i)] for i in keep], dtype=np.int8)
    return LabelledSample(sample, sha256, keep, y, weights[keep], labels_from)


def from_file(
    path: str | Path,
    positive_values: Sequence[str] | None = None,
    cancelled: Callable[[], bool] | None = None,
    label_column: str = VERDICT,
) -> LabelledSample:
    """A sample labelled in its own verdict column (or ``label_column``)."""
    sample = read_sample(path, label_column=label_column)
    return labelled_sample(
        sample,
        sample.labels(positive_values),
        file_sha256(sample.path, cancelled),
        "its verdict column",
    )


def from_store(path: str | Path, sha256: str, verdicts: Mapping[int, Verdict]) -> LabelledSample:
    """A sample labelled in the labels store (``verdicts``: `LabelsStore.current(sha256)`, keyed
    by the sample file's line); InputError if the file is gone or no longer the one reviewed."""
    sample = read_sample(path)
    if file_sha256(sample.path) != sha256:
        raise InputError(
            f"{sample.path}: the file changed since it was reviewed (SHA-256 differs): "
            "its verdicts in the labels store are not for this file"
        )
    words = {ABUSIVE: 1, BENIGN: 0}
    labels = [
        words.get(verdicts[line].verdict) if line in verdicts else None
        for line in sample.file_lines
    ]
    return labelled_sample(sample, labels, sha256, "the labels store")


def from_path(path: str | Path, store: LabelsStore | None = None) -> LabelledSample:
    """The verdicts the labels store holds for this very file (same SHA-256) if it holds any,
    else the file's own verdict column (an export of verdicts, or a sample filled by hand)."""
    path = Path(path)
    if store is not None:
        try:
            sha = file_sha256(path)
        except OSError as exc:
            raise InputError(f"{path}: cannot be read ({exc.strerror or exc})") from None
        verdicts = store.current(sha)
        if verdicts:
            return from_store(path, sha, verdicts)
    return from_file(path)


def reviewed_samples(store: LabelsStore, limit: int = 10) -> list[KnownSample]:
    """The store's recent samples that still exist on disk and have verdicts (whether the file
    is unchanged is checked when one is opened: hashing every file here would be slow)."""
    return [
        known
        for known in store.recent_samples(limit)
        if Path(known.path).is_file() and store.current(known.sha256)
    ]


def model_of(sample: AuditSampleFile) -> str:
    """The model that scored the batch, from the sample's ``model_version`` column, or ""."""
    if "model_version" not in sample.header:
        return ""
    i = sample.header.index("model_version")
    versions = {row[i] for row in sample.rows if len(row) > i and row[i]}
    return versions.pop() if len(versions) == 1 else ""


def audit_dataset(data: LabelledSample) -> Dataset:
    """The Threshold panel's data source: weighted matrix and curves, items listed with their
    line in the scored batch (so a matrix cell opens them in Score)."""
    sample = data.sample
    return Dataset.build(
        SOURCE_PREFIX + sample.path.name, data.scores, data.labels, weights=data.weights,
        texts=data.texts, lines=sample.lines[data.keep], note=data.note(),
        source=RowSource(sample.path.name, model_of(sample)), file_sha256=data.sha256,
        resampler=StratifiedResampler(data),
    )  # fmt: skip


class StratifiedResampler:
    """The `app.core.analysis.resampled.Resampler` of an audit sample: its labelled items'
    weighted (TP, FP, FN) redrawn within each band (the stratified bootstrap of ``audit
    estimate``), not over all items."""

    def __init__(self, data: LabelledSample) -> None:
        sample = data.sample
        labels: list[int | None] = [None] * len(sample.texts)
        for i, y in zip(data.keep.tolist(), data.labels.tolist(), strict=True):
            labels[i] = int(y)
        self._sample, self._labels = sample, labels
        self.population = data.population
        self._labelled = ThresholdAnalysis(data.scores, data.labels)  # whole labelled items

    def labelled_at(self, threshold: float) -> ThresholdMetrics:
        return self._labelled.at(threshold)

    def counts(
        self, thresholds: np.ndarray, reps: int, seed: int
    ) -> tuple[np.ndarray, np.ndarray, float]:
        s = self._sample
        point, draws = stratified_counts(s.scores, s.strata, self._labels, s.population,
                                         thresholds, n_boot=reps, seed=seed)  # fmt: skip
        return point, draws, float(self.population)


def bootstrap_rates(
    data: LabelledSample,
    threshold: float,
    prevalence: float,
    volume: float,
    *,
    reps: int = 2000,
    seed: int = 0,
) -> dict[str, Interval]:
    """`app.core.analysis.intervals.bootstrap_rates` for an audit sample: TPR and FPR redrawn
    within each band (the stratified bootstrap of ``audit estimate``), not over all items."""
    return resampled_rates(
        StratifiedResampler(data), threshold, prevalence, volume, reps=reps, seed=seed
    )


def from_path_or_store(path: str | Path) -> LabelledSample:
    """`from_path` with the user's labels store, if there is one (never created to look)."""
    if not labels_db_path().exists():
        return from_path(path)
    with LabelsStore.open_default() as store:
        return from_path(path, store)


def score_sample_pair(
    champion: Any,
    challenger: Any,
    path: str | Path,
    *,
    progress: Callable[[int, int], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> PairedScores:
    """The labelled items of an audit sample scored by both models (the sample's own score
    column may be another model's), paired with their weights: Compare on the agency's own
    traffic. ``progress(done, total)`` in thousandths; JobCancelled when cancelled."""
    report = progress or (lambda done, total: None)
    data = from_path_or_store(path)
    texts = data.texts
    scored: list[list[np.ndarray]] = [[], []]
    steps = [(m, start) for m in (0, 1) for start in range(0, len(texts), CHALLENGER_CHUNK)]
    for done, (which, start) in enumerate(steps, 1):
        raise_if_cancelled(cancelled)
        model = (champion, challenger)[which]
        scored[which].append(model.score_many(texts[start : start + CHALLENGER_CHUNK])[0])
        report(1000 * done // len(steps), 1000)
    return PairedScores(
        name=SOURCE_PREFIX + data.sample.path.name,
        champion_scores=np.concatenate(scored[0]).astype(np.float64),
        challenger_scores=np.concatenate(scored[1]).astype(np.float64),
        labels=data.labels,
        texts=texts,
        champion_label=champion.version_label,
        challenger_label=challenger.version_label,
        note=f"both models re-scored the {data.note()}",
        weights=data.weights,
    )
