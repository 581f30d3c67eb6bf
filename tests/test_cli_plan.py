"""``plan``: a threshold's day at a prevalence and volume, as JSON and words, and its errors."""

from __future__ import annotations

import json

import pytest

from app.core.analysis.thresholds import ThresholdAnalysis
from app.core.analysis.workload import capacity_threshold, recall_floor_threshold, workload_at
from tests.cli_runner import run_cli

KEYS = {"threshold", "flagged_per_day", "caught_per_day", "missed_per_day",
        "false_alarms_per_day", "recall", "precision"}  # fmt: skip


@pytest.fixture(scope="module")
def bundled(bundled_scorer) -> ThresholdAnalysis:
    a = bundled_scorer.bundle.arrays
    return ThresholdAnalysis(a["eval_scores.npy"], a["eval_labels.npy"])


def _one_line_error(result, code: int) -> str:
    assert result.returncode == code, (result.stdout, result.stderr)
    assert result.stdout == "" and result.stderr.count("\n") == 1
    assert "Traceback" not in result.stderr
    return result.stderr


def test_capacity_rule_as_json_matches_the_core(bundled) -> None:
    result = run_cli("plan", "--prevalence", "0.05", "--volume", "10000", "--capacity", "1000",
                     "--json")  # fmt: skip
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert KEYS <= set(data) and data["rule"] == "capacity" and data["data"] == "bundled"
    day = capacity_threshold(bundled, 0.05, 10_000, 1000)
    assert data["threshold_exact"] == day.threshold
    # the readable threshold decides every item as the exact one does
    assert (
        workload_at(bundled, data["threshold"], 0.05, 10_000).flagged_per_day == day.flagged_per_day
    )
    for key in ("flagged", "caught", "missed", "false_alarms"):
        assert data[f"{key}_per_day"] == pytest.approx(getattr(day, f"{key}_per_day"))
        lo, hi = data["ci95"][f"{key}_per_day"]
        assert lo <= data[f"{key}_per_day"] <= hi
    assert data["flagged_per_day"] <= 1000 and data["backlog_per_day"] == 0
    assert data["flagged_per_day"] == pytest.approx(
        data["caught_per_day"] + data["false_alarms_per_day"]
    )
    assert data["caught_per_day"] + data["missed_per_day"] == pytest.approx(500)
    assert data["recall"] == day.recall and data["precision"] == pytest.approx(day.precision)
    lo, hi = data["threshold_ci95"]
    assert lo <= data["threshold_exact"] <= hi
    again = json.loads(run_cli("plan", "--prevalence", "0.05", "--volume", "10000",
                               "--capacity", "1000", "--json").stdout)  # fmt: skip
    assert again == data  # seeded: the same numbers each run


def test_recall_floor_and_both_rules(bundled) -> None:
    floor = json.loads(run_cli("plan", "--prevalence", "0.05", "--volume", "10000",
                               "--recall-at-least", "0.9", "--json").stdout)  # fmt: skip
    assert floor["threshold_exact"] == recall_floor_threshold(bundled, 0.9, 0.05, 1e4).threshold
    assert floor["rule"] == "recall floor" and floor["recall"] >= 0.9
    both = run_cli("plan", "--prevalence", "0.05", "--volume", "10000", "--capacity", "3000",
                   "--recall-at-least", "0.9", "--json")  # fmt: skip
    assert both.returncode == 0, both.stderr
    assert json.loads(both.stdout)["recall"] >= 0.9
    short = run_cli("plan", "--prevalence", "0.05", "--volume", "10000", "--capacity", "1000",
                    "--recall-at-least", "0.9", "--json")  # fmt: skip
    line = _one_line_error(short, 3)
    assert "capacity of 1,000/day cannot meet recall >= 0.9" in line


def test_neither_rule_plans_the_app_wide_threshold_in_words(bundled) -> None:
    result = run_cli("plan", "--prevalence", "0.05", "--volume", "10000")
    assert result.returncode == 0, result.stderr
    day = workload_at(bundled, 0.45, 0.05, 10_000)
    assert "threshold 0.45: the default threshold (none applied yet)" in result.stdout
    assert f"{day.flagged_per_day:,.1f}" in result.stdout
    assert "re-weighted to prevalence 5.00% and 10,000 messages a day" in result.stdout


def test_saved_prevalence_and_volume_are_used_when_not_given(tmp_path) -> None:
    (tmp_path / "config").mkdir()
    saved = {"schema_version": 1, "expected_prevalence": 0.05, "daily_volume": 10000}
    (tmp_path / "config" / "settings.json").write_text(json.dumps(saved))
    from_settings = run_cli("plan", "--json", ABUSE_DESK_HOME=str(tmp_path))
    given = run_cli("plan", "--prevalence", "0.05", "--volume", "10000", "--json")
    assert json.loads(from_settings.stdout) == json.loads(given.stdout)


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--prevalence", "0", "--volume", "10"], "--prevalence: must be above 0 and below 1"),
        (["--prevalence", "1", "--volume", "10"], "--prevalence: must be above 0 and below 1"),
        (["--prevalence", "nan", "--volume", "10"], "not a finite number"),
        (["--prevalence", "0.1", "--volume", "-5"], "--volume: must be above 0"),
        (["--prevalence", "0.1", "--volume", "ten"], "--volume: not a number"),
        (["--prevalence", "0.1", "--volume", "9", "--capacity", "-1"], "must be 0 or more"),
        (["--prevalence", "0.1", "--volume", "9", "--recall-at-least", "2"], "between 0 and 1"),
        (["--volume", "10"], "--prevalence is required"),
        (["--prevalence", "0.1", "--volume", "9", "--capacity", "5", "--threshold", "0.5"],
         "cannot be given with --capacity"),
        (["--prevalence", "0.1", "--volume", "9", "--data", ""], "argument --data"),
        (["--prevalence", "0.1", "--volume", "9", "--seed", "-3"], "argument --seed"),
    ],
)  # fmt: skip
def test_bad_numbers_are_one_usage_line(args, words) -> None:
    assert words in _one_line_error(run_cli("plan", *args), 2)


def test_unreadable_or_unknown_sources_are_one_line_naming_them(tmp_path) -> None:
    missing = tmp_path / "gone.csv"
    line = _one_line_error(run_cli("plan", "--prevalence", "0.1", "--volume", "9",
                                   "--data", str(missing)), 3)  # fmt: skip
    assert "gone.csv" in line
    binary = tmp_path / "junk.csv"
    binary.write_bytes(b"\x00\xff" * 200)
    assert "junk.csv" in _one_line_error(
        run_cli("plan", "--prevalence", "0.1", "--volume", "9", "--data", str(binary),
                "--label-column", "label"), 3)  # fmt: skip
    line = _one_line_error(run_cli("plan", "--prevalence", "0.1", "--volume", "9",
                                   "--data", "bundled:nope"), 3)  # fmt: skip
    assert "bundled:nope" in line and "bundled:olid" in line


def test_a_labelled_csv_is_read_as_evaluate_reads_it(tmp_path) -> None:
    rows = ["you worthless idiot,1", "see you at lunch,0", "shut up loser,1",
            "thanks for the help,0", "you are a moron,1", "nice weather today,0"]  # fmt: skip
    src = tmp_path / "gold.csv"
    src.write_text("text,label\n" + "\n".join(rows) + "\n", encoding="utf-8")
    result = run_cli("plan", "--prevalence", "0.1", "--volume", "1000", "--data", str(src),
                     "--json")  # fmt: skip
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["n"] == 6 and data["positives"] == 3 and data["data_name"] == "gold.csv"
    assert "label column 'label' of gold.csv" in result.stderr
    assert len(data["warnings"]) == 4  # every cell is under 30 items
    one_class = tmp_path / "one.csv"
    one_class.write_text("text,label\nhello,0\nbye,0\n", encoding="utf-8")
    line = _one_line_error(run_cli("plan", "--prevalence", "0.1", "--volume", "9",
                                   "--data", str(one_class), "--label-column", "label"), 3)  # fmt: skip
    assert "one.csv: all 2 labelled rows are benign" in line


def test_no_capacity_flags_nothing_and_says_precision_is_undefined(bundled) -> None:
    result = run_cli("plan", "--prevalence", "0.05", "--volume", "10000", "--capacity", "0")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    # Issue 15 (H6): "flag nothing" is the answer, never a threshold above 1 `score` refuses.
    assert lines[2].startswith("no threshold: flag nothing")
    assert repr(bundled.flag_nothing_threshold) not in result.stdout
    assert any(line.split()[:2] == ["precision", "n/a"] for line in lines)
    data = json.loads(run_cli("plan", "--prevalence", "0.05", "--volume", "10000",
                              "--capacity", "0", "--json").stdout)  # fmt: skip
    assert data["precision"] is None and data["ci95"]["precision"] == [None, None]
    assert data["threshold"] is None and data["threshold_exact"] is None
    assert data["flag_nothing"] is True
    assert all(x is None or x <= 1 for x in data["threshold_ci95"])
    assert data["flagged_per_day"] == 0 and data["missed_per_day"] == pytest.approx(500)
