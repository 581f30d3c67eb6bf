#!/usr/bin/env bash
# Regenerate the hash-pinned locks from pyproject.toml:
#   packaging/requirements.lock      runtime dependencies ([project] dependencies)
#   packaging/requirements-dev.lock  runtime + the dev and bundle extras + the build backend
#                                    ([build-system] requires: setuptools, wheel)
#   packaging/requirements-train-mini.lock
#                                    runtime + the train-mini extra (torch, safetensors, onnx),
#                                    at the dev lock's versions (make train-mini-deps installs it
#                                    over the dev install)
# Usage: bash packaging/lock.sh [--upgrade]   (or: make lock)
#
# Without --upgrade, pins already in the locks are kept unless pyproject.toml forces a change;
# --upgrade re-resolves every transitive package to its newest allowed version.
# pip-tools runs in a throwaway venv under build/ (never in .venv). Resolve on CPython 3.11,
# Linux x86_64: the locks hold every file's hash for each pinned version, but environment
# markers are evaluated for the interpreter that runs this script.
set -euo pipefail
cd "$(dirname "$0")/.."

PIP_TOOLS_VERSION=7.6.2
PYTHON=${PYTHON:-python3.11}
LOCK_VENV=build/lock-venv
UPGRADE=()
case "${1:-}" in
  --upgrade | -U) UPGRADE=(--upgrade) ;;
  "") ;;
  *) echo "usage: $0 [--upgrade]" >&2; exit 2 ;;
esac

"$PYTHON" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' \
  || { echo "lock.sh: resolve with CPython 3.11 (set PYTHON=...)" >&2; exit 2; }

if ! "$LOCK_VENV/bin/pip-compile" --version 2>/dev/null | grep -q "version $PIP_TOOLS_VERSION\b"; then
  rm -rf "$LOCK_VENV"
  "$PYTHON" -m venv "$LOCK_VENV"
  "$LOCK_VENV/bin/python" -m pip install -q --disable-pip-version-check "pip-tools==$PIP_TOOLS_VERSION"
fi

# Resolve against the package index alone: no machine-local wheel folders or constraint files
# (pip.conf, PIP_FIND_LINKS, PIP_CONSTRAINT) may leak into the locks. PIP_INDEX_URL is honoured
# if set, but never written into the files.
export PIP_CONFIG_FILE=/dev/null
unset PIP_FIND_LINKS PIP_CONSTRAINT PIP_EXTRA_INDEX_URL PIP_NO_INDEX
export CUSTOM_COMPILE_COMMAND="bash packaging/lock.sh    (or: make lock)"

COMMON=(--quiet --generate-hashes --allow-unsafe --strip-extras --no-emit-index-url
        --no-emit-find-links --no-emit-trusted-host --no-emit-options --annotate --newline lf
        "${UPGRADE[@]}")

"$LOCK_VENV/bin/pip-compile" "${COMMON[@]}" \
  --output-file packaging/requirements.lock pyproject.toml

# The dev lock is constrained to the runtime lock's versions, so both always agree.
mkdir -p build
grep -E '^[A-Za-z0-9._-]+==' packaging/requirements.lock | sed 's/ *\\$//' > build/runtime-constraints.txt
"$LOCK_VENV/bin/pip-compile" "${COMMON[@]}" \
  --extra dev --extra bundle --build-deps-for wheel --build-deps-for editable \
  --constraint build/runtime-constraints.txt \
  --output-file packaging/requirements-dev.lock pyproject.toml

# pip-compile writes the annotation "-c build/runtime-constraints.txt" for pinned runtime packages;
# the throwaway path means nothing to a reader, so name the runtime lock instead.
sed -i 's|build/runtime-constraints.txt|packaging/requirements.lock|' packaging/requirements-dev.lock

# A few lines under pip-compile's header: what the file is for and how to install from it.
note() {
  local file=$1 what=$2
  awk -v what="$what" 'NR == 6 {
      print "#    " what
      print "#    Resolved on CPython 3.11, Linux x86_64; every version pinned with the hashes of all its files."
      print "#    Install: pip install --require-hashes -r " FILENAME
      print "#    Do not edit by hand: change pyproject.toml, then regenerate."
    } { print }' "$file" > "$file.tmp" && mv "$file.tmp" "$file"
}
# The training extra of the thorough engine, constrained to the dev lock's versions, so that
# installing it over the dev install (make train-mini-deps) changes no package the tests use.
grep -E '^[A-Za-z0-9._-]+==' packaging/requirements-dev.lock | sed 's/ *\\$//' > build/dev-constraints.txt
"$LOCK_VENV/bin/pip-compile" "${COMMON[@]}" \
  --extra train-mini --constraint build/dev-constraints.txt \
  --output-file packaging/requirements-train-mini.lock pyproject.toml
sed -i 's|build/dev-constraints.txt|packaging/requirements-dev.lock|' packaging/requirements-train-mini.lock

note packaging/requirements.lock "Runtime dependencies ([project] dependencies in pyproject.toml)."
note packaging/requirements-dev.lock "Runtime + the dev and bundle extras + the build backend ([build-system] requires)."
note packaging/requirements-train-mini.lock "Runtime + the train-mini extra, at the dev lock's versions (make train-mini-deps)."

for f in packaging/requirements.lock packaging/requirements-dev.lock packaging/requirements-train-mini.lock; do
  echo "$f: $(grep -cE '^[A-Za-z0-9._-]+==' "$f") packages pinned"
done
