"""One fine-tuning stage of the abuse-mini recipe, cached by everything that determines it.

A stage is the base weights + the training texts (and any identity-template augmentation) +
the settings + the seed. Its fine-tuned weights are kept under the cache folder as
``safetensors`` (plain tensors, never a pickle) named by the SHA-256 of those inputs, so running
the recipe again (to re-export, or after a crash) reuses a finished stage instead of spending
another half hour of CPU, and any change of input trains anew.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.numpy import load_file
from safetensors.torch import load_file as load_torch_file
from safetensors.torch import save_file

from app.core.common.atomic import atomic_write_json
from app.core.training.data import Split
from app.core.training.identity_terms import mitigation_set, tuning_set
from app.core.training.mini_fit import (
    FitSettings,
    fine_tune,
    per_origin_auc,
    predict_logits,
    token_ids,
)
from app.core.training.mini_model import MiniClassifier, build_classifier
from app.core.training.mini_weights import BaseWeights
from app.core.training.platt import fit_platt
from app.core.training.report import BIAS_THRESHOLD, false_positive_rate, identity_bias

Progress = Callable[[str], None]


@dataclass
class StageResult:
    model: MiniClassifier
    record: dict[str, Any]  # settings, checkpoints, the chosen one, time: for the manifest
    cached: bool


def identity_on_tuning(
    model: MiniClassifier, tokenizer: Any, val_logits: np.ndarray, split: Split
) -> dict[str, Any]:
    """The tuning templates' benign FPR against validation's at 0.45, on Platt-scaled scores
    (calibrated on validation, as the bundle will be)."""
    a, b = fit_platt(val_logits, split.validation.labels)
    fpr = false_positive_rate(
        1 / (1 + np.exp(-(a * val_logits + b))), split.validation.labels, BIAS_THRESHOLD
    )
    texts, labels, groups = tuning_set()
    tuning = predict_logits(model, token_ids(tokenizer, texts))
    bias = identity_bias(1 / (1 + np.exp(-(a * tuning + b))), labels, groups, fpr)
    return {k: bias[k] for k in ("benign_fpr", "overall_fpr", "ratio", "abusive_tpr")}


def _stage_key(weights: BaseWeights, split: Split, settings: FitSettings, augment: bool) -> str:
    digest = hashlib.sha256()
    digest.update(weights.sha256.encode())
    digest.update(json.dumps(asdict(settings), sort_keys=True).encode())
    digest.update(b"augment" if augment else b"plain")
    for text, label in zip(split.train.texts, split.train.labels.tolist(), strict=True):
        digest.update(f"{label}\t{text}\n".encode())
    return digest.hexdigest()[:24]


def run_stage(
    weights: BaseWeights,
    tokenizer: Any,
    split: Split,
    settings: FitSettings,
    *,
    augment: bool,
    cache: Path,
    say: Progress,
) -> StageResult:
    """Fine-tune (or reuse the cached result of) one stage; the model returned is the
    checkpoint with the best validation selection score."""
    key = _stage_key(weights, split, settings, augment)
    tensors, record_path = cache / f"mini-{key}.safetensors", cache / f"mini-{key}.json"
    model = build_classifier(load_file(str(weights.safetensors)), settings.seed)
    if tensors.is_file() and record_path.is_file():
        model.load_state_dict(load_torch_file(str(tensors)))
        say(f"stage {key}: reusing the fine-tuned weights in {tensors}")
        return StageResult(model.eval(), json.loads(record_path.read_text("utf-8")), True)
    texts, labels = list(split.train.texts), split.train.labels
    if augment:
        extra, extra_labels = mitigation_set()
        texts += extra
        labels = np.concatenate([labels, np.asarray(extra_labels, np.int8)])
    train_ids = token_ids(tokenizer, texts)
    val_ids = token_ids(tokenizer, split.validation.texts)
    val = split.validation

    def score(current: MiniClassifier) -> dict[str, Any]:
        logits = predict_logits(current, val_ids)
        aucs = per_origin_auc(logits, val.labels, val.origins)
        return {
            "validation_auc_by_origin": aucs,
            "selection": float(np.mean(list(aucs.values()))),
            "identity_tuning": identity_on_tuning(current, tokenizer, logits, split),
        }

    say(f"stage {key}: fine-tuning on {len(texts):,} texts ({settings.describe()})")
    fit = fine_tune(model, train_ids, labels, score, settings, say)
    record = {
        "key": key,
        "settings": asdict(settings),
        "augmented_with_mitigation_templates": augment,
        "training_items": len(texts),
        "checkpoints": fit.checkpoints,
        "selected_step": fit.best_step,
        "seconds": round(fit.seconds, 1),
        "torch": torch.__version__,
    }
    cache.mkdir(parents=True, exist_ok=True)
    save_file({k: v.contiguous() for k, v in fit.model.state_dict().items()}, str(tensors))
    atomic_write_json(record_path, record)
    return StageResult(fit.model.eval(), record, False)
