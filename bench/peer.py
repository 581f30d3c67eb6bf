"""The peer for comparison: ``alt-profanity-check`` (optional, benchmarks only, never the app's).

It is a calibrated linear SVM ensemble over word n-grams (scikit-learn), trained on Davidson et
al. plus Wikipedia comments: the strongest offline peer measured on this machine. It is not a
dependency of the app, nor of its dev lock. If ``import profanity_check`` fails, the pinned wheel
is installed into build/peer (git-ignored) with ``pip install --no-deps --target``, hash-checked;
it is pure Python plus its model files and needs only scikit-learn and joblib, which the venv
has. Without network (or with ``BENCH_NO_PEER=1``) the peer is skipped: ``peer_status()`` says
why, and the benchmarks print that and carry on with our own figures.

Security note: importing the package loads its two joblib (pickle) files. That is acceptable
here and only here: they are the peer's own package data, from the pinned PyPI release checked
against its SHA-256, loaded by a benchmark; never a file a user chooses. The app itself never
unpickles anything (its model bundles are JSON and .npy without pickles).
"""

from __future__ import annotations

import importlib
import importlib.metadata
import os
import subprocess
import sys
import time
import warnings
from pathlib import Path
from types import ModuleType

import numpy as np

REPO = Path(__file__).resolve().parents[1]
TARGET = REPO / "build" / "peer"
DIST = "alt-profanity-check"
PIN = "1.9.1"
# SHA-256 of alt_profanity_check-1.9.1-py3-none-any.whl as published on PyPI.
WHEEL_SHA256 = "cccb8ce072306bac21188670777a25cfb1de978aa8c7a93c8e4a43c03b3945c3"

_module: ModuleType | None = None
_status = "not loaded"
_load_s = float("nan")


def _import() -> ModuleType:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # e.g. scikit-learn's InconsistentVersionWarning
        return importlib.import_module("profanity_check")


def _install() -> str | None:
    """Install the pinned wheel into build/peer; None on success, else why it failed."""
    TARGET.parent.mkdir(parents=True, exist_ok=True)
    requirements = TARGET.parent / "peer-requirements.txt"
    requirements.write_text(f"{DIST}=={PIN} --hash=sha256:{WHEEL_SHA256}\n")
    command = [
        sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--only-binary", ":all:",
        "--require-hashes", "--target", str(TARGET), "-r", str(requirements),
    ]  # fmt: skip
    print(f"peer: installing {DIST}=={PIN} into {TARGET.relative_to(REPO)} ...", flush=True)
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"pip failed: {exc}"
    if done.returncode != 0:
        lines = (done.stderr or done.stdout).strip().splitlines()
        return f"pip failed: {' '.join(lines[-1].split()) if lines else done.returncode}"
    return None


def load(install: bool = True) -> ModuleType | None:
    """Import the peer (installing it into build/peer if needed); None if it is unavailable."""
    global _module, _status, _load_s
    if _module is not None or _status.startswith("skipped"):
        return _module
    if os.environ.get("BENCH_NO_PEER"):
        _status = "skipped: BENCH_NO_PEER is set"
        return None
    if str(TARGET) not in sys.path:
        sys.path.append(str(TARGET))  # after the venv: an installed peer wins
    t0 = time.perf_counter()
    try:
        _module = _import()
    except ImportError:
        problem = _install() if install else "not installed"
        if problem is None:
            importlib.invalidate_caches()
            try:
                t0 = time.perf_counter()
                _module = _import()
            except ImportError as exc:
                problem = f"import failed after install: {exc}"
        if problem is not None:
            _status = f"skipped: {problem}"
            print(f"peer: {DIST} {_status}", flush=True)
            return None
    _load_s = time.perf_counter() - t0
    _status = f"{DIST} {peer_version()}"
    return _module


def peer_version() -> str | None:
    """The installed peer's version (from its dist-info: the module's __version__ is stale)."""
    if _module is None:
        return None
    try:
        return importlib.metadata.version(DIST)
    except importlib.metadata.PackageNotFoundError:
        return str(getattr(_module, "__version__", "unknown"))


def peer_status() -> str:
    """``"alt-profanity-check 1.9.1"`` when loaded, else ``"skipped: <why>"``."""
    return _status


def peer_load_s() -> float:
    """Seconds the import took (it loads the vectoriser and the model), NaN if not loaded."""
    return _load_s


def available() -> bool:
    return load() is not None


def peer_predict_prob(texts: list[str]) -> np.ndarray:
    """The peer's probability of profanity for each text (its public ``predict_prob``)."""
    module = load()
    if module is None:
        raise RuntimeError(f"peer unavailable ({_status})")
    return module.predict_prob(texts)


if __name__ == "__main__":
    load()
    print(peer_status())
    if available():
        print(f"load {peer_load_s():.3f} s", peer_predict_prob(["have a nice day", "you idiot"]))
