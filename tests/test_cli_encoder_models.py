"""An encoder bundle (abuse-mini) is just another model on the command line: imported from a
zip, listed and described with its engine, made active or challenger, explained by occlusion
and self-tested, as a script or an administrator would run it."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from tests.cli_runner import run_cli
from tests.encoder_registry import ENCODER_REF, signed_encoder_bundle


def cli(home: Path, *args: str):
    return run_cli(*args, ABUSE_DESK_HOME=str(home))


@pytest.fixture
def home(tmp_path: Path, signing_key) -> Path:
    home = tmp_path / "home"
    trusted = cli(home, "models", "trust", str(signing_key[1] / "test-team.pem"))
    assert trusted.returncode == 0, trusted.stderr
    return home


@pytest.fixture
def encoder_zip(tmp_path: Path, signing_key) -> Path:
    """The signed tiny encoder bundle as a zip of its folder (.onnx included)."""
    bundle = signed_encoder_bundle(tmp_path / "src", signing_key[0])
    target = tmp_path / "abuse-mini.zip"
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(bundle.iterdir()):
            archive.write(path, f"{bundle.name}/{path.name}")
    assert "model.onnx" in {Path(n).name for n in zipfile.ZipFile(target).namelist()}
    return target


def test_import_zip_list_and_info_show_the_engine(home, encoder_zip):
    imported = cli(home, "models", "import", str(encoder_zip))
    assert imported.returncode == 0, imported.stderr
    assert "imported abuse-mini 0.0.1" in imported.stdout
    rows = {r["ref"]: r for r in json.loads(cli(home, "models", "list", "--json").stdout)}
    mini, linear = rows[ENCODER_REF], rows["abuse-lr-1.0.0"]
    assert mini["verified"] and mini["source"] == "user"
    # the tiny tokenizer: 5 special tokens, its words, 42 characters and their ## pieces
    assert (mini["engine"], mini["max_tokens"]) == ("encoder", 64)
    assert mini["vocabulary"] == len(json.loads(_tokenizer_json(home))["model"]["vocab"])
    assert linear["engine"] == "linear" and "max_tokens" not in linear
    text = cli(home, "models", "list").stdout
    assert f"encoder (64 tokens, {mini['vocabulary']:,}-token vocabulary) engine" in text
    assert "; linear engine; test ROC-AUC" in text

    info = json.loads(cli(home, "info", "--json").stdout)  # the linear default decides
    assert info["engine"] == "linear" and info["features"] > 1000
    assert cli(home, "models", "activate", "abuse-mini 0.0.1").returncode == 0
    info = json.loads(cli(home, "info", "--json").stdout)
    assert info["name"] == "abuse-mini"
    assert (info["engine"], info["max_tokens"]) == ("encoder", 64)
    assert info["vocabulary"] == mini["vocabulary"] and "features" not in info
    text = cli(home, "info").stdout
    assert f"engine: encoder, 64 tokens, {mini['vocabulary']:,}-token vocabulary" in text


def _tokenizer_json(home: Path) -> str:
    return (home / "data" / "models" / ENCODER_REF / "tokenizer.json").read_text()


def test_encoder_active_scores_explains_by_occlusion_and_self_tests(home, encoder_zip):
    assert cli(home, "models", "import", str(encoder_zip)).returncode == 0
    activated = cli(home, "models", "activate", ENCODER_REF)
    assert activated.returncode == 0 and "active model: abuse-mini 0.0.1" in activated.stdout
    scored = cli(home, "score-text", "you idiot", "hello friend", "--explain", "--json")
    assert scored.returncode == 0, scored.stderr
    out = json.loads(scored.stdout)
    assert out["model_version"] == "abuse-mini 0.0.1"
    for row in out["results"]:
        assert row["explanation"] == "occlusion"
        assert {t["term"] for t in row["terms"]} <= {"you", "idiot", "hello", "friend"}
    text = cli(home, "score-text", "you idiot", "--explain").stdout
    assert (
        "(occlusion: what each word adds (the logit with it minus without it); effects do not add up; logit)"
        in text
    )

    checked = cli(home, "self-test")
    lines = {line.split(":")[0] for line in checked.stdout.splitlines()}
    assert "[ok] bundle verified" in lines and "[ok] threshold arithmetic" in lines
    assert "[ok] explanation re-measured (occlusion)" in lines  # the active encoder's own
    assert "abuse-mini 0.0.1" in checked.stdout and "Traceback" not in checked.stderr


def test_linear_explanation_says_shares(home):
    out = json.loads(cli(home, "score-text", "you idiot", "--explain", "--json").stdout)
    assert out["results"][0]["explanation"] == "shares"
    assert "occlusion" not in cli(home, "score-text", "you idiot", "--explain").stdout


def test_encoder_challenger_shadow_scores(home, encoder_zip):
    assert cli(home, "models", "import", str(encoder_zip)).returncode == 0
    chal = cli(home, "models", "challenger", "abuse-mini 0.0.1")
    assert chal.returncode == 0 and "challenger: abuse-mini 0.0.1" in chal.stdout
    assert "abuse-mini 0.0.1 (encoder engine) shadow-scores for abuse-lr 2.0.0" in chal.stdout
    assert json.loads(cli(home, "info", "--json").stdout)["challenger"] == "abuse-mini 0.0.1"
    roles = {r["ref"]: r["role"] for r in json.loads(cli(home, "models", "list", "--json").stdout)}
    assert roles[ENCODER_REF] == "challenger" and roles["abuse-lr-2.0.0"] == "active"  # default
