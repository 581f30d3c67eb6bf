"""Reproducible training of a model bundle from the public data.

Steps: load and deduplicate (``training_data``), split, fit each candidate configuration on the
training part and compare them on validation, calibrate the winner on validation if that helps,
evaluate once on the test part, write the bundle, then reload it through the verifying loader and
check that it reproduces the trained pipeline's probabilities. Seeds are fixed and the hashes of
the data files are recorded, so the same data gives the same arrays.
"""

from __future__ import annotations

import platform
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import scipy
import scipy.sparse as sp
import sklearn
from scipy.special import expit
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import FeatureUnion

from app.core.additive import WEIGHTING, CountIdfVectorizer
from app.core.bundle import write_bundle
from app.core.calibration import compare_platt, fit_platt
from app.core.evaluation import evaluate_scores
from app.core.model import ADDITIVE_KEYS, VECTORIZER_KEYS
from app.core.model_card import render_model_card
from app.core.normalize import NORMALIZER_VERSION, item_ids, normalize_text
from app.core.scoring import DEFAULT_THRESHOLD, Scorer
from app.core.thresholds import ThresholdAnalysis
from app.core.training_data import Corpus, Split, load_corpus, split_corpus

DEFAULT_SEED = 20261130
Progress = Callable[[str], None]


@dataclass(frozen=True)
class Candidate:
    """One configuration compared on validation."""

    name: str
    # (block name, vectoriser settings): TfidfVectorizer's, or with "weighting": "count-idf-sqrt"
    # CountIdfVectorizer's (app.core.additive; no sublinear_tf/norm/idf options then)
    blocks: Sequence[tuple[str, dict[str, Any]]]
    C: float
    nb_scaling: bool  # scale features by naive-Bayes log-count ratios (NB-LR, Wang & Manning 2012)
    # (training subset, weight) per linear "expert"; their logits are averaged with the weights.
    # "all" is every training item, a dataset name that dataset only. A weighted mean of linear
    # models on the same features is itself one linear model, so the bundle format and the
    # explanations do not change.
    experts: tuple[tuple[str, float], ...] = (("all", 1.0),)

    def describe(self) -> str:
        # e.g. "word 1-2-grams min_df=1 + char_wb 2-5-grams min_df=2"
        parts = [
            f"{s['analyzer']} {s['ngram_range'][0]}-{s['ngram_range'][1]}-grams min_df={s['min_df']}"
            for _name, s in self.blocks
        ]
        model = f"{'NB-LR' if self.nb_scaling else 'LR'} C={self.C:g}"
        if self.experts != (("all", 1.0),):
            model += ", weighted mean of experts trained on " + " and ".join(
                f"{subset} (weight {weight:g})" for subset, weight in self.experts
            )
        return f"{' + '.join(parts)}; {model}"


def _word(ngrams: tuple[int, int], min_df: int) -> tuple[str, dict[str, Any]]:
    return "word", {
        "analyzer": "word",
        "ngram_range": ngrams,
        "min_df": min_df,
        "sublinear_tf": True,
    }


def _char(ngrams: tuple[int, int], min_df: int) -> tuple[str, dict[str, Any]]:
    return "char", {
        "analyzer": "char_wb",
        "ngram_range": ngrams,
        "min_df": min_df,
        "sublinear_tf": True,
    }


DEFAULT_CANDIDATES: tuple[Candidate, ...] = (
    Candidate("word-lr", (_word((1, 2), 2),), 4.0, False),
    Candidate("word-char-lr", (_word((1, 2), 2), _char((2, 5), 2)), 4.0, False),
    Candidate("word-char-nblr", (_word((1, 2), 1), _char((2, 5), 2)), 4.0, True),
    Candidate("word-char-nblr-c8", (_word((1, 2), 1), _char((2, 5), 1)), 8.0, True),
    Candidate(
        "nblr+olid-0.25",
        (_word((1, 2), 1), _char((2, 5), 2)),
        4.0,
        True,
        (("all", 1.0), ("olid", 0.25)),
    ),
    Candidate(
        "nblr+olid-0.5",
        (_word((1, 2), 1), _char((2, 5), 2)),
        4.0,
        True,
        (("all", 1.0), ("olid", 0.5)),
    ),
    Candidate(
        "nblr+olid-1",
        (_word((1, 2), 1), _char((2, 5), 2)),
        4.0,
        True,
        (("all", 1.0), ("olid", 1.0)),
    ),
)


class NBScaler(TransformerMixin, BaseEstimator):
    """Multiplies each feature by its naive-Bayes log-count ratio (smoothed by ``alpha``)."""

    def __init__(self, alpha: float = 1.0) -> None:
        self.alpha = alpha

    def fit(self, X: sp.csr_matrix, y: np.ndarray) -> NBScaler:
        pos = self.alpha + np.asarray(X[y == 1].sum(axis=0)).ravel()
        neg = self.alpha + np.asarray(X[y == 0].sum(axis=0)).ravel()
        self.ratio_ = np.log((pos / pos.sum()) / (neg / neg.sum()))
        return self

    def transform(self, X: sp.csr_matrix) -> sp.csr_matrix:
        return sp.csr_matrix(X @ sp.diags(self.ratio_))


@dataclass
class Expert:
    scaler: NBScaler | None
    classifier: LogisticRegression
    weight: float = 1.0

    def logits(self, X: sp.csr_matrix) -> np.ndarray:
        return self.classifier.decision_function(self.scaler.transform(X) if self.scaler else X)

    def coef(self) -> np.ndarray:
        coef = self.classifier.coef_[0].astype(np.float64)
        return coef * self.scaler.ratio_ if self.scaler is not None else coef


@dataclass
class FittedModel:
    candidate: Candidate
    union: FeatureUnion
    experts: list[Expert]
    calibration: tuple[float, float] = (1.0, 0.0)

    def logits(self, texts: list[str]) -> np.ndarray:
        X = self.union.transform([normalize_text(t) for t in texts])
        return self._mean([expert.logits(X) for expert in self.experts])

    def _mean(self, values: list[Any]) -> Any:
        weights = np.array([expert.weight for expert in self.experts])
        return sum(w * v for w, v in zip(weights / weights.sum(), values, strict=True))

    def predict_proba(self, texts: list[str]) -> np.ndarray:
        a, b = self.calibration
        return expit(a * self.logits(texts) + b)

    def effective_coef(self) -> np.ndarray:
        return self._mean([expert.coef() for expert in self.experts])

    def effective_intercept(self) -> float:
        return float(
            self._mean([float(expert.classifier.intercept_[0]) for expert in self.experts])
        )


def make_vectorizer(settings: dict[str, Any]) -> Any:
    """The unfitted vectoriser a candidate's block settings describe."""
    kwargs = {k: v for k, v in settings.items() if k != "weighting"}
    if settings.get("weighting") == WEIGHTING:
        return CountIdfVectorizer(dtype=np.float64, **kwargs)
    return TfidfVectorizer(dtype=np.float64, **kwargs)


def fit_candidate(candidate: Candidate, corpus: Corpus, seed: int) -> FittedModel:
    union = FeatureUnion([(name, make_vectorizer(settings)) for name, settings in candidate.blocks])
    X_all = union.fit_transform([normalize_text(t) for t in corpus.texts])
    experts = []
    for subset, weight in candidate.experts:
        mask = np.ones(len(corpus.labels), bool) if subset == "all" else corpus.origins == subset
        X, y = X_all[mask], corpus.labels[mask]
        scaler = NBScaler().fit(X, y) if candidate.nb_scaling else None
        classifier = LogisticRegression(
            C=candidate.C, solver="liblinear", max_iter=5000, random_state=seed
        )
        classifier.fit(scaler.transform(X) if scaler else X, y)
        experts.append(Expert(scaler, classifier, weight))
    return FittedModel(candidate, union, experts)


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


def _per_origin_auc(scores: np.ndarray, corpus: Corpus) -> dict[str, float]:
    out = {}
    for origin in sorted(set(corpus.origins.tolist())):
        mask = corpus.origins == origin
        out[origin] = ThresholdAnalysis(scores[mask], corpus.labels[mask]).roc_auc()
    return out


def bundle_files(model: FittedModel, eval_scores: np.ndarray, test: Corpus) -> dict[str, Any]:
    """The data files of a bundle (everything but the manifest and the model card)."""
    blocks, files = [], {}
    for name, vectorizer in model.union.transformer_list:
        vocabulary = [""] * len(vectorizer.vocabulary_)
        for term, index in vectorizer.vocabulary_.items():
            vocabulary[index] = term
        additive = isinstance(vectorizer, CountIdfVectorizer)
        keys = [k for k in ADDITIVE_KEYS if k != "weighting"] if additive else VECTORIZER_KEYS
        settings = {k: vectorizer.get_params()[k] for k in keys}
        if additive:
            settings["weighting"] = WEIGHTING
        settings["ngram_range"] = list(settings["ngram_range"])
        blocks.append({"name": name, "settings": settings, "vocabulary": vocabulary})
        files[f"{name}_idf.npy"] = vectorizer.idf_.astype(np.float64)
    a, b = model.calibration
    files["features.json"] = {"normalizer_version": NORMALIZER_VERSION, "blocks": blocks}
    files["classifier.json"] = {
        "type": "linear",
        "positive_label": "abusive",
        "classes": ["benign", "abusive"],
        "feature_blocks": [blk["name"] for blk in blocks],
        "calibration": {"method": "platt" if (a, b) != (1.0, 0.0) else "none", "a": a, "b": b},
    }
    files["coef.npy"] = model.effective_coef()
    files["intercept.npy"] = np.array([model.effective_intercept()])
    files["eval_scores.npy"] = eval_scores.astype(np.float64)
    files["eval_labels.npy"] = test.labels.astype(np.int8)
    files["eval_origin.npy"] = np.array(test.origins.tolist())  # narrowest unicode dtype
    files["eval_ids.npy"] = item_ids(test.texts)  # lets two bundles be compared item by item
    return files


@dataclass
class TrainingResult:
    bundle_path: Path
    manifest: dict[str, Any]
    roundtrip_max_abs_diff: float
    seconds: float
    comparisons: list[dict[str, Any]] = field(default_factory=list)


def train_bundle(
    data_dir: str | Path,
    out_dir: str | Path,
    *,
    name: str = "abuse-lr",
    version: str = "1.0.0",
    seed: int = DEFAULT_SEED,
    candidates: Sequence[Candidate] = DEFAULT_CANDIDATES,
    progress: Progress | None = None,
) -> TrainingResult:
    say = progress or (lambda _msg: None)
    started = time.perf_counter()
    corpus = load_corpus(data_dir)
    split: Split = split_corpus(corpus, seed)
    say(f"{len(corpus.texts):,} items after deduplication; split {split.sizes()}")

    comparisons: list[dict[str, Any]] = []
    fitted: list[FittedModel] = []
    for candidate in candidates:
        t0 = time.perf_counter()
        model = fit_candidate(candidate, split.train, seed)
        val_scores = expit(model.logits(split.validation.texts))
        aucs = _per_origin_auc(val_scores, split.validation)
        row = {
            "name": candidate.name,
            "description": candidate.describe(),
            "features": int(model.effective_coef().shape[0]),
            "validation_auc": ThresholdAnalysis(val_scores, split.validation.labels).roc_auc(),
            "validation_auc_by_origin": aucs,
            "selection_score": float(np.mean(list(aucs.values()))),
            "fit_seconds": round(time.perf_counter() - t0, 1),
        }
        comparisons.append(row)
        fitted.append(model)
        say(f"  {candidate.describe()}: validation AUC by origin {aucs}")
    # Select on the mean of per-dataset AUCs so the smaller, harder dataset counts as much.
    best = int(np.argmax([row["selection_score"] for row in comparisons]))
    model = fitted[best]

    # The chosen configuration is refitted on train + validation (more data, same settings).
    # Calibration and the recommended thresholds then come from out-of-fold logits on that same
    # development data, so neither is fitted on items the scored model has seen.
    candidate = candidates[best]
    development = split.train.concat(split.validation)
    dev_logits = out_of_fold_logits(candidate, development, seed)
    calibration_check = compare_platt(dev_logits, development.labels, seed)
    model = fit_candidate(candidate, development, seed)
    if calibration_check["platt_brier_cv"] < calibration_check["raw_brier"]:
        model.calibration = fit_platt(dev_logits, development.labels)
    calibration_check["adopted"] = model.calibration != (1.0, 0.0)
    a, b = model.calibration
    test_scores = model.predict_proba(split.test.texts)
    say(
        f"refitted {candidate.name} on {len(development.texts):,} items; calibration {calibration_check}"
    )

    val_analysis = ThresholdAnalysis(expit(a * dev_logits + b), development.labels)
    recommended: list[dict[str, Any]] = [
        {
            "name": "default",
            "threshold": DEFAULT_THRESHOLD,
            "rule": "product default carried over from the original service",
        },
        {
            "name": "best_f1",
            "threshold": val_analysis.best_f1().threshold,
            "rule": "highest F1, out-of-fold on train+validation",
        },
        {
            "name": "min_errors",
            "threshold": val_analysis.cost_threshold(1.0, 1.0).threshold,
            "rule": "fewest misses + false alarms, out-of-fold on train+validation (FN:FP cost 1:1)",
        },
        {
            "name": "recall_0.93",
            "threshold": (val_analysis.recall_floor(0.93) or val_analysis.at(0.0)).threshold,
            "rule": "highest threshold keeping out-of-fold recall >= 0.93",
        },
    ]
    metrics = evaluate_scores(
        test_scores,
        split.test.labels,
        split.test.origins,
        thresholds=[0.5, DEFAULT_THRESHOLD, recommended[1]["threshold"]],
    )
    manifest: dict[str, Any] = {
        "name": name,
        "version": version,
        "created_utc": datetime.now(UTC).replace(microsecond=0).isoformat(),
        "normalizer_version": NORMALIZER_VERSION,
        "libraries": {
            "python": platform.python_version(),
            "scikit-learn": sklearn.__version__,
            "numpy": np.__version__,
            "scipy": scipy.__version__,
        },
        "training": {
            "sources": corpus.sources,
            "deduplication": corpus.dedup,
            "seed": seed,
            "split": {
                "method": "stratified on (dataset, label), train/validation/test 70/15/15; "
                "candidates compared on validation, the chosen one refitted on train+validation",
                "sizes": split.sizes(),
            },
            "selected": comparisons[best]["name"],
            "compared": comparisons,
            "calibration": calibration_check,
        },
        "default_threshold": DEFAULT_THRESHOLD,
        "recommended_thresholds": recommended,
        "metrics": {"test": metrics},
        "evaluation_arrays": {
            "scores": "eval_scores.npy",
            "labels": "eval_labels.npy",
            "origin": "eval_origin.npy",
            "ids": "eval_ids.npy",
            "part": "test",
        },
    }
    files = bundle_files(model, test_scores, split.test)
    files["MODEL_CARD.md"] = render_model_card(manifest, test_scores, split.test.labels)
    path = write_bundle(Path(out_dir), manifest, files)

    # The bundle must reproduce the trained pipeline: reload it through the verifying loader.
    scorer = Scorer.load(path)
    manifest = scorer.bundle.manifest  # as written, with the file hashes
    loaded = scorer.model.predict_proba(split.test.texts)
    diff = float(np.max(np.abs(loaded - test_scores)))
    if diff > 1e-9:
        raise RuntimeError(f"bundle round-trip differs from the trained model by {diff:.3g}")
    say(f"bundle written to {path}; round-trip max |diff| {diff:.2e} on {len(loaded):,} texts")
    return TrainingResult(path, manifest, diff, time.perf_counter() - started, comparisons)
