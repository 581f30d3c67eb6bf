"""The scoring model rebuilt from a verified bundle: TF-IDF blocks + a linear model + calibration.

The scikit-learn vectorisers are reconstructed from data (settings, vocabulary, idf weights) by
`app.core.engine.reference`, so featurisation is exactly the one used in training; the linear part is a dot product. The
probability of "abusive" is ``sigmoid(a * (x . coef + intercept) + b)`` where ``a, b`` are the
Platt calibration fitted on validation data (``a = 1, b = 0`` when calibration did not help).

Scoring normally takes a fast path that reproduces those features without scikit-learn (equal
within 1e-9): `app.core.engine.fast_scorer` for count-idf-sqrt blocks (2.0.0), `app.core.engine.tfidf_fast`
for sublinear TF-IDF (1.0.0). Their explanations come from the same fast analysis
(`text_features`), so the vectorisers are built only for settings no fast path reproduces.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from importlib.util import find_spec
from typing import TYPE_CHECKING, Any

import numpy as np

from app.core.bundles.bundle import VerifiedBundle
from app.core.bundles.token_patterns import resolve
from app.core.common.errors import ModelError
from app.core.engine.feature_settings import WEIGHTING, check_settings
from app.core.engine.normalize import NORMALIZER_VERSION, normalize_text
from app.core.engine.reference import sigmoid, stacked_features, vectorizer_from_settings

# Texts every model scores when it is loaded: a bundle whose numbers give NaN, infinity or a
# value outside [0, 1] for any of them is refused before it can label anything.
PROBE_TEXTS = (
    "hello",
    "you are an idiot and everyone hates you",
    "thank you so much for your help today!",
    "ok ok ok ok ok ok ok ok ok ok ok ok ok ok ok ok",
    "I'll kill it at the gym 💪💪 #goals @friend http://example.com",
    "Ça va? Что это? 你好 مرحبا",
    "x" * 2000,
    "a",
)


def refuse_non_probabilities(bundle: VerifiedBundle, scores: np.ndarray) -> None:
    """ModelError unless every probe score is a probability (finite, within [0, 1])."""
    bad = ~(np.isfinite(scores) & (scores >= 0.0) & (scores <= 1.0))
    if bad.any():
        raise ModelError(
            f"model bundle {bundle.path}: scores a probe text as {scores[bad][0]!r}; "
            "the model's numbers are unusable"
        )


if TYPE_CHECKING:  # a SciPy type: `reference` names it so that this module never imports SciPy
    from app.core.engine.reference import FeatureMatrix


@dataclass(frozen=True)
class FeatureBlock:
    """One block of features, as the bundle describes it. Its scikit-learn vectoriser is built
    on first use only: the fast scorer reads the settings, so a count-idf-sqrt model scores
    without importing scikit-learn (~90 MB and ~0.6 s in every process, workers included)."""

    name: str
    settings: dict[str, Any]  # validated by `check_settings`
    idf: np.ndarray
    terms: list[str]  # index -> n-gram, for explanations
    offset: int  # where this block's columns start in the coefficient vector

    @cached_property
    def vectorizer(self) -> Any:
        """TfidfVectorizer, or CountIdfVectorizer for the count-idf-sqrt map (fitted)."""
        return vectorizer_from_settings(self.settings, self.terms, self.idf)

    @property
    def additive(self) -> bool:
        return self.settings.get("weighting") == WEIGHTING

    @property
    def analyzer(self) -> str:
        return str(self.settings["analyzer"])

    @property
    def ngram_range(self) -> tuple[int, int]:
        low, high = self.settings.get("ngram_range", (1, 1))
        return int(low), int(high)

    @property
    def lowercase(self) -> bool:
        return bool(self.settings.get("lowercase", True))

    @property
    def token_pattern(self) -> str:
        """From the fixed list in app.core.bundles.token_patterns, never a bundle's own text."""
        return resolve(self.settings)

    @property
    def strip_accents(self) -> str | None:
        return self.settings.get("strip_accents")


def _float_array(bundle: VerifiedBundle, name: str) -> np.ndarray:
    try:
        array = bundle.arrays[name]
    except KeyError:
        raise ModelError(f"model bundle {bundle.path}: {name} is missing") from None
    if array.dtype != np.float64 or not np.all(np.isfinite(array)):
        raise ModelError(f"model bundle {bundle.path}: {name} must be finite float64")
    return array


class CalibratedModel:
    """What both engines share on top of their own ``raw_logits``: Platt calibration
    ``a * logit + b`` and the probability ``sigmoid`` of it."""

    calibration_slope: float
    calibration_offset: float

    def raw_logits(self, texts: list[str]) -> np.ndarray:
        raise NotImplementedError

    def calibrate(self, logits: np.ndarray) -> np.ndarray:
        """Calibrated logits of uncalibrated ones."""
        return self.calibration_slope * logits + self.calibration_offset

    def calibrated_logits(self, texts: list[str]) -> np.ndarray:
        return self.calibrate(self.raw_logits(texts))

    def predict_proba(self, texts: list[str]) -> np.ndarray:
        """Probability that each text is abusive (float64, one per text)."""
        if not texts:
            return np.zeros(0, dtype=np.float64)
        return sigmoid(self.calibrated_logits(list(texts)))

    def predict_proba_and_cut(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """(probabilities, whether the model read each text only in part): a model with its own
        reading limit (the encoder's tokens) says so; the scorer's character cut is its own."""
        return self.predict_proba(texts), np.zeros(len(texts), dtype=bool)

    def reading_limit(self) -> str | None:
        """What a text cut by the model's own limit was read up to, or None (no such limit)."""
        return None


class LinearTextModel(CalibratedModel):
    """Featurise and score texts. Thread-safe for concurrent reads (no mutable state)."""

    def __init__(self, bundle: VerifiedBundle) -> None:
        features = bundle.json_files.get("features.json")
        classifier = bundle.json_files.get("classifier.json")
        if not isinstance(features, dict) or not isinstance(classifier, dict):
            raise ModelError(
                f"model bundle {bundle.path}: features.json or classifier.json missing"
            )
        if features.get("normalizer_version") != NORMALIZER_VERSION:
            raise ModelError(
                f"model bundle {bundle.path}: text normaliser version "
                f"{features.get('normalizer_version')!r} differs from this app's {NORMALIZER_VERSION!r}"
            )
        blocks: list[FeatureBlock] = []
        offset = 0
        for spec in features.get("blocks", []):
            name = spec["name"]
            vocabulary = spec["vocabulary"]
            idf = _float_array(bundle, f"{name}_idf.npy")
            try:
                check_settings(spec["settings"], vocabulary, idf)
            except ModelError as exc:
                raise ModelError(f"model bundle {bundle.path}: block {name}: {exc}") from None
            blocks.append(FeatureBlock(name, spec["settings"], idf, vocabulary, offset))
            offset += len(vocabulary)
        if not blocks:
            raise ModelError(f"model bundle {bundle.path}: features.json has no feature blocks")
        self.blocks = blocks
        self.coef = _float_array(bundle, "coef.npy")
        intercept = _float_array(bundle, "intercept.npy")
        if self.coef.shape != (offset,):
            raise ModelError(
                f"model bundle {bundle.path}: coef.npy has shape {self.coef.shape}, "
                f"the vocabularies have {offset} terms"
            )
        if intercept.shape != (1,):
            raise ModelError(f"model bundle {bundle.path}: intercept.npy must hold one number")
        self.intercept = float(intercept[0])
        calibration = classifier.get("calibration", {})
        self.calibration_slope = float(calibration.get("a", 1.0))
        self.calibration_offset = float(calibration.get("b", 0.0))
        if not self.calibration_slope > 0:
            raise ModelError(f"model bundle {bundle.path}: calibration slope must be positive")
        # Scored without scikit-learn when a fast path reproduces the features: count-idf-sqrt
        # models without feature vectors at all, sublinear TF-IDF ones (1.0.0) from counts.
        from app.core.engine.fast_scorer import FastAdditiveScorer
        from app.core.engine.tfidf_fast import SublinearTfidfScorer

        self.fast: FastAdditiveScorer | SublinearTfidfScorer | None = None
        for kind in (FastAdditiveScorer, SublinearTfidfScorer):
            if self.fast is None and kind.supports(blocks):
                try:
                    self.fast = kind(blocks, self.coef, self.intercept)
                except ValueError:  # a vocabulary it cannot use: scikit-learn scores it
                    self.fast = None
        if self.fast is None and find_spec("sklearn") is None:  # the frozen app leaves it out
            raise ModelError(
                f"model bundle {bundle.path}: its features need scikit-learn, which this "
                "installation does not include (only the fast-path feature settings do without)"
            )
        self._probe(bundle)

    def _probe(self, bundle: VerifiedBundle) -> None:
        """Refuse a model whose scores are not probabilities (NaN, infinite, outside [0, 1])."""
        try:
            with np.errstate(all="ignore"):  # an overflow is reported below, as one line
                scores = self.predict_proba(list(PROBE_TEXTS))
        except (ArithmeticError, LookupError, TypeError, ValueError) as exc:
            # settings the schema let through but the vectoriser cannot use: still one line
            raise ModelError(
                f"model bundle {bundle.path}: cannot score a probe text ({exc})"
            ) from None
        refuse_non_probabilities(bundle, scores)

    def build_vectorizers(self) -> None:
        """Build every block's scikit-learn vectoriser now instead of on first use, when the
        model needs them (no fast scorer: it scores and explains with them). The GUI loads
        models on a worker thread but scores and explains on its own: calling this there moves
        the import and the build (~1 s) off the first keystroke. A fast-path model never needs
        them (it explains from its own counts), so this does nothing for it."""
        if self.fast is not None:
            return
        for block in self.blocks:
            _ = block.vectorizer

    @property
    def n_features(self) -> int:
        return int(self.coef.shape[0])

    def features(self, normalized_texts: list[str]) -> FeatureMatrix:
        """TF-IDF feature matrix of already-normalised texts (all blocks side by side)."""
        return stacked_features([block.vectorizer for block in self.blocks], normalized_texts)

    def raw_logits(self, texts: list[str]) -> np.ndarray:
        """Uncalibrated decision values ``x . coef + intercept`` of raw texts."""
        normalized = [normalize_text(t) for t in texts]
        if self.fast is not None:
            return self.fast.logits(normalized)
        return self.features(normalized) @ self.coef + self.intercept
