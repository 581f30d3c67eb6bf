"""``score --bands REVIEW ESCALATE`` / ``--no-bands`` and the settings' band policy on the command
line: the abuse_band column, cut points in the higher band, the summary, score-text's band, and
one-line refusals."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from tests.cli_runner import run_cli


@pytest.fixture
def home(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    (home / "config").mkdir(parents=True)
    settings = {"schema_version": 1, "band_review_at": 0.2, "band_escalate_at": 0.9}
    (home / "config" / "settings.json").write_text(json.dumps(settings))
    return home


@pytest.fixture
def source(tmp_path: Path) -> Path:
    path = tmp_path / "in.csv"
    path.write_text(
        "id,comment\n1,you stupid idiot moron\n2,have a nice day\n3,\n4,shut up you fool\n"
        "5,thanks for the help\n",
        encoding="utf-8",
    )
    return path


def _rows(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


def test_score_without_a_policy_writes_no_band(tmp_path: Path, source: Path) -> None:
    out = tmp_path / "plain.csv"
    result = run_cli("score", str(source), "-o", str(out))
    assert result.returncode == 0, result.stderr
    assert "abuse_band" not in _rows(out)[0] and "bands:" not in result.stdout
    assert "bands" not in json.loads(Path(f"{out}.provenance.json").read_text())


def test_cut_points_equal_to_scores_fall_in_the_higher_band(tmp_path: Path, source: Path) -> None:
    plain = tmp_path / "plain.csv"
    assert run_cli("score", str(source), "-o", str(plain)).returncode == 0
    scores = sorted(float(r["abuse_score"]) for r in _rows(plain) if r["abuse_score"])
    review, escalate = scores[1], scores[3]  # two rows' own scores, exactly (repr round-trips)
    out = tmp_path / "banded.csv"
    result = run_cli("score", str(source), "-o", str(out), "--bands", repr(review), repr(escalate))
    assert result.returncode == 0, result.stderr
    rows = _rows(out)
    assert list(rows[0])[2:5] == ["abuse_score", "abuse_label", "abuse_band"]
    by_score = {r["abuse_score"] and float(r["abuse_score"]): r["abuse_band"] for r in rows}
    # Sorted scores s0 < s1 < s2 < s3: s0 clear; s1 (= review) and s2 review; s3 (= escalate)
    # escalate; the blank text has no band.
    assert [by_score[s] for s in scores] == ["clear", "review", "review", "escalate"]
    assert by_score[""] == ""
    assert "bands: 1 clear, 2 review, 1 escalate" in result.stdout
    provenance = json.loads(Path(f"{out}.provenance.json").read_text())
    assert provenance["bands"] == {
        "review_at": review,
        "escalate_at": escalate,
        "rows": {"clear": 1, "review": 2, "escalate": 1},
    }


def test_the_settings_policy_is_used_unless_no_bands(home: Path, tmp_path: Path, source) -> None:
    out = tmp_path / "s.csv"
    result = run_cli("score", str(source), "-o", str(out), ABUSE_DESK_HOME=str(home))
    assert result.returncode == 0, result.stderr
    assert "(review at 0.20, escalate at 0.90)" in result.stdout and "abuse_band" in _rows(out)[0]
    again = run_cli(
        "score", str(source), "-o", str(out), "--no-bands", "--overwrite", ABUSE_DESK_HOME=str(home)
    )
    assert again.returncode == 0, again.stderr
    assert "abuse_band" not in _rows(out)[0] and "bands:" not in again.stdout


def test_a_policy_that_contradicts_the_threshold_is_noted(tmp_path: Path, source: Path) -> None:
    out = tmp_path / "s.csv"
    result = run_cli("score", str(source), "-o", str(out), "--bands", "0.1", "0.3")
    assert result.returncode == 0, result.stderr
    assert "note: the escalate cut 0.30 is below the threshold 0.45" in result.stdout


@pytest.mark.parametrize(
    ("values", "said"),
    [
        (["0.8", "0.3"], "REVIEW (0.8) must not be above ESCALATE (0.3)"),
        (["0.2", "1.5"], "must be between 0 and 1"),
        (["0.2", "nan"], "not a finite number"),
    ],
)
def test_bad_bands_are_one_line_exit_2(tmp_path: Path, source, values, said) -> None:
    out = tmp_path / "s.csv"
    for command in (["score", str(source), "-o", str(out)], ["score-text", "hello"]):
        result = run_cli(*command, "--bands", *values)
        assert result.returncode == 2 and said in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1 and not out.exists()
    both = run_cli("score", str(source), "-o", str(out), "--bands", "0.1", "0.2", "--no-bands")
    assert both.returncode == 2 and "not allowed with" in both.stderr


def test_score_text_gives_the_band(home: Path) -> None:
    result = run_cli("score-text", "you idiot", "--bands", "0.3", "0.6", "--json")
    assert result.returncode == 0, result.stderr
    [row] = json.loads(result.stdout)["results"]
    assert row["band"] == (
        "escalate" if row["score"] >= 0.6 else "review" if row["score"] >= 0.3 else "clear"
    )
    plain = json.loads(run_cli("score-text", "you idiot", "--json").stdout)["results"][0]
    assert "band" not in plain
    settings = run_cli("score-text", "hello there", ABUSE_DESK_HOME=str(home))
    assert ", clear\t" in settings.stdout  # the settings' policy: 0.2 / 0.9


def test_a_banded_output_is_ours_and_other_commands_read_it(tmp_path: Path, source: Path) -> None:
    out = tmp_path / "s.csv"
    for _ in range(2):  # the second run replaces its own earlier output without --overwrite
        result = run_cli("score", str(source), "-o", str(out), "--bands", "0.3", "0.7")
        assert result.returncode == 0, result.stderr
    assert "replaced the earlier output" in result.stderr
    labelled = tmp_path / "labelled.csv"
    labelled.write_text("comment,label\nyou stupid idiot,1\nnice day,0\n", encoding="utf-8")
    scored = tmp_path / "labelled.scored.csv"
    assert (
        run_cli("score", str(labelled), "-o", str(scored), "--bands", "0.3", "0.7").returncode == 0
    )
    evaluated = run_cli("evaluate", str(scored), "--label-column", "label", "--json")
    assert evaluated.returncode == 0, evaluated.stderr
    assert json.loads(evaluated.stdout)["n"] == 2
    xlsx = tmp_path / "s.xlsx"
    result = run_cli("score", str(source), "-o", str(xlsx), "--bands", "0.3", "0.7")
    assert result.returncode == 0 and "bands: " in result.stdout
    openpyxl = pytest.importorskip("openpyxl")
    header = [c.value for c in next(openpyxl.load_workbook(xlsx)["scored"].iter_rows())]
    assert header[2:5] == ["abuse_score", "abuse_label", "abuse_band"]
