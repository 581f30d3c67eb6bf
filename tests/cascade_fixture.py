"""Shared set-up of the cascade tests: the bundled fast model 2.0.0, texts whose fast scores
spread out, and a tiny encoder bundle whose cascade band was "chosen" for that fast model."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from app.core.engine.scoring import Scorer
from tests.conftest import REPO
from tests.encoder_fixture import write_tiny_encoder_bundle

FAST_FOLDER = REPO / "models" / "abuse-lr-2.0.0"
OTHER_FAST_FOLDER = REPO / "models" / "abuse-lr-1.0.0"
_WORDS = [
    "you stupid moron",
    "nice day at the gym",
    "what an idiot you are",
    "thanks for your help today",
    "I hate you so much",
    "hello friend",
    "kill it with love",
    "proud woman living here",
    "awful awful people",
    "good morning",
]


def texts(n: int = 120) -> list[str]:
    return [f"{_WORDS[i % len(_WORDS)]} {_WORDS[(i * 7) % len(_WORDS)]} {i}" for i in range(n)]


def write_csv(path: Path, rows: list[str], blank_every: int = 0) -> Path:
    """A CSV of id,comment; every `blank_every`-th text empty (a blank-text row)."""
    lines = ["id,comment"]
    for i, text in enumerate(rows):
        lines.append(f"{i},{'' if blank_every and i % blank_every == 0 else text}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def band_for(fast: Scorer, rows: list[str]) -> tuple[float, float]:
    """A band holding about a third of the rows, whose ends are two of the rows' own fast
    scores (so the band's inclusive ends are exercised)."""
    scores = np.sort(fast.score_many(rows)[0])
    return float(scores[len(scores) // 3]), float(scores[2 * len(scores) // 3])


def cascade_section(fast: Scorer, low: float, high: float) -> dict[str, Any]:
    return {
        "fast_model": fast.version_label,
        "fast_manifest_sha256": fast.bundle.manifest_sha256,
        "low": low,
        "high": high,
        "rule": "fast score in [low, high]: the thorough score",
    }


def write_encoder(
    folder: Path, fast: Scorer | None, band: tuple[float, float], version: str = "0.0.1"
) -> Path:
    """A tiny encoder bundle; its cascade section names `fast` (none if None)."""
    cascade = cascade_section(fast, *band) if fast is not None else None
    return write_tiny_encoder_bundle(folder, version=version, cascade=cascade)
