"""Issue 15 test-pass findings on ``plan``: "flag nothing" is said, never a threshold above 1
(H6); a finder's interval holds the threshold shown (H6); per-day counts and their intervals in
the same decimals (H12); recall and precision rounded in text (N6); and on an audit sample the
small-sample warnings count labelled items, by the rule the Threshold panel uses (N10)."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pytest

from app.core.analysis.planning import wilson_confidence
from app.core.audit import sample_source
from tests.cli_runner import run_cli
from tests.test_audit_sources import fill_verdicts, make_sample

DAY = ("--prevalence", "0.05", "--volume", "10000")


@pytest.mark.usefixtures("bundled_scorer")
@pytest.mark.parametrize("rule", [("--capacity", "0"), ("--capacity", "0.5"),
                                  ("--recall-at-least", "0")])  # fmt: skip
def test_flag_nothing_is_the_answer_never_a_threshold_above_1(rule) -> None:
    data = json.loads(run_cli("plan", *DAY, *rule, "--json").stdout)
    assert data["threshold"] is None and data["flag_nothing"] is True
    assert data["flagged_per_day"] == 0
    assert all(x is None or 0 <= x <= 1 for x in data["threshold_ci95"])
    text = run_cli("plan", *DAY, *rule)
    assert text.returncode == 0 and "flag nothing" in text.stdout
    assert "1.0000000000000002" not in text.stdout


@pytest.mark.usefixtures("bundled_scorer")
def test_a_huge_capacity_has_an_interval_holding_its_threshold() -> None:
    data = json.loads(run_cli("plan", *DAY, "--capacity", "1e308", "--json").stdout)
    lo, hi = data["threshold_ci95"]
    assert data["flag_nothing"] is False and lo <= data["threshold"] <= hi


@pytest.mark.usefixtures("bundled_scorer")
def test_per_day_counts_and_intervals_share_their_decimals() -> None:
    text = run_cli("plan", "--prevalence", "0.05", "--volume", "1.5").stdout
    assert "1.5 messages a day" in text
    for line in text.splitlines():
        m = re.match(r"\s+(?:flagged|caught|missed|false alarms) per day\s+([\d,.]+)\s+\(95% "
                     r"interval ([\d,.]+) – ([\d,.]+)\)", line)  # fmt: skip
        if m:
            est, lo, hi = (float(x.replace(",", "")) for x in m.groups())
            assert lo <= est <= hi, line
    rates = [ln for ln in text.splitlines() if ln.split()[:1] in (["recall"], ["precision"])]
    assert len(rates) == 2
    for line in rates:  # N6: never 0.9999999999999649
        assert re.fullmatch(r"\s+\w+\s+\d\.\d{4}\s+\(95% interval \d\.\d{4} – \d\.\d{4}\)", line)


def test_sample_warnings_count_labelled_items_as_the_panel_does(tmp_path: Path) -> None:
    path = make_sample(tmp_path)
    fill_verdicts(path)
    data = json.loads(run_cli("plan", *DAY, "--threshold", "0.9", "--data", str(path),
                              "--json").stdout)  # fmt: skip
    ds = sample_source.audit_dataset(sample_source.from_file(path))
    panel = wilson_confidence(ds.analysis, 0.9, ds.resampler).warnings
    assert data["warnings"] == panel and panel
    assert not any("≈" in w for w in panel)
    counted = ds.resampler.labelled_at(0.9)  # type: ignore[union-attr]
    assert counted.tp + counted.fp + counted.fn + counted.tn == data["n"]  # whole items


def test_sample_intervals_hold_their_estimates(tmp_path: Path) -> None:
    """A sample where no labelled abusive item was missed: recall 1.0 and 0 missed per day
    sit at the ends of their intervals, never outside them (as in ``audit estimate``)."""
    path = make_sample(tmp_path)
    with open(path, encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh))
    v, s = rows[0].index("verdict"), rows[0].index("abuse_score")
    for row in rows[1:]:  # the model is right on every item: recall 1.0, nothing missed
        row[v] = "abusive" if float(row[s]) >= 0.45 else "benign"
    with open(path, "w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows(rows)
    data = json.loads(run_cli("plan", *DAY, "--threshold", "0.45", "--data", str(path),
                              "--json").stdout)  # fmt: skip
    assert data["recall"] == 1.0 and data["missed_per_day"] == 0.0
    for key, value in [("recall", data["recall"]), ("precision", data["precision"]),
                       ("missed_per_day", data["missed_per_day"]),
                       ("flagged_per_day", data["flagged_per_day"])]:  # fmt: skip
        lo, hi = data["ci95"][key]
        assert lo <= value <= hi, (key, value, lo, hi)


@pytest.mark.usefixtures("bundled_scorer")
def test_the_threshold_line_shows_the_interval_as_json_has_it() -> None:
    data = json.loads(run_cli("plan", *DAY, "--capacity", "450", "--json").stdout)
    text = run_cli("plan", *DAY, "--capacity", "450").stdout.splitlines()[2]
    m = re.search(r"threshold ([\d.]+):.*\(95% interval ([\d.]+) – ([\d.]+)\)", text)
    assert m, text
    shown = [float(x) for x in m.groups()]
    assert shown == [data["threshold"], *data["threshold_ci95"]]  # no end rounded to 1.0000
    assert shown[1] <= shown[0] <= shown[2]
