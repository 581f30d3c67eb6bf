"""A decision record: who applied which threshold (or band policy), on what evidence.

Every number in a record is computed here from the data source the supervisor looked at: the
confusion matrix at the new and the previous policy, and its rates (recall, precision, false
positive rate, flag rate) each with a Wilson 95 % interval (one binomial proportion each) — or,
on an audit sample, the weighted matrix (estimates for the batch) with stratified-bootstrap
intervals (`outcome`). Prevalence and daily volume are stored only when the supervisor assumed
them: ``None`` means "not assumed", never a default; then the day at that traffic (and a band
policy's items per band per day) is stored too, as the panel showed it. A record is plain data
(``as_dict``/``from_dict``, every field checked on the way back in, since records are read from
a file a user can edit); records written before these fields existed read back without them.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from app.core.analysis.resampled import Resampler
from app.core.analysis.thresholds import ThresholdAnalysis
from app.core.common.hashing import sha256_stream
from app.core.common.user import workstation_user
from app.core.decisions.outcome import (
    DecisionError,
    Outcome,
    bands_of,
    check_bands,
    check_day,
    day_of,
    outcome_at,
)
from app.core.decisions.outcome import Rate as Rate  # re-exported: it lived here before

MAX_RATIONALE = 2000  # characters: a paragraph, not a document
RATES = ("recall", "precision", "fpr", "flag_rate")
RATE_WORDS = {
    "recall": "recall",
    "precision": "precision",
    "fpr": "false positive rate",
    "flag_rate": "flag rate",
}
SOURCE_KINDS = ("bundled", "csv", "sample")
CURVE_POINTS = 101
CURVE_KEYS = ("threshold", "precision", "recall")


@dataclass(frozen=True)
class Policy:
    """A single threshold (flag iff score >= threshold), or a band policy: clear below
    ``threshold`` (the review cut), review from it, escalate from ``escalate``. Both bands
    above the review cut count as flagged in the matrix."""

    threshold: float
    escalate: float | None = None

    def __post_init__(self) -> None:
        for name, value in (("threshold", self.threshold), ("escalate", self.escalate)):
            if value is None and name == "escalate":
                continue
            if not isinstance(value, int | float) or isinstance(value, bool):
                raise DecisionError(f"{name} is not a number")
            if not (math.isfinite(value) and 0.0 <= value <= 1.0):
                raise DecisionError(f"{name} must be between 0 and 1, got {value}")
        if self.escalate is not None and self.escalate < self.threshold:
            raise DecisionError(
                f"escalate cut {self.escalate} is below the review cut {self.threshold}"
            )

    @property
    def is_band(self) -> bool:
        return self.escalate is not None

    def describe(self) -> str:
        if self.escalate is None:
            return f"threshold {self.threshold:g}"
        return f"review ≥ {self.threshold:g}, escalate ≥ {self.escalate:g}"

    def band(self, scores: np.ndarray) -> np.ndarray:
        """0 clear, 1 review (or flagged, for a single threshold), 2 escalate; NaN scores
        (blank texts) are clear: they were never flagged."""
        s = np.asarray(scores, dtype=np.float64)
        out = (s >= self.threshold).astype(np.int8)
        if self.escalate is not None:
            out[s >= self.escalate] = 2
        return out

    def as_dict(self) -> dict[str, Any]:
        return {"threshold": self.threshold, "escalate": self.escalate}

    @classmethod
    def from_dict(cls, raw: Any) -> Policy:
        if not isinstance(raw, dict) or set(raw) != {"threshold", "escalate"}:
            raise DecisionError("policy is not a threshold and an escalate cut")
        return cls(raw["threshold"], raw["escalate"])


@dataclass(frozen=True)
class DataSource:
    name: str
    kind: str  # one of SOURCE_KINDS
    sha256: str  # of the CSV file (kind "csv"), else of the scores and labels arrays


@dataclass(frozen=True)
class DecisionRecord:
    time_utc: str
    author: str
    policy: Policy
    previous: Policy | None
    model_version: str
    manifest_sha256: str
    source: DataSource
    at_new: Outcome
    at_previous: Outcome | None
    rationale: str
    prevalence: float | None = None  # assumed share of abusive messages; None: not assumed
    volume: float | None = None  # assumed messages per day; None: not assumed
    # precision and recall at CURVE_POINTS thresholds (None where undefined), so the report
    # can be drawn from the record alone, long after the data source is gone
    curves: dict[str, list[float | None]] | None = None
    # the day at the assumed traffic (`outcome.day_of`), at the new and previous policy, and a
    # band policy's items per band per day: None when no traffic was assumed
    day_new: dict[str, float | None] | None = None
    day_previous: dict[str, float | None] | None = None
    bands_per_day: dict[str, float] | None = None
    id: int | None = None  # given by the store

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "time_utc": self.time_utc,
            "author": self.author,
            "policy": self.policy.as_dict(),
            "previous": None if self.previous is None else self.previous.as_dict(),
            "model_version": self.model_version,
            "manifest_sha256": self.manifest_sha256,
            "source": asdict(self.source),
            "prevalence": self.prevalence,
            "volume": self.volume,
            "at_new": self.at_new.as_dict(),
            "at_previous": None if self.at_previous is None else self.at_previous.as_dict(),
            "rationale": self.rationale,
            "curves": self.curves,
            "day_new": self.day_new,
            "day_previous": self.day_previous,
            "bands_per_day": self.bands_per_day,
        }

    @classmethod
    def from_dict(cls, raw: Any, record_id: int | None = None) -> DecisionRecord:
        """A record read back; DecisionError (naming the field) if anything is off."""
        if not isinstance(raw, dict):
            raise DecisionError("not an object")
        texts = ("time_utc", "author", "model_version", "manifest_sha256", "rationale")
        for key in texts:
            if not isinstance(raw.get(key), str):
                raise DecisionError(f"{key} is not text")
        src = raw.get("source")
        if not isinstance(src, dict) or not all(
            isinstance(src.get(k), str) for k in ("name", "kind", "sha256")
        ):
            raise DecisionError("source is not a name, kind and hash")
        previous = raw.get("previous")
        at_previous = raw.get("at_previous")
        if src["kind"] not in SOURCE_KINDS:
            raise DecisionError(f"source kind {src['kind']!r} is unknown")
        volume = _assumed(raw.get("volume"), "volume", math.inf)
        return cls(
            time_utc=raw["time_utc"], author=raw["author"],
            policy=Policy.from_dict(raw.get("policy")),
            previous=None if previous is None else Policy.from_dict(previous),
            model_version=raw["model_version"], manifest_sha256=raw["manifest_sha256"],
            source=DataSource(src["name"], src["kind"], src["sha256"]),
            at_new=Outcome.from_dict(raw.get("at_new"), src["kind"]),
            at_previous=None if at_previous is None else Outcome.from_dict(at_previous,
                                                                           src["kind"]),
            rationale=check_rationale(raw["rationale"]),
            prevalence=_assumed(raw.get("prevalence"), "prevalence", 1.0),
            volume=volume,
            curves=_curves(raw.get("curves")),
            day_new=check_day(raw.get("day_new"), volume),
            day_previous=check_day(raw.get("day_previous"), volume),
            bands_per_day=check_bands(raw.get("bands_per_day"), volume),
            id=record_id,
        )  # fmt: skip


def _assumed(value: Any, name: str, top: float) -> float | None:
    if value is None:
        return None
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise DecisionError(f"{name} is not a number")
    if not (math.isfinite(value) and 0.0 <= value <= top):
        raise DecisionError(f"{name} {value} is out of range")
    return float(value)


def _curves(raw: Any) -> dict[str, list[float | None]] | None:
    if raw is None:
        return None
    if not isinstance(raw, dict) or set(raw) != set(CURVE_KEYS):
        raise DecisionError("curves are not thresholds, precision and recall")
    lengths = {len(v) if isinstance(v, list) else -1 for v in raw.values()}
    if len(lengths) != 1 or -1 in lengths or lengths.pop() > 10_000:
        raise DecisionError("curves are not lists of one length")
    for values in raw.values():
        for v in values:
            ok = v is None or (isinstance(v, int | float) and not isinstance(v, bool))
            if not ok or (v is not None and not (math.isfinite(v) and 0.0 <= v <= 1.0)):
                raise DecisionError("curves hold a value that is not a rate")
    return {k: list(raw[k]) for k in CURVE_KEYS}


def curves_of(analysis: ThresholdAnalysis) -> dict[str, list[float | None]]:
    """Precision and recall at CURVE_POINTS evenly spaced thresholds (None: undefined)."""
    t = np.linspace(0.0, 1.0, CURVE_POINTS)
    c = analysis.many(t)

    def clean(a: np.ndarray) -> list[float | None]:
        # weighted sums (an audit sample) may leave 1 + 1e-16: a rate stays within [0, 1]
        return [min(1.0, max(0.0, float(x))) if math.isfinite(x) else None for x in a.tolist()]

    return {"threshold": clean(t), "precision": clean(c["precision"]), "recall": clean(c["recall"])}


def check_rationale(text: Any) -> str:
    """The rationale, stripped; DecisionError if blank or longer than MAX_RATIONALE."""
    if not isinstance(text, str) or not text.strip():
        raise DecisionError("a decision needs a rationale (it is blank)")
    text = text.strip()
    if len(text) > MAX_RATIONALE:
        raise DecisionError(f"the rationale is {len(text):,} characters; at most {MAX_RATIONALE:,}")
    return text


def arrays_sha256(scores: Any, labels: Any) -> str:
    """SHA-256 of a sample's scores (float64, little-endian) then labels (1 abusive, else 0,
    one byte each): the same sample gives the same hash on every platform."""
    digest = hashlib.sha256()
    digest.update(np.ascontiguousarray(scores, dtype="<f8").tobytes())
    digest.update((np.asarray(labels) == 1).astype(np.uint8).tobytes())
    return digest.hexdigest()


def file_sha256(path: Path) -> str:
    with open(path, "rb") as fh:
        return sha256_stream(fh)


def build_record(
    *,
    analysis: ThresholdAnalysis,
    policy: Policy,
    previous: Policy | None,
    model_version: str,
    manifest_sha256: str,
    source: DataSource,
    rationale: str,
    prevalence: float | None = None,
    volume: float | None = None,
    author: str | None = None,
    now: datetime | None = None,
    resampler: Resampler | None = None,
) -> DecisionRecord:
    """A record of applying ``policy`` (in place of ``previous``) on the evidence of
    ``analysis`` (the data source's sample; an audit sample's weighted analysis with its
    ``resampler``); DecisionError for a blank rationale or a bad policy, prevalence or
    volume."""
    if source.kind not in SOURCE_KINDS:
        raise DecisionError(f"unknown data source kind {source.kind!r}")
    prevalence = _assumed(prevalence, "prevalence", 1.0)
    volume = _assumed(volume, "volume", math.inf)
    day_new = day_previous = bands = None
    if prevalence is not None and volume is not None:  # the day the panel showed
        day_new = day_of(analysis, policy.threshold, prevalence, volume)
        if previous is not None:
            day_previous = day_of(analysis, previous.threshold, prevalence, volume)
        if policy.escalate is not None:
            bands = bands_of(analysis, policy.threshold, policy.escalate, prevalence, volume)
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    return DecisionRecord(
        time_utc=moment.isoformat(timespec="seconds"),
        author=author if author is not None else workstation_user(),
        policy=policy,
        previous=previous,
        model_version=model_version,
        manifest_sha256=manifest_sha256,
        source=source,
        at_new=outcome_at(analysis, policy.threshold, resampler),
        at_previous=None
        if previous is None
        else outcome_at(analysis, previous.threshold, resampler),
        rationale=check_rationale(rationale),
        prevalence=prevalence,
        volume=volume,
        curves=curves_of(analysis),
        day_new=day_new,
        day_previous=day_previous,
        bands_per_day=bands,
    )
