#!/usr/bin/env bash
# Prove the air-gapped procedure (README, Air-gapped installation) end to end: build wheelhouse/,
# copy it to a scratch folder outside the repo, then with no network at all (`unshare -n`: a new,
# empty network namespace) and a scrubbed environment (no pip.conf, no PIP_* variables, no pip
# cache, no access to the repo's .venv) create a fresh venv, install the locked dependencies with
# --no-index --require-hashes, install the app's wheel (it carries models/ and resources/ as
# data), and run `--self-test`, `score-text` and `models verify` from a folder outside the repo.
# What `make offline-check` runs.
#
#   bash packaging/check-offline-install.sh [--python PY] [--keep] [--no-build]
#
# --python  the connected machine's interpreter for building (default .venv/bin/python); the
#           offline venv is made with its base interpreter (CPython 3.11)
# --keep    keep the scratch folder (printed) to look around
# --no-build  use the existing wheelhouse/ instead of rebuilding it
#
# If `unshare -n` is unavailable (not root, no user namespaces), it says so and falls back to
# --no-index alone: the install then cannot use an index, but the network is not removed.
set -euo pipefail
cd "$(dirname "$0")/.."

PY=.venv/bin/python
KEEP=0
BUILD=1
while [ $# -gt 0 ]; do
  case "$1" in
    --python) PY=$2; shift 2 ;;
    --keep) KEEP=1; shift ;;
    --no-build) BUILD=0; shift ;;
    -h | --help) sed -n '2,22p' "$0"; exit 0 ;;
    *) echo "usage: $0 [--python PY] [--keep] [--no-build]" >&2; exit 2 ;;
  esac
done

t0=$(date +%s.%N)
if [ "$BUILD" = 1 ]; then
  bash packaging/make-wheelhouse.sh --python "$PY"
fi
t_built=$(date +%s.%N)
[ -f wheelhouse/SHA256SUMS ] || { echo "offline-check: no wheelhouse/ (run make wheelhouse)" >&2; exit 2; }
BASE_PY=$("$PY" -c 'import sys; print(getattr(sys, "_base_executable", sys.executable))')

if unshare -n true 2>/dev/null; then
  ISOLATE=(unshare -n)
  MODE="no network (unshare -n)"
else
  ISOLATE=()
  MODE="--no-index only (unshare -n unavailable here: the network is NOT removed)"
  echo "offline-check: unshare -n is unavailable (needs root or unprivileged user namespaces);" \
    "falling back to --no-index only" >&2
fi

SCRATCH=$(mktemp -d "${TMPDIR:-/tmp}/abuse-desk-offline.XXXXXX")
if [ "$KEEP" = 1 ]; then
  echo "offline-check: scratch folder kept: $SCRATCH"
else
  trap 'rm -rf "$SCRATCH"' EXIT
fi
# The "USB stick": only the wheelhouse travels.
cp -r wheelhouse "$SCRATCH/wheelhouse"

cat > "$SCRATCH/procedure.sh" <<'EOF'
# What the engineer types on the workstation (README, Air-gapped installation), run from $WORK.
set -euo pipefail
cd "$WORK"
now() { date +%s.%N; }
if [ "$ISOLATED" = 1 ]; then
  if "$BASE_PY" -c 'import socket; socket.create_connection(("pypi.org", 443), timeout=5)' 2>/dev/null; then
    echo "offline-check: the network is reachable inside the namespace" >&2; exit 1
  fi
  echo "== network: none (pypi.org unreachable)"
fi

echo "== verify the wheelhouse"
(cd wheelhouse && sha256sum --quiet -c SHA256SUMS)

echo "== install the locked dependencies, offline"
t=$(now)
"$BASE_PY" -m venv venv
venv/bin/python -m pip install -q --no-index --find-links wheelhouse --require-hashes \
  -r wheelhouse/requirements.lock
venv/bin/python -m pip install -q --no-index --no-deps wheelhouse/abuse_desk-*.whl
awk -v a="$(now)" -v b="$t" 'BEGIN { printf "%.1f\n", a - b }' > install-seconds
echo "   installed in $(cat install-seconds) s"
venv/bin/python -m pip check

app_file=$(venv/bin/python -c 'import app; print(app.__file__)')
case "$app_file" in
  "$WORK"/venv/*) echo "== app imported from the installed wheel: $app_file" ;;
  *) echo "offline-check: app imported from $app_file, not from the installed wheel" >&2; exit 1 ;;
esac

root=$(venv/bin/python -c 'from app.core.common.paths import install_root; print(install_root())')
echo "== models/ and resources/ come from the wheel: $root"
case "$root" in
  "$WORK"/venv/*) ;;
  *) echo "offline-check: the installed app reads its data from $root, not the venv" >&2; exit 1 ;;
esac

echo "== python -m app --self-test"
venv/bin/python -m app --self-test
echo "== python -m app score-text \"you idiot\""
venv/bin/python -m app score-text "you idiot"
echo "== abuse-desk-cli models verify abuse-lr-1.0.0 and abuse-lr-2.0.0; models list"
venv/bin/abuse-desk-cli models verify abuse-lr-1.0.0
venv/bin/abuse-desk-cli models verify abuse-lr-2.0.0
venv/bin/abuse-desk-cli models list
EOF

mkdir -p "$SCRATCH/home" "$SCRATCH/xdg-runtime"
chmod 700 "$SCRATCH/xdg-runtime"
# A scrubbed environment: nothing from this machine's pip configuration or the repo's venv.
ENV=(env -i "PATH=/usr/local/bin:/usr/bin:/bin" "HOME=$SCRATCH/home" "LANG=C.UTF-8"
  "WORK=$SCRATCH" "BASE_PY=$BASE_PY" "ISOLATED=$([ ${#ISOLATE[@]} -gt 0 ] && echo 1 || echo 0)"
  "ABUSE_DESK_HOME=$SCRATCH/abuse-desk-home" "QT_QPA_PLATFORM=offscreen"
  "XDG_RUNTIME_DIR=$SCRATCH/xdg-runtime" "PIP_CONFIG_FILE=/dev/null" "PIP_NO_CACHE_DIR=1"
  "PIP_DISABLE_PIP_VERSION_CHECK=1")
# Keep the OpenBLAS workarounds some machines set (older kernels crash without them).
for var in OPENBLAS_CORETYPE OPENBLAS_L2_SIZE; do
  [ -n "${!var:-}" ] && ENV+=("$var=${!var}")
done

echo "offline-check: running the workstation procedure in $SCRATCH, $MODE"
status=0
(cd "$SCRATCH" && "${ISOLATE[@]}" "${ENV[@]}" bash "$SCRATCH/procedure.sh") || status=$?
t_done=$(date +%s.%N)

size=$(du -sh wheelhouse | cut -f1)
install_s=$(cat "$SCRATCH/install-seconds" 2>/dev/null || echo "?")
printf 'offline-check: wheelhouse %s (%s wheels); build %.0f s; offline install %s s; total %.0f s; %s\n' \
  "$size" "$(find wheelhouse -maxdepth 1 -name '*.whl' | wc -l)" \
  "$(awk -v a="$t_built" -v b="$t0" 'BEGIN { print a - b }')" "$install_s" \
  "$(awk -v a="$t_done" -v b="$t0" 'BEGIN { print a - b }')" "$MODE"
if [ "$status" -ne 0 ]; then
  echo "offline-check: FAILED (exit $status)" >&2
  exit "$status"
fi
echo "offline-check: OK"
