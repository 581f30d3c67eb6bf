"""The parts of the abuse-mini recipe that need no PyTorch: the pinned base weights, the cascade
band, and the graph builder against a hand computation (the full recipe runs with the
train-mini extra; its figures are in the bundle's manifest and model card)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from app.core.common.errors import InputError
from app.core.training.mini_cascade import cascade_scores, choose_band
from app.core.training.mini_weights import (
    EXPECTED_CONFIG,
    OFFICIAL_SAFETENSORS_SHA256,
    base_weights,
)


def _carrier(folder: Path, weights: bytes, config: dict[str, object] | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "model.safetensors").write_bytes(weights)
    (folder / "tokenizer.json").write_text("{}")
    (folder / "config.json").write_text(
        json.dumps(config if config is not None else EXPECTED_CONFIG)
    )
    return folder


def test_weights_other_than_the_official_ones_are_refused(tmp_path: Path) -> None:
    folder = _carrier(tmp_path / "model", b"not the official weights")
    with pytest.raises(InputError) as caught:
        base_weights(folder)
    message = str(caught.value)
    assert "model.safetensors" in message and OFFICIAL_SAFETENSORS_SHA256 in message
    assert "\n" not in message


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    folder = _carrier(tmp_path / "model", b"x")
    (folder / "tokenizer.json").unlink()
    with pytest.raises(InputError, match="tokenizer.json"):
        base_weights(folder)


def test_cascade_scores_take_the_thorough_score_inside_the_band() -> None:
    fast = np.array([0.05, 0.30, 0.50, 0.70, 0.95])
    thorough = np.array([0.9, 0.8, 0.1, 0.2, 0.3])
    out = cascade_scores(fast, thorough, 0.30, 0.70)
    assert out.tolist() == [0.05, 0.8, 0.1, 0.2, 0.95]  # ends of the band included


def test_the_band_is_the_narrowest_that_holds_the_auc() -> None:
    rng = np.random.default_rng(5)
    n = 4000
    labels = rng.integers(0, 2, n)
    origins = np.where(rng.random(n) < 0.5, "davidson", "olid")
    # the thorough engine ranks well; the fast one is noisier, and only in the middle
    thorough = np.clip(labels * 0.6 + rng.normal(0.2, 0.15, n), 0, 1)
    fast = thorough.copy()
    middle = (fast > 0.3) & (fast < 0.7)
    fast[middle] = rng.uniform(0.3, 0.7, middle.sum())
    band = choose_band(fast, thorough, labels, origins)
    assert 0.0 < band["rescored_share"] < 1.0
    for origin, auc in band["auc_by_origin"].items():
        assert auc >= band["thorough_auc_by_origin"][origin] - band["tolerance"]
    # the rows the fast engine scrambled are inside the chosen band
    inside = (fast >= band["low"]) & (fast <= band["high"])
    assert inside[middle].mean() > 0.95
    assert band["rescored_share"] == pytest.approx(inside.mean())


def test_when_the_fast_engine_is_as_good_nothing_needs_rescoring() -> None:
    rng = np.random.default_rng(1)
    labels = rng.integers(0, 2, 2000)
    scores = np.clip(labels * 0.5 + rng.normal(0.25, 0.2, 2000), 0, 1)
    band = choose_band(scores, scores, labels, np.array(["olid"] * 2000))
    assert band["rescored_share"] <= 0.03  # the narrowest candidate: one quantile step
