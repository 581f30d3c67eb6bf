"""``score --mode fast|cascade|thorough`` end to end: outputs, the summary line, the report and
the activity log, and one-line refusals with the CLI's exit codes."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from app.core.engine.scoring import Scorer
from tests.cascade_fixture import FAST_FOLDER, band_for, texts, write_csv, write_encoder
from tests.cli_runner import run_cli

ENCODER = "abuse-mini 9.9.9"  # newer than any real abuse-mini bundled beside it


@pytest.fixture(scope="module")
def fast() -> Scorer:
    return Scorer.load(FAST_FOLDER)


@pytest.fixture(scope="module")
def rows() -> list[str]:
    return texts(90)


@pytest.fixture(scope="module")
def home(tmp_path_factory, fast, rows) -> Path:
    """User folders holding an (unsigned, allowed) tiny encoder whose band is for 2.0.0."""
    home = tmp_path_factory.mktemp("home")
    write_encoder(home / "data" / "models", fast, band_for(fast, rows), version="9.9.9")
    (home / "config").mkdir(parents=True)
    settings = {"schema_version": 1, "allow_unsigned_models": True}
    (home / "config" / "settings.json").write_text(json.dumps(settings))
    return home


def _read(out: Path) -> list[dict[str, str]]:
    with open(out, encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


def _score(home: Path, src: Path, out: Path, *args: str):
    return run_cli(
        "--model", "abuse-lr-2.0.0", "score", str(src), "-o", str(out), *args,
        ABUSE_DESK_HOME=str(home),
    )  # fmt: skip


def test_cascade_end_to_end(home, fast, rows, tmp_path):
    src = write_csv(tmp_path / "in.csv", rows)
    out, report = tmp_path / "out.csv", tmp_path / "report.json"
    result = _score(home, src, out, "--mode", "cascade", "--report", str(report))
    assert result.returncode == 0, result.stderr
    low, high = band_for(fast, rows)
    expected = sum(low <= s <= high for s in fast.score_many(rows)[0].tolist())
    assert 0 < expected < len(rows)
    assert f"{expected:,} rows re-scored by {ENCODER} (cascade: fast score from" in result.stdout
    got = _read(out)
    assert sum(r["model_version"] == ENCODER for r in got) == expected
    assert {r["model_version"] for r in got} == {ENCODER, fast.version_label}
    data = json.loads(report.read_text())
    assert data["mode"] == "cascade" and data["rows_rescored"] == expected
    assert data["rescored_by"] == ENCODER and data["model_version"] == fast.version_label
    export = tmp_path / "log.csv"
    assert run_cli("log", "export", str(export), ABUSE_DESK_HOME=str(home)).returncode == 0
    log = export.read_text(encoding="utf-8-sig")
    assert f'""rows_rescored"": {expected}' in log  # the batch_finished event's counts
    assert "mode cascade given with --mode" in log


def test_thorough_and_the_default_fast(home, rows, tmp_path):
    src = write_csv(tmp_path / "in.csv", rows)
    thorough = run_cli(
        "score", str(src), "-o", str(tmp_path / "t.csv"), "--mode", "thorough",
        ABUSE_DESK_HOME=str(home),
    )  # fmt: skip
    assert thorough.returncode == 0, thorough.stderr
    assert {r["model_version"] for r in _read(tmp_path / "t.csv")} == {ENCODER}
    assert "re-scored" not in thorough.stdout
    assert f"model {ENCODER} at threshold" in thorough.stdout
    fast = _score(home, src, tmp_path / "f.csv")
    assert fast.returncode == 0, fast.stderr
    assert {r["model_version"] for r in _read(tmp_path / "f.csv")} == {"abuse-lr 2.0.0"}
    assert "re-scored" not in fast.stdout


def test_a_band_for_another_fast_model_is_refused_in_one_line(home, rows, tmp_path):
    src = write_csv(tmp_path / "in.csv", rows)
    out = tmp_path / "out.csv"
    result = run_cli(
        "--model", "abuse-lr-1.0.0", "score", str(src), "-o", str(out), "--mode", "cascade",
        ABUSE_DESK_HOME=str(home),
    )  # fmt: skip
    assert result.returncode == 4
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr
    assert "abuse-lr 1.0.0" in lines[0] and ENCODER in lines[0] and "abuse-lr 2.0.0" in lines[0]
    assert not out.exists()


def test_unknown_mode_is_a_usage_error(home, rows, tmp_path):
    src = write_csv(tmp_path / "in.csv", rows)
    result = _score(home, src, tmp_path / "out.csv", "--mode", "slow")
    assert result.returncode == 2 and "invalid choice" in result.stderr


def test_a_model_given_for_the_run_is_never_swapped_for_the_other_engine(home, rows, tmp_path):
    """``--model`` names the model of this run: a mode that would score with the other engine
    only is refused in one line, not run with another model."""
    src = write_csv(tmp_path / "in.csv", rows)
    linear = _score(home, src, tmp_path / "a.csv", "--mode", "thorough")
    encoder_folder = home / "data" / "models" / "abuse-mini-9.9.9"
    encoder = run_cli(
        "--model", str(encoder_folder), "score", str(src), "-o", str(tmp_path / "b.csv"),
        ABUSE_DESK_HOME=str(home),
    )  # fmt: skip
    for result, named, use in (
        (linear, "abuse-lr 2.0.0", "--mode fast or --mode cascade"),
        (encoder, ENCODER, "--mode thorough or --mode cascade"),
    ):
        assert result.returncode == 4, result.stdout
        [line] = result.stderr.strip().splitlines()
        assert f"--model {named} is" in line and use in line
    assert not (tmp_path / "a.csv").exists() and not (tmp_path / "b.csv").exists()
