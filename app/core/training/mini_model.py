"""abuse-mini's network in PyTorch, for fine-tuning only (the `train-mini` extra).

A BERT encoder (MiniLM-L6: 6 layers, 384 wide, 12 heads), mean pooling over the real tokens and
one linear unit: the logit of "abusive". It is written out here, not taken from a model library,
so that the ONNX graph the bundle ships (`app.core.training.mini_onnx`) is the same computation
written a second time, op for op, and the two are checked against each other on every export.
Weights are named as in the published ``model.safetensors``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional

HIDDEN, HEADS, LAYERS, INNER, POSITIONS, VOCAB = 384, 12, 6, 1536, 512, 30522
LAYER_NORM_EPS = 1e-12


class _Layer(nn.Module):
    def __init__(self, dropout: float) -> None:
        super().__init__()
        self.query = nn.Linear(HIDDEN, HIDDEN)
        self.key = nn.Linear(HIDDEN, HIDDEN)
        self.value = nn.Linear(HIDDEN, HIDDEN)
        self.attention_out = nn.Linear(HIDDEN, HIDDEN)
        self.attention_norm = nn.LayerNorm(HIDDEN, eps=LAYER_NORM_EPS)
        self.inner = nn.Linear(HIDDEN, INNER)
        self.outer = nn.Linear(INNER, HIDDEN)
        self.output_norm = nn.LayerNorm(HIDDEN, eps=LAYER_NORM_EPS)
        self.dropout = nn.Dropout(dropout)

    def _heads(self, x: torch.Tensor) -> torch.Tensor:
        batch, length, _ = x.shape
        return x.view(batch, length, HEADS, HIDDEN // HEADS).transpose(1, 2)

    def forward(self, x: torch.Tensor, mask_bias: torch.Tensor) -> torch.Tensor:
        q, k, v = self._heads(self.query(x)), self._heads(self.key(x)), self._heads(self.value(x))
        scores = q @ k.transpose(-1, -2) / math.sqrt(HIDDEN // HEADS) + mask_bias
        weights = self.dropout(torch.softmax(scores, dim=-1))
        context = (weights @ v).transpose(1, 2).reshape(x.shape)
        x = self.attention_norm(self.dropout(self.attention_out(context)) + x)
        inner = functional.gelu(self.inner(x))  # exact (erf) GELU, as the base model
        return self.output_norm(self.dropout(self.outer(inner)) + x)


class MiniClassifier(nn.Module):
    """Token ids and mask (batch × length) -> one logit per text."""

    def __init__(self, dropout: float = 0.1) -> None:
        super().__init__()
        self.words = nn.Embedding(VOCAB, HIDDEN)
        self.positions = nn.Embedding(POSITIONS, HIDDEN)
        self.token_type = nn.Parameter(torch.zeros(HIDDEN))  # type 0: every text is one segment
        self.embedding_norm = nn.LayerNorm(HIDDEN, eps=LAYER_NORM_EPS)
        self.layers = nn.ModuleList(_Layer(dropout) for _ in range(LAYERS))
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(HIDDEN, 1)

    def forward(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        length = ids.shape[1]
        x = self.words(ids) + self.positions.weight[:length] + self.token_type
        x = self.dropout(self.embedding_norm(x))
        # -1e4 rather than -inf: a padded position gets ~0 weight and a row is never all -inf
        mask_bias = (1.0 - mask[:, None, None, :].to(x.dtype)) * -10000.0
        for layer in self.layers:
            x = layer(x, mask_bias)
        weights = mask.to(x.dtype).unsqueeze(-1)
        pooled = (x * weights).sum(1) / weights.sum(1).clamp(min=1.0)
        return self.head(self.dropout(pooled)).squeeze(-1)


# published name -> this module's parameter name ({i} is the layer)
_LAYER_NAMES = {
    "attention.self.query": "query",
    "attention.self.key": "key",
    "attention.self.value": "value",
    "attention.output.dense": "attention_out",
    "attention.output.LayerNorm": "attention_norm",
    "intermediate.dense": "inner",
    "output.dense": "outer",
    "output.LayerNorm": "output_norm",
}


def published_to_local(weights: dict[str, np.ndarray]) -> dict[str, torch.Tensor]:
    """The encoder's published tensors under this module's names (the pooler is not used)."""
    out: dict[str, Any] = {
        "words.weight": weights["embeddings.word_embeddings.weight"],
        "positions.weight": weights["embeddings.position_embeddings.weight"],
        "token_type": weights["embeddings.token_type_embeddings.weight"][0],
        "embedding_norm.weight": weights["embeddings.LayerNorm.weight"],
        "embedding_norm.bias": weights["embeddings.LayerNorm.bias"],
    }
    for i in range(LAYERS):
        for published, local in _LAYER_NAMES.items():
            for part in ("weight", "bias"):
                out[f"layers.{i}.{local}.{part}"] = weights[f"encoder.layer.{i}.{published}.{part}"]
    return {k: torch.from_numpy(np.array(v, dtype=np.float32)) for k, v in out.items()}


def build_classifier(weights: dict[str, np.ndarray], seed: int) -> MiniClassifier:
    """The classifier with the pretrained encoder and a seeded, zero-biased head."""
    torch.manual_seed(seed)
    model = MiniClassifier()
    missing, unexpected = model.load_state_dict(published_to_local(weights), strict=False)
    if set(missing) != {"head.weight", "head.bias"} or unexpected:
        raise ValueError(f"encoder weights do not fit: missing {missing}, unexpected {unexpected}")
    nn.init.normal_(model.head.weight, std=0.02)
    nn.init.zeros_(model.head.bias)
    return model
