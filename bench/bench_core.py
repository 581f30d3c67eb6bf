"""Core benchmarks: bundle load time, single-text latency, in-memory and CSV batch throughput.

Prints the figures and writes them to bench/results.json (merged by key) and bench/results.md.
Medians over repeated runs; this machine is small and noisy, so compare figures from one run.
Usage: python bench/bench_core.py [--rows 100000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import csv
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.core.batch import BatchOptions, run_batch  # noqa: E402
from app.core.scoring import Scorer, default_bundle_path  # noqa: E402
from bench.results import record  # noqa: E402

WORDS = (
    "the you are a this is so really today we our team meeting lunch thanks idiot stupid "
    "great awful shut up love hate people never always please why what"
).split()


def make_texts(n: int, chars: int, seed: int = 1) -> list[str]:
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        words: list[str] = []
        while sum(len(w) + 1 for w in words) < chars:
            words.append(rng.choice(WORDS))
        out.append(" ".join(words)[:chars])
    return out


def median_time(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    path = default_bundle_path()
    figures: dict[str, float] = {}

    figures["bundle_load_s_median"] = median_time(lambda: Scorer.load(path), args.repeat)
    scorer = Scorer.load(path)

    for chars in (50, 500, 5000):
        texts = make_texts(200, chars, seed=chars)
        lat = []
        for t in texts:
            t0 = time.perf_counter()
            scorer.score_text(t, 0.45)
            lat.append(time.perf_counter() - t0)
        lat.sort()
        figures[f"single_text_{chars}c_p50_ms"] = 1000 * lat[len(lat) // 2]
        figures[f"single_text_{chars}c_p99_ms"] = 1000 * lat[int(len(lat) * 0.99) - 1]

    texts = make_texts(20_000, 80)
    seconds = median_time(lambda: scorer.model.predict_proba(texts), max(1, args.repeat // 2))
    figures["in_memory_texts_per_s"] = len(texts) / seconds

    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "in.csv"
        with open(src, "w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow(["id", "text"])
            for i, text in enumerate(make_texts(args.rows, 80, seed=7)):
                writer.writerow([i, text])
        out = Path(tmp) / "out.csv"
        t0 = time.perf_counter()
        report = run_batch(scorer, BatchOptions(src, out, threshold=0.45))
        figures[f"csv_{args.rows}_rows_per_s"] = report.rows_read / (time.perf_counter() - t0)
        assert report.balanced and report.rows_scored == args.rows

    for key, value in figures.items():
        print(f"{key:32s} {value:12.3f}")
    record(
        "core",
        figures,
        {
            "model": scorer.version_label,
            "rows": args.rows,
            "repeat": args.repeat,
            "cores": os.cpu_count(),
            "python": platform.python_version(),
        },
    )


if __name__ == "__main__":
    main()
