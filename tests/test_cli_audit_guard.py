"""Issue 15 test-pass findings on ``audit sample`` / ``audit estimate``: -o never replaces a
user's file (H1), an ambiguous score column is refused (H13), errors name the file (H14), a
sample without verdicts exits 3 with what to do (N13), and the volume is checked as ``plan``
checks it (H11). Each failure is one stderr line."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from tests.cli_runner import run_cli
from tests.test_audit_sample import _write_scored


def _draw(scored: Path, out: Path, *extra: str):
    return run_cli("audit", "sample", str(scored), "--size", "40", "--seed", "3",
                   "--threshold", "0.45", "-o", str(out), *extra)  # fmt: skip


def _one_line(done, code: int = 3) -> str:
    assert done.returncode == code, (done.stdout, done.stderr)
    assert len(done.stderr.splitlines()) == 1, done.stderr
    return done.stderr


@pytest.mark.parametrize("kind", ["notes", "scored", "sidecar", "labelled"])
def test_o_never_replaces_a_users_file(tmp_path: Path, kind: str) -> None:
    scored = tmp_path / "scored.csv"
    _write_scored(scored)
    (tmp_path / "scored.csv.provenance.json").write_text('{"model_version": "m"}')
    other = tmp_path / "other.csv"
    _write_scored(other)
    labelled = tmp_path / "labelled.csv"
    assert _draw(scored, labelled).returncode == 0
    target = {
        "notes": tmp_path / "notes.txt",
        "scored": other,
        "sidecar": tmp_path / "scored.csv.provenance.json",
        "labelled": labelled,
    }[kind]
    if kind == "notes":
        target.write_text("my notes\n")
    before = target.read_bytes()
    assert str(target) in _one_line(_draw(scored, target))
    assert target.read_bytes() == before
    if kind != "labelled":  # --overwrite replaces only an earlier audit sample
        assert str(target) in _one_line(_draw(scored, target, "--overwrite"))
        assert target.read_bytes() == before
    assert not (tmp_path / "scored.csv.provenance.json.provenance.json").exists()


def test_overwrite_replaces_an_earlier_sample(tmp_path: Path) -> None:
    scored, out = tmp_path / "scored.csv", tmp_path / "SAMPLE.csv"
    _write_scored(scored)
    assert _draw(scored, out).returncode == 0
    again = run_cli("audit", "sample", str(scored), "--size", "50", "--seed", "4",
                    "--threshold", "0.45", "-o", str(out), "--overwrite")  # fmt: skip
    assert again.returncode == 0, again.stderr
    with open(out, encoding="utf-8-sig", newline="") as fh:
        assert len(list(csv.reader(fh))) == 51


def test_a_sidecar_name_taken_by_another_file_is_refused(tmp_path: Path) -> None:
    scored, out = tmp_path / "scored.csv", tmp_path / "SAMPLE.csv"
    _write_scored(scored)
    side = tmp_path / "SAMPLE.csv.provenance.json"
    side.write_text("mine")
    assert str(side) in _one_line(_draw(scored, out, "--overwrite"))
    assert side.read_text() == "mine" and not out.exists()


def test_a_duplicate_score_column_is_refused(tmp_path: Path) -> None:
    scored, dup = tmp_path / "scored.csv", tmp_path / "dup.csv"
    _write_scored(scored)
    with open(scored, encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh))
    with open(dup, "w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows([[*rows[0], "abuse_score"]] + [[*r, "0.01"] for r in rows[1:]])
    line = _one_line(_draw(dup, tmp_path / "S.csv"))
    assert str(dup) in line and "'abuse_score'" in line
    assert not (tmp_path / "S.csv").exists()


def test_a_too_small_size_names_the_file(tmp_path: Path) -> None:
    scored = tmp_path / "scored.csv"
    _write_scored(scored)
    done = run_cli("audit", "sample", str(scored), "--size", "1", "-o", str(tmp_path / "S.csv"))
    assert str(scored) in _one_line(done) and "at least 40" in done.stderr


def test_estimate_without_verdicts_exits_3_with_what_to_do(tmp_path: Path) -> None:
    scored, out = tmp_path / "scored.csv", tmp_path / "SAMPLE.csv"
    _write_scored(scored)
    assert _draw(scored, out).returncode == 0
    line = _one_line(run_cli("audit", "estimate", str(out), "--threshold", "0.5"))
    assert str(out) in line and "label at least one item of every band (Review panel)" in line


def _labelled_sample(tmp_path: Path) -> Path:
    """A drawn sample whose verdicts are filled in (abusive where the score is ≥ 0.5)."""
    scored, out = tmp_path / "scored.csv", tmp_path / "SAMPLE.csv"
    _write_scored(scored)
    assert _draw(scored, out).returncode == 0
    with open(out, encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh))
    col = rows[0].index("verdict")
    for row in rows[1:]:
        row[col] = "abusive" if float(row[2]) >= 0.5 else "benign"
    with open(out, "w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows(rows)
    return out


@pytest.mark.parametrize(("volume", "code"), [("0", 2), ("1e309", 2), ("1e308", 0)])
def test_estimate_volume_as_plan_takes_it(tmp_path: Path, volume: str, code: int) -> None:
    out = _labelled_sample(tmp_path)
    done = run_cli("audit", "estimate", str(out), "--threshold", "0.45", "--volume", volume,
                   "--json")  # fmt: skip
    assert done.returncode == code, done.stderr
    if code == 0:
        row = json.loads(done.stdout)["thresholds"][0]
        assert row["false_alarms_per_day"]["estimate"] is not None
        assert "undefined" not in row["false_alarms_per_day"]


def test_a_huge_volume_is_written_readably(tmp_path: Path) -> None:
    out = _labelled_sample(tmp_path)
    done = run_cli("audit", "estimate", str(out), "--threshold", "0.45", "--volume", "1e308")
    assert done.returncode == 0, done.stderr
    day = [ln for ln in done.stdout.splitlines() if "/day" in ln]
    assert len(day) == 2 and all("e+30" in ln and len(ln) < 80 for ln in day), day


@pytest.mark.parametrize("volume", ["0", "-5"])
def test_a_volume_not_above_0_says_so_as_plan_does(tmp_path: Path, volume: str) -> None:
    """Recheck H11: "--volume 0" said "not a number: '0'"; it says what plan says."""
    sample = tmp_path / "SAMPLE.csv"
    sample.write_text("verdict\n", encoding="utf-8")
    done = run_cli("audit", "estimate", str(sample), "--threshold", "0.45", f"--volume={volume}")
    planned = run_cli("plan", "--prevalence", "0.05", f"--volume={volume}")
    assert done.returncode == planned.returncode == 2
    assert f"argument --volume: must be above 0, got {volume}" in done.stderr
    assert f"argument --volume: must be above 0, got {volume}" in planned.stderr
    assert "not a number" not in done.stderr and done.stderr.count("\n") <= 2
