"""Tiny encoder bundles for tests: a WordPiece tokenizer over a few hundred words and a 2-layer,
16-wide MiniLM-shaped network with seeded random weights, written with the recipe's own graph
builder and bundle assembly (`app.core.training.mini_onnx`, `mini_bundle`), so tests exercise
the real loader, checks, session and explanations in milliseconds."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from app.core.bundles.bundle import EVALUATION_ARRAYS, write_bundle
from app.core.training.mini_bundle import encoder_files, evaluation_files
from app.core.training.mini_onnx import build_graph, build_int8_graph

SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
WORDS = (
    "the a an and or but you your are is was be i me my we our they them he she it this that "
    "idiot stupid hate kill love thanks thank help today good bad great awful nice friend "
    "hello ok gym goals url @ user people man woman gay muslim black white proud neighbours "
    "live here so much for of to in on at with not no yes all every one"
).split()


def tiny_tokenizer() -> dict[str, Any]:
    """A BERT-style WordPiece tokenizer (tokenizer.json as a dict) over `WORDS` and letters."""
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

    letters = list("abcdefghijklmnopqrstuvwxyz0123456789!?.,'#")
    pieces = [f"##{c}" for c in letters]
    vocab = {t: i for i, t in enumerate(dict.fromkeys(SPECIAL + WORDS + letters + pieces))}
    tokenizer = Tokenizer(models.WordPiece(vocab, unk_token="[UNK]", max_input_chars_per_word=100))
    tokenizer.normalizer = normalizers.BertNormalizer(lowercase=True)
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tokenizer.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", vocab["[CLS]"]), ("[SEP]", vocab["[SEP]"])],
    )
    tokenizer.decoder = decoders.WordPiece(prefix="##")
    return json.loads(tokenizer.to_str())


def tiny_weights(
    vocab: int, *, hidden: int = 16, heads: int = 2, layers: int = 2, seed: int = 0
) -> dict[str, np.ndarray]:
    """Seeded random weights under the PyTorch module's names (`mini_model.MiniClassifier`)."""
    rng = np.random.default_rng(seed)

    def normal(*shape: int, scale: float = 0.3) -> np.ndarray:
        return (rng.standard_normal(shape) * scale).astype(np.float32)

    inner = 2 * hidden
    w: dict[str, np.ndarray] = {
        "words.weight": normal(vocab, hidden),
        "positions.weight": normal(300, hidden, scale=0.05),
        "token_type": normal(hidden, scale=0.05),
        "embedding_norm.weight": np.ones(hidden, np.float32),
        "embedding_norm.bias": np.zeros(hidden, np.float32),
        "head.weight": normal(1, hidden, scale=1.0),
        "head.bias": np.zeros(1, np.float32),
    }
    shapes = {"query": (hidden, hidden), "key": (hidden, hidden), "value": (hidden, hidden)}
    shapes |= {
        "attention_out": (hidden, hidden),
        "inner": (inner, hidden),
        "outer": (hidden, inner),
    }
    for i in range(layers):
        for name, shape in shapes.items():
            w[f"layers.{i}.{name}.weight"] = normal(*shape)
            w[f"layers.{i}.{name}.bias"] = normal(shape[0], scale=0.05)
        for norm in ("attention_norm", "output_norm"):
            w[f"layers.{i}.{norm}.weight"] = np.ones(hidden, np.float32)
            w[f"layers.{i}.{norm}.bias"] = np.zeros(hidden, np.float32)
    return w


def tiny_onnx(seed: int = 0, vocab: int | None = None) -> bytes:
    tokenizer = tiny_tokenizer()
    size = vocab or len(tokenizer["model"]["vocab"])
    return build_graph(tiny_weights(size, seed=seed), heads=2).SerializeToString()


def tiny_int8_onnx(seed: int = 0, per_channel: bool = True) -> bytes:
    """The tiny network as abuse-mini ships: the recipe's int8 graph (per-token activations)."""
    size = len(tiny_tokenizer()["model"]["vocab"])
    weights = tiny_weights(size, seed=seed)
    return build_int8_graph(weights, 2, per_channel).SerializeToString()


def tool_int8_onnx(seed: int, work: Path) -> bytes:
    """The tiny network quantised by onnxruntime's own tool (one activation scale per run): a
    graph a bundle may hold, whose texts must be run one at a time."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    work.mkdir(parents=True, exist_ok=True)
    (work / "fp32.onnx").write_bytes(tiny_onnx(seed=seed))
    quantize_dynamic(work / "fp32.onnx", work / "int8.onnx", weight_type=QuantType.QInt8)
    return (work / "int8.onnx").read_bytes()


def write_tiny_encoder_bundle(
    folder: Path,
    *,
    name: str = "abuse-mini",
    version: str = "0.0.1",
    seed: int = 0,
    calibration: tuple[float, float] | None = (1.0, 0.0),
    cascade: dict[str, Any] | None = None,
    onnx_model: bytes | None = None,
    tokenizer: dict[str, Any] | None = None,
    max_tokens: int = 64,
) -> Path:
    """An unsigned encoder bundle with evaluation arrays (scores of 40 labelled texts)."""
    files: dict[str, Any] = encoder_files(
        onnx_model if onnx_model is not None else tiny_onnx(seed),
        tokenizer or tiny_tokenizer(),
        calibration,
        max_tokens=max_tokens,
        cascade=cascade,
    )
    rng = np.random.default_rng(seed)
    texts = [f"text number {i} you idiot" if i % 2 else f"hello friend {i}" for i in range(40)]
    labels = np.array([i % 2 for i in range(40)], np.int8)
    scores = np.clip(labels * 0.6 + rng.uniform(0, 0.4, 40), 0, 1)
    origins = np.array(["davidson", "olid"] * 20)
    files |= evaluation_files(scores, labels, origins, texts)
    manifest = {
        "name": name,
        "version": version,
        "default_threshold": 0.45,
        "metrics": {"test": {}},
        "evaluation_arrays": dict(EVALUATION_ARRAYS),
    }
    return write_bundle(folder / f"{name}-{version}", manifest, files)
