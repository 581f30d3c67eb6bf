"""`make bench`: run every benchmark script in this folder (bench_*.py), one process each.

Usage: python bench/run_all.py [--quick] [--only core,batch] [--skip gui] [--no-peer]
       [--model models/abuse-lr-1.0.0]
--quick passes each script its small-and-fast options (for development: the figures are not
comparable with a full run) and sends every result to build/bench-quick/ instead of bench/.
A failing script is reported and the others still run; the exit status is 1 if any failed.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from bench.results import quick_mode, results_dir  # noqa: E402

QUICK = {
    "core": ["--quick"],
    "batch": ["--quick"],
    "gui": ["--quick"],
    "heartbeat": ["--rows", "100000", "--xlsx-rows", "20000"],
    "startup": ["--repeat", "2"],
    "switch": ["--repeat", "3"],
    "day": ["--quick"],
    "supervisor": ["--quick"],
    "engines": ["--quick"],
    "quality": ["--quick"],
}
TAKES_PEER_AND_MODEL = {"core", "batch", "engines"}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, few repeats")
    parser.add_argument("--only", default="", help="comma-separated names, e.g. core,batch")
    parser.add_argument("--skip", default="", help="comma-separated names to leave out")
    parser.add_argument("--no-peer", action="store_true", help="do not measure the peer")
    parser.add_argument(
        "--model", help="bundle folder for core and batch (recorded as e.g. 'core (<folder>)')"
    )
    args = parser.parse_args()
    only = {n.strip() for n in args.only.split(",") if n.strip()}
    skip = {n.strip() for n in args.skip.split(",") if n.strip()}
    if args.quick:
        quick_mode()  # the children inherit it: quick figures never replace bench/results.*
    failed, started = [], time.perf_counter()
    for script in sorted(HERE.glob("bench_*.py")):
        name = script.stem.removeprefix("bench_")
        if (only and name not in only) or name in skip:
            continue
        command = [sys.executable, str(script)]
        if args.quick:
            command += QUICK.get(name, [])
        if args.no_peer and name in TAKES_PEER_AND_MODEL:
            command.append("--no-peer")
        if args.model and name in TAKES_PEER_AND_MODEL:
            command += ["--model", args.model]
        load = " / ".join(f"{x:.2f}" for x in os.getloadavg())
        print(f"== {script.name} {' '.join(command[2:])} (load average {load})", flush=True)
        t0 = time.perf_counter()
        done = subprocess.run(command)
        status = "ok" if done.returncode == 0 else f"FAILED (exit {done.returncode})"
        print(f"== {script.name}: {status} in {time.perf_counter() - t0:.0f} s", flush=True)
        if done.returncode != 0:
            failed.append(script.name)
    print(f"== all done in {time.perf_counter() - started:.0f} s; results in {results_dir()}")
    if failed:
        print(f"== failed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
