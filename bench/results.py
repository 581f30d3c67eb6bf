"""Write benchmark figures to bench/results.json (merged per benchmark) and bench/results.md.

``record(name, figures, context)`` stores one benchmark's figures with the machine facts (cores,
CPU, RAM, OS, Python and library versions) and rewrites results.md: a machine-facts table first,
then one table per benchmark. A benchmark that measured the peer puts its status in
``context["peer"]`` (``"alt-profanity-check 1.9.1"`` or ``"skipped: ..."``, see bench/peer.py);
the facts table shows it.
"""

from __future__ import annotations

import importlib.metadata
import json
import math
import os
import platform
from datetime import UTC, datetime
from functools import cache
from pathlib import Path

HERE = Path(__file__).resolve().parent
# --quick runs (development) write elsewhere, so their small-size figures never replace real ones.
QUICK_DIR = HERE.parent / "build" / "bench-quick"


def results_dir() -> Path:
    """bench/, or $BENCH_RESULTS_DIR (set by the --quick options to build/bench-quick)."""
    folder = Path(os.environ.get("BENCH_RESULTS_DIR") or HERE)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def quick_mode() -> None:
    """Send this process's results (and its children's) to build/bench-quick/."""
    os.environ.setdefault("BENCH_RESULTS_DIR", str(QUICK_DIR))


# (label in results.md, distribution names to try)
PACKAGES = (
    ("numpy", ("numpy",)),
    ("scipy", ("scipy",)),
    ("scikit-learn", ("scikit-learn",)),
    ("PySide6", ("PySide6", "PySide6-Essentials")),
    ("matplotlib", ("matplotlib",)),
    ("abuse-desk", ("abuse-desk",)),
)
FACT_ORDER = ("cores", "cpu", "ram_gb", "os", "kernel", "python", *(p for p, _ in PACKAGES))


def _version(names: tuple[str, ...]) -> str:
    for name in names:
        try:
            return importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return "not installed"


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _ram_gb() -> float:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024**2, 1)
    except OSError:
        pass
    return float("nan")


def _os_name() -> str:
    try:
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                return line.split("=", 1)[1].strip('"')
    except OSError:
        pass
    return platform.system()


@cache
def machine_facts() -> dict[str, object]:
    """What a reader needs to compare figures across machines (no import of heavy modules)."""
    cores = os.cpu_count()
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else cores
    facts: dict[str, object] = {
        "cores": cores if usable == cores else f"{cores} ({usable} usable)",
        "cpu": _cpu_model(),
        "ram_gb": _ram_gb(),
        "os": _os_name(),
        "kernel": platform.release(),
        "python": platform.python_version(),
    }
    facts.update({label: _version(names) for label, names in PACKAGES})
    return facts


def _fmt(value: float) -> str:
    return f"{value:,.3f}" if abs(value) < 1e6 else f"{value:,.0f}"


def _markdown(data: dict[str, dict]) -> str:
    facts = machine_facts()
    lines = [
        "# Benchmark results",
        "",
        "Written by the scripts in bench/ (see bench/README.md). Medians over several runs on one "
        "machine; ratios compare figures measured in the same run of the same script. The load "
        "average (1, 5, 15 min) at the end of each benchmark shows whether other processes "
        "competed for the cores.",
        "",
        "## Machine",
        "",
        "| fact | value |",
        "|---|---|",
    ]
    lines += [f"| {key} | {facts[key]} |" for key in FACT_ORDER]
    peers = sorted({str(e["context"]["peer"]) for e in data.values() if "peer" in e["context"]})
    for peer in peers:
        where = ", ".join(b for b, e in data.items() if e["context"].get("peer") == peer)
        lines.append(f"| peer | {peer} ({where}) |")
    lines.append("")
    for bench, entry in data.items():
        machine = entry.get("machine", {})
        differs = [k for k in FACT_ORDER if k in machine and machine[k] != facts[k]]
        missing = [k for k in FACT_ORDER if k not in machine]
        load = entry.get("load_average_1_5_15")
        load_note = (
            f", load average {load[0]:g} / {load[1]:g} / {load[2]:g} at the end" if load else ""
        )
        lines += [f"## {bench} ({entry['measured_utc']}{load_note})", ""]
        if differs:
            lines += ["Measured with " + ", ".join(f"{k} {machine[k]}" for k in differs) + ".", ""]
        if missing:
            lines += ["Machine facts not recorded: " + ", ".join(missing) + ".", ""]
        if entry["context"]:
            context = "; ".join(f"{k}: {v}" for k, v in entry["context"].items())
            lines += [f"Context: {context}.", ""]
        lines += ["| figure | value |", "|---|---:|"]
        lines += [f"| {k} | {_fmt(v)} |" for k, v in entry["figures"].items()]
        lines.append("")
    return "\n".join(lines)


def record(name: str, figures: dict[str, float], context: dict[str, object]) -> None:
    """Store ``figures`` (numbers, units in their names; NaN dropped) under ``name``; rewrite
    results.md."""
    folder = results_dir()
    path = folder / "results.json"
    data = json.loads(path.read_text()) if path.exists() else {}
    data[name] = {
        "measured_utc": datetime.now(UTC).replace(microsecond=0).isoformat(),
        "machine": machine_facts(),
        # Other processes compete for the cores: a load well above the core count means noise.
        "load_average_1_5_15": [round(x, 2) for x in os.getloadavg()],
        "context": context,
        "figures": {k: round(float(v), 4) for k, v in figures.items() if math.isfinite(v)},
    }
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    (folder / "results.md").write_text(_markdown(data))
    if folder != HERE:
        print(f"results written to {folder}")
