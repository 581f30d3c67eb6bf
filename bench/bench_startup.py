"""Launch-to-window and launch-to-first-score, for the source checkout and the frozen bundle.

Each launch is a fresh process with a fresh user folder, run offscreen with
``ABUSE_DESK_STARTUP_PROBE`` set: the app records (wall clock) when its window was first shown,
when the model was ready and when the first text was scored, then quits (see app/ui/shell/startup.py).
Times are measured from just before the process is spawned. Goals on this machine: window
within 1.0 s, first score within 2.0 s. Medians over --repeat launches (the first launch of each
kind is a warm-up and is not counted: it fills the OS file cache).
Usage: python bench/bench_startup.py [--repeat 7]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.results import record  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
BUNDLE = REPO / "dist" / "abuse-desk" / "abuse-desk"


def launch(command: list[str], tmp: Path) -> dict[str, float]:
    probe = tmp / "probe.json"
    probe.unlink(missing_ok=True)
    env = dict(
        os.environ,
        QT_QPA_PLATFORM="offscreen",
        ABUSE_DESK_HOME=str(tmp / f"home-{time.monotonic_ns()}"),
        ABUSE_DESK_STARTUP_PROBE=str(probe),
    )
    t0 = time.time()
    subprocess.run(command, env=env, cwd=REPO, check=True, timeout=120, stderr=subprocess.DEVNULL)
    times = json.loads(probe.read_text())
    return {key: times[key] - t0 for key in ("window", "model", "first_score")}


def measure(command: list[str], repeat: int, tmp: Path) -> dict[str, float]:
    launch(command, tmp)  # warm-up
    runs = [launch(command, tmp) for _ in range(repeat)]
    return {
        f"{key}_s": statistics.median(run[key] for run in runs)
        for key in ("window", "model", "first_score")
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    figures: dict[str, float] = {}
    kinds = {"source": [sys.executable, "-m", "app"]}
    if BUNDLE.exists():
        kinds["bundle"] = [str(BUNDLE)]
    else:
        print(f"no bundle at {BUNDLE}: run `make bundle` to time it too")
    with tempfile.TemporaryDirectory() as tmp_name:
        for kind, command in kinds.items():
            for key, value in measure(command, args.repeat, Path(tmp_name)).items():
                figures[f"{kind}_{key}"] = value
    for key, value in figures.items():
        print(f"{key:28s} {value:8.3f} s")
    record(
        "startup",
        figures,
        {
            "repeat": args.repeat,
            "goal": "window <= 1.0 s, first score <= 2.0 s",
            "kinds": sorted(kinds),
        },
    )


if __name__ == "__main__":
    main()
