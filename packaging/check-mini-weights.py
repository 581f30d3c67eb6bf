"""After `make train-mini-deps`: the installed carrier's model.safetensors must be the official
all-MiniLM-L6-v2 weights (app/core/training/mini_weights.py). One line either way; exit 2 if not."""

import sys

from app.core.common.errors import InputError
from app.core.training.mini_weights import BASE_MODEL, base_weights

try:
    weights = base_weights()
except InputError as exc:
    print(f"train-mini-deps: {exc}", file=sys.stderr)
    sys.exit(2)
print(f"train-mini-deps: {BASE_MODEL} weights verified, SHA-256 {weights.sha256}")
