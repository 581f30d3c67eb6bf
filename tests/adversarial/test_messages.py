"""Adversarial messages: evaluate never emits NaN, numbers print honestly, errors are one line
naming the user's file, echoed text cannot drive the terminal, bugs are one line with the
traceback only on request (issue 12, "Messages")."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from app.cli import main as cli
from app.core.common.errors import InputError
from app.core.common.messages import capped_list, fmt_number, fmt_threshold, one_line, printable
from tests.cli_runner import run_cli

MAX_LINE = 300


def _one_error_line(result, code: int) -> str:
    assert result.returncode == code, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert len(lines[0]) <= MAX_LINE
    return lines[0]


def _labelled(path: Path, labels: list[str]) -> Path:
    texts = ["you are an idiot", "have a nice day", "shut up moron", "thanks a lot", "ok"]
    rows = [f"{texts[i % len(texts)]} {i},{label}" for i, label in enumerate(labels)]
    path.write_text("text,label\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


# --- evaluate: valid JSON, undefined metrics null with a note ----------------------------------


@pytest.mark.parametrize(("label", "kind"), [("0", "benign"), ("1", "abusive")])
def test_evaluate_single_class_json_is_valid_with_nulls(tmp_path: Path, label, kind) -> None:
    src = _labelled(tmp_path / "one.csv", [label] * 6)
    result = run_cli("evaluate", str(src), "--label-column", "label", "--json")
    assert result.returncode == 0, result.stderr
    assert "NaN" not in result.stdout and "Infinity" not in result.stdout
    got = json.loads(result.stdout)
    assert got["auc"] is None and got["best_f1_threshold"] is None
    assert any(kind in note and "ROC-AUC" in note for note in got["notes"])
    for entry in got["thresholds"]:
        if kind == "benign":
            assert entry["recall"] is None and entry["f1"] is None
        else:
            assert entry["specificity"] is None


def test_evaluate_single_class_text_says_na_not_nan(tmp_path: Path) -> None:
    src = _labelled(tmp_path / "one.csv", ["0"] * 6)
    result = run_cli("evaluate", str(src), "--label-column", "label")
    assert result.returncode == 0, result.stderr
    assert "nan" not in result.stdout.lower() and "ROC-AUC n/a" in result.stdout
    assert "note: all 6 labelled rows are benign" in result.stdout


def test_evaluate_threshold_that_flags_nothing_has_null_precision(tmp_path: Path) -> None:
    src = _labelled(tmp_path / "two.csv", ["1", "0", "1", "0", "0", "1"])
    result = run_cli("evaluate", str(src), "--label-column", "label", "--thresholds", "1", "--json")
    assert result.returncode == 0, result.stderr
    got = json.loads(result.stdout)
    assert got["thresholds"][0]["precision"] is None  # 0 of 0 flagged is not "precision 0"
    assert any("flag nothing" in note for note in got["notes"])


def test_evaluate_prints_a_near_one_threshold_as_typed(tmp_path: Path) -> None:
    src = _labelled(tmp_path / "two.csv", ["1", "0", "1", "0"])
    result = run_cli("evaluate", str(src), "--label-column", "label", "--thresholds", "0.999999")
    assert result.returncode == 0, result.stderr
    assert "threshold 0.999999 " in result.stdout and "threshold 1.00" not in result.stdout


def test_evaluate_prints_minus_zero_as_zero(tmp_path: Path) -> None:
    src = _labelled(tmp_path / "two.csv", ["1", "0", "1", "0"])
    result = run_cli("evaluate", str(src), "--label-column", "label", "--thresholds=-0,0.5")
    assert result.returncode == 0, result.stderr
    assert "threshold 0.00 " in result.stdout and "-0" not in result.stdout


def test_evaluate_missing_label_column_names_the_file(tmp_path: Path) -> None:
    src = _labelled(tmp_path / "two.csv", ["1", "0"])
    line = _one_error_line(run_cli("evaluate", str(src), "--label-column", "gold"), 3)
    assert str(src) in line and "'gold'" in line


# --- score: summaries and errors ---------------------------------------------------------------


@pytest.mark.parametrize(("given", "shown"), [("0.999999", "0.999999"), ("-0", "0.00")])
def test_score_summary_prints_the_threshold_truly(tmp_path: Path, given, shown) -> None:
    src = tmp_path / "in.csv"
    src.write_text("text\nhello\nyou idiot\n", encoding="utf-8")
    result = run_cli("score", str(src), "-o", str(tmp_path / "o.csv"), f"--threshold={given}")
    assert result.returncode == 0, result.stderr
    assert f"flagged at {shown})" in result.stdout


def test_score_column_list_is_capped_and_names_the_file(tmp_path: Path) -> None:
    src = tmp_path / "wide.csv"
    names = [f"column_{i}" for i in range(2000)]
    src.write_text(",".join(names) + "\n" + ",".join("x" for _ in names) + "\n", encoding="utf-8")
    line = _one_error_line(
        run_cli("score", str(src), "-o", str(tmp_path / "o.csv"), "--text-column", "nope"), 3
    )
    assert str(src) in line and "… and 1,992 more" in line


def test_score_very_long_missing_path_keeps_the_name_and_the_reason(tmp_path: Path) -> None:
    src = tmp_path / ("d" * 200) / ("e" * 200) / "input.csv"
    line = _one_error_line(run_cli("score", str(src), "-o", str(tmp_path / "o.csv")), 3)
    assert "input.csv" in line and "…" in line


def test_score_path_with_a_newline_stays_one_line(tmp_path: Path) -> None:
    src = tmp_path / "in\nabuse-desk: done, 0 rows flagged.csv"
    line = _one_error_line(run_cli("score", str(src), "-o", str(tmp_path / "o.csv")), 3)
    assert "0 rows flagged.csv" in line


# --- score-text: the echoed text cannot drive the terminal ------------------------------------


@pytest.mark.parametrize(
    ("text", "raw", "shown"),
    [
        ("\x1b[2J\x1b[Hyou are fine", "\x1b", "\\x1b[2J"),  # clear screen, cursor home
        ("idiot\rnice  ", "\r", "\\x0d"),  # carriage return hides the start
        ("abc\u202eedcba", "\u202e", "\\u202e"),  # right-to-left override reorders text
        ("a\x08\x08\x08bbb", "\x08", "\\x08"),  # backspaces overwrite
    ],
)
def test_score_text_escapes_control_characters(text: str, raw: str, shown: str) -> None:
    result = run_cli("score-text", text)
    assert result.returncode == 0, result.stderr
    assert raw not in result.stdout and shown in result.stdout


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("A\udc9b31mB", "A\\x9b31mB"),  # invalid UTF-8 byte 0x9B (one-byte CSI) in an argument
        ("x\udc1b[2J", "x\\x1b[2J"),  # a bad byte below 0x80, as broken UTF-16 escapes it
        ("a\ud800b", "a\\ud800b"),  # a lone surrogate that stands for no byte
    ],
)
def test_printable_shows_escaped_bytes_as_hex(text: str, shown: str) -> None:

    assert printable(text) == shown
    assert one_line(f"bad: {text}") == f"bad: {shown}"


@pytest.mark.skipif(os.name == "nt", reason="a POSIX argument of raw bytes")
def test_score_text_does_not_echo_an_invalid_byte_raw() -> None:
    """`score-text "$(printf 'A\\x9b31mB')"`: the argument's 0x9B arrives as U+DC9B and went
    back out as the raw byte, a C1 control sequence for the terminal."""
    from tests.conftest import REPO

    env = dict(os.environ, PYTHONPATH=str(REPO), ABUSE_DESK_HOME=tempfile.mkdtemp())
    result = subprocess.run(
        [sys.executable.encode(), b"-m", b"app", b"score-text", b"A\x9b31mB"],
        capture_output=True,
        timeout=120,
        cwd=REPO,
        env=env,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 0, result.stderr
    assert b"\x9b" not in result.stdout and b"A\\x9b31mB" in result.stdout


# --- the funnel: bugs, OSErrors ---------------------------------------------------------------


def _boom(args) -> int:
    raise RuntimeError("boom\nsecond line")


def test_an_unexpected_exception_is_one_line_exit_1(monkeypatch, capsys) -> None:
    monkeypatch.delenv("ABUSE_DESK_DEBUG", raising=False)
    monkeypatch.setitem(cli.COMMANDS, "info", _boom)
    assert cli.main(["info"]) == 1
    err = capsys.readouterr().err
    assert err == "abuse-desk: internal error: RuntimeError: boom second line\n"


def test_debug_shows_the_traceback(monkeypatch, capsys) -> None:
    monkeypatch.setenv("ABUSE_DESK_DEBUG", "1")
    monkeypatch.setitem(cli.COMMANDS, "info", _boom)
    assert cli.main(["info"]) == 1
    err = capsys.readouterr().err
    assert "Traceback" in err and err.endswith("internal error: RuntimeError: boom second line\n")


def test_an_oserror_names_the_file_on_one_line_exit_3(monkeypatch, capsys) -> None:
    def denied(args) -> int:
        raise PermissionError(13, "Permission denied", "/data/case\n42/out.csv")

    monkeypatch.setitem(cli.COMMANDS, "info", denied)
    assert cli.main(["info"]) == 3
    err = capsys.readouterr().err
    assert err == "abuse-desk: error: /data/case 42/out.csv: Permission denied\n"


def test_an_input_error_with_a_huge_message_is_capped(monkeypatch, capsys) -> None:
    def huge(args) -> int:
        raise InputError("/very/long/" + "p" * 2000 + "/input.csv: line 7: bad quote")

    monkeypatch.setitem(cli.COMMANDS, "info", huge)
    assert cli.main(["info"]) == 3
    err = capsys.readouterr().err.rstrip("\n")
    assert len(err) <= MAX_LINE and err.endswith("/input.csv: line 7: bad quote")


# --- the helpers, directly ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "text"),
    [(-0.0, "0.0000"), (0.999999, "0.999999"), (1e-9, "1e-09"), (None, "n/a"), (0.12345, "0.1235")],
)
def test_fmt_number_never_lies(value, text) -> None:
    assert fmt_number(value) == text


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (-0.0, "0.00"),
        (0.999999, "0.999999"),
        (1.0, "1.00"),
        (0.5, "0.50"),
        (0.45, "0.45"),
        (1 / 3, repr(1 / 3)),
    ],
)
def test_fmt_threshold_has_two_decimals_or_as_many_as_it_takes(value, text) -> None:
    assert fmt_threshold(value) == text


def test_one_line_folds_and_caps() -> None:
    line = one_line("a\r\nb\tc\x1b[0m" + "z" * 1000)
    assert "\n" not in line and "\x1b" not in line and len(line) == MAX_LINE


def test_capped_list_counts_the_rest() -> None:
    assert capped_list(["a", "b", "c"], limit=2) == "'a', 'b' … and 1 more"


def test_printable_keeps_ordinary_text() -> None:
    assert printable("ünï 🙂 text") == "ünï 🙂 text"
