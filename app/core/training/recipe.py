"""Reproducible training of a model bundle from the public data.

Steps: load and deduplicate (`data`), split, fit each candidate configuration (`candidates`,
`fit`) on the training part and compare them on validation (AUC per dataset, and identity-term
bias on the tuning templates), refit the chosen one on train+validation with an
out-of-fold calibration, evaluate once on the test part and on the identity evaluation sentences,
measure leave-one-dataset-out transfer (``generalization``) for it and for the version-1
configuration, write the bundle, then reload it through the verifying loader and check that it
reproduces the trained pipeline's probabilities. Seeds are fixed and the hashes of the data files
are recorded, so the same data gives the same arrays.
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
import sklearn
from scipy.special import expit

from app.core.analysis.evaluation import evaluate_scores
from app.core.analysis.thresholds import ThresholdAnalysis
from app.core.bundles.bundle import EVALUATION_ARRAYS, write_bundle
from app.core.bundles.token_patterns import NAME_KEY, TEXT_KEY, pattern_name
from app.core.engine.additive import CountIdfVectorizer
from app.core.engine.feature_settings import ADDITIVE_KEYS, VECTORIZER_KEYS, WEIGHTING
from app.core.engine.normalize import NORMALIZER_VERSION, item_ids
from app.core.engine.scoring import DEFAULT_THRESHOLD, Scorer
from app.core.training.candidates import (
    DEFAULT_CANDIDATES,
    SELECTION_RULE,
    V1_CANDIDATE,
    select,
)
from app.core.training.data import Corpus, Split, load_corpus, split_corpus
from app.core.training.fit import (  # noqa: F401  (re-exported: the training API)
    Candidate,
    FittedModel,
    NBScaler,
    fit_candidate,
    make_vectorizer,
    out_of_fold_logits,
)
from app.core.training.generalization import leave_one_dataset_out
from app.core.training.model_card import render_model_card
from app.core.training.platt import compare_platt, fit_platt
from app.core.training.report import (
    BIAS_THRESHOLD,
    candidate_row,
    false_positive_rate,
    identity_report,
    per_origin_auc,
    target_checks,
)

DEFAULT_SEED = 20261130
OUT_OF_FOLD = "out-of-fold on train+validation"  # where the linear recipe's thresholds come from
Progress = Callable[[str], None]


def bundle_files(model: FittedModel, eval_scores: np.ndarray, test: Corpus) -> dict[str, Any]:
    """The data files of a bundle (everything but the manifest and the model card)."""
    blocks, files = [], {}
    for name, vectorizer in model.union.transformer_list:
        vocabulary = [""] * len(vectorizer.vocabulary_)
        for term, index in vectorizer.vocabulary_.items():
            vocabulary[index] = term
        additive = isinstance(vectorizer, CountIdfVectorizer)
        keys = [k for k in ADDITIVE_KEYS if k != "weighting"] if additive else VECTORIZER_KEYS
        params = vectorizer.get_params()
        settings = {k: params[k] for k in keys if k not in (NAME_KEY, TEXT_KEY)}
        # the pattern's name, never its text: scoring compiles only the code's own patterns
        settings[NAME_KEY] = pattern_name(params[TEXT_KEY])
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
    references: Sequence[Candidate] = (V1_CANDIDATE,),
    progress: Progress | None = None,
) -> TrainingResult:
    """Train, compare, evaluate and write a bundle. ``references`` are fitted and measured the
    same way (validation, leave-one-dataset-out) for comparison but never selected."""
    say = progress or (lambda _msg: None)
    started = time.perf_counter()
    corpus = load_corpus(data_dir)
    split: Split = split_corpus(corpus, seed)
    say(f"{len(corpus.texts):,} items after deduplication; split {split.sizes()}")
    comparisons = _compare(candidates, references, split, seed, say)
    best = select(comparisons)
    candidate = candidates[best]
    refit = _refit(candidate, split, seed, say)
    a, b = refit.model.calibration
    recommended = recommended_thresholds(expit(a * refit.dev_logits + b), refit.development)
    metrics = evaluate_scores(
        refit.test_scores,
        split.test.labels,
        split.test.origins,
        thresholds=[0.5, DEFAULT_THRESHOLD, recommended[1]["threshold"]],
    )
    identity = _identity(refit.model, refit.test_scores, split.test, say)
    lodo = leave_one_dataset_out(candidate, split, seed, say)
    lodo_references = [leave_one_dataset_out(ref, split, seed, say) for ref in references]
    training = {
        "sources": corpus.sources,
        "deduplication": corpus.dedup,
        "seed": seed,
        "split": {
            "method": "stratified on (dataset, label), train/validation/test 70/15/15; "
            "candidates compared on validation, the chosen one refitted on train+validation",
            "sizes": split.sizes(),
        },
        "selection_rule": SELECTION_RULE,
        "selected": comparisons[best]["name"],
        "selected_description": candidate.describe(),
        "compared": comparisons,
        "calibration": refit.calibration_check,
    }
    metrics_section = {
        "test": metrics,
        "identity_terms": identity,
        "leave_one_dataset_out": {"selected": lodo, "references": lodo_references},
        "targets": target_checks(metrics, identity, lodo, lodo_references),
    }
    manifest = _manifest(name, version, training, recommended, metrics_section)
    files = bundle_files(refit.model, refit.test_scores, split.test)
    files["MODEL_CARD.md"] = render_model_card(manifest, refit.test_scores, split.test.labels)
    path = write_bundle(Path(out_dir), manifest, files)
    manifest, diff = _verify_round_trip(path, split.test.texts, refit.test_scores, say)
    return TrainingResult(path, manifest, diff, time.perf_counter() - started, comparisons)


def _compare(
    candidates: Sequence[Candidate],
    references: Sequence[Candidate],
    split: Split,
    seed: int,
    say: Progress,
) -> list[dict[str, Any]]:
    """Fit every candidate (and reference) on the training part; one row each, on validation."""
    comparisons: list[dict[str, Any]] = []
    for candidate, selectable in [(c, True) for c in candidates] + [(c, False) for c in references]:
        t0 = time.perf_counter()
        row = candidate_row(fit_candidate(candidate, split.train, seed), split.validation)
        row["selectable"] = selectable
        row["fit_seconds"] = round(time.perf_counter() - t0, 1)
        comparisons.append(row)
        say(
            f"  {candidate.name}: validation AUC by origin {row['validation_auc_by_origin']}, "
            f"tuning identity FPR ratio {row['identity_tuning']['ratio']}"
        )
    return comparisons


@dataclass
class _Refit:
    """The chosen configuration fitted on train + validation ("development"), calibrated."""

    model: FittedModel
    development: Corpus
    dev_logits: np.ndarray  # out-of-fold, uncalibrated
    calibration_check: dict[str, Any]
    test_scores: np.ndarray  # the calibrated model's probabilities on the test part


def _refit(candidate: Candidate, split: Split, seed: int, say: Progress) -> _Refit:
    """The chosen configuration is refitted on train + validation (more data, same settings).
    Calibration and the recommended thresholds then come from out-of-fold logits on that same
    development data, so neither is fitted on items the scored model has seen."""
    development = split.train.concat(split.validation)
    dev_logits = out_of_fold_logits(candidate, development, seed)
    calibration_check = compare_platt(
        dev_logits, development.labels, seed, origins=development.origins
    )
    calibration_check["out_of_fold_auc_by_origin"] = per_origin_auc(dev_logits, development)
    model = fit_candidate(candidate, development, seed)
    if calibration_check["platt_brier_cv"] < calibration_check["raw_brier"]:
        model.calibration = fit_platt(dev_logits, development.labels)
    calibration_check["adopted"] = model.calibration != (1.0, 0.0)
    test_scores = model.predict_proba(split.test.texts)
    say(
        f"refitted {candidate.name} on {len(development.texts):,} items; calibration {calibration_check}"
    )
    return _Refit(model, development, dev_logits, calibration_check, test_scores)


def recommended_thresholds(
    probabilities: np.ndarray,
    development: Corpus,
    source: str = OUT_OF_FOLD,
) -> list[dict[str, Any]]:
    """The thresholds a bundle recommends, from calibrated scores of items the model was not
    fitted on (``source`` says which). The second is the best-F1 one, which the test metrics
    also report."""
    val_analysis = ThresholdAnalysis(probabilities, development.labels)
    return [
        {
            "name": "default",
            "threshold": DEFAULT_THRESHOLD,
            "rule": "product default carried over from the original service",
        },
        {
            "name": "best_f1",
            "threshold": val_analysis.best_f1().threshold,
            "rule": f"highest F1, {source}",
        },
        {
            "name": "min_errors",
            "threshold": val_analysis.cost_threshold(1.0, 1.0).threshold,
            "rule": f"fewest misses + false alarms, {source} (FN:FP cost 1:1)",
        },
        {
            "name": "recall_0.93",
            "threshold": (val_analysis.recall_floor(0.93) or val_analysis.at(0.0)).threshold,
            "rule": "highest threshold keeping out-of-fold recall >= 0.93"
            if source == OUT_OF_FOLD
            else f"highest threshold keeping recall >= 0.93, {source}",
        },
    ]


def _identity(
    model: FittedModel, test_scores: np.ndarray, test: Corpus, say: Progress
) -> dict[str, Any]:
    """Identity-term bias on the evaluation (and tuning) templates against the test FPR."""
    test_fpr = false_positive_rate(test_scores, test.labels, BIAS_THRESHOLD)
    identity = identity_report(model, test_fpr, "evaluation")
    identity["tuning"] = identity_report(model, test_fpr, "tuning")
    identity["capped_features"] = int(len(model.capped))
    say(f"identity terms: {identity['benign_fpr']:.3f} benign FPR vs {test_fpr:.3f} overall")
    return identity


def _manifest(
    name: str,
    version: str,
    training: dict[str, Any],
    recommended: list[dict[str, Any]],
    metrics: dict[str, Any],
) -> dict[str, Any]:
    """The manifest of a new bundle (`write_bundle` adds the file hashes)."""
    return {
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
        "training": training,
        "default_threshold": DEFAULT_THRESHOLD,
        "recommended_thresholds": recommended,
        "metrics": metrics,
        "evaluation_arrays": dict(EVALUATION_ARRAYS),
    }


def _verify_round_trip(
    path: Path, texts: list[str], test_scores: np.ndarray, say: Progress
) -> tuple[dict[str, Any], float]:
    """The bundle must reproduce the trained pipeline: reload it through the verifying loader.
    Returns the manifest as written (with the file hashes) and the largest difference."""
    scorer = Scorer.load(path)
    loaded = scorer.model.predict_proba(texts)
    diff = float(np.max(np.abs(loaded - test_scores)))
    if diff > 1e-9:
        raise RuntimeError(f"bundle round-trip differs from the trained model by {diff:.3g}")
    say(f"bundle written to {path}; round-trip max |diff| {diff:.2e} on {len(loaded):,} texts")
    return scorer.bundle.manifest, diff
