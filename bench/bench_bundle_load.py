"""What does validating a bundle cost when it loads? (issue 12: schema, limits, probe scores)

Loads both bundled models several times in one process and prints medians of:
* ``verify_parse_s``: hash, parse (with limits) and schema-check every file (`load_verified`);
* ``model_s``: rebuild the model from the parsed bundle, including the probe scores;
* ``total_s``: the two together (what activating a version costs on its worker).
Run it against another checkout to compare: ``PYTHONPATH=<checkout> python
bench/bench_bundle_load.py`` (the models are read from this file's checkout either way).
Usage: python bench/bench_bundle_load.py [--repeat 9]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

from app.core.bundles.bundle import load_verified
from app.core.engine.scoring import Scorer

MODELS = Path(__file__).resolve().parents[1] / "models"


def measure(folder: Path, repeat: int) -> dict[str, float]:
    Scorer(load_verified(folder))  # warm the imports (scikit-learn is not one of them)
    parse, build = [], []
    for _ in range(repeat):
        started = time.perf_counter()
        bundle = load_verified(folder)
        parsed = time.perf_counter()
        Scorer(bundle)
        parse.append(parsed - started)
        build.append(time.perf_counter() - parsed)
    return {
        "verify_parse_s": round(statistics.median(parse), 4),
        "model_s": round(statistics.median(build), 4),
        "total_s": round(statistics.median(a + b for a, b in zip(parse, build, strict=True)), 4),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=9)
    args = parser.parse_args()
    results = {p.name: measure(p, args.repeat) for p in sorted(MODELS.iterdir()) if p.is_dir()}
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
