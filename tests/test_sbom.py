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
