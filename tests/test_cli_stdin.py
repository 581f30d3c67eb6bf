"""``score-text -``: one text per line of standard input, scored as texts given as arguments."""

from __future__ import annotations

import json

from app.core.common.limits import DEFAULT_MAX_TEXT_CHARS
from tests.cli_runner import run_cli


def test_stdin_lines_score_as_arguments_do(bundled_scorer):
    texts = ["you are a worthless idiot", "see you at lunch", "thanks\tfor the help"]
    piped = run_cli("score-text", "-", "--json", input="\n".join(texts) + "\n")
    given = run_cli("score-text", *texts, "--json")
    assert piped.returncode == 0, piped.stderr
    assert json.loads(piped.stdout) == json.loads(given.stdout)
    assert piped.stderr == ""  # no blank line: no note


def test_blank_lines_are_skipped_and_counted(bundled_scorer):
    piped = run_cli("score-text", "-", input="\ufeffhello there\r\n\r\n   \nyou idiot\n\n")
    assert piped.returncode == 0, piped.stderr
    lines = piped.stdout.splitlines()
    assert len(lines) == 3 and lines[0].endswith("\thello there")  # BOM and \r dropped
    assert lines[1].endswith("\tyou idiot") and lines[2].startswith("model ")
    assert piped.stderr == "abuse-desk: note: standard input: 3 blank lines skipped, not scored\n"


def test_a_long_line_is_scored_truncated(bundled_scorer):
    long = "idiot " * (DEFAULT_MAX_TEXT_CHARS // 6 + 10)
    piped = run_cli("score-text", "-", "--json", input=f"short text\n{long}\n")
    assert piped.returncode == 0, piped.stderr
    rows = json.loads(piped.stdout)["results"]
    assert [r["truncated"] for r in rows] == [False, True]
    assert rows[1]["score"] is not None


def test_invalid_utf8_is_one_line_naming_standard_input(bundled_scorer):
    piped = run_cli("score-text", "-", input=b"fine\ncaf\xe9 latte\n")
    assert piped.returncode == 3 and piped.stdout == ""
    assert piped.stderr.count("\n") == 1 and "Traceback" not in piped.stderr
    assert "standard input: line 2: not valid UTF-8 (byte 0xe9)" in piped.stderr


def test_empty_input_and_a_dash_among_texts_are_refused():
    empty = run_cli("score-text", "-", input="\n \n")
    assert empty.returncode == 3 and "standard input: no text to score" in empty.stderr
    mixed = run_cli("score-text", "hello", "-")
    assert mixed.returncode == 2 and "'-'" in mixed.stderr and "only TEXT" in mixed.stderr
    assert mixed.stderr.count("\n") == 1
