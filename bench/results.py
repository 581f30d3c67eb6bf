"""Write benchmark figures to bench/results.json (merged per benchmark) and bench/results.md."""

from __future__ import annotations

import json
import os
import platform
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent


def record(name: str, figures: dict[str, float], context: dict[str, object]) -> None:
    path = HERE / "results.json"
    data = json.loads(path.read_text()) if path.exists() else {}
    data[name] = {
        "measured_utc": datetime.now(UTC).replace(microsecond=0).isoformat(),
        "machine": {
            "cores": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
        },
        "context": context,
        "figures": {k: round(v, 4) for k, v in figures.items()},
    }
    path.write_text(json.dumps(data, indent=2) + "\n")
    lines = [
        "# Benchmark results",
        "",
        "Written by the scripts in bench/; medians, one machine, one run each.",
        "",
    ]
    for bench, entry in data.items():
        lines += [
            f"## {bench} ({entry['measured_utc']}, {entry['machine']['cores']} cores, "
            f"Python {entry['machine']['python']})",
            "",
            "| figure | value |",
            "|---|---:|",
        ]
        lines += [f"| {k} | {v:,.3f} |" for k, v in entry["figures"].items()]
        lines.append("")
    (HERE / "results.md").write_text("\n".join(lines))
