"""The supervisor's day: planning at a prevalence, audit samples, estimates, records, replay.

Figures for the issue-15 features, each the median of --repeat runs in this one process:

1. Planning on the bundled evaluation set (5,650 items) at 5 % prevalence and 20,000 messages a
   day: the per-day curves at the 201 plotted thresholds (`workload_curves`, on the GUI thread
   while the slider moves), the Confidence tab's bootstrap (`bootstrap_confidence`, 2,000
   replicates, on a worker) and two finders' threshold intervals (`threshold_interval`, 1,000
   replicates, on a worker).
2. Drawing an audit sample of --sample-size from a scored CSV of each --rows size
   (`write_sample`: reads the file twice, checks its hash, writes the sample and its sidecar).
   The scored CSV is written here with the `score` output's columns and scores drawn from a
   two-humped beta mixture (the shape of real scores); drawing a sample reads scores and rows,
   not how they were scored, so no model runs for this figure.
3. Weighted estimates of a labelled sample (`estimate`, 2,000 stratified-bootstrap replicates)
   at 1 and at 21 thresholds, for samples of 200 and 1,000 items.
4. The one-page decision PDF (`render_pdf`) of a record built on the bundled set with bands.
5. A reviewer's verdict stored in the labels store (`LabelsStore.record`, synchronous FULL, on
   the GUI thread): median and p90 over --verdicts verdicts.
6. Replay of a band policy over a batch history holding one real --replay-rows job (tweet-like
   texts scored by `score_file`, as the Batch panel does).

Figures go to bench/results.json under "supervisor".
Usage: python bench/bench_supervisor.py [--rows 100000,1000000] [--sample-size 200]
       [--verdicts 200] [--replay-rows 100000] [--repeat 3] [--quick]
"""

from __future__ import annotations

import argparse
import csv
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import TypeVar

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.core.analysis.bands import BandPolicy  # noqa: E402
from app.core.analysis.intervals import BestF1, Capacity, threshold_interval  # noqa: E402
from app.core.analysis.planning import Planning, bootstrap_confidence  # noqa: E402
from app.core.analysis.threshold_sources import CURVE_THRESHOLDS, bundled_datasets  # noqa: E402
from app.core.analysis.workload import workload_curves  # noqa: E402
from app.core.audit.estimate import estimate  # noqa: E402
from app.core.audit.sample import draw_sample  # noqa: E402
from app.core.audit.sample_write import write_sample  # noqa: E402
from app.core.audit.verdicts import LabelsStore  # noqa: E402
from app.core.context.settings import Settings  # noqa: E402
from app.core.decisions.records import DataSource, Policy, build_record  # noqa: E402
from app.core.decisions.replay import replay  # noqa: E402
from app.core.engine.scoring import Scorer, default_bundle_path  # noqa: E402
from app.core.results.history import BatchHistory  # noqa: E402
from app.reports.decision_pdf import render_pdf  # noqa: E402
from bench.bench_day import scored_job  # noqa: E402
from bench.results import quick_mode, record  # noqa: E402

THRESHOLD = 0.45
PREVALENCE, VOLUME, CAPACITY = 0.05, 20_000.0, 450.0
T = TypeVar("T")


def _timed(action: Callable[[], T]) -> tuple[float, T]:
    start = time.perf_counter()
    result = action()
    return (time.perf_counter() - start) * 1000, result


def _median_ms(action: Callable[[], object], repeat: int) -> float:
    return statistics.median(_timed(action)[0] for _ in range(repeat))


def planning_figures(scorer: Scorer, repeat: int) -> dict[str, float]:
    analysis = bundled_datasets(scorer)["bundled"].analysis
    planning = Planning(PREVALENCE, VOLUME, 3, 150, None, None)
    return {
        "workload_curves_201_ms": _median_ms(
            partial(workload_curves, analysis, CURVE_THRESHOLDS, PREVALENCE, VOLUME), repeat
        ),
        "confidence_bootstrap_ms": _median_ms(
            partial(bootstrap_confidence, analysis, THRESHOLD, planning), repeat
        ),
        "finder_interval_best_f1_ms": _median_ms(
            partial(threshold_interval, analysis, BestF1()), repeat
        ),
        "finder_interval_capacity_ms": _median_ms(
            partial(threshold_interval, analysis, Capacity(PREVALENCE, VOLUME, CAPACITY)), repeat
        ),
    }


def _scores(n: int, rng: np.random.Generator) -> np.ndarray:
    """Scores shaped like real ones: most traffic low, an abusive hump high."""
    high = rng.random(n) < 0.08
    return np.where(high, rng.beta(6, 1.5, n), rng.beta(1.2, 9, n))


def write_scored_csv(path: Path, rows: int, seed: int = 11) -> None:
    scores = _scores(rows, np.random.default_rng(seed))
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "text", "abuse_score", "abuse_label", "model_version", "abuse_note"])
        for i, score in enumerate(scores.tolist()):
            label = "abusive" if score >= THRESHOLD else "not abusive"
            writer.writerow([i, f"message number {i} about the weather", f"{score:.6f}", label,
                             "abuse-lr 1.0.0", ""])  # fmt: skip


def sample_ms(folder: Path, rows: int, size: int, repeat: int) -> float:
    scored = folder / f"scored-{rows}.csv"
    write_scored_csv(scored, rows)
    times = []
    for run in range(repeat):
        out = folder / f"sample-{rows}-{run}.csv"
        ms, written = _timed(
            partial(write_sample, scored, out, size=size, seed=run, threshold=THRESHOLD)
        )
        assert written is not None and out.exists()
        times.append(ms)
    scored.unlink()
    return statistics.median(times)


def estimate_ms(size: int, n_thresholds: int, repeat: int) -> float:
    rng = np.random.default_rng(5)
    population = _scores(200_000, rng)
    truth = rng.random(population.size) < np.clip(population * 0.9, 0, 1)
    drawn = draw_sample(population, size, threshold=THRESHOLD, seed=3)
    labels = [int(v) for v in truth[drawn.indices]]
    names = [str(s) for s in drawn.strata]
    thresholds = np.linspace(0.05, 0.95, n_thresholds) if n_thresholds > 1 else [THRESHOLD]
    return _median_ms(
        partial(estimate, population[drawn.indices], names, labels, drawn.population,
                list(thresholds), n_boot=2000, seed=0),
        repeat,
    )  # fmt: skip


def pdf_ms(scorer: Scorer, repeat: int) -> float:
    ds = bundled_datasets(scorer)["bundled"]
    rec = build_record(
        analysis=ds.analysis, policy=Policy(0.45, escalate=0.8), previous=Policy(0.5),
        model_version=scorer.version_label, manifest_sha256="0" * 64,
        source=DataSource("bundled evaluation set", "bundled", "1" * 64),
        rationale="Bench: bands at our traffic.", prevalence=PREVALENCE, volume=VOLUME,
        author="bench", now=datetime(2026, 12, 7, tzinfo=UTC),
    )  # fmt: skip
    return _median_ms(partial(render_pdf, rec), repeat)


def verdict_ms(folder: Path, n: int) -> tuple[float, float]:
    store = LabelsStore(folder / "labels.sqlite3")
    sha = "a" * 64
    store.add_sample(sha, str(folder / "sample.csv"))
    times = [_timed(partial(store.record, sha, line + 2, "benign"))[0] for line in range(n)]
    store.close()
    return statistics.median(times), float(np.percentile(times, 90))


def replay_ms(scorer: Scorer, folder: Path, rows: int, repeat: int) -> float:
    job = scored_job(scorer, folder, rows)
    history = BatchHistory(folder / "history")
    assert history.record(job, Settings().batch_history_size, input_size=1) is not None
    policy = Policy(0.5, escalate=0.8)
    assert BandPolicy(0.5, 0.8)  # the same cut points the Threshold panel would apply

    def run() -> int:
        return sum(r.rows for r in replay(history, policy))

    return _median_ms(run, repeat)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", default="100000,1000000")
    parser.add_argument("--sample-size", type=int, default=200)
    parser.add_argument("--verdicts", type=int, default=200)
    parser.add_argument("--replay-rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="small sizes, results elsewhere")
    args = parser.parse_args()
    if args.quick:
        quick_mode()
        args.rows, args.verdicts, args.replay_rows, args.repeat = "20000", 30, 5_000, 1
    scorer = Scorer.load(default_bundle_path())
    figures: dict[str, float] = dict(planning_figures(scorer, args.repeat))
    with tempfile.TemporaryDirectory(prefix="bench-supervisor-") as tmp:
        folder = Path(tmp)
        for rows in [int(r) for r in args.rows.split(",")]:
            figures[f"audit_sample_{rows}_rows_ms"] = sample_ms(
                folder, rows, args.sample_size, args.repeat
            )
        for size in (200, 1000):
            for k in (1, 21):
                figures[f"estimate_{size}_items_{k}_thresholds_ms"] = estimate_ms(
                    size, k, args.repeat
                )
        figures["decision_pdf_ms"] = pdf_ms(scorer, args.repeat)
        p50, p90 = verdict_ms(folder, args.verdicts)
        figures["verdict_store_p50_ms"], figures["verdict_store_p90_ms"] = p50, p90
        figures[f"replay_{args.replay_rows}_rows_ms"] = replay_ms(
            scorer, folder, args.replay_rows, args.repeat
        )
    for name, value in figures.items():
        print(f"{name:40s} {value:10.1f}")
    record("supervisor", figures, {"repeat": args.repeat, "sample_size": args.sample_size,
                                   "prevalence": PREVALENCE, "volume": VOLUME})  # fmt: skip


if __name__ == "__main__":
    main()
