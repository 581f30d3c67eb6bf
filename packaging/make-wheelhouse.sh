#!/usr/bin/env bash
# Build wheelhouse/: everything an air-gapped workstation needs to install abuse-desk with pip and
# no network (what `make wheelhouse` runs). Run it on a connected machine with CPython 3.11 on
# Linux x86_64, the workstation's platform: pip picks the wheels for the interpreter running it.
#
#   bash packaging/make-wheelhouse.sh [--dev] [--python PY] [--out DIR]
#
# wheelhouse/ then holds:
#   *.whl                          every package of packaging/requirements.lock (with --dev: of
#                                  requirements-dev.lock), binary wheels only, each checked
#                                  against the lock's hashes while downloading
#   abuse_desk-VERSION-py3-none-any.whl   the app itself, built from this tree, with models/
#                                  and resources/ as data (installed under <venv>/share/abuse-desk)
#   requirements.lock (and requirements-dev.lock with --dev)   the lock(s) to install from
#   SHA256SUMS                     sha256sum of every file above (check with sha256sum -c)
set -euo pipefail
cd "$(dirname "$0")/.."

LOCKS=(packaging/requirements.lock)
OUT=wheelhouse
PY=${PY:-}
while [ $# -gt 0 ]; do
  case "$1" in
    --dev) LOCKS=(packaging/requirements.lock packaging/requirements-dev.lock); shift ;;
    --python) PY=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    -h | --help) sed -n '2,17p' "$0"; exit 0 ;;
    *) echo "usage: $0 [--dev] [--python PY] [--out DIR]" >&2; exit 2 ;;
  esac
done
if [ -z "$PY" ]; then
  if [ -x .venv/bin/python ]; then PY=.venv/bin/python; else PY=python3.11; fi
fi
export PIP_DISABLE_PIP_VERSION_CHECK=1

# The wheels must match the workstation: CPython 3.11, Linux x86_64 (manylinux).
if ! "$PY" -c 'import platform, sys; sys.exit(not (sys.implementation.name == "cpython"
    and sys.version_info[:2] == (3, 11) and sys.platform == "linux" and platform.machine() == "x86_64"))'; then
  echo "make-wheelhouse: $PY is not CPython 3.11 on Linux x86_64; the wheels would not fit the workstation" >&2
  exit 2
fi
# Building the app's wheel uses the locked build backend (no build isolation, no download).
if ! "$PY" -c 'import setuptools, wheel, sys; sys.exit(int(setuptools.__version__.split(".")[0]) < 77)' 2>/dev/null; then
  echo "make-wheelhouse: $PY lacks setuptools>=77 and wheel (run make test or make run first)" >&2
  exit 2
fi
VERSION=$("$PY" -c 'import ast, pathlib
tree = ast.parse(pathlib.Path("app/__init__.py").read_text())
print(next(n.value.value for n in tree.body if isinstance(n, ast.Assign)
           and getattr(n.targets[0], "id", "") == "__version__"))')

start=$(date +%s)
# Start from an empty folder, so nothing stale travels; never delete a folder this did not make.
if [ -d "$OUT" ] && [ -n "$(ls -A "$OUT")" ] && [ ! -f "$OUT/SHA256SUMS" ]; then
  echo "make-wheelhouse: $OUT exists and is not a wheelhouse (no SHA256SUMS); not replacing it" >&2
  exit 2
fi
rm -rf "$OUT"
mkdir -p "$OUT"

# The dependencies: exactly the locked files, verified against the lock's hashes as they arrive
# (the last lock is the largest: the dev lock holds every runtime pin too).
"$PY" -m pip download -q --require-hashes --only-binary :all: --no-deps -r "${LOCKS[-1]}" -d "$OUT"

# The app itself. Stale files in setuptools' build/lib would end up in the wheel: clear them.
rm -rf build/lib build/bdist.*
"$PY" -m pip wheel -q --no-deps --no-build-isolation . -w "$OUT"

# The wheel must carry the model: refuse to ship one that does not (pyproject data-files).
# (The listing is read whole first: `grep -q` closing the pipe early would break it under pipefail.)
listing=$("$PY" -m zipfile -l "$OUT"/abuse_desk-"$VERSION"-*.whl)
if ! grep -q 'data/data/share/abuse-desk/models/.*/manifest.sig' <<< "$listing"; then
  echo "make-wheelhouse: the app's wheel carries no signed model (pyproject data-files)" >&2
  exit 1
fi

for lock in "${LOCKS[@]}"; do cp "$lock" "$OUT/"; done
(cd "$OUT" && mapfile -t files < <(find . -maxdepth 1 -type f -printf '%P\n' | LC_ALL=C sort) \
  && sha256sum "${files[@]}" > SHA256SUMS)

seconds=$(( $(date +%s) - start ))
wheels=$(find "$OUT" -maxdepth 1 -name '*.whl' | wc -l)
echo "make-wheelhouse: $OUT/ built in ${seconds} s: ${wheels} wheels, $(du -sh "$OUT" | cut -f1)" \
  "(app $VERSION; locks: ${LOCKS[*]})"
