#!/usr/bin/env bash
# Write the release's SBOM, dist/abuse-desk-sbom.cdx.json (CycloneDX 1.6 JSON; what `make sbom` runs).
#
#   bash packaging/make-sbom.sh [PYTHON] [--out FILE] [--models DIR]
#
# PYTHON (default .venv/bin/python) must have cyclonedx-bom (the 'bundle' extra: make test installs
# it). The components come from packaging/requirements.lock, the runtime lock, so the SBOM lists
# exactly what a workstation installs: every package with its version, purl and the SHA-256 of
# each of its distribution files. The metadata component is the app itself (abuse-desk and the
# version in app/__init__.py), which depends on the lock's direct requirements; each bundled
# model under models/ is added as a machine-learning-model component whose SHA-256 is its
# manifest's (the value `abuse-desk models verify VERSION` prints). An encoder bundle's manifest
# names the pretrained weights it was fine-tuned from (training.base_model: name, licence,
# SHA-256 of model.safetensors); each such base model is a component of its own (its licence,
# the weights' SHA-256, which must be the official one pinned in app/core/training/mini_weights.py,
# and which bundles derive from it), and each encoder bundle depends on it. DIR (default models)
# is the folder of bundles. The result is validated against the CycloneDX 1.6 schema. No network
# is used.
set -euo pipefail
cd "$(dirname "$0")/.."

PY=.venv/bin/python
OUT=dist/abuse-desk-sbom.cdx.json
MODELS=models
while [ $# -gt 0 ]; do
  case "$1" in
    --out) OUT=$2; shift 2 ;;
    --models) MODELS=$2; shift 2 ;;
    -h | --help) sed -n '2,19p' "$0"; exit 0 ;;
    -*) echo "usage: $0 [PYTHON] [--out FILE] [--models DIR]" >&2; exit 2 ;;
    *) PY=$1; shift ;;
  esac
done
LOCK=packaging/requirements.lock

if ! "$PY" -m cyclonedx_py --version >/dev/null 2>&1; then
  echo "make-sbom: cyclonedx-py is not installed for $PY (install the dev lock: make test, or make sbom)" >&2
  exit 2
fi

# Reproducible: no random serial number; the timestamp is the last commit's, when there is one.
if [ -z "${SOURCE_DATE_EPOCH:-}" ] && git rev-parse --git-dir >/dev/null 2>&1; then
  SOURCE_DATE_EPOCH=$(git log -1 --format=%ct 2>/dev/null || true)
  [ -n "$SOURCE_DATE_EPOCH" ] && export SOURCE_DATE_EPOCH
fi

mkdir -p "$(dirname "$OUT")"
RAW=$(mktemp "${TMPDIR:-/tmp}/abuse-desk-sbom.XXXXXX")
trap 'rm -f "$RAW"' EXIT
"$PY" -W ignore::UserWarning -m cyclonedx_py requirements --pyproject pyproject.toml \
  --mc-type application --spec-version 1.6 --output-format JSON --output-reproducible \
  -o "$RAW" "$LOCK"

"$PY" - "$RAW" "$OUT" "$LOCK" "$MODELS" <<'PY'
"""Name the app (version) as the metadata component, add its dependency edges and the models."""

import ast
import hashlib
import json
import re
import sys
import tomllib
from pathlib import Path

raw, out, lock, models_dir = sys.argv[1:]
bom = json.loads(Path(raw).read_text(encoding="utf-8"))


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def constant(path: str, name: str) -> str:
    """A module-level string constant, read without importing the module."""
    tree = ast.parse(Path(path).read_text(encoding="utf-8"))
    return next(
        node.value.value
        for node in tree.body
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == name
    )


version = constant("app/__init__.py", "__version__")
OFFICIAL_SHA256 = constant("app/core/training/mini_weights.py", "OFFICIAL_SAFETENSORS_SHA256")
root = bom["metadata"]["component"]
root_ref = f"pkg:pypi/abuse-desk@{version}"
old_ref = root.get("bom-ref")
root.update({"name": "abuse-desk", "version": version, "bom-ref": root_ref, "purl": root_ref})

# "requirements line 11: cffi==2.1.1 --hash=... --hash=..." -> "cffi==2.1.1 (requirements.lock
# line 11)": the hashes already sit in each component's distribution reference.
for component in bom.get("components", []):
    match = re.match(r"requirements line (\d+): (\S+)", component.get("description", ""))
    if match:
        component["description"] = f"{match[2]} ({lock} line {match[1]})"

# The app depends directly on pyproject's [project] dependencies.
project = tomllib.loads(Path("pyproject.toml").read_text(encoding="utf-8"))["project"]
direct = {canonical(re.split(r"[\s\[<>=!~;]", dep, maxsplit=1)[0]) for dep in project["dependencies"]}
refs = {canonical(c["name"]): c["bom-ref"] for c in bom.get("components", [])}
missing = sorted(direct - refs.keys())
if missing:
    sys.exit(f"make-sbom: {lock} lacks direct dependencies {missing}; run make lock")
dependencies = [d for d in bom.get("dependencies", []) if d.get("ref") not in (old_ref, root_ref)]
dependencies.append({"ref": root_ref, "dependsOn": sorted(refs[name] for name in direct)})

# Each bundled model: a machine-learning-model component pinned by its manifest's SHA-256.
base_models: dict[str, dict] = {}  # the pretrained weights encoder bundles derive from, by SHA-256
derived: dict[str, list[str]] = {}  # base weights' SHA-256 -> the bundle refs fine-tuned from them
for manifest_path in sorted(Path(models_dir).glob("*/manifest.json")):
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    digest = hashlib.sha256(manifest_path.read_bytes()).hexdigest()
    ref = f"model:{manifest_path.parent.name}"
    bom.setdefault("components", []).append(
        {
            "type": "machine-learning-model",
            "bom-ref": ref,
            "name": manifest.get("name", manifest_path.parent.name),
            "version": str(manifest.get("version", "")),
            "description": (
                f"model bundle {manifest_path.parent}; the SHA-256 is manifest.json's, which pins "
                "every other file of the bundle (check: abuse-desk models verify "
                f"{manifest_path.parent.name})"
            ),
            "hashes": [{"alg": "SHA-256", "content": digest}],
        }
    )
    dependencies[-1]["dependsOn"].append(ref)
    training = manifest.get("training")
    base = training.get("base_model") if isinstance(training, dict) else None
    if base is not None:
        sha = base.get("safetensors_sha256") if isinstance(base, dict) else None
        if not (
            isinstance(base, dict)
            and all(isinstance(base.get(k), str) and base[k] for k in ("name", "license"))
            and sha == OFFICIAL_SHA256
        ):
            sys.exit(
                f"make-sbom: {manifest_path}: training.base_model must give name, license and "
                f"safetensors_sha256 = the official {OFFICIAL_SHA256} (app/core/training/"
                f"mini_weights.py); it has {json.dumps(base)[:200]}"
            )
        base_models.setdefault(sha, base)
        derived.setdefault(sha, []).append(ref)

for sha, base in base_models.items():
    group, _, name = base["name"].rpartition("/")
    ref = f"model-base:{base['name']}@sha256:{sha}"
    bundles = ", ".join(r.removeprefix("model:") for r in derived[sha])
    component = {
        "type": "machine-learning-model",
        "bom-ref": ref,
        "name": name,
        "licenses": [{"license": {"id": base["license"]}}],
        "hashes": [{"alg": "SHA-256", "content": sha}],
        "description": (
            f"pretrained weights {base['name']} (model.safetensors; the SHA-256 is the official "
            "one, pinned in app/core/training/mini_weights.py); not shipped as such: the model "
            f"bundles {bundles} derive from it (fine-tuned, exported to ONNX and quantised to "
            "int8) and carry its licence and attribution"
        ),
    }
    if group:
        component["group"] = group
    bom["components"].append(component)
    dependencies += [{"ref": bundle_ref, "dependsOn": [ref]} for bundle_ref in derived[sha]]
    dependencies.append({"ref": ref})
bom["dependencies"] = dependencies

from cyclonedx.schema import SchemaVersion  # noqa: E402
from cyclonedx.validation.json import JsonStrictValidator  # noqa: E402

text = json.dumps(bom, indent=2, sort_keys=True) + "\n"
error = JsonStrictValidator(SchemaVersion.V1_6).validate_str(text)
if error is not None:
    sys.exit(f"make-sbom: the SBOM does not validate against CycloneDX 1.6: {error}")
Path(out).write_text(text, encoding="utf-8")
components = bom["components"]
print(
    f"make-sbom: {out}: abuse-desk {version}, {len(components)} components "
    f"({sum(c['type'] == 'machine-learning-model' for c in components) - len(base_models)} "
    f"model bundles, {len(base_models)} base models), "
    f"CycloneDX {bom['specVersion']}"
)
PY
