"""``models list`` marks the active version and the challenger and exits alike in text and JSON;
``info --json`` names who signed the model and the manifest's SHA-256 (as ``models verify``)."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

from tests.cli_runner import run_cli
from tests.conftest import REPO


def _roles_in_text(stdout: str) -> dict[str, str]:
    """The role column of the text listing: version, role, source, state, signature."""
    rows = [line.split() for line in stdout.splitlines() if re.match(r"^\S+-\d", line)]
    return {row[0]: row[1] for row in rows}


def test_text_and_json_mark_the_same_active_and_challenger(tmp_path: Path):
    home = str(tmp_path / "home")
    fresh = run_cli("models", "list", ABUSE_DESK_HOME=home)
    assert fresh.returncode == 0, fresh.stderr
    assert fresh.stdout.splitlines()[0].split()[:2] == ["version", "role"]
    # a fresh workstation decides with the default bundled model: it is the active one
    assert _roles_in_text(fresh.stdout) == {
        "abuse-mini-1.0.0": "-",
        "abuse-lr-2.0.0": "active",
        "abuse-lr-1.0.0": "-",
    }
    assert run_cli("models", "activate", "abuse-lr-1.0.0", ABUSE_DESK_HOME=home).returncode == 0
    assert run_cli("models", "challenger", "2.0.0", ABUSE_DESK_HOME=home).returncode == 0
    text = run_cli("models", "list", ABUSE_DESK_HOME=home)
    as_json = run_cli("models", "list", "--json", ABUSE_DESK_HOME=home)
    expected = {"abuse-lr-1.0.0": "active", "abuse-lr-2.0.0": "challenger", "abuse-mini-1.0.0": "-"}
    assert _roles_in_text(text.stdout) == expected
    rows = json.loads(as_json.stdout)
    assert {r["ref"]: r["role"] or "-" for r in rows} == expected  # JSON: "" for no role
    # the default fast model stays marked, whichever model is active
    assert {r["ref"]: r["default_fast"] for r in rows} == {
        "abuse-lr-1.0.0": False,
        "abuse-lr-2.0.0": True,
        "abuse-mini-1.0.0": False,
    }
    marked = [line for line in text.stdout.splitlines() if line.endswith("the default fast model")]
    assert len(marked) == 1 and "2.0.0" not in marked[0].split(";")[0]  # the entry's 2nd line
    first_lines = text.stdout.splitlines()
    assert first_lines[first_lines.index(marked[0]) - 1].startswith("abuse-lr-2.0.0 ")


def test_a_damaged_bundle_is_listed_and_exits_4_in_text_and_json(tmp_path: Path):
    home = tmp_path / "home"
    damaged = home / "data" / "models" / "abuse-lr-9.0.0"
    shutil.copytree(REPO / "models" / "abuse-lr-1.0.0", damaged)
    with open(damaged / "MODEL_CARD.md", "a", encoding="utf-8") as fh:
        fh.write("edited\n")
    text = run_cli("models", "list", ABUSE_DESK_HOME=str(home))
    as_json = run_cli("models", "list", "--json", ABUSE_DESK_HOME=str(home))
    for result in (text, as_json):
        assert result.returncode == 4, result.stderr
        assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
        assert "model error: 1 installed version(s) refused" in result.stderr
        assert str(damaged) in result.stderr
    assert "abuse-lr-1.0.0" in text.stdout and "MODEL_CARD.md does not match" in text.stdout
    rows = {r["ref"]: r for r in json.loads(as_json.stdout)}  # what is fine is still listed
    assert rows["abuse-lr-1.0.0"]["verified"] and rows["abuse-lr-1.0.0"]["role"] == ""
    assert rows["abuse-lr-2.0.0"]["verified"] and rows["abuse-lr-2.0.0"]["role"] == "active"
    assert not rows["abuse-lr-9.0.0"]["verified"] and rows["abuse-lr-9.0.0"]["role"] == ""


def test_info_json_names_the_signer_key_and_manifest_hash(tmp_path: Path):
    home = str(tmp_path / "home")
    info = run_cli("info", "--json", ABUSE_DESK_HOME=home)
    # info describes the active model: a fresh home's is the default fast model, 2.0.0
    verify = run_cli("models", "verify", "2.0.0", "--json", ABUSE_DESK_HOME=home)
    assert info.returncode == 0 and verify.returncode == 0, info.stderr + verify.stderr
    got, verified = json.loads(info.stdout), json.loads(verify.stdout)
    assert got["manifest_sha256"] == verified["manifest_sha256"]
    assert len(got["manifest_sha256"]) == 64
    assert got["signature"] == verified["signature"]
    assert got["signature"] == f"signed by {got['signer']} ({got['key_id']})"
    assert got["signer"] == "abuse-desk-training-2026" and re.fullmatch(
        r"[0-9a-f]{16}", got["key_id"]
    )
    text = run_cli("info", ABUSE_DESK_HOME=home).stdout
    assert f"manifest SHA-256 {got['manifest_sha256']}" in text
