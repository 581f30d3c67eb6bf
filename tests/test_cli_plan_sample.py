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


def test_a_threshold_interval_reads_in_short_decimals() -> None:
    """Recheck N6: "(95% interval 0.94 – 0.9999994137146853)". Each end is the shortest decimal
    deciding the items as the raw end does (or the raw end rounded outwards), in text and JSON."""
    from app.cli.plan import _threshold_ci
    from app.core.analysis.thresholds import ThresholdAnalysis

    scores = [0.2, 0.93, 0.9400012, 0.99934, 0.9993512, 0.9999991, 0.9999994137146853]
    analysis = ThresholdAnalysis(scores, [0, 0, 1, 0, 1, 1, 1])
    # 0.9999994 lies above 0.9999991 (the next score down) and at or below the raw end
    assert _threshold_ci(analysis, 0.9400012, 0.9999994137146853, 0.99935) == [0.94, 0.9999994]
    # no short decimal between two scores 1e-13 apart: the ends are rounded outwards (the
    # interval only widens), 9 decimals at most
    close = ThresholdAnalysis([0.1, 0.3333333331, 0.3333333331001, 0.9], [0, 1, 1, 1])
    assert _threshold_ci(close, 0.3333333331001, 0.9, 0.5) == [0.333333333, 0.9]
    close_high = ThresholdAnalysis([0.1, 0.6666666661, 0.6666666661001], [0, 1, 1])
    assert _threshold_ci(close_high, 0.1, 0.6666666661001, 0.5) == [0.1, 0.666666667]
