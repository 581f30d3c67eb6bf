"""The files of an encoder bundle (abuse-mini), assembled for `write_bundle`.

Shared by the recipe and by the tests, which build tiny encoders with the same code: the ONNX
graph's bytes, the tokenizer as JSON, ``classifier.json`` (type ``encoder``: files, token limit,
calibration, the cascade band) and the evaluation arrays.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from app.core.bundles.encoder_schema import ENCODER_TYPE, MODEL_FILE, TOKENIZER_FILE
from app.core.engine.encoder_text import MAX_TOKENS
from app.core.engine.normalize import item_ids


def encoder_files(
    onnx_model: bytes,
    tokenizer: dict[str, Any],
    calibration: tuple[float, float] | None,
    *,
    max_tokens: int = MAX_TOKENS,
    cascade: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """model.onnx, tokenizer.json and classifier.json; ``calibration`` is Platt's (a, b) or None."""
    tokenizer = dict(tokenizer)
    tokenizer["truncation"] = None  # the engine sets truncation from max_tokens, padding never
    tokenizer["padding"] = None
    a, b = calibration or (1.0, 0.0)
    classifier: dict[str, Any] = {
        "type": ENCODER_TYPE,
        "positive_label": "abusive",
        "classes": ["benign", "abusive"],
        "model": MODEL_FILE,
        "tokenizer": TOKENIZER_FILE,
        "max_tokens": int(max_tokens),
        "calibration": {"method": "platt" if calibration else "none", "a": a, "b": b},
        "explanation": "occlusion",
    }
    if cascade is not None:
        classifier["cascade"] = cascade
    return {MODEL_FILE: onnx_model, TOKENIZER_FILE: tokenizer, "classifier.json": classifier}


def evaluation_files(
    scores: np.ndarray, labels: np.ndarray, origins: np.ndarray, texts: list[str]
) -> dict[str, np.ndarray]:
    """The evaluation arrays every bundle carries (the same names as the linear bundles)."""
    return {
        "eval_scores.npy": np.asarray(scores, np.float64),
        "eval_labels.npy": np.asarray(labels, np.int8),
        "eval_origin.npy": np.array(np.asarray(origins).tolist()),
        "eval_ids.npy": item_ids(texts),
    }
