"""The thorough engine: an encoder bundle (abuse-mini) scored with onnxruntime.

The bundle's ONNX graph and tokenizer were checked by the loader (allow-listed operators, no
external data, a BERT WordPiece tokenizer of bounded size) before this module sees them; the
session is created from the verified bytes, never from a path, so nothing can change between
check and use. Texts are normalised as in training (`app.core.engine.encoder_text`), tokenised,
truncated to the bundle's ``max_tokens`` and run one per session call (`text_logits` says why),
a text per core at a time. The probability is ``sigmoid(a * logit + b)`` with the bundle's Platt
calibration, fitted on the int8 model itself.

onnxruntime's session options: one intra-op thread per core (the batch runs in this process,
not in worker processes), and no memory arena, so the resident memory of a process holding the
model stays near the model's size instead of growing with the largest batch it has seen.
"""

from __future__ import annotations

import json
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from app.core.bundles.bundle import VerifiedBundle
from app.core.bundles.encoder_schema import MODEL_FILE, TOKENIZER_FILE
from app.core.common.errors import ModelError
from app.core.engine.encoder_text import encoder_text
from app.core.engine.model import PROBE_TEXTS, refuse_non_probabilities
from app.core.engine.reference import sigmoid


def session_threads() -> int:
    """One intra-op thread per core this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def make_session(model: bytes, threads: int) -> Any:
    """An onnxruntime CPU session over a checked graph's bytes, with this engine's options."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.enable_cpu_mem_arena = False
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.log_severity_level = 3  # warnings from a checked graph are not the user's concern
    # No busy-waiting between operators: in cascade mode the fast engine's worker processes share
    # the cores, and spinning threads would take their time (measured: 2x slower under load).
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])


def text_logits(session: Any, ids: list[np.ndarray], threads: int = 1) -> np.ndarray:
    """Logits of token-id sequences, one session run per text, ``threads`` texts at a time.

    Never several texts in one run: the int8 graph quantises each run's activations with one
    scale for the whole input, so in a batch a text's score would depend on the other texts and
    on their padding (by up to 0.26 in probability, measured on the real-size model). Alone, a
    text's score is its own, whatever else is scored and whichever thread count runs it.
    """
    out = np.zeros(len(ids), np.float64)

    def one(index: int) -> None:
        seq = ids[index].reshape(1, -1)
        result = session.run(["logits"], {"input_ids": seq, "attention_mask": np.ones_like(seq)})
        out[index] = float(np.asarray(result[0]).reshape(-1)[0])

    if threads > 1 and len(ids) > 1:
        with ThreadPoolExecutor(min(threads, len(ids))) as pool:
            list(pool.map(one, range(len(ids))))  # list(): re-raises a run's error here
    else:
        for index in range(len(ids)):
            one(index)
    return out


def _session(bundle: VerifiedBundle, threads: int) -> Any:
    try:
        return make_session(bundle.blobs[MODEL_FILE], threads)
    except Exception as exc:  # onnxruntime raises its own types; one line for the user
        raise ModelError(
            f"model bundle {bundle.path}: {MODEL_FILE} cannot be loaded ({str(exc)[:200]})"
        ) from None


def _tokenizer(bundle: VerifiedBundle, max_tokens: int) -> Any:
    from tokenizers import Tokenizer

    try:
        tokenizer = Tokenizer.from_str(json.dumps(bundle.json_files[TOKENIZER_FILE]))
    except Exception as exc:  # the Rust library's own error type
        raise ModelError(
            f"model bundle {bundle.path}: {TOKENIZER_FILE} cannot be used ({str(exc)[:200]})"
        ) from None
    tokenizer.no_padding()
    tokenizer.enable_truncation(max_tokens)
    return tokenizer


class EncoderTextModel:
    """Tokenise and score texts with an encoder bundle. Thread-safe: the session and the
    tokenizer are safe for concurrent calls."""

    engine = "encoder"  # what `Scorer.engine` reports

    def __init__(self, bundle: VerifiedBundle, *, threads: int | None = None) -> None:
        classifier = bundle.json_files["classifier.json"]
        self.max_tokens = int(classifier["max_tokens"])
        self.calibration_slope = float(classifier["calibration"]["a"])
        self.calibration_offset = float(classifier["calibration"]["b"])
        self.cascade: dict[str, Any] | None = classifier.get("cascade")
        self.tokenizer = _tokenizer(bundle, self.max_tokens)
        self.vocabulary_size = int(self.tokenizer.get_vocab_size())
        self.threads = threads or session_threads()
        self.session = _session(bundle, self.threads)
        self._lock = (
            threading.Lock()
        )  # tokenizers' batch encoding is not re-entrant in every version
        self._probe(bundle)

    def _probe(self, bundle: VerifiedBundle) -> None:
        """Refuse a model whose scores are not probabilities, or that fails on a probe text."""
        try:
            with np.errstate(all="ignore"):
                scores = self.predict_proba(list(PROBE_TEXTS))
        except ModelError:
            raise
        except Exception as exc:  # onnxruntime's errors (e.g. a token id past the embedding)
            raise ModelError(
                f"model bundle {bundle.path}: cannot score a probe text ({str(exc)[:200]})"
            ) from None
        refuse_non_probabilities(bundle, scores)

    def token_ids(self, normalized_texts: list[str]) -> list[np.ndarray]:
        """Token ids of texts already in the encoder's form (`encoder_text`)."""
        with self._lock:
            encoded = self.tokenizer.encode_batch(normalized_texts)
        return [np.asarray(e.ids, dtype=np.int64) for e in encoded]

    def logits_of_ids(self, ids: list[np.ndarray]) -> np.ndarray:
        """Uncalibrated logits of token-id sequences (`text_logits`, a thread per core)."""
        return text_logits(self.session, ids, self.threads)

    def raw_logits(self, texts: list[str]) -> np.ndarray:
        return self.logits_of_ids(self.token_ids([encoder_text(t) for t in texts]))

    def calibrated_logits(self, texts: list[str]) -> np.ndarray:
        return self.calibration_slope * self.raw_logits(texts) + self.calibration_offset

    def predict_proba(self, texts: list[str]) -> np.ndarray:
        """Probability that each text is abusive (float64, one per text)."""
        if not texts:
            return np.zeros(0, dtype=np.float64)
        return sigmoid(self.calibrated_logits(list(texts)))

    def build_vectorizers(self) -> None:
        """Nothing to build: kept so callers can warm any model the same way."""

    @property
    def n_features(self) -> int:
        return self.vocabulary_size
