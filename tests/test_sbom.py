"""The release SBOM (packaging/make-sbom.sh): CycloneDX JSON naming the app and every runtime pin."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import app
from tests.conftest import REPO
from tests.test_locks import RUNTIME_LOCK, read_lock

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("cyclonedx_py") is None or shutil.which("bash") is None,
    reason="cyclonedx-bom (the 'bundle' extra, in requirements-dev.lock) is not installed",
)


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


@pytest.fixture(scope="module")
def sbom(tmp_path_factory: pytest.TempPathFactory) -> dict:
    out = tmp_path_factory.mktemp("sbom") / "abuse-desk-sbom.cdx.json"
    result = subprocess.run(
        ["bash", str(REPO / "packaging" / "make-sbom.sh"), sys.executable, "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(out.read_text(encoding="utf-8"))


def test_it_is_cyclonedx_json(sbom: dict) -> None:
    assert sbom["bomFormat"] == "CycloneDX"
    assert re.fullmatch(r"1\.\d+", sbom["specVersion"])
    assert sbom["$schema"].startswith("http://cyclonedx.org/schema/bom-")


def test_the_metadata_component_is_the_app(sbom: dict) -> None:
    root = sbom["metadata"]["component"]
    assert (root["name"], root["version"], root["type"]) == (
        "abuse-desk",
        app.__version__,
        "application",
    )
    edges = {d["ref"]: d.get("dependsOn", []) for d in sbom["dependencies"]}
    assert edges[root["bom-ref"]], "the app's dependency edges are missing"


def test_every_runtime_pin_is_listed_with_its_version_and_hashes(sbom: dict) -> None:
    components = {canonical(c["name"]): c for c in sbom["components"] if c["type"] == "library"}
    for name, pin in read_lock(RUNTIME_LOCK).items():
        assert name in components, f"the SBOM lacks {name}=={pin.version}"
        component = components[name]
        assert component["version"] == pin.version, (
            f"{name}: SBOM {component['version']}, lock {pin.version}"
        )
        assert component["purl"].startswith(f"pkg:pypi/{name}@{pin.version}")
        hashes = {
            h["content"]
            for ref in component.get("externalReferences", [])
            for h in ref.get("hashes", [])
            if h["alg"] == "SHA-256"
        }
        assert hashes == set(pin.hashes), f"{name}: the SBOM's hashes differ from the lock's"
    assert set(components) == set(read_lock(RUNTIME_LOCK)), (
        "the SBOM lists packages outside the runtime lock"
    )


def test_the_bundled_model_is_listed_by_its_manifest_hash(sbom: dict) -> None:
    models = {c["bom-ref"]: c for c in sbom["components"] if c["type"] == "machine-learning-model"}
    for manifest in sorted((REPO / "models").glob("*/manifest.json")):
        component = models[f"model:{manifest.parent.name}"]
        assert component["hashes"] == [
            {"alg": "SHA-256", "content": hashlib.sha256(Path(manifest).read_bytes()).hexdigest()}
        ]


def test_the_runtime_engines_are_listed(sbom: dict) -> None:
    names = {canonical(c["name"]): c.get("version") for c in sbom["components"]}
    lock = read_lock(RUNTIME_LOCK)
    for name in ("onnxruntime", "tokenizers"):
        assert names[name] == lock[name].version


def _with_encoder_bundle(folder: Path, base_model: dict) -> Path:
    """The repo's bundles (linked) plus a tiny encoder bundle whose manifest names its base."""
    from tests.encoder_fixture import write_tiny_encoder_bundle

    folder.mkdir()
    for bundle in sorted((REPO / "models").glob("*/manifest.json")):
        (folder / bundle.parent.name).symlink_to(bundle.parent, target_is_directory=True)
    encoder = write_tiny_encoder_bundle(folder, version="0.0.1")
    manifest = json.loads((encoder / "manifest.json").read_text(encoding="utf-8"))
    manifest["training"] = {"engine": "encoder", "base_model": base_model}
    (encoder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return folder


def _make_sbom(models: Path, out: Path) -> subprocess.CompletedProcess[str]:
    script = str(REPO / "packaging" / "make-sbom.sh")
    command = ["bash", script, sys.executable, "--out", str(out), "--models", str(models)]
    return subprocess.run(command, capture_output=True, text=True, timeout=300)


def test_the_base_weights_of_an_encoder_bundle_are_a_component(tmp_path: Path) -> None:
    from app.core.training.mini_weights import (
        BASE_LICENSE,
        BASE_MODEL,
        OFFICIAL_SAFETENSORS_SHA256,
    )

    base = {
        "name": BASE_MODEL,
        "license": BASE_LICENSE,
        "safetensors_sha256": OFFICIAL_SAFETENSORS_SHA256,
    }
    models = _with_encoder_bundle(tmp_path / "models", base)
    result = _make_sbom(models, tmp_path / "sbom.json")
    assert result.returncode == 0, result.stderr
    bundles = len(list((REPO / "models").glob("*/manifest.json"))) + 1
    assert f"{bundles} model bundles, 1 base models" in result.stdout
    bom = json.loads((tmp_path / "sbom.json").read_text(encoding="utf-8"))
    bases = [c for c in bom["components"] if c["bom-ref"].startswith("model-base:")]
    assert len(bases) == 1
    (weights,) = bases
    assert weights["type"] == "machine-learning-model"
    assert (weights["group"], weights["name"]) == ("sentence-transformers", "all-MiniLM-L6-v2")
    assert weights["licenses"] == [{"license": {"id": "Apache-2.0"}}]
    assert weights["hashes"] == [{"alg": "SHA-256", "content": OFFICIAL_SAFETENSORS_SHA256}]
    assert "abuse-mini-0.0.1" in weights["description"]  # with the bundled encoders
    assert "derive from it" in weights["description"]
    # The encoder bundle is a component too, and depends on the weights it was tuned from.
    edges = {(d["ref"], tuple(d.get("dependsOn", []))) for d in bom["dependencies"]}
    assert ("model:abuse-mini-0.0.1", (weights["bom-ref"],)) in edges
    root = bom["metadata"]["component"]["bom-ref"]
    app_edges = next(d["dependsOn"] for d in bom["dependencies"] if d["ref"] == root)
    assert "model:abuse-mini-0.0.1" in app_edges and "model:abuse-lr-1.0.0" in app_edges


def test_base_weights_without_the_official_hash_fail_the_sbom(tmp_path: Path) -> None:
    from app.core.training.mini_weights import BASE_LICENSE, BASE_MODEL

    base = {"name": BASE_MODEL, "license": BASE_LICENSE, "safetensors_sha256": "0" * 64}
    result = _make_sbom(_with_encoder_bundle(tmp_path / "models", base), tmp_path / "sbom.json")
    assert result.returncode != 0 and not (tmp_path / "sbom.json").exists()
    assert result.stderr.count("\n") == 1 and "training.base_model must give" in result.stderr
