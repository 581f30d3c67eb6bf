"""The README's measured figures are rendered from bench/results.json and the bundled models
(bench/figures.py), never typed: this fails when the README's block is not what they render."""

from __future__ import annotations

import json
from pathlib import Path

from bench.figures import BEGIN, END, readme_block, render

REPO = Path(__file__).resolve().parents[1]


def _results() -> dict:
    return json.loads((REPO / "bench" / "results.json").read_text(encoding="utf-8"))


def test_the_readme_block_is_what_the_results_and_bundles_render():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert readme.count(BEGIN) == 1 and readme.count(END) == 1
    assert readme_block(readme) == render(REPO / "models", _results()), (
        "README figures drifted: run python bench/figures.py"
    )


def test_a_changed_figure_changes_the_block():
    results = _results()
    before = render(REPO / "models", results)
    results.setdefault("engines", {"figures": {}, "measured_utc": "x"})
    results["engines"]["figures"]["fast_e2e_over_peer_ratio"] = 12.5
    assert "12.50" in render(REPO / "models", results) and "12.50" not in before


def test_every_bundled_model_has_a_row_with_its_own_test_auc():
    from app.core.bundles.bundle import find_bundles

    block = render(REPO / "models", _results())
    for folder in find_bundles(REPO / "models"):
        name, _, version = folder.name.rpartition("-")
        assert f"| {name} {version} |" in block
