"""Explanation latency: median ms of ``explain_text`` for one 500-character text, per bundle.

What the Score panel computes after each keystroke's score (``scorer.explain``). Each text is
new to the process (generated, bench/texts.py), the model is loaded and warmed once on other
texts first (so the first call's one-time costs are not in the median). Prints one line per
model and records nothing (the figures are for a report, not for bench/results.json).
Usage: python bench/bench_explain.py [--texts 300] [--chars 500]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.core.engine.explain import explain_text  # noqa: E402
from app.core.engine.scoring import Scorer  # noqa: E402
from bench.texts import make_texts  # noqa: E402

MODELS = Path(__file__).resolve().parents[1] / "models"
BUNDLES = ("abuse-lr-1.0.0", "abuse-lr-2.0.0")


def explain_ms(name: str, n: int, chars: int) -> tuple[float, float]:
    """(median ms, p90 ms) of explain_text over n new texts of `chars` characters."""
    model = Scorer.load(MODELS / name).model
    for text in make_texts(5, chars, seed=97):  # warm-up: imports, lazy tables
        explain_text(model, text, None)
    times = []
    for text in make_texts(n, chars, seed=31):
        start = time.perf_counter()
        explain_text(model, text, None)
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    return statistics.median(times), times[int(0.9 * (len(times) - 1))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--texts", type=int, default=300)
    parser.add_argument("--chars", type=int, default=500)
    args = parser.parse_args()
    for name in BUNDLES:
        median, p90 = explain_ms(name, args.texts, args.chars)
        print(f"{name}: explain_text {args.chars} chars: median {median:.3f} ms, p90 {p90:.3f} ms")


if __name__ == "__main__":
    main()
