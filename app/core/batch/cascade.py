"""Batch scoring modes: ``fast`` (the linear model), ``thorough`` (the encoder, abuse-mini) and
``cascade`` (the linear model scores every row; rows whose fast score is in the encoder's
cascade band are re-scored by the encoder and take its score).

The band was chosen in training for one fast model (`app.core.training.mini_cascade`), named in
the encoder's ``classifier.json`` by the SHA-256 of that model's manifest: a cascade is refused
unless the fast model is that very bundle, so a band is never used with a model it was not
chosen for. The rule below is the training one (`mini_cascade.cascade_scores`), copied because
the runtime core may not import training; a test keeps the two equal.

A re-scored row says so in its own ``model_version`` cell (the encoder's label), so the output
format is unchanged and each row names the engine whose score it carries.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

import numpy as np

from app.core.common.errors import ModelError
from app.core.engine.scoring import Scorer

FAST, CASCADE, THOROUGH = "fast", "cascade", "thorough"
MODES = (FAST, CASCADE, THOROUGH)
MODE_HELP = {
    FAST: "the fast (linear) model scores every row",
    CASCADE: "the fast model scores every row; rows whose fast score is in the thorough "
    "engine's cascade band are re-scored by the thorough engine and take its score",
    THOROUGH: "the thorough engine (the encoder, abuse-mini) scores every row",
}
Scored = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]


def cascade_scores(fast: np.ndarray, thorough: np.ndarray, low: float, high: float) -> np.ndarray:
    """The cascade's score of each row: the thorough score where the fast one is in the band."""
    band = (fast >= low) & (fast <= high)
    return np.where(band, thorough, fast)


def in_band(scores: np.ndarray, low: float, high: float) -> np.ndarray:
    """Rows whose fast score is in [low, high] (NaN, a blank text, never is)."""
    return (scores >= low) & (scores <= high)


@dataclass(frozen=True)
class Cascade:
    """The thorough engine of a cascade job and the band it re-scores."""

    thorough: Scorer
    low: float
    high: float

    @classmethod
    def for_models(cls, fast: Scorer, thorough: Scorer) -> Cascade:
        """The thorough engine's band for `fast`; ModelError (one line naming both models) when
        it has none, or one chosen for another fast model."""
        low, high = cascade_band(fast.bundle, thorough.bundle)
        return cls(thorough, low, high)

    def rescore(
        self, fast: Scorer, rows: list[list[str]], text_index: int, scored: Scored | None
    ) -> tuple[Scored, list[int]]:
        """The chunk's scores (``scored``: the fast model's, if a worker computed them already)
        with the band's rows re-scored by the thorough engine, and those rows' indices."""
        if scored is None:
            scored = (*fast.score_many(list(map(itemgetter(text_index), rows))), None)
        scores, truncated, empty, other = scored
        chosen = np.flatnonzero(in_band(scores, self.low, self.high))
        if not chosen.size:
            return scored, []
        texts = list(map(itemgetter(text_index), (rows[i] for i in chosen)))
        thorough = self.thorough.score_many(texts)[0]
        scores = scores.copy()
        scores[chosen] = thorough
        return (scores, truncated, empty, other), chosen.tolist()


def cascade_band(fast: object, thorough: object) -> tuple[float, float]:
    """(low, high) of the `thorough` bundle's cascade section, checked against the `fast` bundle
    (`VerifiedBundle`s); ModelError naming both models otherwise."""
    classifier = getattr(thorough, "json_files", {}).get("classifier.json")
    section = classifier.get("cascade") if isinstance(classifier, dict) else None
    fast_label, thorough_label = getattr(fast, "label", "?"), getattr(thorough, "label", "?")
    if getattr(thorough, "engine", "") != "encoder":
        raise ModelError(f"{thorough_label} is not a thorough (encoder) model")
    if getattr(fast, "engine", "") != "linear":
        raise ModelError(f"{fast_label} is not a fast (linear) model")
    if not isinstance(section, dict):
        raise ModelError(
            f"cascade refused: {thorough_label} has no cascade band (for the fast model "
            f"{fast_label}); use fast or thorough"
        )
    chosen_for, fast_sha = (
        section.get("fast_manifest_sha256"),
        getattr(fast, "manifest_sha256", None),
    )
    if chosen_for != fast_sha:
        named = str(section.get("fast_model"))
        which = (  # same name, other bytes: say so, or the line reads "for X, not for X"
            f"{named} (manifest SHA-256 {str(chosen_for)[:12]}…), not for this {fast_label} "
            f"({str(fast_sha)[:12]}…)"
            if named == fast_label
            else f"{named}, not for the fast model {fast_label}"
        )
        raise ModelError(
            f"cascade refused: the band of {thorough_label} was chosen for {which}; use fast "
            f"or thorough, or make {named} the active model"
        )
    return float(section["low"]), float(section["high"])


def mark_rescored(
    out: list[list[object]], rows: Sequence[list[str]], chosen: list[int], banded: bool, label: str
) -> None:
    """Name the thorough engine in each re-scored row's ``model_version`` cell (after the
    input cells: score, label, [band,] version)."""
    offset = 3 if banded else 2
    for i in chosen:
        out[i][len(rows[i]) + offset] = label


def job_mode(scorer: Scorer, cascade: Cascade | None) -> str:
    """The mode a job runs in, from what scores it."""
    if cascade is not None:
        return CASCADE
    return THOROUGH if scorer.engine == "encoder" else FAST


def mode_fields(scorer: Scorer, cascade: Cascade | None) -> dict[str, Any]:
    """A job's mode as `BatchReport` fields."""
    fields: dict[str, Any] = {"mode": job_mode(scorer, cascade)}
    if cascade is not None:
        fields |= {
            "rescored_by": cascade.thorough.version_label,
            "rescored_manifest_sha256": cascade.thorough.bundle.manifest_sha256,
            "cascade_low": cascade.low,
            "cascade_high": cascade.high,
        }
    return fields
