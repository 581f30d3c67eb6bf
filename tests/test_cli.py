"""The command line, end to end, as a script would call it (a real subprocess)."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
from sklearn.metrics import confusion_matrix, f1_score, precision_score, recall_score, roc_auc_score

from tests.cli_runner import run_cli


def test_info_reports_verified_bundle(bundled_scorer):
    result = run_cli("info", "--json")
    assert result.returncode == 0, result.stderr
    info = json.loads(result.stdout)
    assert info["verified"] is True
    assert info["version"] == bundled_scorer.bundle.version
    assert info["files"] == bundled_scorer.bundle.file_hashes


def test_self_test_passes():
    result = run_cli("--self-test")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "[FAIL]" not in result.stdout and result.stdout.count("[ok]") == 9


def test_score_text_json_matches_core(bundled_scorer):
    texts = ["you are a worthless idiot", "see you at lunch", ""]
    result = run_cli("score-text", *texts, "--json", "--threshold", "0.6")
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)["results"]
    expected = bundled_scorer.model.predict_proba(texts[:2])
    assert [r["score"] for r in rows[:2]] == pytest.approx(expected.tolist(), abs=1e-12)
    assert [r["label"] for r in rows] == [
        "abusive" if expected[0] >= 0.6 else "benign",
        "abusive" if expected[1] >= 0.6 else "benign",
        "empty",
    ]


def test_score_csv_with_report(tmp_path, bundled_scorer):
    src = tmp_path / "log.csv"
    src.write_text('id,message\n1,you idiot\n2,"a, b",extra\n3,thanks a lot\n', encoding="utf-8")
    out, report_path = tmp_path / "scored.csv", tmp_path / "report.json"
    result = run_cli("score", str(src), "-o", str(out), "--report", str(report_path), "--quiet")
    assert result.returncode == 0, result.stderr
    report = json.loads(report_path.read_text())
    for key in (
        "rows_read",
        "rows_scored",
        "rows_rejected",
        "rows_blank",
        "rejected",
        "encoding",
        "delimiter",
        "text_column",
        "model_version",
        "threshold",
        "input_sha256",
        "seconds",
    ):
        assert key in report
    assert (report["rows_read"], report["rows_scored"], report["rows_rejected"]) == (3, 2, 1)
    assert report["rejected"][0]["line"] == 3
    with open(out, encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["id"] for r in rows] == ["1", "3"]
    assert "line 3" in result.stdout


def test_evaluate_json_equals_sklearn(tmp_path, bundled_scorer):
    rng = np.random.default_rng(4)
    words_bad, words_ok = (
        ["idiot", "stupid", "shut up", "bitch", "loser"],
        ["thanks", "lunch", "meeting", "friend"],
    )
    rows = []
    for i in range(300):
        bad = rng.random() < 0.5
        pool = words_bad if bad else words_ok
        text = f"{rng.choice(pool)} {rng.choice(words_ok + words_bad)} number {i}"
        rows.append((text, "OFF" if (bad if rng.random() > 0.15 else not bad) else "NOT"))
    src = tmp_path / "labelled.tsv"
    with open(src, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, delimiter="\t")
        writer.writerow(["tweet", "gold"])
        writer.writerows(rows)
    result = run_cli(
        "evaluate",
        str(src),
        "--label-column",
        "gold",
        "--positive",
        "OFF",
        "--thresholds",
        "0.3,0.45,0.5",
        "--json",
    )
    assert result.returncode == 0, result.stderr
    got = json.loads(result.stdout)
    scores = bundled_scorer.model.predict_proba([t for t, _ in rows])
    labels = np.array([1 if g == "OFF" else 0 for _, g in rows])
    assert got["auc"] == pytest.approx(roc_auc_score(labels, scores), abs=1e-12)
    for entry in got["thresholds"]:
        pred = (scores >= entry["threshold"]).astype(int)
        tn, fp, fn, tp = confusion_matrix(labels, pred, labels=[0, 1]).ravel()
        assert (entry["tn"], entry["fp"], entry["fn"], entry["tp"]) == (tn, fp, fn, tp)
        assert entry["precision"] == pytest.approx(precision_score(labels, pred, zero_division=0))
        assert entry["recall"] == pytest.approx(recall_score(labels, pred, zero_division=0))
        assert entry["f1"] == pytest.approx(f1_score(labels, pred, zero_division=0))
        assert entry["queue_rate"] == pytest.approx(pred.mean())
    best = max(np.unique(scores), key=lambda t: (f1_score(labels, scores >= t), t))
    # Reported as the shortest decimal that decides every row as the best score does.
    shown = got["best_f1_threshold"]
    assert len(repr(shown)) <= 8 and ((scores >= shown) == (scores >= best)).all()


@pytest.mark.parametrize(
    ("args", "code", "needle"),
    [
        (["score", "missing.csv", "-o", "x.csv"], 3, "missing.csv"),
        (["score-text"], 2, "(see abuse-desk score-text --help)"),
        (["score-text", "x", "--threshold", "1.5"], 2, "between 0 and 1"),
        (["--model", "no-such-bundle", "info"], 4, "no-such-bundle"),
    ],
)
def test_errors_are_one_line_with_exit_code(args, code, needle, tmp_path):
    result = run_cli(*args)
    assert result.returncode == code
    assert needle in result.stderr
    assert "Traceback" not in result.stderr


def test_empty_file_is_a_clear_input_error(tmp_path):
    src = tmp_path / "empty.csv"
    src.write_bytes(b"")
    result = run_cli("score", str(src), "-o", str(tmp_path / "o.csv"))
    assert result.returncode == 3
    assert "empty" in result.stderr and str(src) in result.stderr
    assert "Traceback" not in result.stderr and not (tmp_path / "o.csv").exists()


def test_tampered_model_exits_4(tmp_path, bundled_model_path):
    import shutil

    copy = tmp_path / bundled_model_path.name
    shutil.copytree(bundled_model_path, copy)
    (copy / "MODEL_CARD.md").write_text("edited")
    result = run_cli("--model", str(copy), "info")
    assert result.returncode == 4 and "MODEL_CARD.md" in result.stderr


def test_score_to_xlsx_says_how_many_cells_lost_control_characters(tmp_path, bundled_scorer):
    """XLSX cannot hold control characters: the summary, the --report JSON and the provenance
    sheet say how many cells had them replaced, instead of changing the text silently."""
    openpyxl = pytest.importorskip("openpyxl")
    src = tmp_path / "ctrl.csv"
    src.write_text('id,text\n1,"\x01\x02ctrl\x1b[31m"\n2,"a\x07b"\n3,plain\n', encoding="utf-8")
    out, report = tmp_path / "ctrl.xlsx", tmp_path / "report.json"
    result = run_cli("score", str(src), "-o", str(out), "--report", str(report))
    assert result.returncode == 0, result.stderr
    note = "2 cells in the data sheets had control characters replaced with U+FFFD (XLSX cannot hold them)"
    assert f"note: {note}" in result.stdout
    assert json.loads(report.read_text())["control_cells_replaced"] == 2
    book = openpyxl.load_workbook(out)
    provenance = {row[0].value: row[1].value for row in book["provenance"].iter_rows()}
    assert provenance["control_characters_replaced"] == note
    clean = run_cli("score", str(src), "-o", str(tmp_path / "ctrl.csv.out.csv"))
    assert "control characters" not in clean.stdout  # CSV keeps them: nothing to say


def test_xlsx_control_count_agrees_when_the_input_name_has_a_control(tmp_path, bundled_scorer):
    """An input named we\\x01ird.csv: the summary, --report and the provenance sheet give one
    count (the data sheets' cells), and the provenance names the input with \\x01, unreplaced."""
    openpyxl = pytest.importorskip("openpyxl")
    src = tmp_path / "we\x01ird.csv"
    src.write_text('id,text\n1,"a\x01b"\n2,"c\x02d"\n3,plain\n', encoding="utf-8")
    out, report = tmp_path / "c3.xlsx", tmp_path / "rep3.json"
    result = run_cli("score", str(src), "-o", str(out), "--report", str(report))
    assert result.returncode == 0, result.stderr
    note = "2 cells in the data sheets had control characters replaced with U+FFFD"
    assert f"note: {note}" in result.stdout
    assert json.loads(report.read_text())["control_cells_replaced"] == 2
    book = openpyxl.load_workbook(out)
    provenance = {row[0].value: row[1].value for row in book["provenance"].iter_rows()}
    assert provenance["control_characters_replaced"].startswith(note)
    assert "we\\x01ird.csv" in provenance["input"]
    assert not any("\ufffd" in str(v) for v in provenance.values())


def test_score_text_prints_scores_as_the_gui_shows_them_and_json_keeps_the_number(
    bundled_scorer,
):
    texts = ["you are a worthless stupid idiot moron", "see you at lunch"]
    exact = [float(s) for s in bundled_scorer.score_many(texts)[0]]
    shown = run_cli("score-text", *texts)
    assert shown.returncode == 0, shown.stderr
    scores = [line.split("\t")[0] for line in shown.stdout.splitlines()[:2]]
    from app.core.common.messages import fmt_score

    assert scores == [fmt_score(v) for v in exact]
    assert all(len(s.split(".")[-1]) == 3 for s in scores)  # three decimals, as in the GUI
    data = json.loads(run_cli("score-text", *texts, "--json").stdout)
    assert [r["score"] for r in data["results"]] == exact
