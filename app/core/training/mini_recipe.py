"""The abuse-mini recipe (``python -m app train --recipe mini``): fine-tune, export, quantise,
calibrate, choose thresholds and the cascade band, evaluate, and write the bundle.

1. The same normalised, deduplicated, stratified split and seed as the linear models (so the
   test part is the same items and Compare pairs the two engines item by item).
2. Fine-tune all-MiniLM-L6-v2 (`mini_stage`), choosing the checkpoint by validation alone. If the
   chosen model flags the benign identity-term *tuning* sentences more than 1.5 times as often as
   benign validation texts, fine-tune again with the disjoint mitigation templates added.
3. Write the network as an ONNX graph (`mini_onnx`), check it reproduces PyTorch, quantise it to
   int8 and check the int8 ranking against fp32 on the test part (ROC-AUC within 0.005).
4. Everything after uses the int8 model as shipped: Platt calibration and the recommended
   thresholds from its validation scores, the cascade band against the fast model's out-of-fold
   validation scores, and the test and identity-term figures.
5. Write the bundle and reload it through the verifying loader: it must reproduce the scores.
"""

from __future__ import annotations

import platform
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from app.core.analysis.calibration import expected_calibration_error
from app.core.analysis.evaluation import evaluate_scores
from app.core.bundles.bundle import EVALUATION_ARRAYS, load_verified, write_bundle
from app.core.engine.encoder import make_session, session_threads, text_logits
from app.core.engine.normalize import NORMALIZER_VERSION
from app.core.engine.reference import sigmoid
from app.core.engine.scoring import DEFAULT_THRESHOLD, Scorer
from app.core.training.data import Split, load_corpus, split_corpus
from app.core.training.identity_terms import evaluation_set, tuning_set
from app.core.training.mini_bundle import encoder_files, evaluation_files
from app.core.training.mini_cascade import cascade_scores, choose_band
from app.core.training.mini_fit import FitSettings, load_tokenizer, per_origin_auc, token_ids
from app.core.training.mini_weights import BASE_LICENSE, BASE_MODEL, base_weights
from app.core.training.platt import compare_platt, fit_platt
from app.core.training.recipe import DEFAULT_SEED, TrainingResult, recommended_thresholds
from app.core.training.report import (
    BIAS_RATIO_LIMIT,
    BIAS_THRESHOLD,
    false_positive_rate,
    identity_bias,
)

Progress = Callable[[str], None]
INT8_AUC_TOLERANCE = 0.005
THREADS = session_threads()
FP32_MAX_DIFF = 1e-3  # PyTorch and the ONNX graph, on logits (float32 sums in another order)


def _logits(session: Any, ids: list[np.ndarray]) -> np.ndarray:
    """The graph's logits, texts of one length batched (both graphs score rows independently)."""
    return text_logits(session, ids, THREADS, batched=True)


def _selected_ratio(record: dict[str, Any]) -> float | None:
    chosen = next(c for c in record["checkpoints"] if c["step"] == record["selected_step"])
    return chosen["identity_tuning"]["ratio"]


def _fine_tune(
    weights: Any, tokenizer: Any, split: Split, settings: FitSettings, cache: Path, say: Progress
) -> tuple[Any, list[dict[str, Any]]]:
    from app.core.training.mini_stage import run_stage

    stages = [run_stage(weights, tokenizer, split, settings, augment=False, cache=cache, say=say)]
    ratio = _selected_ratio(stages[0].record)
    if ratio is None or ratio > BIAS_RATIO_LIMIT:
        say(f"tuning identity ratio {ratio}: fine-tuning again with the mitigation templates")
        stages.append(
            run_stage(weights, tokenizer, split, settings, augment=True, cache=cache, say=say)
        )
    return stages[-1].model, [s.record for s in stages]


def _export(
    model: Any, tokenizer: Any, split: Split, tolerance: float, say: Progress
) -> tuple[bytes, dict[str, Any]]:
    """The int8 graph's bytes, after checking fp32 against PyTorch; of the quantisation
    variants, the one whose ranking on validation stays closest to fp32, checked on test."""
    from app.core.training.mini_fit import predict_logits
    from app.core.training.mini_model import HEADS
    from app.core.training.mini_onnx import QUANTISATIONS, build_graph, build_int8_graph

    weights = {k: v.detach().numpy() for k, v in model.state_dict().items()}
    fp32 = build_graph(weights, HEADS).SerializeToString()
    val_ids = token_ids(tokenizer, split.validation.texts)
    test_ids = token_ids(tokenizer, split.test.texts)
    fp32_session = make_session(fp32, session_threads())
    fp32_test = _logits(fp32_session, test_ids)
    diff = float(np.max(np.abs(fp32_test - predict_logits(model, test_ids))))
    if diff > FP32_MAX_DIFF:
        raise RuntimeError(f"the ONNX graph differs from the PyTorch model by {diff:.3g}")
    val, test = split.validation, split.test
    fp32_val_auc = per_origin_auc(_logits(fp32_session, val_ids), val.labels, val.origins)
    variants: dict[str, dict[str, Any]] = {}
    for name, per_channel in QUANTISATIONS.items():
        graph = build_int8_graph(weights, HEADS, per_channel).SerializeToString()
        auc = per_origin_auc(
            _logits(make_session(graph, THREADS), val_ids), val.labels, val.origins
        )
        shift = max(abs(auc[o] - fp32_val_auc[o]) for o in auc)
        variants[name] = {
            "graph": graph,
            "validation_auc_by_origin": auc,
            "validation_max_auc_shift": shift,
        }
    chosen = min(variants, key=lambda n: variants[n]["validation_max_auc_shift"])
    int8 = variants[chosen]["graph"]
    int8_test = _logits(make_session(int8, THREADS), test_ids)
    auc32 = per_origin_auc(fp32_test, test.labels, test.origins)
    auc8 = per_origin_auc(int8_test, test.labels, test.origins)
    worst = max(abs(auc32[o] - auc8[o]) for o in auc32)
    if worst > tolerance:
        raise RuntimeError(f"int8 changes the test-part ROC-AUC by {worst:.4f} (limit {tolerance})")
    check = {
        "fp32_vs_pytorch_max_abs_logit_diff": diff,
        "quantisation": chosen,
        "quantisation_rule": "the variant whose validation ROC-AUC stays closest to fp32's",
        "validation_auc_fp32_by_origin": fp32_val_auc,
        "variants": {n: {k: v for k, v in d.items() if k != "graph"} for n, d in variants.items()},
        "test_auc_fp32_by_origin": auc32,
        "test_auc_int8_by_origin": auc8,
        "int8_max_abs_logit_shift": float(np.max(np.abs(int8_test - fp32_test))),
        "fp32_bytes": len(fp32),
        "int8_bytes": len(int8),
    }
    say(f"export: {check}")
    return int8, check


def _fast_validation_scores(
    fast_bundle: Path, split: Split, seed: int, say: Progress
) -> np.ndarray:
    """The fast model's scores of the validation items from models fitted without them (its
    configuration, out-of-fold on train+validation, with its own calibration): what it gives
    on unseen text, unlike the shipped model, which was fitted on validation too."""
    from app.core.training.candidates import DEFAULT_CANDIDATES, V1_CANDIDATES
    from app.core.training.fit import out_of_fold_logits

    bundle = load_verified(fast_bundle)
    name = bundle.manifest["training"]["selected"]
    candidate = next(c for c in (*DEFAULT_CANDIDATES, *V1_CANDIDATES) if c.name == name)
    development = split.train.concat(split.validation)
    logits = out_of_fold_logits(candidate, development, bundle.manifest["training"]["seed"])
    calibration = bundle.json_files["classifier.json"]["calibration"]
    say(f"fast model {bundle.label}: out-of-fold validation scores of {name}")
    return sigmoid(calibration["a"] * logits[len(split.train.texts) :] + calibration["b"])


def _identity(
    session: Any, tokenizer: Any, calibrate: Callable[[np.ndarray], np.ndarray], test_fpr: float
) -> dict[str, Any]:
    report: dict[str, Any] = {}
    for which, source in (("evaluation", evaluation_set), ("tuning", tuning_set)):
        texts, labels, groups = source()
        scores = calibrate(_logits(session, token_ids(tokenizer, texts)))
        report[which] = identity_bias(scores, labels, groups, test_fpr)
    out = report["evaluation"]
    out["tuning"] = {k: report["tuning"][k] for k in ("benign_fpr", "ratio", "abusive_tpr")}
    return out


def train_mini_bundle(
    data_dir: str | Path,
    out_dir: str | Path,
    fast_bundle: Path,
    *,
    name: str = "abuse-mini",
    version: str = "1.0.0",
    seed: int = DEFAULT_SEED,
    settings: FitSettings | None = None,
    cache: Path | None = None,
    int8_tolerance: float = INT8_AUC_TOLERANCE,
    progress: Progress | None = None,
) -> TrainingResult:
    say = progress or (lambda _msg: None)
    started = time.perf_counter()
    import torch

    torch.set_num_threads(session_threads())
    # Two epochs: the first run (three epochs, lr 5e-5) selected epoch 2.0 in both stages, and a
    # schedule that ends there decays the rate to zero at that point instead of a third of max.
    settings = settings or FitSettings(epochs=2.0, learning_rate=5e-5, seed=seed)
    weights = base_weights()
    tokenizer = load_tokenizer(weights.tokenizer)
    corpus = load_corpus(data_dir)
    split = split_corpus(corpus, seed)
    cache = cache or Path(out_dir).parent / ".mini-cache"
    model, stages = _fine_tune(weights, tokenizer, split, settings, cache, say)
    fine_tuned = time.perf_counter()
    int8, export_check = _export(model, tokenizer, split, int8_tolerance, say)
    session = make_session(int8, session_threads())
    val_logits = _logits(session, token_ids(tokenizer, split.validation.texts))
    test_logits = _logits(session, token_ids(tokenizer, split.test.texts))
    calibration_check = compare_platt(
        val_logits, split.validation.labels, seed, origins=split.validation.origins
    )
    a, b = fit_platt(val_logits, split.validation.labels)

    def calibrate(logits: np.ndarray) -> np.ndarray:
        return sigmoid(a * logits + b)

    val_scores, test_scores = calibrate(val_logits), calibrate(test_logits)
    recommended = recommended_thresholds(
        val_scores,
        split.validation,
        source="on validation (the int8 model, calibrated out-of-fold)",
    )
    metrics = evaluate_scores(
        test_scores,
        split.test.labels,
        split.test.origins,
        thresholds=[0.5, DEFAULT_THRESHOLD, recommended[1]["threshold"]],
    )
    test_fpr = false_positive_rate(test_scores, split.test.labels, BIAS_THRESHOLD)
    identity = _identity(session, tokenizer, calibrate, test_fpr)
    fast_val = _fast_validation_scores(fast_bundle, split, seed, say)
    band = choose_band(fast_val, val_scores, split.validation.labels, split.validation.origins)
    fast_manifest = load_verified(fast_bundle)
    fast_test = Scorer(fast_manifest).model.predict_proba(split.test.texts)
    cascade_test = cascade_scores(fast_test, test_scores, band["low"], band["high"])
    cascade = {
        "fast_model": fast_manifest.label,
        "fast_manifest_sha256": fast_manifest.manifest_sha256,
        "low": band["low"],
        "high": band["high"],
        "rule": "narrowest band of fast scores (between validation quantiles) whose cascade keeps "
        "validation ROC-AUC within 0.003 of this model's on each dataset",
    }
    cascade_metrics = {
        "validation": {
            k: band[k] for k in ("rescored_share", "auc_by_origin", "thorough_auc_by_origin")
        },
        "test": {
            "rescored_share": float(
                np.mean((fast_test >= band["low"]) & (fast_test <= band["high"]))
            ),
            "auc_by_origin": per_origin_auc(cascade_test, split.test.labels, split.test.origins),
            "fast_auc_by_origin": per_origin_auc(fast_test, split.test.labels, split.test.origins),
        },
    }
    ece = {
        str(o): expected_calibration_error(test_scores[m], split.test.labels[m])
        for o in sorted(set(split.test.origins.tolist()))
        for m in [split.test.origins == o]
    }
    manifest = _manifest(
        name,
        version,
        weights,
        corpus,
        split,
        settings,
        stages,
        export_check,
        calibration_check,
        recommended,
        metrics,
        identity,
        ece,
        cascade_metrics,
        time.perf_counter() - started,
        time.perf_counter() - fine_tuned,
    )
    files = encoder_files(int8, tokenizer_json(weights.tokenizer), (a, b), cascade=cascade)
    files |= evaluation_files(test_scores, split.test.labels, split.test.origins, split.test.texts)
    from app.core.training.mini_card import base_license_text, render_mini_card

    files["BASE_MODEL_LICENSE.md"] = base_license_text()
    files["MODEL_CARD.md"] = render_mini_card(manifest, test_scores, split.test.labels, cascade)
    path = write_bundle(Path(out_dir), manifest, files)
    scorer = Scorer.load(path)
    loaded = scorer.model.predict_proba(split.test.texts)
    diff = float(np.max(np.abs(loaded - test_scores)))
    if diff > 1e-6:
        raise RuntimeError(f"bundle round-trip differs from the exported model by {diff:.3g}")
    say(f"bundle written to {path}; round-trip max |diff| {diff:.2e}")
    return TrainingResult(path, scorer.bundle.manifest, diff, time.perf_counter() - started)


def tokenizer_json(path: Path) -> dict[str, Any]:
    import json

    return json.loads(path.read_text(encoding="utf-8"))


def _manifest(
    name: str,
    version: str,
    weights: Any,
    corpus: Any,
    split: Split,
    settings: FitSettings,
    stages: list[dict[str, Any]],
    export_check: dict[str, Any],
    calibration_check: dict[str, Any],
    recommended: list[dict[str, Any]],
    metrics: dict[str, Any],
    identity: dict[str, Any],
    ece: dict[str, float],
    cascade: dict[str, Any],
    seconds: float,
    seconds_after_fine_tuning: float,
) -> dict[str, Any]:
    from datetime import UTC, datetime

    import onnx
    import onnxruntime
    import tokenizers
    import torch

    return {
        "name": name,
        "version": version,
        "created_utc": datetime.now(UTC).replace(microsecond=0).isoformat(),
        "normalizer_version": NORMALIZER_VERSION,
        "libraries": {
            "python": platform.python_version(),
            "torch": torch.__version__,
            "onnx": onnx.__version__,
            "onnxruntime": onnxruntime.__version__,
            "tokenizers": tokenizers.__version__,
            "numpy": np.__version__,
        },
        "training": {
            "engine": "encoder",
            "base_model": {
                "name": BASE_MODEL,
                "license": BASE_LICENSE,
                "safetensors_sha256": weights.sha256,
            },
            "sources": corpus.sources,
            "deduplication": corpus.dedup,
            "seed": settings.seed,
            "split": {
                "method": "the linear models' split: stratified on (dataset, label), train/validation/test 70/15/15; fine-tuned on train, everything chosen on validation",
                "sizes": split.sizes(),
            },
            "settings": settings.describe(),
            "stages": stages,
            "export": export_check,
            "calibration": calibration_check,
            "seconds": round(seconds, 1),
            "seconds_after_fine_tuning": round(seconds_after_fine_tuning, 1),
            "machine": f"{platform.machine()}, {session_threads()} cores, CPU only",
        },
        "default_threshold": DEFAULT_THRESHOLD,
        "recommended_thresholds": recommended,
        "metrics": {
            "test": metrics,
            "identity_terms": identity,
            "ece_by_origin": ece,
            "cascade": cascade,
        },
        "evaluation_arrays": dict(EVALUATION_ARRAYS),
    }
