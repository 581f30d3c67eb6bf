"""Shared tools of the bundle and zip attacks: tamper a bundle, re-sign it with the test key (so
the signature passes and only validation can refuse it), run the CLI in-process, and check the
exact outcome of a refusal."""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from app.core.bundles.bundle import MANIFEST_NAME, SIGNATURE_NAME, npy_bytes, sha256_bytes

__all__ = ["npy_bytes"]


def resign(folder: Path, key: Path) -> None:
    """Sign the manifest as it is, without the checks `sign_bundle` makes first: a trusted
    key signing a bad bundle is exactly the attack."""
    from app.core.bundles.signing import key_id, read_private_key

    private = read_private_key(key)
    document = {
        "format": "abuse-desk-signature",
        "algorithm": "ed25519",
        "key_id": key_id(private.public_key()),
        "signature": base64.b64encode(private.sign((folder / MANIFEST_NAME).read_bytes())).decode(),
    }
    (folder / SIGNATURE_NAME).write_text(json.dumps(document))


def put(folder: Path, name: str, data: bytes, key: Path) -> None:
    """Write a file, list it with its true hash and size, re-sign."""
    (folder / name).write_bytes(data)
    manifest = json.loads((folder / MANIFEST_NAME).read_text())
    manifest["files"][name] = {"sha256": sha256_bytes(data), "bytes": len(data)}
    (folder / MANIFEST_NAME).write_text(json.dumps(manifest))
    resign(folder, key)


def edit_json(folder: Path, name: str, change: Callable[[Any], Any], key: Path) -> None:
    """Change a JSON file of the bundle (``change`` edits in place or returns raw text)."""
    if name == MANIFEST_NAME:
        manifest = json.loads((folder / name).read_text())
        raw = change(manifest)
        (folder / name).write_text(raw if isinstance(raw, str) else json.dumps(manifest))
        resign(folder, key)
        return
    value = json.loads((folder / name).read_text())
    raw = change(value)
    put(folder, name, (raw if isinstance(raw, str) else json.dumps(value)).encode(), key)


def digest(path: Path) -> dict[str, str]:
    """Every byte of a file or folder, to show the user's source is left as it was."""
    if path.is_file():
        return {path.name: hashlib.sha256(path.read_bytes()).hexdigest()}
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(path.iterdir())}


def make_home(root: Path, public_keys: Path) -> Path:
    """User folders that trust the test key (as an administrator's `models trust` would)."""
    home = root / "home"
    (home / "config" / "trusted_keys").mkdir(parents=True)
    for pem in public_keys.glob("*.pem"):
        shutil.copy(pem, home / "config" / "trusted_keys" / pem.name)
    return home


def run_main(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], home: Path, *args: str
) -> tuple[int, str, str]:
    """``python -m app ARGS`` in this process (exit code, stdout, stderr)."""
    from app.cli.main import main

    monkeypatch.setenv("ABUSE_DESK_HOME", str(home))
    capsys.readouterr()
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def assert_refused(code: int, err: str, expected: int, shown: Path, *words: str) -> None:
    """One line on stderr naming the user's file (never a work file), the exit code, no trace."""
    assert code == expected, err
    assert "Traceback" not in err
    lines = err.strip("\n").split("\n")
    assert len(lines) == 1, err
    assert str(shown) in lines[0], lines[0]
    assert ".import-" not in lines[0], lines[0]  # the staging folder is an internal work file
    for word in words:
        assert word in lines[0], lines[0]


def installed(home: Path) -> list[str]:
    folder = home / "data" / "models"
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []
