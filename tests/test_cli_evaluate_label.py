"""``evaluate`` without ``--label-column`` finds the label column as the app preselects it."""

from __future__ import annotations

import json

from tests.cli_runner import run_cli

ROWS = [
    ("you worthless idiot", "1"),
    ("see you at lunch", "0"),
    ("shut up loser", "1"),
    ("thanks for the help", "0"),
]


def _write(path, header):
    lines = [",".join(header)] + [f"{i},{t},{g}" for i, (t, g) in enumerate(ROWS)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_label_column_found_by_name_and_said(tmp_path, bundled_scorer):
    src = _write(tmp_path / "gold.csv", ["id", "tweet", "Class"])
    found = run_cli("evaluate", str(src), "--json")
    assert found.returncode == 0, found.stderr
    assert "label column 'Class' of gold.csv" in found.stderr
    given = run_cli("evaluate", str(src), "--label-column", "Class", "--json")
    assert json.loads(found.stdout) == json.loads(given.stdout)
    assert "label column" not in given.stderr  # given: nothing to say


def test_no_label_column_is_a_usage_error_naming_file_and_columns(tmp_path):
    src = _write(tmp_path / "plain.csv", ["id", "tweet", "verdict"])
    result = run_cli("evaluate", str(src))
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert "plain.csv: no label column found" in result.stderr
    assert "'id', 'tweet', 'verdict'" in result.stderr and "--label-column" in result.stderr


def test_the_text_column_is_never_taken_for_the_label(tmp_path, bundled_scorer):
    src = tmp_path / "two.csv"
    src.write_text("label,gold\n" + "".join(f"{t},{g}\n" for t, g in ROWS), encoding="utf-8")
    result = run_cli("evaluate", str(src), "--text-column", "label", "--json")
    assert result.returncode == 0, result.stderr
    assert "label column 'gold'" in result.stderr
    assert json.loads(result.stdout)["n"] == 4


def test_evaluate_names_its_columns_and_says_when_names_were_renamed(tmp_path, bundled_scorer):
    src = tmp_path / "dup.csv"
    rows = "".join(f"{g},{t},{g}\n" for t, g in ROWS)
    src.write_text("label,text,label\n" + rows, encoding="utf-8")
    text = run_cli("evaluate", str(src))
    assert text.returncode == 0, text.stderr
    assert "text column 'text', label column 'label'\n" in text.stdout
    assert "duplicate column names renamed: label → label, label.1\n" in text.stdout
    data = json.loads(run_cli("evaluate", str(src), "--json").stdout)
    assert data["text_column"] == "text" and data["label_column"] == "label"
    assert data["columns_renamed"] == "label → label, label.1"
    plain = json.loads(run_cli("evaluate", str(_write(tmp_path / "p.csv", ["id", "text", "label"])),
                               "--json").stdout)  # fmt: skip
    assert plain["columns_renamed"] == "" and plain["text_column"] == "text"


def test_blank_texts_are_blank_and_unreadable_records_rejected(tmp_path, bundled_scorer):
    """The batch job's words: ``score`` says "1 rejected, 2 blank" for this file, so does evaluate."""
    lines = ["text,label", *(f"{t},{g}" for t, g in ROWS), ",1", ",0", '"broken,1']
    src = tmp_path / "gold.csv"
    src.write_text("\n".join(lines) + "\n", encoding="utf-8")
    text = run_cli("evaluate", str(src))
    assert text.returncode == 0, text.stderr
    left_out = [line for line in text.stdout.splitlines() if line.startswith("left out:")]
    assert left_out == [
        "left out: 1 rejected (first: line 8: unterminated quote (line 8)), "
        "2 blank (empty text, not scored)"
    ]
    assert "blank text" not in text.stdout
    data = json.loads(run_cli("evaluate", str(src), "--json").stdout)
    assert (data["rows_rejected"], data["rows_blank"]) == (1, 2)
    assert [r["line"] for r in data["rejected"]] == [8]
    assert data["definitions"]["rows_blank"].startswith("blank:")
