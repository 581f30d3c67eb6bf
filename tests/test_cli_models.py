"""``python -m app models ...`` end to end, as a script or an administrator would run it."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest

from tests.cli_runner import run_cli
from tests.conftest import REPO


def _actions(home: Path) -> list[str]:
    with sqlite3.connect(home / "data" / "activity.sqlite3") as db:
        return [row[0] for row in db.execute("SELECT action FROM events ORDER BY id")]


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


def cli(home: Path, *args: str, **kw):
    return run_cli(*args, ABUSE_DESK_HOME=str(home), **kw)


def test_list_shows_the_signed_bundled_model(home):
    result = cli(home, "models", "list", "--json")
    assert result.returncode == 0, result.stderr
    [row] = [r for r in json.loads(result.stdout) if r["ref"] == "abuse-lr-1.0.0"]
    assert row["verified"] and row["signature"].startswith("signed by abuse-desk-training-2026")
    assert row["source"] == "bundled" and row["test_auc"]["davidson"] > 0.98
    text = cli(home, "models", "list").stdout
    assert "unsigned bundles refused" in text and "abuse-lr-1.0.0" in text


def test_import_activate_challenger_rollback(home, signed_tiny_bundle, signing_key, tmp_path):
    refused = cli(home, "models", "import", str(signed_tiny_bundle))
    assert refused.returncode == 4 and "not trusted" in refused.stderr  # key not yet trusted
    assert "Traceback" not in refused.stderr and refused.stderr.count("\n") == 1
    trusted = cli(home, "models", "trust", str(signing_key[1] / "test-team.pem"))
    assert trusted.returncode == 0 and "trusted key" in trusted.stdout
    imported = cli(home, "models", "import", str(signed_tiny_bundle))
    assert imported.returncode == 0, imported.stderr
    assert "imported tiny 0.0.1" in imported.stdout and "signed by test-team" in imported.stdout
    again = cli(home, "models", "import", str(signed_tiny_bundle))
    assert "already installed (identical)" in again.stdout

    active = cli(home, "models", "activate", "0.0.1")
    assert active.returncode == 0 and "active model: tiny 0.0.1" in active.stdout
    scored = cli(home, "score-text", "hello there", "--json")
    assert json.loads(scored.stdout)["model_version"] == "tiny 0.0.1"

    chal = cli(home, "models", "challenger", "abuse-lr-2.0.0")
    assert "challenger: abuse-lr 2.0.0" in chal.stdout
    roles = {r["ref"]: r["role"] for r in json.loads(cli(home, "models", "list", "--json").stdout)}
    assert roles["abuse-lr-2.0.0"] == "challenger" and roles["tiny-0.0.1"] == "active"
    assert "abuse-lr-1.0.0" in roles  # the other bundled version: installed, no role
    assert {role for ref, role in roles.items() if ref.startswith("abuse-lr-1")} == {""}

    back = cli(home, "models", "rollback")
    assert back.returncode == 0 and "active model: abuse-lr 2.0.0" in back.stdout
    # The challenger was the model rolled back to: comparing it with itself is meaningless,
    # so it is cleared, said and logged; the way back is named.
    assert "; challenger:" not in back.stdout
    assert "challenger cleared: abuse-lr 2.0.0 is now the active model" in back.stdout
    assert "`models rollback` returns to tiny 0.0.1" in back.stdout
    assert "threshold unchanged (0.45). It is kept:" in back.stdout  # nothing to pair with
    assert _actions(home) == [  # the command line logs scoring and trust too, as the GUI does
        "key_trusted",  # `models trust` is logged (issue 12)
        "model_imported",
        "model_activated",
        "score_text",
        "challenger_set",
        "challenger_cleared",  # logged before the switch, by the model deciding then
        "model_rolled_back",
    ]
    copy = shutil.copytree(signed_tiny_bundle, tmp_path / "unsigned")
    (copy / "manifest.sig").unlink()
    unsigned = cli(home, "models", "import", str(copy))
    assert unsigned.returncode == 4 and "is not signed" in unsigned.stderr


def test_keygen_sign_verify(home, tmp_path, tiny_bundle_copy):
    keys = tmp_path / "team"
    made = cli(
        home, "models", "keygen", "--private", str(keys / "t.key"), "--public", str(keys / "t.pem")
    )
    assert made.returncode == 0 and (keys / "t.key").exists()
    signed = cli(home, "models", "sign", str(tiny_bundle_copy), "--key", str(keys / "t.key"))
    assert signed.returncode == 0 and (tiny_bundle_copy / "manifest.sig").exists()
    untrusted = cli(home, "models", "verify", str(tiny_bundle_copy))
    assert untrusted.returncode == 4 and "not trusted" in untrusted.stderr
    cli(home, "models", "trust", str(keys / "t.pem"))
    verified = cli(home, "models", "verify", str(tiny_bundle_copy), "--json")
    assert verified.returncode == 0, verified.stderr
    facts = json.loads(verified.stdout)
    assert facts["verified"] and facts["signature"].startswith("signed by t (")
    assert len(facts["manifest_sha256"]) == 64


def test_model_option_obeys_the_signature_policy(home, tiny_bundle_copy):
    refused = cli(home, "--model", str(tiny_bundle_copy), "info")
    assert refused.returncode == 4 and "is not signed" in refused.stderr
    allowed = run_cli("--model", str(tiny_bundle_copy), "info", allow_unsigned=True)
    assert allowed.returncode == 0 and "tiny 0.0.1: verified" in allowed.stdout


def test_self_test_reports_the_signature(home):
    result = cli(home, "--self-test")
    assert result.returncode == 0
    assert "signed by abuse-desk-training-2026" in result.stdout


def test_activate_unknown_version_is_one_line(home):
    result = cli(home, "models", "activate", "9.9.9")
    assert result.returncode == 4 and "'9.9.9' is not installed" in result.stderr
    assert result.stderr.count("\n") == 1


def test_tampered_bundled_copy_is_refused_by_verify(home, tmp_path):
    copy = tmp_path / "abuse-lr-1.0.0"
    shutil.copytree(REPO / "models" / "abuse-lr-1.0.0", copy)
    (copy / "manifest.json").write_text(
        (copy / "manifest.json").read_text().replace("0.45", "0.05", 1)
    )
    result = cli(home, "models", "verify", str(copy))
    assert result.returncode == 4 and "signature does not match" in result.stderr


def test_train_to_deploy(home, tmp_path, tiny_data_dir, signing_key):
    """`train --sign-key` makes a bundle that imports and activates on a strict workstation."""
    out = tmp_path / "new" / "fresh-2.0.0"
    trained = cli(
        home,
        "train",
        "--data",
        str(tiny_data_dir),
        "--out",
        str(out),
        "--name",
        "fresh",
        "--model-version",
        "2.0.0",
        "--sign-key",
        str(signing_key[0]),
    )
    assert trained.returncode == 0, trained.stderr
    assert (out / "manifest.sig").exists() and (out / "eval_ids.npy").exists()
    cli(home, "models", "trust", str(signing_key[1] / "test-team.pem"))
    imported = cli(home, "models", "import", str(out))
    assert imported.returncode == 0 and "imported fresh 2.0.0" in imported.stdout
    activated = cli(home, "models", "activate", "fresh 2.0.0")
    assert "active model: fresh 2.0.0" in activated.stdout
    info = json.loads(cli(home, "info", "--json").stdout)
    assert info["version"] == "2.0.0"


def test_score_with_a_challenger_adds_shadow_columns(tmp_path, tiny_training, bundled_scorer):
    import csv

    from app.core.engine.scoring import Scorer

    texts = ["you are an idiot", "lovely weather today", "", "shut up moron"]
    src = tmp_path / "in.csv"
    with open(src, "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows([["id", "text"], *[[i, t] for i, t in enumerate(texts)]])
    out = tmp_path / "out.csv"
    result = run_cli(
        "score",
        str(src),
        "-o",
        str(out),
        "--challenger",
        str(tiny_training.bundle_path),
        "--quiet",
        allow_unsigned=True,
    )
    assert result.returncode == 0, result.stderr
    with open(out, encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    tiny = Scorer.load(tiny_training.bundle_path)
    for row, text in zip(rows, texts, strict=True):
        if not text:
            assert row["challenger_score"] == "" and row["abuse_score"] == ""
            continue
        assert float(row["abuse_score"]) == pytest.approx(
            bundled_scorer.score_text(text, 0.45).score
        )
        assert float(row["challenger_score"]) == pytest.approx(tiny.score_text(text, 0.45).score)
        assert row["challenger_version"] == "tiny 0.0.1"
    provenance = json.loads((tmp_path / "out.csv.provenance.json").read_text())
    assert provenance["challenger_version"] == "tiny 0.0.1"


def _threshold(home: Path) -> float:
    return float(json.loads((home / "config" / "settings.json").read_text())["threshold"])


def test_activate_and_rollback_migrate_the_threshold_like_the_gui(home):
    """`models activate` and `models rollback` follow `plan_activation`, as the Models panel
    does: the threshold migrates (said, with the rationale, and logged); --keep-threshold keeps
    it."""
    from app.core.common.messages import fmt_threshold

    on = cli(home, "models", "activate", "abuse-lr-1.0.0")
    assert on.returncode == 0, on.stderr
    migrated = _threshold(home)
    assert migrated != 0.45
    assert f"threshold: 0.45 -> {fmt_threshold(migrated)}, migrated for abuse-lr 1.0.0" in on.stdout
    assert "Keeps recall" in on.stdout and "--keep-threshold" in on.stdout
    back = cli(home, "models", "rollback")
    assert back.returncode == 0, back.stderr
    assert f"threshold: {fmt_threshold(migrated)} -> " in back.stdout
    assert _threshold(home) != migrated  # 2.0.0 does not decide at 1.0.0's threshold
    rolled_back_to = _threshold(home)
    assert _actions(home) == [
        "model_activated",
        "threshold_applied",
        "model_rolled_back",
        "threshold_applied",
    ]
    kept = cli(home, "models", "activate", "abuse-lr-1.0.0", "--keep-threshold")
    assert kept.returncode == 0, kept.stderr
    assert f"threshold unchanged ({fmt_threshold(rolled_back_to)})" in kept.stdout
    assert _threshold(home) == rolled_back_to
    assert _actions(home)[-1] == "model_activated"
