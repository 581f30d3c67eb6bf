"""The thorough engine: an encoder bundle (abuse-mini) scored with onnxruntime.

The bundle's ONNX graph and tokenizer were checked by the loader (allow-listed operators, no
external data, a BERT WordPiece tokenizer of bounded size) before this module sees them; the
session is created from the verified bytes, never from a path, so nothing can change between
check and use. Texts are normalised as in training (`app.core.engine.encoder_text`), tokenised,
truncated to the bundle's ``max_tokens`` and run in groups of one length (`text_logits` says
why), or one text per call for a graph that fails the batching probe. The probability is ``sigmoid(a * logit + b)`` with the bundle's Platt
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
from app.core.engine.model import PROBE_TEXTS, CalibratedModel, refuse_non_probabilities
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

    # onnxruntime's own log lines (coloured, multi-line) never reach the user's terminal: a
    # failure is reported as one line by the caller.
    ort.set_default_logger_severity(3)
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


# A run holds at most this many rows, tokens, and rows × length² (the attention scores grow
# with the square of the length): bounds its activations, since there is no arena to reuse
# them. Measured on abuse-mini explaining a text that fills the 256-token window: 32 rows a run
# peaked at 1 GB, 2 rows at 394 MB and 7.8 s, 1 row at 278 MB (the model alone) and 7.1 s;
# short texts still run 16 to 64 at a time. 2,048 tokens a run: tweets 558/s at a 280 MB peak
# (8,192: 544/s, 296 MB), in one measurement each.
MAX_RUN_ROWS = 64
MAX_RUN_TOKENS = 2048
MAX_RUN_ATTENTION = 256 * 256


def length_groups(ids: list[np.ndarray]) -> list[np.ndarray]:
    """Indices of the sequences, grouped by length, in runs of bounded rows and tokens."""
    lengths = np.fromiter((len(seq) for seq in ids), np.int64, len(ids))
    order = np.argsort(lengths, kind="stable")
    runs: list[np.ndarray] = []
    for length in np.unique(lengths):
        same = order[lengths[order] == length]
        width = max(1, int(length))
        rows = max(1, min(MAX_RUN_ROWS, MAX_RUN_TOKENS // width, MAX_RUN_ATTENTION // width**2))
        runs.extend(same[i : i + rows] for i in range(0, len(same), rows))
    return runs


def text_logits(
    session: Any, ids: list[np.ndarray], threads: int = 1, *, batched: bool = False
) -> np.ndarray:
    """Logits of token-id sequences: with ``batched``, sequences of one length share a session
    run (no padding, so each row is computed as it would be alone); otherwise one run per text.

    abuse-mini's int8 graph quantises activations per token, so its rows are independent and
    batching gives the same bits as running each text alone (`runs_rows_independently` checks
    this on every model before it is trusted). A graph quantised by onnxruntime's tool uses one
    scale for a whole run, so in a batch a text's score would depend on its neighbours (by up
    to 0.26 in probability, measured): such graphs run one text per call. Runs go ``threads``
    at a time.
    """
    out = np.zeros(len(ids), np.float64)
    runs = length_groups(ids) if batched else [np.array([i]) for i in range(len(ids))]

    def run(rows: np.ndarray) -> None:
        seqs = np.stack([ids[i] for i in rows])
        result = session.run(["logits"], {"input_ids": seqs, "attention_mask": np.ones_like(seqs)})
        out[rows] = np.asarray(result[0], np.float64).reshape(-1)

    if threads > 1 and len(runs) > 1:
        with ThreadPoolExecutor(min(threads, len(runs))) as pool:
            list(pool.map(run, runs))  # list(): re-raises a run's error here
    else:
        for rows in runs:
            run(rows)
    return out


# GEMM kernels change with the rows of a run: probe several lengths and sizes. Kept small: the
# probe runs on every load (3 × 2 here took abuse-mini's load from 1.73 s to 0.65 s, against
# 4 × 3 before; a ReduceSum pooling already differed at length 9 with 2 rows).
PROBE_LENGTHS = (3, 9, 40)
PROBE_ROWS = (2, 6)


def runs_rows_independently(session: Any, probe_ids: list[np.ndarray]) -> bool:
    """Whether sequences of one length scored in one run get exactly the bits each gets alone,
    for several lengths and run sizes: sequences cut from the probe texts' tokens at different
    offsets, so their activations differ."""
    pool = np.concatenate(probe_ids)
    if len(np.unique(pool)) < 3:  # identical rows would prove nothing
        return False
    for length in PROBE_LENGTHS:
        for rows in PROBE_ROWS:
            seqs = [
                np.take(pool, np.arange(7 * k, 7 * k + length), mode="wrap") for k in range(rows)
            ]
            alone = text_logits(session, seqs)
            together = text_logits(session, seqs, batched=True)
            reverse = text_logits(session, seqs[::-1], batched=True)[::-1]
            if not (np.array_equal(alone, together) and np.array_equal(alone, reverse)):
                return False
    return True


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


class EncoderTextModel(CalibratedModel):
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
        self.bundle_path = bundle.path
        self.session = _session(bundle, self.threads)
        self._lock = (
            threading.Lock()
        )  # tokenizers' batch encoding is not re-entrant in every version
        self.batched = False
        self._probe(bundle)
        self.batched = runs_rows_independently(
            self.session, self.token_ids([encoder_text(t) for t in PROBE_TEXTS])
        )

    def _probe(self, bundle: VerifiedBundle) -> None:
        """Refuse a model whose scores are not probabilities, or that fails on a probe text or
        on the longest input of the highest token id (a vocabulary larger than the graph's
        embedding table, or a token limit past its position table, fails here, not on the one
        row of a batch that reaches it)."""
        widest = np.full(self.max_tokens, self.vocabulary_size - 1, np.int64)
        try:
            text_logits(self.session, [widest])
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
        return self.encode(normalized_texts)[0]

    def encode(self, normalized_texts: list[str]) -> tuple[list[np.ndarray], np.ndarray]:
        """(token ids, whether each text was cut at ``max_tokens``: words past it unread)."""
        with self._lock:
            encoded = self.tokenizer.encode_batch(normalized_texts)
        cut = np.fromiter((bool(e.overflowing) for e in encoded), bool, len(encoded))
        return [np.asarray(e.ids, dtype=np.int64) for e in encoded], cut

    def reading_limit(self) -> str | None:
        return f"the first {self.max_tokens} tokens"

    def predict_proba_and_cut(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """(probabilities, whether each text was longer than ``max_tokens`` and read only in
        part): a long text's cut is said beside its score, as for a linear model's."""
        if not texts:
            return np.zeros(0, dtype=np.float64), np.zeros(0, dtype=bool)
        ids, cut = self.encode([encoder_text(t) for t in texts])
        logits = self.logits_of_ids(ids)
        return sigmoid(self.calibrate(logits)), cut

    def logits_of_ids(self, ids: list[np.ndarray]) -> np.ndarray:
        """Uncalibrated logits of token-id sequences (`text_logits`, a thread per core); a
        failing run is a ModelError naming the bundle (one line), never an internal error."""
        try:
            return text_logits(self.session, ids, self.threads, batched=self.batched)
        except Exception as exc:  # onnxruntime's own error types
            raise ModelError(
                f"model bundle {self.bundle_path}: {MODEL_FILE} failed while scoring "
                f"({' '.join(str(exc).split())[:300]})"
            ) from None

    def raw_logits(self, texts: list[str]) -> np.ndarray:
        return self.logits_of_ids(self.token_ids([encoder_text(t) for t in texts]))

    def build_vectorizers(self) -> None:
        """Nothing to build: kept so callers can warm any model the same way."""

    @property
    def n_features(self) -> int:
        return self.vocabulary_size
