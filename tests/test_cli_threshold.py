"""The command line decides at the app-wide threshold a supervisor applied (issue 13's first step):
the same setting the desktop app uses, unless --threshold says otherwise, and it says which."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli_runner import run_cli


@pytest.fixture
def home(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    (home / "config").mkdir(parents=True)
    settings = {"schema_version": 1, "threshold": 0.6}
    (home / "config" / "settings.json").write_text(json.dumps(settings))
    return home


def test_score_text_uses_the_app_wide_threshold(home: Path) -> None:
    result = run_cli("score-text", "you are an idiot", "--json", ABUSE_DESK_HOME=str(home))
    assert result.returncode == 0, result.stderr
    row = json.loads(result.stdout)["results"][0]
    assert row["threshold"] == 0.6
    assert row["label"] == ("abusive" if row["score"] >= 0.6 else "benign")
    given = run_cli(
        "score-text", "you are an idiot", "--json", "--threshold", "0.2", ABUSE_DESK_HOME=str(home)
    )
    assert json.loads(given.stdout)["results"][0]["threshold"] == 0.2


def test_score_labels_at_the_app_wide_threshold_and_says_so(home: Path, tmp_path: Path) -> None:
    source = tmp_path / "in.csv"
    source.write_text("id,text\n1,you are an idiot\n2,have a nice day\n", encoding="utf-8")
    out = tmp_path / "out.csv"
    result = run_cli("score", str(source), "-o", str(out), ABUSE_DESK_HOME=str(home))
    assert result.returncode == 0, result.stderr
    assert "flagged at 0.60)" in result.stdout
    assert "at threshold 0.60 (the app-wide threshold; --threshold overrides it)" in result.stdout
    provenance = json.loads(Path(f"{out}.provenance.json").read_text())
    assert provenance["threshold"] == 0.6
    export = tmp_path / "log.csv"
    assert run_cli("log", "export", str(export), ABUSE_DESK_HOME=str(home)).returncode == 0
    assert "batch_finished" in export.read_text(encoding="utf-8-sig")
    again = run_cli(
        "score", str(source), "-o", str(out), "--threshold", "0.3", ABUSE_DESK_HOME=str(home)
    )
    assert again.returncode == 0, again.stderr
    assert "at threshold 0.30 (given with --threshold)" in again.stdout


def test_score_shadow_scores_with_the_app_wide_challenger(tmp_path: Path) -> None:
    home = tmp_path / "home"
    chosen = run_cli("models", "challenger", "abuse-lr-1.0.0", ABUSE_DESK_HOME=str(home))
    assert chosen.returncode == 0, chosen.stderr
    source = tmp_path / "in.csv"
    source.write_text("id,text\n1,you are an idiot\n2,have a nice day\n", encoding="utf-8")
    out = tmp_path / "out.csv"
    result = run_cli("score", str(source), "-o", str(out), ABUSE_DESK_HOME=str(home))
    assert result.returncode == 0, result.stderr
    assert "challenger abuse-lr 1.0.0 shadow-scored every row (the app-wide challenger)" in (
        result.stdout
    )
    header = out.read_text(encoding="utf-8-sig").splitlines()[0]
    assert "challenger_score" in header
    plain = tmp_path / "plain.csv"
    off = run_cli(
        "score", str(source), "-o", str(plain), "--challenger", "none", ABUSE_DESK_HOME=str(home)
    )
    assert off.returncode == 0, off.stderr
    assert "challenger_score" not in plain.read_text(encoding="utf-8-sig").splitlines()[0]
    assert "shadow-scored" not in off.stdout


def test_score_text_says_which_threshold_and_model_it_used(home: Path) -> None:
    result = run_cli("score-text", "nobody asked", ABUSE_DESK_HOME=str(home))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split("\t")[1] == "benign"  # 2.0.0 (default): ~0.54, abusive at 0.45 only
    assert lines[-1] == (
        "model abuse-lr 2.0.0 at threshold 0.60 (the app-wide threshold; --threshold overrides it)"
    )
    as_json = json.loads(
        run_cli("score-text", "nobody asked", "--json", ABUSE_DESK_HOME=str(home)).stdout
    )
    assert (as_json["threshold"], as_json["threshold_source"]) == (0.6, "app-wide")
    given = run_cli("score-text", "nobody asked", "--threshold", "0.45", ABUSE_DESK_HOME=str(home))
    assert given.stdout.splitlines()[0].split("\t")[1] == "abusive"
    assert given.stdout.splitlines()[-1].endswith("at threshold 0.45 (given with --threshold)")


def test_evaluate_reports_at_the_app_wide_threshold_unless_told(home: Path, tmp_path: Path) -> None:
    labelled = tmp_path / "labelled.csv"
    labelled.write_text(
        "text,label\nyou idiot,1\nhello friend,0\nnobody asked,0\n", encoding="utf-8"
    )
    base = ["evaluate", str(labelled), "--label-column", "label", "--positive", "1"]

    def evaluated(*extra: str) -> dict:
        result = run_cli(*base, *extra, "--json", ABUSE_DESK_HOME=str(home))
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)

    app_wide = evaluated()
    assert [m["threshold"] for m in app_wide["thresholds"]] == [0.6]
    assert app_wide["thresholds"][0]["fp"] == 0  # "nobody asked" (~0.54) is not flagged at 0.6
    assert app_wide["threshold_source"] == "app-wide"
    given = evaluated("--threshold", "0.45")
    assert [m["threshold"] for m in given["thresholds"]] == [0.45]
    assert given["thresholds"][0]["fp"] == 1
    assert given["threshold_source"] == "option"
    several = evaluated("--thresholds", "0.3,0.5")
    assert [m["threshold"] for m in several["thresholds"]] == [0.3, 0.5]
    assert several["threshold_source"] == "option"
    text = run_cli(*base, ABUSE_DESK_HOME=str(home))
    assert "\nthreshold 0.60   [[TP 1  FN 0]  [FP 0  TN 2]]" in text.stdout
    assert text.stdout.rstrip().endswith(
        "model abuse-lr 2.0.0 at threshold 0.60 (the app-wide threshold; --threshold overrides it)"
    )


def test_a_fresh_install_says_the_threshold_is_the_default(tmp_path: Path) -> None:
    fresh = tmp_path / "fresh"
    result = run_cli("score-text", "go home", ABUSE_DESK_HOME=str(fresh))
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1].endswith(
        "at threshold 0.45 (the default: no app-wide threshold applied; --threshold overrides it)"
    )
    as_json = json.loads(
        run_cli("score-text", "go home", "--json", ABUSE_DESK_HOME=str(fresh)).stdout
    )
    assert as_json["threshold_source"] == "default"


def test_the_log_shows_a_command_line_run_and_every_override(home: Path, tmp_path: Path) -> None:
    import csv

    source = tmp_path / "in.csv"
    source.write_text("id,text\n1,you are an idiot\n2,have a nice day\n", encoding="utf-8")
    plain = run_cli("score", str(source), "-o", str(tmp_path / "a.csv"), ABUSE_DESK_HOME=str(home))
    assert plain.returncode == 0, plain.stderr
    overridden = run_cli(
        "score", str(source), "-o", str(tmp_path / "b.csv"), "--threshold", "0.7",
        "--challenger", "none", ABUSE_DESK_HOME=str(home),
    )  # fmt: skip
    assert overridden.returncode == 0, overridden.stderr
    export = tmp_path / "log.csv"
    assert run_cli("log", "export", str(export), ABUSE_DESK_HOME=str(home)).returncode == 0
    with open(export, encoding="utf-8-sig", newline="") as fh:
        started = [r for r in csv.DictReader(fh) if r["action"] == "batch_started"]
    assert len(started) == 2
    assert started[0]["detail"].endswith("; command line")
    assert started[1]["detail"].endswith(
        "; command line; threshold 0.70 given with --threshold (app-wide 0.60); "
        "no challenger (--challenger none)"
    )


def test_info_says_what_this_workstation_decides_with(home: Path, tmp_path: Path) -> None:
    text = run_cli("info", ABUSE_DESK_HOME=str(home))
    assert text.returncode == 0, text.stderr
    assert "  decides at: 0.60 (the app-wide threshold; --threshold overrides it)" in text.stdout
    assert "  challenger: none" in text.stdout
    as_json = json.loads(run_cli("info", "--json", ABUSE_DESK_HOME=str(home)).stdout)
    assert (as_json["threshold"], as_json["threshold_source"]) == (0.6, "app-wide")
    assert as_json["challenger"] is None
    fresh = json.loads(run_cli("info", "--json", ABUSE_DESK_HOME=str(tmp_path / "new")).stdout)
    assert (fresh["threshold"], fresh["threshold_source"]) == (0.45, "default")


@pytest.mark.parametrize(
    "content",
    ['{"schema_version": 1, "threshold": "0.6"}', '{"schema_version": 99, "threshold": 0.7}', "{"],
    ids=["invalid", "newer", "damaged"],
)
def test_an_unusable_settings_threshold_is_called_the_default(tmp_path: Path, content: str) -> None:
    home = tmp_path / "home"
    (home / "config").mkdir(parents=True)
    (home / "config" / "settings.json").write_text(content)
    result = run_cli("score-text", "go home", ABUSE_DESK_HOME=str(home))
    assert result.returncode == 0, result.stderr
    assert result.stderr.count("\n") == 1 and "warning" in result.stderr
    assert result.stdout.splitlines()[-1].endswith(
        "at threshold 0.45 (the default: the settings' threshold could not be used "
        "(see the warning above))"
    )
