"""Importing bundles from folders and zips: hostile or broken ones are refused, none runs code.

Each hostile bundle is *signed with a trusted key* after it is damaged (unless the damage is the
signature itself), so the refusal comes from the check under test, not from the signature.
"""

from __future__ import annotations

import io
import json
import os
import pickle
import shutil
import stat
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from app.core.bundles import bundle as bundle_module
from app.core.bundles.bundle import MANIFEST_NAME, SIGNATURE_NAME, npy_bytes, sha256_bytes
from app.core.bundles.signing import generate_key_pair, sign_bundle
from app.core.common.errors import ModelError
from app.core.models import model_import
from app.core.models.model_import import import_bundle
from app.core.models.registry import ModelRegistry
from tests.adversarial.bundle_kit import resign

MARKER = Path(os.environ.get("TMPDIR", "/tmp")) / "abuse-desk-pickle-ran"


class _RunsCode:
    """Unpickling this creates MARKER: proof that a loader executed the file."""

    def __reduce__(self):  # noqa: D105
        return (Path.touch, (MARKER,))


def _rewrite_manifest(folder: Path, change: Callable[[dict], None]) -> None:
    manifest = json.loads((folder / MANIFEST_NAME).read_text())
    change(manifest)
    (folder / MANIFEST_NAME).write_text(json.dumps(manifest))


def _list_file(folder: Path, name: str, data: bytes) -> None:
    """Write a file and list it with its true hash, so only content checks can refuse it."""
    (folder / name).write_bytes(data)
    _rewrite_manifest(
        folder,
        lambda m: m["files"].update({name: {"sha256": sha256_bytes(data), "bytes": len(data)}}),
    )


def _zip(folder: Path, out: Path, *, top: str | None = "bundle") -> Path:
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.iterdir()):
            archive.write(path, f"{top}/{path.name}" if top else path.name)
    return out


def _installed(registry: ModelRegistry) -> list[str]:
    """What the user model folder holds, staging leftovers included."""
    if not registry.user_dir.exists():
        return []
    return sorted(p.name for p in registry.user_dir.iterdir())


def test_marker_detects_code_execution():
    MARKER.unlink(missing_ok=True)
    pickle.loads(pickle.dumps(_RunsCode()))  # noqa: S301 -- what an unsafe loader would do
    assert MARKER.exists()
    MARKER.unlink()


# --- what is accepted ---------------------------------------------------------------------------


def test_imports_signed_folder_and_is_idempotent(model_registry, signed_tiny_bundle):
    entry, installed = import_bundle(model_registry, signed_tiny_bundle)
    assert installed and entry.verified and entry.source == "user"
    assert entry.signature is not None and entry.signature.signed
    assert entry.signature.key_name == "test-team"
    assert _installed(model_registry) == ["tiny-0.0.1"]
    assert model_registry.load("tiny 0.0.1").version_label == "tiny 0.0.1"
    again, installed_again = import_bundle(model_registry, signed_tiny_bundle)
    assert not installed_again and again.folder == entry.folder
    assert _installed(model_registry) == ["tiny-0.0.1"]


@pytest.mark.parametrize("top", ["bundle", None])
def test_imports_zip_with_or_without_folder(model_registry, signed_tiny_bundle, tmp_path, top):
    archive = _zip(signed_tiny_bundle, tmp_path / "tiny.zip", top=top)
    entry, installed = import_bundle(model_registry, archive)
    assert installed and entry.verified
    loaded = model_registry.load(entry.ref)
    original = (signed_tiny_bundle / "coef.npy").read_bytes()
    assert (entry.folder / "coef.npy").read_bytes() == original
    assert loaded.score_text("you are lovely", 0.5).score is not None


def test_same_version_with_other_content_is_refused(
    model_registry, signed_tiny_bundle, signing_key, tmp_path
):
    import_bundle(model_registry, signed_tiny_bundle)
    other = tmp_path / "other"
    shutil.copytree(signed_tiny_bundle, other)
    _rewrite_manifest(other, lambda m: m.update({"created_utc": "2030-01-01T00:00:00+00:00"}))
    sign_bundle(other, signing_key[0])
    with pytest.raises(ModelError, match="a different bundle named tiny 0.0.1 is already"):
        import_bundle(model_registry, other)
    assert _installed(model_registry) == ["tiny-0.0.1"]


def test_unsigned_allowed_only_by_setting(model_registry, tiny_bundle_copy):
    with pytest.raises(ModelError, match="is not signed"):
        import_bundle(model_registry, tiny_bundle_copy)
    allowing = ModelRegistry(
        model_registry.bundled_dir,
        model_registry.user_dir,
        model_registry.trust,
        allow_unsigned=True,
    )
    entry, installed = import_bundle(allowing, tiny_bundle_copy)
    assert installed and entry.signature is not None and not entry.signature.signed
    assert entry.signature_text == "unsigned"
    # The same installed bundle is refused again where unsigned bundles are not allowed.
    refused = model_registry.describe(entry.folder, "user")
    assert not refused.verified and "not signed" in (refused.problem or "")


# --- hostile and broken bundles ------------------------------------------------------------------


def _tamper_byte(folder: Path, key: Path) -> None:
    path = folder / "coef.npy"
    data = bytearray(path.read_bytes())
    data[-3] ^= 1
    path.write_bytes(bytes(data))  # after signing: the manifest no longer matches


def _missing_file(folder: Path, key: Path) -> None:
    (folder / "intercept.npy").unlink()


def _extra_file(folder: Path, key: Path) -> None:
    (folder / "notes.json").write_text("{}")


def _pickle_listed(folder: Path, key: Path) -> None:
    _list_file(folder, "model.pkl", pickle.dumps(_RunsCode()))
    sign_bundle_unchecked(folder, key)


def _object_array(folder: Path, key: Path) -> None:
    buffer = io.BytesIO()
    np.save(buffer, np.array([_RunsCode()], dtype=object), allow_pickle=True)
    _list_file(folder, "intercept.npy", buffer.getvalue())
    sign_bundle_unchecked(folder, key)  # sign_bundle refuses it now


def _wrong_shapes(folder: Path, key: Path) -> None:
    _list_file(folder, "coef.npy", npy_bytes(np.zeros(3)))
    sign_bundle_unchecked(folder, key)  # sign_bundle refuses it now


def _unknown_format(folder: Path, key: Path) -> None:
    _rewrite_manifest(folder, lambda m: m.update({"format_version": 99}))
    sign_bundle_unchecked(folder, key)


def _traversal_in_manifest(folder: Path, key: Path) -> None:
    _rewrite_manifest(
        folder, lambda m: m["files"].update({"../coef.npy": {"sha256": "0" * 64, "bytes": 1}})
    )
    sign_bundle_unchecked(folder, key)


def _evil_version(folder: Path, key: Path) -> None:
    _rewrite_manifest(folder, lambda m: m.update({"version": "../../escape"}))
    sign_bundle_unchecked(folder, key)  # sign_bundle itself refuses such a manifest


def _unsigned(folder: Path, key: Path) -> None:
    (folder / SIGNATURE_NAME).unlink()


def _manifest_edited_after_signing(folder: Path, key: Path) -> None:
    _rewrite_manifest(folder, lambda m: m.update({"default_threshold": 0.01}))


def _untrusted_key(folder: Path, key: Path) -> None:
    stranger = folder.parent / "stranger"
    stranger.mkdir()
    generate_key_pair(stranger / "k.key", stranger / "k.pem")
    sign_bundle(folder, stranger / "k.key")


def _malformed_signature(folder: Path, key: Path) -> None:
    (folder / SIGNATURE_NAME).write_text('{"format": "abuse-desk-signature", "algorithm": "rsa"}')


def _symlinked_file(folder: Path, key: Path) -> None:
    target = folder.parent / "outside.npy"
    os.replace(folder / "coef.npy", target)
    os.symlink(target, folder / "coef.npy")


def _subfolder(folder: Path, key: Path) -> None:
    (folder / "nested").mkdir()


# A manifest the loader cannot even list is signed without the checks sign_bundle makes first.
sign_bundle_unchecked = resign


FOLDER_CASES = {
    "sha256 mismatch": (_tamper_byte, r"coef\.npy does not match its SHA-256"),
    "missing file": (_missing_file, r"file intercept\.npy is missing"),
    "extra file": (_extra_file, r"unexpected file notes\.json"),
    "pickle file": (_pickle_listed, r"file type of 'model\.pkl' is not allowed"),
    "array needing pickle": (_object_array, r"intercept\.npy: dtype object is not allowed"),
    "inconsistent shapes": (_wrong_shapes, r"coef\.npy: holds 3 values, expected"),
    "unknown format version": (_unknown_format, r"format version 99 is not supported"),
    "traversal name in manifest": (_traversal_in_manifest, "invalid file name"),
    "version that names a path": (_evil_version, "cannot name a folder"),
    "unsigned": (_unsigned, "is not signed"),
    "manifest edited after signing": (_manifest_edited_after_signing, "signature does not match"),
    "untrusted key": (_untrusted_key, r"signed by key [0-9a-f]{16}, which is not trusted"),
    "malformed signature": (_malformed_signature, r"manifest\.sig is malformed"),
    "symlinked file": (_symlinked_file, r"coef\.npy is a link"),
    "subfolder": (_subfolder, "nested is not a regular file"),
}


@pytest.mark.parametrize("case", sorted(FOLDER_CASES))
def test_hostile_folder_is_refused(case, model_registry, signed_tiny_bundle, signing_key):
    damage, message = FOLDER_CASES[case]
    MARKER.unlink(missing_ok=True)
    damage(signed_tiny_bundle, signing_key[0])
    with pytest.raises(ModelError, match=message):
        import_bundle(model_registry, signed_tiny_bundle)
    assert _installed(model_registry) == []  # nothing installed, no staging left behind
    assert not MARKER.exists()  # no code ran
    # Also as a zip (links and folders cannot travel inside one the same way).
    if case not in ("symlinked file", "subfolder"):
        archive = _zip(signed_tiny_bundle, signed_tiny_bundle.parent / f"{case}.zip")
        with pytest.raises(ModelError, match=message):
            import_bundle(model_registry, archive)
        assert _installed(model_registry) == []
        assert not MARKER.exists()


def _raw_zip(out: Path, members: list[tuple[zipfile.ZipInfo | str, bytes]]) -> Path:
    with zipfile.ZipFile(out, "w") as archive:
        for info, data in members:
            archive.writestr(info, data)
    return out


def _symlink_info(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name)
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    return info


def _zip_with(folder: Path, extra: list[tuple[zipfile.ZipInfo | str, bytes]]) -> list:
    return [(f"b/{p.name}", p.read_bytes()) for p in sorted(folder.iterdir())] + extra


ZIP_CASES = {
    "path traversal": (lambda f: _zip_with(f, [("b/../../evil.json", b"{}")]), "path traversal"),
    "absolute path": (lambda f: _zip_with(f, [("/etc/evil.json", b"{}")]), "not a relative path"),
    "windows path": (lambda f: _zip_with(f, [("b\\evil.json", b"{}")]), "not a relative path"),
    "symlink member": (
        lambda f: _zip_with(f, [(_symlink_info("b/link.json"), b"/etc/passwd")]),
        "is a link",
    ),
    "nested folder": (lambda f: _zip_with(f, [("b/deeper/x.json", b"{}")]), "is nested"),
    "two bundles": (lambda f: _zip_with(f, [("c/x.json", b"{}")]), "must hold one bundle"),
    "duplicate member": (
        lambda f: _zip_with(f, [("b/coef.npy", (f / "coef.npy").read_bytes())]),
        "appears twice",
    ),
}


@pytest.mark.filterwarnings("ignore:Duplicate name")  # the duplicate is the point
@pytest.mark.parametrize("case", sorted(ZIP_CASES))
def test_hostile_zip_is_refused(case, model_registry, signed_tiny_bundle, tmp_path):
    build, message = ZIP_CASES[case]
    archive = _raw_zip(tmp_path / "hostile.zip", build(signed_tiny_bundle))
    with pytest.raises(ModelError, match=message):
        import_bundle(model_registry, archive)
    assert _installed(model_registry) == []
    assert not (tmp_path.parent / "evil.json").exists()


def test_oversize_files_are_refused(model_registry, signed_tiny_bundle, tmp_path, monkeypatch):
    limit = 1000  # smaller than coef.npy, larger than the manifest
    monkeypatch.setattr(model_import, "MAX_FILE_BYTES", limit)
    monkeypatch.setattr(bundle_module, "MAX_FILE_BYTES", limit)
    with pytest.raises(ModelError, match="too large"):
        import_bundle(model_registry, signed_tiny_bundle)
    with pytest.raises(ModelError, match="too large"):
        import_bundle(model_registry, _zip(signed_tiny_bundle, tmp_path / "big.zip"))
    assert _installed(model_registry) == []


def test_zip_whose_header_understates_a_size_is_cut_off(model_registry, tmp_path, monkeypatch):
    monkeypatch.setattr(model_import, "MAX_FILE_BYTES", 100)
    archive = _raw_zip(tmp_path / "liar.zip", [("manifest.json", b"x" * 5000)])
    with zipfile.ZipFile(archive) as zf:  # the header says 5000; the copy must stop at 100
        info = zf.infolist()[0]
    assert info.file_size == 5000
    with pytest.raises(ModelError, match="too large|larger than 100"):
        import_bundle(model_registry, archive)
    assert _installed(model_registry) == []


def test_neither_folder_nor_zip(model_registry, tmp_path):
    path = tmp_path / "model.bin"
    path.write_bytes(b"\x00" * 100)
    with pytest.raises(ModelError, match="neither a bundle folder nor a zip"):
        import_bundle(model_registry, path)
    with pytest.raises(ModelError, match="does not exist"):
        import_bundle(model_registry, tmp_path / "absent")
