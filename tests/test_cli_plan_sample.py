"""``plan --data SAMPLE.csv``: an audit sample is recognised and weighted by band."""

from __future__ import annotations

import json
from pathlib import Path

from app.core.analysis.workload import capacity_threshold
from app.core.audit import sample_source
from tests.cli_runner import run_cli
from tests.test_audit_sources import fill_verdicts, make_sample


def test_plan_on_an_audit_sample_uses_the_weighted_analysis(tmp_path: Path) -> None:
    path = make_sample(tmp_path)
    fill_verdicts(path)
    result = run_cli("plan", "--prevalence", "0.05", "--volume", "10000", "--capacity", "800",
                     "--data", str(path), "--json")  # fmt: skip
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    labelled = sample_source.from_file(path)
    weighted = sample_source.audit_dataset(labelled).analysis
    day = capacity_threshold(weighted, 0.05, 10_000, 800)
    assert data["data_kind"] == "sample" and data["data"] == str(path)
    assert data["data_name"] == "Audit sample: SAMPLE.csv"
    assert data["n_labelled"] == data["n"] == labelled.n_labelled
    assert data["n_unlabelled"] == 60 - labelled.n_labelled > 0
    assert data["population"] == labelled.population
    assert data["threshold_exact"] == day.threshold
    assert data["recall"] == day.recall and data["flagged_per_day"] == day.flagged_per_day
    lo, hi = data["ci95"]["recall"]
    assert lo <= day.recall <= hi and lo < hi  # stratified bootstrap: a real spread
    # the capacity threshold's interval, its replicates drawn within the sample's bands
    from app.core.analysis.intervals import Capacity
    from app.core.analysis.resampled import resampled_threshold_interval

    ds = sample_source.audit_dataset(labelled)
    found = resampled_threshold_interval(weighted, ds.resampler, Capacity(0.05, 10_000, 800))
    # the ends as readable as the threshold shown (issue 15, H6), still holding it
    assert data["threshold_ci95"] == [weighted.readable(found.low), weighted.readable(found.high)]
    assert data["threshold_ci95"][0] <= data["threshold"] <= data["threshold_ci95"][1]
    assert found.low <= day.threshold <= found.high
    words = run_cli("plan", "--prevalence", "0.05", "--volume", "10000", "--data", str(path))
    assert words.returncode == 0, words.stderr
    assert f"({labelled.n_labelled:,} labelled items" in words.stdout
    assert "estimates for the whole batch" in words.stdout


def test_an_unlabelled_sample_is_one_line(tmp_path: Path) -> None:
    path = make_sample(tmp_path)
    result = run_cli("plan", "--prevalence", "0.05", "--volume", "10000", "--data", str(path))
    assert result.returncode == 3 and result.stdout == ""  # EXIT_INPUT
    assert result.stderr.count("\n") == 1 and "no labelled item in band" in result.stderr
    assert str(path) in result.stderr
