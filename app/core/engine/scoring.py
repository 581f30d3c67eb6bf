"""Scoring texts with a loaded bundle: probabilities, labels, explanations, and edge cases.

``Scorer`` is what the CLI and the UI hold: the verified bundle plus the model rebuilt from it.
Empty text gets an explicit result (no score) instead of the model's opinion of nothing, and
very long text is scored on a truncated copy and marked so; both are visible to the user.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import overload

import numpy as np

from app.core.bundles.bundle import VerifiedBundle, load_verified
from app.core.common.limits import Limits
from app.core.common.paths import bundled_models_dir
from app.core.engine.default_model import choose_default
from app.core.engine.encoder import EncoderTextModel
from app.core.engine.explain import Explanation, explain_text
from app.core.engine.model import LinearTextModel
from app.core.engine.occlusion import occlusion_explain

DEFAULT_THRESHOLD = 0.45
DEFAULT_MAX_CHARS = Limits().max_text_chars  # every limit lives in app.core.common.limits
ABUSIVE = "abusive"
BENIGN = "benign"


@overload
def flagged(scores: float, threshold: float) -> bool: ...
@overload
def flagged(scores: np.ndarray, threshold: float) -> np.ndarray: ...
def flagged(scores: float | np.ndarray, threshold: float) -> bool | np.ndarray:
    """The decision rule, written once: abusive iff score >= threshold, compared exactly.

    A float gives a bool, an array a boolean mask; NaN (a blank text, which has no score) is
    never flagged. Every label, count and filter of the app goes through here."""
    return scores >= threshold


def label_for(score: float, threshold: float) -> str:
    """The label of one score by the decision rule (`flagged`)."""
    return ABUSIVE if flagged(score, threshold) else BENIGN


def labels_for(scores: np.ndarray, threshold: float) -> list[str]:
    """`label_for` of each score, for a whole array at once."""
    return np.where(flagged(np.asarray(scores), threshold), ABUSIVE, BENIGN).tolist()


@dataclass(frozen=True)
class TextScore:
    score: float | None  # None when the text is empty (nothing to score)
    label: str  # "abusive", "benign" or "empty"
    threshold: float
    chars: int  # length of the original text
    truncated: bool  # scored on part of the text only (`Scorer.truncation_note` says which)
    empty: bool

    def as_dict(self) -> dict[str, object]:
        return {
            "score": self.score,
            "label": self.label,
            "threshold": self.threshold,
            "chars": self.chars,
            "truncated": self.truncated,
            "empty": self.empty,
        }


class Scorer:
    """A verified bundle ready to score. Immutable once built, so threads may share it."""

    def __init__(self, bundle: VerifiedBundle, *, max_chars: int = DEFAULT_MAX_CHARS) -> None:
        if max_chars < 1:
            raise ValueError("max_chars must be at least 1")
        self.bundle = bundle
        self.model: LinearTextModel | EncoderTextModel
        if bundle.engine == "encoder":
            self.model = EncoderTextModel(bundle)
        else:
            self.model = LinearTextModel(bundle)
        self.max_chars = max_chars

    @classmethod
    def load(cls, path: str | Path, *, max_chars: int = DEFAULT_MAX_CHARS) -> Scorer:
        return cls(load_verified(path), max_chars=max_chars)

    @property
    def version_label(self) -> str:
        return self.bundle.label

    @property
    def default_threshold(self) -> float:
        return float(self.bundle.manifest.get("default_threshold", DEFAULT_THRESHOLD))

    def prepare(self, texts: list[str]) -> tuple[list[str], np.ndarray, np.ndarray]:
        """Truncate long texts; return (texts to score, truncated mask, empty mask)."""
        n = len(texts)
        truncated = np.fromiter(map(len, texts), np.int64, n) > self.max_chars
        # "not t.strip()": empty or whitespace only (str.isspace is False for "")
        empty = np.fromiter(map(str.isspace, texts), bool, n) | (
            np.fromiter(map(len, texts), np.int64, n) == 0
        )
        prepared = list(texts)
        for i in np.flatnonzero(truncated):  # rare: C-level loops above, a Python one here
            prepared[i] = texts[i][: self.max_chars]
        return prepared, truncated, empty

    def score_many(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Scores for many texts: (scores with NaN for empty texts, truncated mask, empty mask)."""
        prepared, truncated, empty = self.prepare(texts)
        scores = np.full(len(texts), np.nan)
        keep = np.flatnonzero(~empty)
        if keep.size:
            scores[keep], cut = self.model.predict_proba_and_cut([prepared[i] for i in keep])
            truncated[keep] |= cut
        return scores, truncated, empty

    @property
    def truncation_note(self) -> str:
        """What a truncated text's score was computed on (the batch note, the Score panel)."""
        limit = self.model.reading_limit()
        return f"read {limit}" if limit else f"scored the first {self.max_chars:,} characters"

    def score_text(self, text: str, threshold: float) -> TextScore:
        scores, truncated, empty = self.score_many([text])
        if empty[0]:
            return TextScore(None, "empty", threshold, len(text), False, True)
        score = float(scores[0])
        return TextScore(
            score, label_for(score, threshold), threshold, len(text), bool(truncated[0]), False
        )

    @property
    def engine(self) -> str:
        """ "linear" (the fast engine) or "encoder" (the thorough one, abuse-mini)."""
        return self.bundle.engine

    def explain(self, text: str, top_k: int | None = 15) -> Explanation:
        """Terms that moved this text's score, strongest first (on the truncated copy if long):
        exact shares for a linear model, occlusion effects for an encoder."""
        if isinstance(self.model, EncoderTextModel):
            return occlusion_explain(self.model, text[: self.max_chars], top_k)
        return explain_text(self.model, text[: self.max_chars], top_k)


def default_bundle_path(models_dir: Path | None = None) -> Path:
    """The default fast model a fresh install scores with, chosen by the written rule of
    `app.core.engine.default_model.choose_default` (validation figures only, never test figures)."""
    return choose_default(models_dir or bundled_models_dir())
