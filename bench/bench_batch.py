"""Batch benchmarks: in-memory throughput against the peer, and end-to-end CSV to scored CSV.

* In memory: --rows tweet-like texts (bench/texts.py; default 100,000) scored by ours,
  ``scorer.score_many(texts)``, and by the peer, ``predict_prob(texts)``, the same texts for
  both, in this process, interleaved over --repeat runs (alternating which goes first); each run
  has new texts, because our fast scorer caches per whitespace chunk. Texts/s medians and the
  ours/peer ratio (median of the per-run ratios); also our first run (cache nearly empty) and
  run 1's texts scored again (every chunk cached: the flattering case). One more run on new
  texts splits our time into stages (normalise, then the fast scorer, or each TF-IDF block and
  the dot product) to show where it goes.
* End to end: ``python -m app score IN -o OUT --quiet`` as a child process on generated CSVs of
  --e2e-rows rows (default 100,000 and 1,000,000; written in chunks, never held in memory), with
  a fresh ABUSE_DESK_HOME. Wall time from spawn to exit (so Python start-up and the model load
  count), rows/s, and peak RSS: the main process's own high-water mark (VmHWM polled from
  /proc), the largest process's (``/usr/bin/time -f %M``, which folds in the worker processes
  it waited for) and the polled peak of the summed RSS of the whole process tree (what counts
  when scoring runs in worker processes). The output's row count is checked
  against the input. With ``--workers`` in ``score --help`` the child gets ``--workers 2`` (both
  cores); without it the run is on one core, and the context says so. The ratio to the peer's
  in-memory texts/s uses the peer figure of this same run.

Figures go to bench/results.json under "batch".
Usage: python bench/bench_batch.py [--rows 100000] [--repeat 5] [--e2e-rows 100000,1000000]
       [--e2e-repeat 3] [--quick] [--no-peer]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.core.engine.scoring import Scorer, default_bundle_path  # noqa: E402
from bench import peer  # noqa: E402
from bench.results import quick_mode, record  # noqa: E402
from bench.texts import tweet_texts, vocabulary_source, write_csv  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
GNU_TIME = shutil.which("time", path="/usr/bin:/bin")
POLL_S = 0.02
LARGE = 500_000  # e2e runs from this size on are repeated --e2e-large-repeat times


def in_memory(
    scorer: Scorer, rows: int, repeat: int, with_peer: bool, seed: int
) -> tuple[dict[str, float], list[str]]:
    """Texts/s of ours and the peer, interleaved; each run on new texts, the same for both.

    New texts per run because our fast scorer caches per whitespace chunk: re-scoring the same
    texts would measure the cache at its best. That figure is reported too, labelled as such.
    Returns the figures and the last run's texts (for the breakdown).
    """
    warm = tweet_texts(1000, seed=seed - 1)  # warm-up: code paths, not the measured texts
    scorer.score_many(warm)
    if with_peer:
        peer.peer_predict_prob(warm)
    ours, theirs, first = [], [], []
    for r in range(repeat):
        texts = tweet_texts(rows, seed=seed + r)
        first = first or texts
        for who in ("ours", "peer") if r % 2 == 0 else ("peer", "ours"):
            if who == "peer" and not with_peer:
                continue
            t0 = time.perf_counter()
            scorer.score_many(texts) if who == "ours" else peer.peer_predict_prob(texts)
            rate = len(texts) / (time.perf_counter() - t0)
            (ours if who == "ours" else theirs).append(rate)
            print(f"  run {r + 1}/{repeat} {who}: {rate:,.0f} texts/s")
    t0 = time.perf_counter()
    scorer.score_many(first)  # every chunk of these is cached by now (if there is a cache)
    again = len(first) / (time.perf_counter() - t0)
    print(f"  ours again on run 1's texts: {again:,.0f} texts/s")
    figures = {
        "in_memory_texts_per_s": statistics.median(ours),
        "in_memory_first_run_texts_per_s": ours[0],
        "in_memory_same_texts_again_texts_per_s": again,
    }
    if theirs:
        figures["peer_in_memory_texts_per_s"] = statistics.median(theirs)
        figures["in_memory_ratio_ours_to_peer"] = statistics.median(
            o / p for o, p in zip(ours, theirs, strict=True)
        )
    return figures, texts


def breakdown(scorer: Scorer, texts: list[str]) -> tuple[dict[str, float], str]:
    """Seconds per stage of ours on ``texts``, and which path scored them.

    Reads model internals (``model.fast``, ``model.blocks``): skipped if they have moved.
    """
    try:
        import scipy.sparse as sp

        from app.core.engine.normalize import normalize_text

        model = scorer.model
        out: dict[str, float] = {}
        t0 = time.perf_counter()
        normalized = [normalize_text(t) for t in texts]
        out["normalize"] = time.perf_counter() - t0
        fast = getattr(model, "fast", None)
        if fast is not None:
            t0 = time.perf_counter()
            fast.logits(normalized)
            out["fast_logits"] = time.perf_counter() - t0
            cache = getattr(fast, "cache", None)
            if cache is None:  # sublinear TF-IDF (1.0.0): counts, no cache
                return out, "TF-IDF fast path (no scikit-learn; n-gram counts per text)"
            return out, f"fast additive scorer (chunk cache: {cache.count:,} chunks after the runs)"
        parts = []
        for block in model.blocks:
            t0 = time.perf_counter()
            parts.append(block.vectorizer.transform(normalized))
            out[f"tfidf_{block.name}"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        _ = sp.hstack(parts, format="csr") @ model.coef
        out["stack_dot"] = time.perf_counter() - t0
        return out, "reference: scikit-learn TF-IDF blocks + sparse dot product"
    except (AttributeError, ImportError, TypeError) as exc:
        print(f"  breakdown skipped (model internals changed: {exc})")
        return {}, "unknown"


def workers_option() -> list[str]:
    done = subprocess.run(
        [sys.executable, "-m", "app", "score", "--help"], capture_output=True, text=True, cwd=REPO
    )
    return ["--workers", "2"] if "--workers" in done.stdout else []


def _tree(pid: int) -> list[int]:
    """pid and all its descendants (via /proc/<pid>/task/*/children)."""
    pids, i = [pid], 0
    while i < len(pids):
        for task in Path(f"/proc/{pids[i]}/task").glob("*"):
            try:
                pids += [int(c) for c in (task / "children").read_text().split()]
            except OSError:
                pass
        i += 1
    return pids


def _status_kb(pid: int, field: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def run_score(src: Path, out: Path, home: Path, model: Path, extra: list[str]) -> dict[str, float]:
    """One `python -m app --model M score` child: wall s, peak RSS (MB), and its JSON report."""
    report, time_file = out.with_suffix(".report.json"), out.with_suffix(".time")
    command = [sys.executable, "-m", "app", "--model", str(model), "score", str(src)]
    command += ["-o", str(out), "--quiet", "--report", str(report), *extra]
    if GNU_TIME:
        command = [GNU_TIME, "-f", "%M", "-o", str(time_file), *command]
    env = dict(os.environ, ABUSE_DESK_HOME=str(home), QT_QPA_PLATFORM="offscreen")
    tree_peak_kb = hwm_kb = 0
    t0 = time.perf_counter()
    child = subprocess.Popen(
        command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    while True:
        try:
            child.wait(timeout=POLL_S)
            break
        except subprocess.TimeoutExpired:
            pids = _tree(child.pid)[1 if GNU_TIME else 0 :]  # not /usr/bin/time itself
            tree_peak_kb = max(tree_peak_kb, sum(_status_kb(p, "VmRSS") for p in pids))
            if pids:
                hwm_kb = max(hwm_kb, _status_kb(pids[0], "VmHWM"))
    wall = time.perf_counter() - t0
    stdout, stderr = child.communicate()
    if child.returncode != 0:
        raise RuntimeError(f"score failed ({child.returncode}): {stderr.decode()[-2000:]}")
    # GNU time's %M is the largest maxrss among the process and the children it waited for (the
    # worker processes), not the main process's own: the main one is its polled VmHWM.
    largest_kb = int(time_file.read_text().split()[-1]) if GNU_TIME else hwm_kb
    job = json.loads(report.read_text())
    return {
        "wall_s": wall,
        "peak_rss_mb": hwm_kb / 1024,
        "largest_process_peak_rss_mb": max(hwm_kb, largest_kb) / 1024,
        "tree_peak_rss_mb": tree_peak_kb / 1024,
        **job,
    }


def count_rows(path: Path) -> int:
    with open(path, newline="", encoding="utf-8-sig") as fh:
        return sum(1 for _ in csv.reader(fh)) - 1  # minus the header


def end_to_end(
    rows: int, repeat: int, model: Path, extra: list[str], tmp: Path
) -> dict[str, float]:
    src = tmp / f"in-{rows}.csv"
    t0 = time.perf_counter()
    write_csv(src, rows, seed=7)
    print(
        f"  wrote {rows:,} rows ({src.stat().st_size / 1e6:,.0f} MB) in {time.perf_counter() - t0:.1f} s"
    )
    runs = []
    for r in range(repeat):
        out = tmp / f"out-{rows}.csv"
        run = run_score(src, out, tmp / f"home-{rows}-{r}", model, extra)
        written = count_rows(out)
        if not (written == rows == run["rows_read"] == run["rows_scored"] == run["rows_written"]):
            raise RuntimeError(f"{rows:,} rows in, {written:,} written (report: {run})")
        print(
            f"  run {r + 1}/{repeat}: {run['wall_s']:.1f} s wall, {rows / run['wall_s']:,.0f} rows/s, "
            f"peak RSS {run['peak_rss_mb']:,.0f} MB main, {run['largest_process_peak_rss_mb']:,.0f} MB "
            f"largest process, {run['tree_peak_rss_mb']:,.0f} MB all processes"
        )
        runs.append(run)
        out.unlink()
    src.unlink()
    key = f"e2e_{rows // 1000}k"
    return {
        f"{key}_wall_s": statistics.median(r["wall_s"] for r in runs),
        f"{key}_rows_per_s": statistics.median(rows / r["wall_s"] for r in runs),
        f"{key}_job_rows_per_s": statistics.median(rows / r["seconds"] for r in runs),
        f"{key}_peak_rss_mb": statistics.median(r["peak_rss_mb"] for r in runs),
        f"{key}_largest_process_peak_rss_mb": statistics.median(
            r["largest_process_peak_rss_mb"] for r in runs
        ),
        f"{key}_tree_peak_rss_mb": statistics.median(r["tree_peak_rss_mb"] for r in runs),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000, help="texts for the in-memory runs")
    parser.add_argument("--repeat", type=int, default=5, help="in-memory runs (median)")
    parser.add_argument("--e2e-rows", default="100000,1000000", help="comma-separated sizes")
    parser.add_argument("--e2e-repeat", type=int, default=3, help="runs per e2e size (median)")
    parser.add_argument("--e2e-large-repeat", type=int, default=1, help=f"... from {LARGE:,} rows")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="small sizes, for development (results in build/bench-quick)",
    )
    parser.add_argument("--no-peer", action="store_true", help="do not measure the peer")
    parser.add_argument("--model", type=Path, help="bundle folder (default: the bundled model)")
    args = parser.parse_args()
    if args.quick:
        args.rows, args.repeat, args.e2e_rows, args.e2e_repeat = 20_000, 2, "20000", 1
        quick_mode()
    if args.no_peer:
        os.environ["BENCH_NO_PEER"] = "1"
    sizes = [int(s) for s in args.e2e_rows.split(",") if s.strip()]

    model = (args.model or default_bundle_path()).resolve()
    scorer = Scorer.load(model)
    with_peer = peer.available()
    print(f"peer: {peer.peer_status()}")
    print(f"in memory, {args.rows:,} new tweet-like texts per run, {args.repeat} runs each:")
    figures, texts = in_memory(scorer, args.rows, args.repeat, with_peer, seed=11)
    texts = tweet_texts(args.rows, seed=11 + args.repeat)  # new ones again
    stages, path = breakdown(scorer, texts)
    figures.update({f"stage_{k}_us_per_text": 1e6 * v / len(texts) for k, v in stages.items()})
    print(f"  scoring path: {path}")
    del texts

    workers = workers_option()
    cores_used = "2 (--workers 2)" if workers else "1 (score has no --workers option)"
    print(f"end to end, python -m app score, cores: {cores_used}:")
    with tempfile.TemporaryDirectory(prefix="bench-batch-") as tmp:
        for rows in sizes:
            repeat = args.e2e_large_repeat if rows >= LARGE else args.e2e_repeat
            e2e = end_to_end(rows, repeat, model, workers, Path(tmp))  # same bundle as in memory
            key = f"e2e_{rows // 1000}k"
            if with_peer:
                e2e[f"{key}_ratio_to_peer_in_memory"] = (
                    e2e[f"{key}_rows_per_s"] / figures["peer_in_memory_texts_per_s"]
                )
            e2e[f"{key}_ratio_to_ours_in_memory"] = (
                e2e[f"{key}_rows_per_s"] / figures["in_memory_texts_per_s"]
            )
            figures.update(e2e)

    for key, value in figures.items():
        print(f"{key:44s} {value:14.3f}")
    record(
        "batch" if model == default_bundle_path().resolve() else f"batch ({model.name})",
        figures,
        {
            "model": scorer.version_label,
            "scoring_path": path,
            "in_memory_texts": args.rows,
            "repeat": args.repeat,
            "texts": f"bench/texts.py tweet-like (median ~80 chars), words of {vocabulary_source().name}",
            "e2e_rows": sizes,
            "e2e_repeat": {
                str(n): args.e2e_large_repeat if n >= LARGE else args.e2e_repeat for n in sizes
            },
            "e2e_cores": cores_used,
            "peak_rss": "peak_rss_mb: the main process's VmHWM (polled); largest_process: "
            + ("GNU time %M (folds in the workers)" if GNU_TIME else "as peak_rss_mb (no GNU time)")
            + "; tree: summed RSS of all processes (polled every 20 ms)",
            "peer": peer.peer_status(),
        },
    )


if __name__ == "__main__":
    main()
