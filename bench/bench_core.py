"""Core benchmarks: bundle load time, single-text latency (ours and the peer's), threshold queries.

* ``bundle_load_s_median``: ``Scorer.load`` of the bundled model (verify, parse, rebuild).
* single-text latency p50/p99 for texts of exactly 50, 500 and 5,000 characters (realistic
  generated texts, bench/texts.py): ours is ``scorer.score_text`` (what the Score panel and
  ``score-text`` do per text), the peer's is ``predict_prob([text])``; both in this process,
  interleaved text by text (alternating which goes first). p50 and p99 are computed per run of
  --latency-texts new texts, then the median over --repeat runs is reported.
* threshold queries at --threshold-rows labelled rows (default 1,000,000): the
  ``ThresholdAnalysis`` build, then ``.at(t)`` and ``.compare(a, b)`` for random thresholds, in
  µs per query (each sample times a block of 1,000 queries; median over the blocks).

In-memory and CSV throughput are in bench_batch.py. Figures go to bench/results.json under
"core". Usage: python bench/bench_core.py [--repeat 5] [--latency-texts 400] [--quick] [--no-peer]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from app.core.analysis.thresholds import ThresholdAnalysis  # noqa: E402
from app.core.engine.scoring import Scorer, default_bundle_path  # noqa: E402
from bench import peer  # noqa: E402
from bench.results import quick_mode, record  # noqa: E402
from bench.texts import make_texts, vocabulary_source  # noqa: E402, F401 (bench_heartbeat imports make_texts here)

LENGTHS = (50, 500, 5000)
QUERY_BLOCK = 1_000


def median_time(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile of an ascending list (q in 0..100)."""
    rank = max(1, int(np.ceil(q / 100 * len(sorted_values))))
    return sorted_values[rank - 1]


def latency(
    scorer: Scorer, predict_peer: Callable | None, chars: int, n: int, repeat: int
) -> dict[str, float]:
    """p50/p99 in ms per run, median over runs; ours and the peer's measured interleaved.

    Each run scores new texts (the same for both): re-scoring the same texts would measure
    our chunk cache at its best, not a user typing or pasting something new.
    """
    threshold = scorer.default_threshold
    for text in make_texts(10, chars, seed=-chars):  # warm-up (code paths, not these texts)
        scorer.score_text(text, threshold)
        if predict_peer:
            predict_peer([text])
    runs: dict[str, list[float]] = {}
    for r in range(repeat):
        texts = make_texts(n, chars, seed=1000 * chars + r)
        ours, theirs = [], []
        for i, text in enumerate(texts):
            for who in ("ours", "peer") if (i + r) % 2 == 0 else ("peer", "ours"):
                if who == "peer" and predict_peer is None:
                    continue
                t0 = time.perf_counter()
                if who == "ours":
                    scorer.score_text(text, threshold)
                else:
                    predict_peer([text])
                (ours if who == "ours" else theirs).append(1000 * (time.perf_counter() - t0))
        for who, values in (("ours", ours), ("peer", theirs)):
            if values:
                values.sort()
                runs.setdefault(f"{who}_p50_ms", []).append(percentile(values, 50))
                runs.setdefault(f"{who}_p99_ms", []).append(percentile(values, 99))
    return {key: statistics.median(values) for key, values in runs.items()}


def per_query_us(
    query: Callable[[float, float], object], rng: np.random.Generator, blocks: int
) -> float:
    """Median over blocks of the mean time of QUERY_BLOCK queries at random thresholds, in µs."""
    samples = []
    for _ in range(blocks):
        a = rng.random(QUERY_BLOCK).tolist()
        b = rng.random(QUERY_BLOCK).tolist()
        t0 = time.perf_counter()
        for x, y in zip(a, b, strict=True):
            query(x, y)
        samples.append(1e6 * (time.perf_counter() - t0) / QUERY_BLOCK)
    return statistics.median(samples)


def thresholds(rows: int, repeat: int, blocks: int) -> dict[str, float]:
    rng = np.random.default_rng(0)
    labels = (rng.random(rows) < 0.4).astype(np.int8)
    scores = np.clip(rng.normal(0.35 + 0.3 * labels, 0.2), 0, 1)
    analysis = ThresholdAnalysis(scores, labels)  # warm-up
    build = median_time(lambda: ThresholdAnalysis(scores, labels), repeat)
    return {
        "threshold_build_s": build,
        "threshold_at_us": per_query_us(lambda t, _: analysis.at(t), rng, blocks),
        "threshold_compare_us": per_query_us(analysis.compare, rng, blocks),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="runs per figure (median)")
    parser.add_argument("--latency-texts", type=int, default=400, help="texts per latency run")
    parser.add_argument("--threshold-rows", type=int, default=1_000_000)
    parser.add_argument("--query-blocks", type=int, default=50, help="blocks of 1,000 queries")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="fewer runs, for development (results in build/bench-quick)",
    )
    parser.add_argument("--no-peer", action="store_true", help="do not measure the peer")
    parser.add_argument("--model", type=Path, help="bundle folder (default: the bundled model)")
    args = parser.parse_args()
    if args.quick:
        args.repeat, args.latency_texts, args.query_blocks = 2, 100, 10
        quick_mode()
    if args.no_peer:
        os.environ["BENCH_NO_PEER"] = "1"

    path = args.model or default_bundle_path()
    figures: dict[str, float] = {}
    Scorer.load(path)  # warm-up: the first load also imports scikit-learn and SciPy
    figures["bundle_load_s_median"] = median_time(lambda: Scorer.load(path), args.repeat)
    scorer = Scorer.load(path)

    predict_peer = peer.peer_predict_prob if peer.available() else None
    if predict_peer:
        figures["peer_model_load_s"] = peer.peer_load_s()  # scikit-learn already imported
    print(f"peer: {peer.peer_status()}")

    for chars in LENGTHS:
        for key, value in latency(
            scorer, predict_peer, chars, args.latency_texts, args.repeat
        ).items():
            who, stat = key.split("_", 1)
            figures[f"{'' if who == 'ours' else 'peer_'}single_text_{chars}c_{stat}"] = value
        if predict_peer:
            figures[f"single_text_{chars}c_p50_ratio_ours_to_peer"] = (
                figures[f"single_text_{chars}c_p50_ms"]
                / figures[f"peer_single_text_{chars}c_p50_ms"]
            )

    for key, value in thresholds(args.threshold_rows, args.repeat, args.query_blocks).items():
        figures[key.replace("threshold_", f"threshold_{args.threshold_rows // 1000}k_")] = value

    for key, value in figures.items():
        print(f"{key:44s} {value:12.3f}")
    record(
        "core" if path.resolve() == default_bundle_path().resolve() else f"core ({path.name})",
        figures,
        {
            "model": scorer.version_label,
            "repeat": args.repeat,
            "text_lengths": list(LENGTHS),
            "latency_texts_per_run": args.latency_texts,
            "texts": f"bench/texts.py, exact length, words of {vocabulary_source().name}",
            "threshold_rows": args.threshold_rows,
            "threshold_queries": args.query_blocks * QUERY_BLOCK,
            "peer": peer.peer_status(),
        },
    )


if __name__ == "__main__":
    main()
