"""``python -m app history``: the Batch panel's history from the command line."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from app.core.results.history import BatchHistory
from tests.cli_runner import run_cli
from tests.test_batch_history import _scored


def test_list_and_remove_in_text_and_json(tmp_path: Path) -> None:
    home = tmp_path / "home"
    history = BatchHistory(home / "data" / "jobs" / "history")
    old = history.record(_scored(tmp_path / "s", "old"), 10, 11)
    new = history.record(_scored(tmp_path / "s", "new"), 10, 22)
    assert old is not None and new is not None
    history.cache_path(old).unlink()
    text = run_cli("history", ABUSE_DESK_HOME=str(home))
    assert text.returncode == 0, text.stderr
    lines = text.stdout.splitlines()
    assert lines[0].startswith(f"{new.id}  new.csv") and "@ 0.45" in lines[0]
    assert lines[1].startswith(old.id) and lines[1].endswith("cache gone — rescore")
    for args in (
        ("history", "--json"),
        ("history", "list", "--json"),
        ("history", "--json", "list"),
    ):
        rows = json.loads(run_cli(*args, ABUSE_DESK_HOME=str(home)).stdout)
        assert [(r["id"], r["available"], r["input_size"]) for r in rows] == [
            (new.id, True, 22), (old.id, False, 11),
        ]  # fmt: skip
    removed = run_cli("history", "remove", old.id, "--json", ABUSE_DESK_HOME=str(home))
    assert removed.returncode == 0 and json.loads(removed.stdout) == {"removed": old.id}
    assert [e.id for e in history.entries()] == [new.id]
    export = tmp_path / "log.csv"  # the removal is in the activity log, naming the file
    assert run_cli("log", "export", str(export), ABUSE_DESK_HOME=str(home)).returncode == 0
    with open(export, encoding="utf-8-sig", newline="") as fh:
        events = [e for e in csv.DictReader(fh) if e["action"] == "batch_history_removed"]
    assert [(e["file_name"], old.id in e["detail"]) for e in events] == [("old.csv", True)]
    again = run_cli("history", "remove", old.id, ABUSE_DESK_HOME=str(home))
    assert again.returncode == 3 and again.stdout == ""
    assert again.stderr.count("\n") == 1 and old.id in again.stderr


def test_an_empty_history_says_so(tmp_path: Path) -> None:
    result = run_cli("history", "list", ABUSE_DESK_HOME=str(tmp_path / "home"))
    assert result.returncode == 0 and result.stdout.startswith("no earlier batch jobs (")
    # a new user looks here for yesterday's `score` job: say why it is not listed
    assert "desktop app's Batch jobs only" in result.stdout and "`score`" in result.stdout


def _home_with(tmp_path: Path, edit) -> tuple[Path, BatchHistory, str]:
    home = tmp_path / "home"
    history = BatchHistory(home / "data" / "jobs" / "history")
    entry = history.record(_scored(tmp_path / "s", "a"), 10, 11)
    assert entry is not None
    data = json.loads(history.index_path.read_text(encoding="utf-8"))
    edit(data)
    history.index_path.write_text(json.dumps(data), encoding="utf-8")
    return home, history, entry.id


def test_control_characters_in_a_path_are_escaped(tmp_path: Path) -> None:
    def hostile(data):
        data["entries"][0]["input_path"] = "/d/\x1b[31mred\r\n\u202e.csv"
        data["entries"][0]["threshold"] = 0.449

    home, _, entry_id = _home_with(tmp_path, hostile)
    result = run_cli("history", ABUSE_DESK_HOME=str(home))
    assert result.returncode == 0, result.stderr
    assert "\x1b" not in result.stdout and "\r" not in result.stdout
    assert "\u202e" not in result.stdout and result.stdout.count("\n") == 1
    assert f"{entry_id}  \\x1b[31mred\\x0d\\x0a\\u202e.csv · " in result.stdout
    assert "@ 0.449" in result.stdout  # exact, as --json has it


def test_a_damaged_index_warns_once_and_the_failure_stays_short(tmp_path: Path) -> None:
    home, _, _ = _home_with(tmp_path, lambda d: d["entries"].extend([{"id": "x"}] * 3))
    result = run_cli("history", "remove", "nope", ABUSE_DESK_HOME=str(home))
    assert result.returncode == 3 and "Traceback" not in result.stderr
    [error] = result.stderr.splitlines()  # a failure is one line: the damage said in it
    assert error.startswith("abuse-desk: error: ") and "'nope'" in error
    assert "index.json: 3 entries dropped" in error
    listed = run_cli("history", "list", ABUSE_DESK_HOME=str(home))  # success: a warning line
    assert listed.returncode == 0 and listed.stderr.startswith("abuse-desk: warning: ")
    assert "index.json: 3 entries dropped" in listed.stderr


def test_a_newer_index_is_not_rewritten(tmp_path: Path) -> None:
    home, history, entry_id = _home_with(tmp_path, lambda d: d.update(schema_version=2, x=1))
    before = history.index_path.read_bytes()
    result = run_cli("history", "remove", entry_id, ABUSE_DESK_HOME=str(home))
    assert result.returncode == 3 and result.stderr.count("\n") == 1, result.stderr
    assert "written by a newer or another version of the app" in result.stderr
    assert history.index_path.read_bytes() == before and history.available(history.entries()[0])
