"""Signed tiny encoder bundles for registry, CLI and panel tests (`tests.encoder_fixture`).

`signed_encoder_bundle` writes a tiny abuse-mini bundle and signs it with the tests' key, so a
registry that refuses unsigned bundles (`conftest.model_registry`) lists and loads it. With
``pair_with`` it carries the evaluation arrays of a linear bundle (its item ids, labels and
origins, with scores of its own), so Compare pairs it with that bundle item by item.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from app.core.bundles.bundle import load_verified, write_bundle
from app.core.bundles.signing import sign_bundle
from tests.encoder_fixture import write_tiny_encoder_bundle

ENCODER_REF = "abuse-mini-0.0.1"


def _paired_arrays(linear: Path, seed: int) -> dict[str, np.ndarray]:
    arrays = load_verified(linear).arrays
    labels = arrays["eval_labels.npy"]
    rng = np.random.default_rng(seed)
    scores = np.clip(0.25 + 0.5 * labels + rng.normal(0, 0.2, len(labels)), 0, 1)
    return {
        "eval_scores.npy": scores.astype(np.float64),
        "eval_labels.npy": labels,
        "eval_origin.npy": arrays["eval_origin.npy"],
        "eval_ids.npy": arrays["eval_ids.npy"],
    }


def signed_encoder_bundle(
    folder: Path, key: Path, *, pair_with: Path | None = None, seed: int = 0, **kwargs
) -> Path:
    """A signed tiny encoder bundle in ``folder`` (named abuse-mini-0.0.1 unless told)."""
    bundle = write_tiny_encoder_bundle(folder, seed=seed, **kwargs)
    if pair_with is not None:  # rewrite with the linear bundle's items (the manifest last)
        loaded = load_verified(bundle)
        files: dict = dict(loaded.json_files)
        files |= loaded.blobs | loaded.texts
        files |= _paired_arrays(pair_with, seed)
        manifest = {k: v for k, v in loaded.manifest.items() if k not in ("files",)}
        write_bundle(bundle, manifest, files)
    sign_bundle(bundle, key)
    return bundle
