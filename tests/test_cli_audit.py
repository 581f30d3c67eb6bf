"""``python -m app audit sample|estimate``: the JSON keys the issue names, and one-line errors."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from tests.cli_runner import run_cli
from tests.test_audit_sample import _write_scored


def test_sample_then_estimate_in_json_and_text(tmp_path: Path) -> None:
    scored, out = tmp_path / "scored.csv", tmp_path / "SAMPLE.csv"
    _write_scored(scored)
    done = run_cli("audit", "sample", str(scored), "--size", "40", "--seed", "3",
                   "--threshold", "0.45", "-o", str(out))  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "wrote 40 rows" in done.stdout and "seed 3" in done.stdout
    with open(out, encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh))
    col = rows[0].index("verdict")
    for i, row in enumerate(rows[1:]):
        row[col] = "" if i % 5 == 4 else ("abusive" if float(row[2]) >= 0.5 else "benign")
    with open(out, "w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows(rows)
    est = run_cli("audit", "estimate", str(out), "--threshold", "0.45", "--threshold", "0.6",
                  "--volume", "10000", "--json")  # fmt: skip
    assert est.returncode == 0, est.stderr
    doc = json.loads(est.stdout)
    assert doc["n_labelled"] == 32 and doc["n_unlabelled"] == 8
    assert [t["threshold"] for t in doc["thresholds"]] == [0.45, 0.6]
    for key in ("precision", "recall", "prevalence", "flag_rate"):
        assert set(doc["thresholds"][0][key]) >= {"estimate", "ci95"}
    text = run_cli("audit", "estimate", str(out), "--positive", "abusive", "--threshold", "0.5")
    assert text.returncode == 0 and "precision" in text.stdout and "32 of 40" in text.stdout


def test_errors_are_one_line(tmp_path: Path) -> None:
    scored, out = tmp_path / "scored.csv", tmp_path / "SAMPLE.csv"
    _write_scored(scored)
    same = run_cli("audit", "sample", str(scored), "--size", "5", "-o", str(scored))
    assert same.returncode == 3 and len(same.stderr.splitlines()) == 1
    assert "the input" in same.stderr
    usage = run_cli("audit", "sample", str(scored), "--size", "0", "-o", str(out))
    assert usage.returncode == 2 and len(usage.stderr.splitlines()) == 1
    # 9 rows cannot give each of the 4 bands the 10 the README promises (issue 15, H2/H14).
    small = run_cli("audit", "sample", str(scored), "--size", "9", "-o", str(out))
    assert small.returncode == 3 and len(small.stderr.splitlines()) == 1
    assert str(scored) in small.stderr and "at least 40" in small.stderr
    assert run_cli("audit", "sample", str(scored), "--size", "40", "-o", str(out)).returncode == 0
    _edit_verdict(out, "perhaps")
    bad = run_cli("audit", "estimate", str(out), "--threshold", "0.5", "--json")
    assert bad.returncode == 3 and len(bad.stderr.splitlines()) == 1
    assert str(out) in bad.stderr and "perhaps" in bad.stderr
    missing = run_cli("audit", "estimate", str(out))
    assert missing.returncode == 2 and "--threshold" in missing.stderr


def _edit_verdict(path: Path, value: str) -> None:
    with open(path, encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh))
    rows[1][rows[0].index("verdict")] = value
    with open(path, "w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows(rows)
