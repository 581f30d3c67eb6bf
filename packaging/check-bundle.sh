#!/usr/bin/env bash
# Check the built folder (dist/abuse-desk by default) the way a fresh workstation would run it:
# headless, with its own empty user folders (ABUSE_DESK_HOME), nothing from the checkout or venv.
#
#   bash packaging/check-bundle.sh [BUNDLE_DIR]
#
# Runs the frozen self-test (core checks plus Qt, fonts and the QtAgg plot stack, offscreen),
# verifies the bundled model, scores a text, checks the GUI's "no display" message, checks that
# every shared library in the folder resolves (Linux), and that the folder is under
# SIZE_LIMIT_MB. Prints each step and the size; exits non-zero on the first failure.
set -euo pipefail
cd "$(dirname "$0")/.."

BUNDLE=${1:-dist/abuse-desk}
SIZE_LIMIT_MB=${SIZE_LIMIT_MB:-350}
MODEL=${MODEL:-abuse-lr-1.0.0}
EXE="$BUNDLE/abuse-desk"
[ -x "$EXE" ] || { echo "check-bundle: no $EXE; build it first (make bundle)" >&2; exit 2; }

home=$(mktemp -d)
trap 'rm -rf "$home"' EXIT
# Headless and isolated: no display, no user settings or models, no PYTHONPATH leaking in.
run() {
  env -u DISPLAY -u WAYLAND_DISPLAY -u PYTHONPATH -u PYTHONHOME \
    ABUSE_DESK_HOME="$home" QT_QPA_PLATFORM=offscreen "$EXE" "$@"
}
fail() { echo "check-bundle: FAILED: $*" >&2; exit 1; }

echo "== self-test"
run --self-test || fail "the frozen self-test"

echo "== models verify $MODEL (and every other bundled version)"
run models verify "$MODEL" || fail "models verify $MODEL"
for folder in "$BUNDLE"/_internal/models/*/; do  # what the frozen folder holds
    run models verify "$(basename "$folder")" || fail "models verify $(basename "$folder")"
done

echo "== score-text on abuse-lr 2.0.0 (the fast scorer, frozen)"
out=$(run --model abuse-lr-2.0.0 score-text "you idiot" --json) || fail "score-text with 2.0.0"
grep -q '"model_version": "abuse-lr 2.0.0"' <<<"$out" || fail "2.0.0 did not score: $out"

echo "== score-text"
out=$(run score-text "you idiot" --json) || fail "score-text"
echo "$out"
grep -q '"label": "abusive"' <<<"$out" || fail "score-text did not flag 'you idiot' as abusive"

echo "== GUI without a display"
set +e
msg=$(env -u DISPLAY -u WAYLAND_DISPLAY -u QT_QPA_PLATFORM ABUSE_DESK_HOME="$home" "$EXE" 2>&1)
code=$?
set -e
echo "$msg"
{ [ "$code" -eq 2 ] && grep -q "no display found" <<<"$msg"; } \
  || fail "the GUI without a display exited $code without the 'no display' message"

if [ "$(uname -s)" = Linux ] && command -v ldd >/dev/null; then
  echo "== shared libraries"
  internal=$(cd "$BUNDLE/_internal" && pwd)
  missing=$(find "$BUNDLE" -type f \( -name '*.so' -o -name '*.so.*' \) -print0 \
    | xargs -0 -n 50 env LD_LIBRARY_PATH="$internal" ldd 2>/dev/null | grep "not found" | sort -u || true)
  [ -z "$missing" ] || fail "libraries not found: $missing"
  echo "every shared library resolves"
fi

size_mb=$(du -sm "$BUNDLE" | cut -f1)
echo "== size: ${size_mb} MB (limit ${SIZE_LIMIT_MB} MB)"
[ "$size_mb" -lt "$SIZE_LIMIT_MB" ] || fail "$BUNDLE is ${size_mb} MB, not under ${SIZE_LIMIT_MB} MB"
echo "check-bundle: all checks passed"
