#!/usr/bin/env bash
# Build the self-contained folder dist/abuse-desk (what `make bundle` runs), from a clean checkout.
#
#   bash packaging/build-bundle.sh [PYTHON]     (or PY=... bash packaging/build-bundle.sh)
#
# PYTHON is the project's venv interpreter (default .venv/bin/python). Installs the pinned
# 'bundle' extra (PyInstaller) if missing, makes sure the system libraries Qt's xcb plugin links to are
# present (so they are bundled), runs PyInstaller with packaging/abuse-desk.spec (work files in
# build/, result in dist/abuse-desk), then prints the build time and the folder's size and fails
# if the folder reaches SIZE_LIMIT_MB. Check the result with packaging/check-bundle.sh.
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${1:-${PY:-.venv/bin/python}}
SIZE_LIMIT_MB=${SIZE_LIMIT_MB:-350}
BUNDLE=dist/abuse-desk
export PIP_DISABLE_PIP_VERSION_CHECK=1

if ! "$PY" -c "import sys; sys.exit(sys.version_info < (3, 11))" 2>/dev/null; then
  echo "build-bundle: $PY is not a Python 3.11+ interpreter (create the venv first: make test)" >&2
  exit 2
fi

# The pinned 'bundle' extra (PyInstaller): already there after `make bundle` (the dev lock holds
# it), otherwise from the hash-pinned lock, or from pyproject's extra when there is no lock.
pinned=$(grep -o '"pyinstaller==[^"]*"' pyproject.toml | tr -d '"' | cut -d= -f3)
if ! "$PY" -c "import sys, PyInstaller; sys.exit(PyInstaller.__version__ != '$pinned')" 2>/dev/null; then
  if [ -f packaging/requirements-dev.lock ]; then
    "$PY" -m pip install -q --require-hashes -r packaging/requirements-dev.lock
  else
    "$PY" -m pip install -q -e ".[bundle]"
  fi
fi
bash packaging/ensure-system-libs.sh "$PY"

start=$(date +%s)
"$PY" -m PyInstaller --noconfirm --clean --log-level WARN \
  --workpath build --distpath dist packaging/abuse-desk.spec
seconds=$(( $(date +%s) - start ))

size_mb=$(du -sm "$BUNDLE" | cut -f1)
files=$(find "$BUNDLE" -type f | wc -l)
echo "build-bundle: $BUNDLE built in ${seconds} s: ${size_mb} MB, ${files} files (limit ${SIZE_LIMIT_MB} MB)"
if [ "$size_mb" -ge "$SIZE_LIMIT_MB" ]; then
  echo "build-bundle: $BUNDLE is ${size_mb} MB, not under ${SIZE_LIMIT_MB} MB" >&2
  echo "build-bundle: largest files:" >&2
  find "$BUNDLE" -type f -printf '%s\t%P\n' | sort -n | tail -15 >&2
  exit 1
fi
