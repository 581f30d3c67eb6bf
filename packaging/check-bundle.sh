#!/usr/bin/env bash
# Check the built folder (dist/abuse-desk by default) the way a fresh workstation would run it:
# headless, with its own empty user folders (ABUSE_DESK_HOME), nothing from the checkout or venv.
#
#   bash packaging/check-bundle.sh [BUNDLE_DIR]
#
# Runs the frozen self-test (core checks plus Qt, fonts and the QtAgg plot stack, offscreen),
# verifies the bundled model, scores a text, scores with an encoder bundle (the thorough engine)
# with no network and compares its scores with the development install's, checks what the
# folder carries (onnxruntime and tokenizers; no hub client, scikit-learn, SciPy, onnx or
# torch), checks the GUI's "no display" message, checks that every shared library in the folder
# resolves (Linux), and that the folder is under SIZE_LIMIT_MB. Prints each step and the size;
# exits non-zero on the first failure.
#
# PY (default .venv/bin/python, the development venv) writes the tiny encoder bundle with
# tests/encoder_fixture.py (the real abuse-mini may not be built yet) and reads the folder's
# module archive with PyInstaller's reader.
set -euo pipefail
cd "$(dirname "$0")/.."

BUNDLE=${1:-dist/abuse-desk}
SIZE_LIMIT_MB=${SIZE_LIMIT_MB:-350}
MODEL=${MODEL:-abuse-lr-1.0.0}
PY=${PY:-.venv/bin/python}
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

echo "== the thorough engine: a tiny encoder bundle scored frozen, with no network"
enc_home="$home/encoder-home"  # its own user folders: unsigned test bundles allowed there only
mkdir -p "$enc_home/config"
echo '{"schema_version": 1, "allow_unsigned_models": true}' > "$enc_home/config/settings.json"
encoder=$(PYTHONPATH="$PWD" "$PY" -c 'import sys; from pathlib import Path
from tests.encoder_fixture import write_tiny_encoder_bundle
print(write_tiny_encoder_bundle(Path(sys.argv[1])))' "$home/encoder") \
  || fail "writing the tiny encoder bundle with $PY (the development venv: PY=...)"
NO_NET=()
if unshare -n true 2>/dev/null; then NO_NET=(unshare -n); else
  echo "check-bundle: unshare -n is unavailable here: the frozen run keeps the network" >&2; fi
# A hub cache it could read or fill: it must stay untouched (the app never calls the hub client).
hub="$home/hf-home"
texts=("you idiot" "hello friend, thanks for the help today")
frozen=$(env -u DISPLAY -u WAYLAND_DISPLAY -u PYTHONPATH -u PYTHONHOME -u HF_HUB_OFFLINE \
  ABUSE_DESK_HOME="$enc_home" QT_QPA_PLATFORM=offscreen HF_HOME="$hub" \
  "${NO_NET[@]}" "$EXE" --model "$encoder" score-text "${texts[@]}" --explain --json) \
  || fail "the frozen score-text with the encoder bundle $encoder"
[ ! -e "$hub" ] || fail "the frozen encoder run created a hub cache at $hub"
source_run=$(ABUSE_DESK_HOME="$enc_home" PYTHONPATH="$PWD" "$PY" -m app --model "$encoder" \
  score-text "${texts[@]}" --explain --json) || fail "score-text with $encoder from the checkout"
"$PY" - "$frozen" "$source_run" <<'PY' || fail "the frozen encoder scores differ from the checkout's"
import json, math, sys
frozen, source = (json.loads(text) for text in sys.argv[1:])
assert frozen["model_version"] == "abuse-mini 0.0.1", frozen["model_version"]
assert len(frozen["results"]) == len(source["results"]) == 2
for a, b in zip(frozen["results"], source["results"]):
    assert math.isclose(a["score"], b["score"], abs_tol=1e-6), (a["score"], b["score"])
    assert a["label"] == b["label"] and [t["term"] for t in a["terms"]] == [t["term"] for t in b["terms"]]
    assert a["terms"], "no occlusion effects"
print("frozen:", [round(r["score"], 6) for r in frozen["results"]], "= the checkout's")
PY

MINI="abuse-mini-1.0.0"
if [ -d "$BUNDLE/_internal/models/$MINI" ]; then
  echo "== the shipped thorough engine ($MINI): cascade and thorough batches, frozen, no network"
  csv="$home/mini.csv"
  { echo "id,text"; for i in $(seq 1 60); do
      if (( i % 3 )); then echo "$i,thanks for the lovely lunch $i"; else echo "$i,you are a stupid idiot $i"; fi
    done; } > "$csv"
  for mode in cascade thorough; do
    env -u DISPLAY -u WAYLAND_DISPLAY -u PYTHONPATH -u PYTHONHOME ABUSE_DESK_HOME="$home" \
      QT_QPA_PLATFORM=offscreen "${NO_NET[@]}" "$EXE" score "$csv" -o "$home/mini-$mode.csv" \
      --mode "$mode" --quiet || fail "the frozen score --mode $mode with $MINI"
  done
  PYTHONPATH="$PWD" ABUSE_DESK_HOME="$home/source-home" "$PY" -m app --model "$MINI" score \
    "$csv" -o "$home/mini-source.csv" --mode thorough --quiet || fail "thorough from the checkout"
  "$PY" - "$home/mini-thorough.csv" "$home/mini-source.csv" "$home/mini-cascade.csv" <<'PY' \
    || fail "the frozen $MINI scores differ from the checkout's"
import csv, math, sys
frozen, source, cascade = (list(csv.DictReader(open(p, encoding="utf-8-sig"))) for p in sys.argv[1:])
assert {r["model_version"] for r in frozen} == {"abuse-mini 1.0.0"}, frozen[0]
for a, b in zip(frozen, source, strict=True):
    assert math.isclose(float(a["abuse_score"]), float(b["abuse_score"]), abs_tol=1e-6), (a, b)
assert {r["abuse_label"] for r in frozen} == {"abusive", "benign"}
assert len(cascade) == 60 and "abuse-lr 2.0.0" in {r["model_version"] for r in cascade}
print("frozen thorough = the checkout's on 60 rows; cascade ran")
PY
fi

echo "== what the folder carries (top-level packages, frozen modules)"
"$PY" - "$BUNDLE" <<'PY' || fail "the folder carries what it must not (or lacks the engines)"
import sys
from pathlib import Path

from PyInstaller.archive.readers import CArchiveReader

bundle = Path(sys.argv[1])
internal = bundle / "_internal"
# Top-level entries of _internal: packages with binaries or data (PyInstaller puts pure
# modules in the PYZ archive inside the executable; both are checked).
tops = {p.name.split(".")[0] for p in internal.iterdir() if p.name.split(".")[0].isidentifier()}
pyz = CArchiveReader(str(bundle / "abuse-desk")).open_embedded_archive("PYZ.pyz")
frozen = {name.split(".")[0] for name in pyz.toc}
# The hub client tokenizers depends on (and its own dependencies), training-only packages.
FORBIDDEN = {
    "huggingface_hub", "hf_xet", "httpx", "httpx2", "httpcore", "httpcore2", "anyio", "h11",
    "idna", "truststore", "fsspec", "filelock", "yaml", "tqdm", "click", "typer", "requests",
    "sklearn", "scipy", "pandas", "onnx", "torch", "safetensors", "transformers",
}
bad = sorted((tops | frozen) & FORBIDDEN)
bad += [m for m in pyz.toc if m.startswith(("google.protobuf", "onnxruntime.quantization",
                                            "onnxruntime.tools", "onnxruntime.transformers"))]
print("_internal:", " ".join(sorted(tops)))
print("frozen modules:", len(pyz.toc), "in", len(frozen), "top-level packages")
assert not bad, f"must not ship: {bad[:20]}"
for needed in ("onnxruntime", "tokenizers"):
    assert needed in tops and needed in frozen, f"{needed} is missing"
PY

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
