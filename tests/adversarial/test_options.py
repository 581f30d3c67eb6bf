"""Adversarial options: every odd option of every command is one line on stderr, exit 2, at most
300 characters, pointing at the command's --help, never argparse's usage block or a traceback
(issue 12, "Messages")."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli_runner import run_cli

MAX_LINE = 300


def _assert_usage_error(result, command: str) -> str:
    assert result.returncode == 2, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    line = lines[0]
    assert len(line) <= MAX_LINE, len(line)
    prog = f"abuse-desk {command}".strip()
    assert line.startswith(f"{prog}: error: ") and line.endswith(f"(see {prog} --help)"), line
    assert result.stdout == ""
    return line


CASES = [
    # (arguments, the command named in the message, a word the message must hold)
    (["bogus"], "", "invalid choice"),
    (["--no-such-flag"], "", "unrecognized"),
    (["score"], "score", "required"),
    (["score", "in.csv"], "score", "-o/--output"),
    (["score", "in.csv", "-o", "o.csv", "--threshold", "nan"], "score", "nan"),
    (["score", "in.csv", "-o", "o.csv", "--threshold", "2"], "score", "between 0 and 1"),
    (["score", "in.csv", "-o", "o.csv", "--threshold", "inf"], "score", "inf"),
    (["score", "in.csv", "-o", "o.csv", "--threshold", "-0.1"], "score", "between 0 and 1"),
    (["score", "in.csv", "-o", "o.csv", "--threshold", "abc"], "score", "abc"),
    (["score", "in.csv", "-o", "o.csv", "--workers", "abc"], "score", "abc"),
    (["score", "in.csv", "-o", "o.csv", "--workers", "-1"], "score", "-1"),
    (["score", "in.csv", "-o", "o.csv", "--workers", "1.5"], "score", "1.5"),
    (["score", "in.csv", "-o", "o.csv", "--format", "pdf"], "score", "pdf"),
    (["score", "in.csv", "-o", "o.csv", "--frobnicate"], "score", "--frobnicate"),
    (["score-text"], "score-text", "TEXT"),
    (["score-text", "hi", "--threshold", "NaN"], "score-text", "NaN"),
    (["score-text", "hi", "--threshold", "1.5"], "score-text", "between 0 and 1"),
    (["evaluate"], "evaluate", "required"),
    (["evaluate", "in.csv", "--label-column", "y", "--thresholds", ""], "evaluate", "thresholds"),
    (["evaluate", "in.csv", "--label-column", "y", "--thresholds", ","], "evaluate", "','"),
    (["evaluate", "in.csv", "--label-column", "y", "--thresholds", "0.5,,"], "evaluate", "0.5,,"),
    (["evaluate", "in.csv", "--label-column", "y", "--thresholds", "nan"], "evaluate", "nan"),
    (["evaluate", "in.csv", "--label-column", "y", "--thresholds", "inf"], "evaluate", "inf"),
    (["evaluate", "in.csv", "--label-column", "y", "--thresholds", "-0.1"], "evaluate", "-0.1"),
    (["evaluate", "in.csv", "--label-column", "y", "--thresholds", "1.5"], "evaluate", "1.5"),
    (["evaluate", "in.csv", "--label-column", "y", "--thresholds", "0.3,abc"], "evaluate", "abc"),
    (["info", "--bogus"], "info", "--bogus"),
    (["train", "--out", "x"], "train", "--data"),
    (["train", "--data", "d", "--out", "x", "--seed", "abc"], "train", "abc"),
    (["train", "--data", "d", "--out", "x", "--recipe", "v9"], "train", "v9"),
    (["log"], "log", "required"),
    (["log", "export"], "log export", "output"),
    (["log", "shred"], "log", "shred"),
    (["models"], "models", "required"),
    (["models", "explode"], "models", "explode"),
    (["models", "activate"], "models activate", "version"),
    (["models", "keygen", "--private", "k"], "models keygen", "--public"),
    # an empty or all-space path (an unset shell variable) is no path, never "the current folder"
    (["score", "in.csv", "-o", ""], "score", "-o/--output"),
    (["score", "", "-o", "o.csv"], "score", "input"),
    (["score", "in.csv", "-o", "o.csv", "--report", ""], "score", "--report"),
    (["score", "in.csv", "-o", "o.csv", "--report", "   "], "score", "--report"),
    (["evaluate", " ", "--label-column", "y"], "evaluate", "input"),
    (["train", "--data", "", "--out", "x"], "train", "--data"),
    (["train", "--data", "d", "--out", "\t"], "train", "--out"),
    (["train", "--data", "d", "--out", "x", "--sign-key", ""], "train", "--sign-key"),
    (["log", "export", ""], "log export", "output"),
    (["log", "export", "out.csv", "--db", ""], "log export", "--db"),
    (["log", "verify", "--db", " "], "log verify", "--db"),
    (["models", "verify", ""], "models verify", "bundle"),
    (["models", "import", ""], "models import", "source"),
    (["models", "sign", "", "--key", "k.pem"], "models sign", "bundle"),
    (["models", "keygen", "--private", "", "--public", "p"], "models keygen", "--private"),
    (["models", "trust", " "], "models trust", "public_key"),
    (["--model", "", "score-text", "hi"], "", "--model"),
    # a number that is not zero in the text but 0.0 as a float would flag everything
    (["score", "in.csv", "-o", "o.csv", "--threshold", "1e-400"], "score", "too small"),
    (["score-text", "hi", "--threshold", "5e-999"], "score-text", "too small"),
    (
        ["evaluate", "in.csv", "--label-column", "y", "--thresholds", "0.5,1e-400"],
        "evaluate",
        "1e-400",
    ),
    (["score", "in.csv", "-o", "o.csv", "--threshold", "1e400"], "score", "too large"),
]


@pytest.mark.parametrize(("args", "command", "needle"), CASES, ids=[" ".join(c[0]) for c in CASES])
def test_odd_option_is_one_usage_line(tmp_path: Path, args, command: str, needle: str) -> None:
    line = _assert_usage_error(run_cli(*args), command)
    assert needle in line


def test_a_huge_unknown_option_is_capped(tmp_path: Path) -> None:
    line = _assert_usage_error(
        run_cli("score", "in.csv", "-o", "o.csv", "--" + "x" * 5000), "score"
    )
    assert "unrecognized" in line and "…" in line


def test_an_escape_sequence_in_a_subcommand_name_is_not_sent_to_the_terminal() -> None:
    result = run_cli("\x1b[2J\x1b[31mpwned\rscore")
    line = _assert_usage_error(result, "")
    assert "\x1b" not in result.stderr and "\r" not in result.stderr
    assert "\\x1b[2J" in line


def test_a_newline_in_an_option_value_stays_on_one_line() -> None:
    result = run_cli("score-text", "hi", "--threshold", "0.5\nabuse-desk: all good")
    line = _assert_usage_error(result, "score-text")
    assert "all good" in line  # folded into the one line, not a second forged line


# --- typos: never silently taken for another option -------------------------------------------


@pytest.mark.parametrize(
    ("typo", "meant"),
    [("--text-colum", "--text-column"), ("--treshold", "--threshold"), ("--thresh", "--threshold")],
)
def test_a_mistyped_option_is_refused_with_a_suggestion(tmp_path: Path, typo: str, meant: str):
    result = run_cli("score", "in.csv", "-o", "o.csv", typo, "0.5")
    line = _assert_usage_error(result, "score")
    assert f"did you mean {meant}?" in line


def test_a_reader_that_closes_the_pipe_ends_the_command_quietly(tmp_path: Path) -> None:
    import subprocess
    import sys

    from tests.conftest import REPO

    # More output than a pipe holds (64 KiB), and a reader that leaves after one byte.
    env = {**__import__("os").environ, "PYTHONPATH": str(REPO), "ABUSE_DESK_HOME": str(tmp_path)}
    texts = " ".join(f"you_total_idiot_number{n}" for n in range(600))  # ~100 KB of JSON
    cmd = f"{sys.executable} -m app score-text --json {texts} | head -c 1 >/dev/null; echo ${{PIPESTATUS[0]}}"
    done = subprocess.run(
        ["bash", "-c", cmd], capture_output=True, text=True, env=env, cwd=REPO, timeout=120
    )
    assert done.stderr == "", done.stderr  # no "Broken pipe" error line, no traceback
    assert done.stdout.strip() == "141", done.stdout


@pytest.mark.parametrize("text", ["0e-400", "0.0e-999", "1e-320"])
def test_a_true_zero_or_a_tiny_nonzero_threshold_is_accepted(text: str) -> None:
    """Only a value that turns into 0.0 although its digits are not zero is refused."""
    from app.cli.common import threshold_arg

    assert threshold_arg(text) == float(text)
