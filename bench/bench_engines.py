"""The two engines side by side, cold: what the issue's speed targets are measured by.

* Texts: real-looking and of mixed length: 70 % tweets and 30 % comments of about 500
  characters. When the public data is beside the checkout (``../shared/data``) the tweets are
  its texts (sampled without replacement, so no text repeats inside a run) and each comment
  joins several other tweets; otherwise they are generated (bench/texts.py) and the context
  says so. Each run has new texts.
* Fast end to end vs the peer, cold: ``python -m app score IN -o OUT --quiet`` as a fresh
  process (first run: nothing cached, Python start-up and the model load included) on a CSV of
  --rows texts, against the peer's in-memory ``predict_prob`` on the same texts in another
  fresh process (its load not counted); the ratio is ours/peer, median of --repeat runs.
* Thorough and cascade end to end: the same command with ``--mode thorough`` / ``--mode
  cascade`` (when ``score`` has ``--mode``), rows/s, and the share re-scored.
* Single-text latency at 500 characters, p50/p99 over unseen texts, fast and thorough
  interleaved in one process.
* Thorough batch rate: texts/s on 2,000 unseen tweets in one call, in process.
* Memory: peak RSS of a fresh process that loads the thorough engine and scores 1,000 texts.
* Size of the frozen bundle when ``dist/abuse-desk`` exists (``make bundle``).

Figures go to bench/results.json under "engines". Usage: python bench/bench_engines.py
[--rows 20000] [--repeat 3] [--thorough models/abuse-mini-1.0.0] [--quick] [--no-peer]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import peer  # noqa: E402
from bench.results import quick_mode, record  # noqa: E402
from bench.texts import make_texts, tweet_texts  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
PUBLIC = REPO.parent / "shared" / "data"
COMMENT_CHARS = 500


def _public_tweets() -> list[str] | None:
    davidson, olid = (
        PUBLIC / "davidson" / "labeled_data.csv",
        PUBLIC / "olid" / "olid-training-v1.0.tsv",
    )
    if not (davidson.is_file() and olid.is_file()):
        return None
    with open(davidson, newline="", encoding="utf-8") as fh:
        texts = [row["tweet"] for row in csv.DictReader(fh)]
    with open(olid, encoding="utf-8") as fh:
        texts += [line.split("\t")[1] for line in fh.read().splitlines()[1:] if "\t" in line]
    return list(dict.fromkeys(t for t in texts if t.strip()))


def mixed_texts(n: int, seed: int, pool: list[str] | None) -> list[str]:
    """70 % tweets, 30 % comments of about 500 characters, shuffled; distinct within a run."""
    rng = random.Random(seed)
    comments = int(n * 0.3)
    if pool is None:
        texts = tweet_texts(n - comments, seed=seed) + make_texts(
            comments, COMMENT_CHARS, seed=seed
        )
    else:
        chosen = rng.sample(pool, min(len(pool), n - comments))
        texts = [" ".join(t.split()) for t in chosen]
        for _ in range(comments):
            parts: list[str] = []
            while sum(len(p) + 1 for p in parts) < COMMENT_CHARS:
                parts.append(" ".join(rng.choice(pool).split()))
            texts.append(" ".join(parts)[:COMMENT_CHARS].rsplit(" ", 1)[0])
    rng.shuffle(texts)
    return texts


def _write(path: Path, texts: list[str]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["id", "text"])
        writer.writerows(enumerate(texts))


def _score(csv_path: Path, out: Path, home: Path, model: list[str], mode: str = "fast") -> float:
    """Seconds of one cold ``score`` in a fresh process (``model``: [] or ["--model", M])."""
    env = dict(os.environ, ABUSE_DESK_HOME=str(home), QT_QPA_PLATFORM="offscreen")
    command = [sys.executable, "-m", "app", *model, "score", str(csv_path), "-o", str(out)]
    command += ["--quiet", "--overwrite", "--mode", mode]
    t0 = time.perf_counter()
    done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)}: {done.stderr.strip()[-300:]}")
    return seconds


def _fresh_process(code: str, argument: str) -> str:
    """What ``code`` prints, run in a fresh interpreter with ``argument`` and this checkout as
    sys.argv[1:3]."""
    done = subprocess.run(
        [sys.executable, "-c", code, argument, str(REPO)],
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout


def _peer_rate(csv_path: Path) -> float:
    """The peer's in-memory texts/s on the file's texts, in a fresh process (load not counted)."""
    code = (
        "import csv,sys,time; sys.path.insert(0, sys.argv[2]); from bench import peer;"
        "texts=[r['text'] for r in csv.DictReader(open(sys.argv[1], newline='', encoding='utf-8'))];"
        "peer.peer_predict_prob(['warm up']); t=time.perf_counter(); peer.peer_predict_prob(texts);"
        "print(len(texts)/(time.perf_counter()-t))"
    )
    return float(_fresh_process(code, str(csv_path)).strip().splitlines()[-1])


def _has_modes() -> bool:
    done = subprocess.run(
        [sys.executable, "-m", "app", "score", "--help"], cwd=REPO, capture_output=True, text=True
    )
    return "--mode" in done.stdout


def _latency(
    fast_path: str | None, thorough: Path | None, pool: list[str] | None
) -> dict[str, float]:
    from app.core.engine.scoring import Scorer, default_bundle_path

    scorers = {"fast": Scorer.load(fast_path or default_bundle_path())}
    if thorough is not None:
        scorers["thorough"] = Scorer.load(thorough)
    texts = [t for t in mixed_texts(3000, 99, pool) if len(t) >= COMMENT_CHARS - 40][:300]
    for scorer in scorers.values():
        scorer.score_text("warm up the code paths", 0.45)
    times: dict[str, list[float]] = {name: [] for name in scorers}
    for i, text in enumerate(texts):
        for name in list(scorers)[:: 1 if i % 2 else -1]:
            t0 = time.perf_counter()
            scorers[name].score_text(text, 0.45)
            times[name].append((time.perf_counter() - t0) * 1000)
    out: dict[str, float] = {}
    for name, values in times.items():
        values.sort()
        out[f"{name}_single_500_chars_p50_ms"] = statistics.median(values)
        out[f"{name}_single_500_chars_p99_ms"] = values[int(0.99 * (len(values) - 1))]
    return out


def _thorough_batch_rate(thorough: Path, pool: list[str] | None) -> dict[str, float]:
    """Texts/s of the thorough engine on 2,000 unseen tweets in one batch, in this process
    (the model loaded, the texts never scored before)."""
    from app.core.engine.scoring import Scorer

    scorer = Scorer.load(thorough)
    tweets = [t for t in mixed_texts(6000, 4242, pool) if len(t) < 300][:2000]
    started = time.perf_counter()
    scorer.model.predict_proba(tweets)
    return {"thorough_tweets_texts_per_s": len(tweets) / (time.perf_counter() - started)}


def _thorough_rss(thorough: Path, pool: list[str] | None) -> dict[str, float]:
    code = (
        "import sys; sys.path.insert(0, sys.argv[2]); from app.core.engine.scoring import Scorer;"
        "from bench.bench_engines import mixed_texts, _public_tweets;"
        "s=Scorer.load(sys.argv[1]); s.score_many(mixed_texts(1000, 7, _public_tweets()));"
        "f=open('/proc/self/status').read().split('\\n');"
        "print(*[l.split()[1] for l in f if l.startswith(('VmRSS','VmHWM'))])"
    )
    rss, hwm = (int(x) / 1024 for x in _fresh_process(code, str(thorough)).split())
    return {"thorough_process_rss_mb": rss, "thorough_process_peak_rss_mb": hwm}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--thorough", type=Path, default=REPO / "models" / "abuse-mini-1.0.0")
    parser.add_argument("--model", help="the fast bundle (default: the default fast model)")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--no-peer", action="store_true")
    args = parser.parse_args()
    if args.quick:
        quick_mode()
        args.rows, args.repeat = 2000, 1
    pool = _public_tweets()
    thorough = args.thorough if (args.thorough / "manifest.json").is_file() else None
    with_peer = not args.no_peer and peer.available()
    modes = _has_modes() and thorough is not None
    figures: dict[str, float] = {}
    runs: dict[str, list[float]] = {}
    model = ["--model", args.model] if args.model else []
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.repeat):
            csv_path = Path(tmp) / f"run{r}.csv"
            _write(csv_path, mixed_texts(args.rows, 1000 + r, pool))
            home = Path(tmp) / f"home{r}"
            seconds = _score(csv_path, Path(tmp) / "out.csv", home, model)
            runs.setdefault("fast_e2e_rows_per_s", []).append(args.rows / seconds)
            if with_peer:
                rate = _peer_rate(csv_path)
                runs.setdefault("peer_in_memory_texts_per_s", []).append(rate)
                runs.setdefault("fast_e2e_over_peer_ratio", []).append(args.rows / seconds / rate)
            if modes:
                for mode in ("cascade", "thorough"):
                    seconds = _score(csv_path, Path(tmp) / "out.csv", home, model, mode)
                    runs.setdefault(f"{mode}_e2e_rows_per_s", []).append(args.rows / seconds)
            print(
                f"  run {r + 1}/{args.repeat}: "
                + ", ".join(f"{k} {v[-1]:,.1f}" for k, v in runs.items())
            )
    figures |= {k: statistics.median(v) for k, v in runs.items()}
    figures |= _latency(args.model, thorough, pool)
    if thorough is not None:
        figures |= _thorough_batch_rate(thorough, pool)
        figures |= _thorough_rss(thorough, pool)
    dist = REPO / "dist" / "abuse-desk"
    if dist.is_dir():
        figures["frozen_bundle_mb"] = (
            sum(p.stat().st_size for p in dist.rglob("*") if p.is_file() and not p.is_symlink())
            / 1e6
        )
    context = {
        "texts": f"{args.rows:,} per run, 70 % tweets / 30 % ~500-character comments, "
        + ("public Davidson + OLID texts" if pool else "generated (no ../shared/data)"),
        "runs": args.repeat,
        "peer": peer.peer_status() if with_peer else "skipped",
        "thorough": thorough.name if thorough else "no encoder bundle",
        "modes": "measured" if modes else "score has no --mode yet" if thorough else "skipped",
    }
    for key, value in figures.items():
        print(f"{key}: {value:,.3f}")
    record("engines", figures, context)
    print(json.dumps(context))


if __name__ == "__main__":
    main()
