"""Fitting one candidate configuration: feature blocks, NB-LR experts, optional augmentation.

A candidate is a linear model over feature blocks (TF-IDF, or the additive count-idf-sqrt map of
`app.core.engine.additive`). Its logit is a weighted mean of linear "experts" that share the features,
each trained on a subset of the training items; a weighted mean of linear models is itself one
linear model, so the bundle format and the explanations do not change.

Identity-term mitigation (optional) appends sentences from the *mitigation* templates of
`app.core.training.identity_terms` to the training items (never the evaluation or tuning templates). They
take part in fitting only: calibration, thresholds and every reported figure use real data.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import FeatureUnion

from app.core.engine.additive import CountIdfVectorizer
from app.core.engine.feature_settings import WEIGHTING
from app.core.engine.normalize import normalize_text
from app.core.training.data import Corpus
from app.core.training.identity_terms import GENERIC_NOUNS, identity_words, mitigation_set

AUGMENT_ORIGIN = "identity-templates"  # origin of the mitigation sentences in a training set


@dataclass(frozen=True)
class Candidate:
    """One configuration compared on validation."""

    name: str
    # (block name, vectoriser settings): TfidfVectorizer's, or with "weighting": "count-idf-sqrt"
    # CountIdfVectorizer's (app.core.engine.additive; no sublinear_tf/norm/idf options then)
    blocks: Sequence[tuple[str, dict[str, Any]]]
    C: float
    nb_scaling: bool  # scale features by naive-Bayes log-count ratios (NB-LR, Wang & Manning 2012)
    # (training subset, weight) per linear "expert"; their logits are averaged with the weights.
    # "all" is every training item, a dataset name that dataset only. An expert whose subset is
    # absent from the training data (leave-one-dataset-out) is left out of the mean.
    experts: tuple[tuple[str, float], ...] = (("all", 1.0),)
    nb_alpha: float = 1.0  # additive smoothing of the naive-Bayes counts
    class_weight: str | None = None  # LogisticRegression's class_weight ("balanced" or None)
    # Identity-term mitigation: (benign templates, abusive templates) per identity group taken
    # from identity_terms.mitigation_set, and the sample weight of each such sentence.
    augmentation: tuple[int, int] = (0, 0)
    augmentation_weight: float = 1.0
    # Identity-term cap: coefficients of identity-term features are capped at 0 after fitting, so
    # such a term can lower a score but never raise it. "words": word n-grams made of identity
    # words (and generic nouns: "gay", "white people"); "words+char": also the char_wb n-grams of
    # 3+ letters inside an identity word (" gay ", "queer", "musli"). See `capped_features`.
    identity_cap: str = ""

    def describe(self) -> str:
        # e.g. "word 1-2-grams min_df=1 + char_wb 2-5-grams min_df=2"
        parts = []
        for _name, s in self.blocks:
            low, high = s["ngram_range"]
            weighting = ", count-idf-sqrt" if s.get("weighting") == WEIGHTING else ""
            parts.append(f"{s['analyzer']} {low}-{high}-grams min_df={s['min_df']}{weighting}")
        model = f"{'NB-LR' if self.nb_scaling else 'LR'} C={self.C:g}"
        if self.nb_scaling and self.nb_alpha != 1.0:
            model += f" NB alpha={self.nb_alpha:g}"
        if self.class_weight:
            model += f" class_weight={self.class_weight}"
        if self.experts != (("all", 1.0),):
            model += ", weighted mean of experts trained on " + " and ".join(
                f"{subset} (weight {weight:g})" for subset, weight in self.experts
            )
        if self.identity_cap:
            model += f"; identity-term coefficients capped at 0 ({self.identity_cap})"
        benign, abusive = self.augmentation
        if benign or abusive:
            model += (
                f"; identity mitigation: {benign} benign + {abusive} abusive training templates "
                f"per group (weight {self.augmentation_weight:g})"
            )
        return f"{' + '.join(parts)}; {model}"

    def augmentation_items(self) -> tuple[list[str], np.ndarray]:
        benign, abusive = self.augmentation
        if not (benign or abusive):
            return [], np.zeros(0, np.int8)
        texts, labels = mitigation_set(benign, abusive)
        return texts, np.asarray(labels, np.int8)


class NBScaler(TransformerMixin, BaseEstimator):
    """Multiplies each feature by its naive-Bayes log-count ratio (smoothed by ``alpha``)."""

    def __init__(self, alpha: float = 1.0) -> None:
        self.alpha = alpha

    def fit(
        self, X: sp.csr_matrix, y: np.ndarray, sample_weight: np.ndarray | None = None
    ) -> NBScaler:
        w = np.ones(X.shape[0]) if sample_weight is None else np.asarray(sample_weight, float)
        pos = self.alpha + np.asarray(X.T @ (w * (y == 1))).ravel()
        neg = self.alpha + np.asarray(X.T @ (w * (y == 0))).ravel()
        self.ratio_ = np.log((pos / pos.sum()) / (neg / neg.sum()))
        return self

    def transform(self, X: sp.csr_matrix) -> sp.csr_matrix:
        return sp.csr_matrix(X @ sp.diags(self.ratio_))


@dataclass
class Expert:
    scaler: NBScaler | None
    classifier: LogisticRegression
    weight: float = 1.0
    subset: str = "all"

    def logits(self, X: sp.csr_matrix) -> np.ndarray:
        return self.classifier.decision_function(self.scaler.transform(X) if self.scaler else X)

    def coef(self) -> np.ndarray:
        coef = self.classifier.coef_[0].astype(np.float64)
        return coef * self.scaler.ratio_ if self.scaler is not None else coef


@dataclass
class FittedModel:
    """The fitted candidate as one linear model: ``x . coef + intercept`` (what a bundle stores),
    with ``coef`` the weighted mean of the experts' coefficients after any identity cap."""

    candidate: Candidate
    union: FeatureUnion
    experts: list[Expert]
    calibration: tuple[float, float] = (1.0, 0.0)
    capped: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))

    def __post_init__(self) -> None:
        coef = self._mean([expert.coef() for expert in self.experts])
        coef[self.capped] = np.minimum(coef[self.capped], 0.0)
        self.coef_: np.ndarray = coef
        self.intercept_ = float(
            self._mean([float(expert.classifier.intercept_[0]) for expert in self.experts])
        )

    def logits(self, texts: list[str]) -> np.ndarray:
        X = self.union.transform([normalize_text(t) for t in texts])
        return np.asarray(X @ self.coef_ + self.intercept_, dtype=np.float64)

    def _mean(self, values: list[Any]) -> Any:
        weights = np.array([expert.weight for expert in self.experts])
        return sum(w * v for w, v in zip(weights / weights.sum(), values, strict=True))

    def predict_proba(self, texts: list[str]) -> np.ndarray:
        from scipy.special import expit

        a, b = self.calibration
        return expit(a * self.logits(texts) + b)

    def effective_coef(self) -> np.ndarray:
        return self.coef_

    def effective_intercept(self) -> float:
        return self.intercept_


def capped_features(union: FeatureUnion, mode: str) -> np.ndarray:
    """Column indices (over all blocks) of the identity-term features a cap of ``mode`` covers."""
    if mode not in ("", "words", "words+char"):
        raise ValueError(f"unknown identity cap {mode!r}")
    if not mode:
        return np.zeros(0, np.int64)
    words = set(identity_words())
    inside = {  # every substring of " word " (char_wb pads words with one space)
        f" {w} "[i:j] for w in words for i in range(len(w) + 2) for j in range(i + 1, len(w) + 3)
    }
    found, offset = [], 0
    for _name, vectorizer in union.transformer_list:
        for term, index in vectorizer.vocabulary_.items():
            if vectorizer.analyzer == "word":
                tokens = term.split()
                hit = set(tokens) <= words | GENERIC_NOUNS and bool(set(tokens) & words)
            else:
                hit = mode == "words+char" and len(term.strip()) >= 3
                hit = hit and term in inside
            if hit:
                found.append(offset + index)
        offset += len(vectorizer.vocabulary_)
    return np.asarray(sorted(found), dtype=np.int64)


def make_vectorizer(settings: dict[str, Any]) -> Any:
    """The unfitted vectoriser a candidate's block settings describe."""
    kwargs = {k: v for k, v in settings.items() if k != "weighting"}
    if settings.get("weighting") == WEIGHTING:
        return CountIdfVectorizer(dtype=np.float64, **kwargs)
    return TfidfVectorizer(dtype=np.float64, **kwargs)


def fit_candidate(candidate: Candidate, corpus: Corpus, seed: int) -> FittedModel:
    aug_texts, aug_labels = candidate.augmentation_items()
    texts = corpus.texts + aug_texts
    labels = np.concatenate([corpus.labels, aug_labels])
    origins = np.concatenate([corpus.origins, np.full(len(aug_texts), AUGMENT_ORIGIN)])
    weights = np.where(origins == AUGMENT_ORIGIN, candidate.augmentation_weight, 1.0)
    union = FeatureUnion([(name, make_vectorizer(settings)) for name, settings in candidate.blocks])
    X_all = union.fit_transform([normalize_text(t) for t in texts])
    experts = []
    for subset, weight in candidate.experts:
        mask = np.ones(len(labels), bool) if subset == "all" else origins == subset
        if len(set(labels[mask].tolist())) < 2:
            continue  # the subset is absent here (one dataset left out): no such expert
        X, y, w = X_all[mask], labels[mask], weights[mask]
        scaler = NBScaler(candidate.nb_alpha).fit(X, y, w) if candidate.nb_scaling else None
        classifier = LogisticRegression(
            C=candidate.C,
            solver="liblinear",
            max_iter=5000,
            random_state=seed,
            class_weight=candidate.class_weight,
        )
        classifier.fit(scaler.transform(X) if scaler else X, y, sample_weight=w)
        experts.append(Expert(scaler, classifier, weight, subset))
    if not experts:
        raise ValueError(f"candidate {candidate.name}: no expert has both classes to learn from")
    return FittedModel(
        candidate, union, experts, capped=capped_features(union, candidate.identity_cap)
    )


def out_of_fold_logits(
    candidate: Candidate, corpus: Corpus, seed: int, folds: int = 5
) -> np.ndarray:
    """Each item's logit from a model fitted without it (shuffled, stratified folds)."""
    logits = np.empty(len(corpus.texts))
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    for fit_idx, eval_idx in splitter.split(np.zeros(len(corpus.texts)), corpus.strata()):
        model = fit_candidate(candidate, corpus.subset(fit_idx), seed)
        logits[eval_idx] = model.logits([corpus.texts[i] for i in eval_idx])
    return logits
