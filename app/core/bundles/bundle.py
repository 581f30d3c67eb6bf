"""Model bundles: a folder of data files (JSON and ``.npy``), verified before anything is parsed.

Layout of ``models/<name>-<version>/``::

    manifest.json      name, version, provenance, metrics, and the SHA-256 of every other file
    features.json      vectoriser settings and vocabularies
    classifier.json    class labels, feature-block order, calibration
    *.npy              idf weights, coefficients, intercept, evaluation arrays
    MODEL_CARD.md      the human-readable account of data, model and metrics

Why this shape: a pickle or joblib file runs code when it is loaded, and a bundle can arrive on
removable media from anywhere. Here the manifest (size-capped) is the only file parsed before
verification; every other file is read once as bytes, hashed, compared with the manifest, and
only then parsed from those same bytes, so nothing can change between check and use. Parsing
has limits (app.core.bundles.bundle_json: no NaN, no huge integers or deep nesting, ``.npy`` headers
checked before allocation, never pickle) and every file is then checked against the bundle's
schema (app.core.bundles.bundle_schema), signed or not.
"""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from app.core.bundles.bundle_json import BundleDataError, load_npy, parse_json
from app.core.bundles.bundle_schema import (
    check_arrays,
    check_classifier,
    check_features,
    check_manifest,
)
from app.core.bundles.claims import check_claimed_auc
from app.core.bundles.encoder_schema import (
    ENCODER_TYPE,
    MODEL_FILE,
    TOKENIZER_FILE,
    check_encoder_classifier,
    check_tokenizer,
)
from app.core.bundles.onnx_check import check_encoder_signature, check_onnx_model
from app.core.common.atomic import atomic_write_bytes, atomic_write_json
from app.core.common.errors import ModelError
from app.core.common.hashing import sha256_stream

BUNDLE_FORMAT = "abuse-desk-bundle"
BUNDLE_FORMAT_VERSION = 1
MANIFEST_NAME = "manifest.json"
MAX_MANIFEST_BYTES = 1 << 20
MAX_FILE_BYTES = 256 << 20
SIGNATURE_NAME = "manifest.sig"  # the one file not listed in the manifest: it signs the manifest
MAX_SIGNATURE_BYTES = 4096
_UNLISTED = (MANIFEST_NAME, SIGNATURE_NAME)
# The manifest's "evaluation_arrays": which files hold the test part's scores, labels, dataset
# of origin and item ids (every bundle written by a recipe carries them under these names).
EVALUATION_ARRAYS = {
    "scores": "eval_scores.npy",
    "labels": "eval_labels.npy",
    "origin": "eval_origin.npy",
    "ids": "eval_ids.npy",
    "part": "test",
}


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path, chunk_size: int = 1 << 20) -> str:
    with open(path, "rb") as fh:
        return sha256_stream(fh, chunk_size)


@dataclass
class VerifiedBundle:
    """A bundle whose files all matched the manifest. Holds the parsed contents."""

    path: Path
    manifest: dict[str, Any]
    manifest_sha256: str = ""  # of the manifest bytes as read (they pin every other file)
    signature: Any = None  # app.core.bundles.signing.SignatureStatus when a signature check ran
    json_files: dict[str, Any] = field(default_factory=dict)
    arrays: dict[str, np.ndarray] = field(default_factory=dict)
    texts: dict[str, str] = field(default_factory=dict)
    blobs: dict[str, bytes] = field(default_factory=dict)  # ONNX graphs, checked before use

    @property
    def engine(self) -> str:
        """ "encoder" for a transformer bundle (abuse-mini), else "linear"."""
        classifier = self.json_files.get("classifier.json")
        if isinstance(classifier, dict) and classifier.get("type") == ENCODER_TYPE:
            return ENCODER_TYPE
        return "linear"

    @property
    def name(self) -> str:
        return str(self.manifest["name"])

    @property
    def version(self) -> str:
        return str(self.manifest["version"])

    @property
    def label(self) -> str:
        """How the UI and reports name this model: ``name version``."""
        return f"{self.name} {self.version}"

    @property
    def file_hashes(self) -> dict[str, str]:
        return {name: entry["sha256"] for name, entry in self.manifest["files"].items()}


def _read_capped(folder: Path, name: str, limit: int) -> bytes:
    path = folder / name
    if path.is_symlink() or not path.is_file():
        raise ModelError(f"model bundle {folder}: {name} is missing")
    size = path.stat().st_size
    if size > limit:
        raise ModelError(f"model bundle {folder}: {name} is {size:,} bytes (limit {limit:,})")
    data = path.read_bytes()
    if len(data) > limit:  # grew since stat()
        raise ModelError(f"model bundle {folder}: {name} is over {limit:,} bytes")
    return data


def read_signature(folder: Path) -> bytes | None:
    """The raw signature file, or None if the bundle has none."""
    path = folder / SIGNATURE_NAME
    if not path.exists() and not path.is_symlink():
        return None
    return _read_capped(folder, SIGNATURE_NAME, MAX_SIGNATURE_BYTES)


def parse_manifest(folder: Path, raw: bytes) -> dict[str, Any]:
    try:
        manifest = parse_json(raw)
    except BundleDataError as exc:
        raise ModelError(f"model bundle {folder}: {MANIFEST_NAME}: {exc}") from None
    if not isinstance(manifest, dict):
        raise ModelError(f"model bundle {folder}: {MANIFEST_NAME} is not a JSON object")
    if manifest.get("format") != BUNDLE_FORMAT:
        raise ModelError(f"model bundle {folder}: not an {BUNDLE_FORMAT} manifest")
    if manifest.get("format_version") != BUNDLE_FORMAT_VERSION:
        shown = str(manifest.get("format_version"))[:20]
        raise ModelError(
            f"model bundle {folder}: bundle format version {shown} "
            f"is not supported (this app reads version {BUNDLE_FORMAT_VERSION})"
        )
    try:
        check_manifest(manifest)
    except BundleDataError as exc:
        raise ModelError(f"model bundle {folder}: {MANIFEST_NAME}: {exc}") from None
    return manifest


def _check_listing(folder: Path, listed: Mapping[str, Any]) -> None:
    # listed names are plain data file names (app.core.bundles.bundle_schema.check_manifest)
    present = {}
    for entry in folder.iterdir():
        if entry.name in _UNLISTED:
            continue
        if entry.is_symlink() or not entry.is_file():
            raise ModelError(f"model bundle {folder}: {entry.name} is not a regular file")
        present[entry.name] = entry
    missing = sorted(set(listed) - set(present))
    if missing:
        raise ModelError(f"model bundle {folder}: file {missing[0]} is missing")
    extra = sorted(set(present) - set(listed))
    if extra:
        raise ModelError(f"model bundle {folder}: unexpected file {extra[0]} (not in the manifest)")


def _parse(folder: Path, name: str, data: bytes, bundle: VerifiedBundle) -> None:
    try:
        if name.endswith(".json"):
            bundle.json_files[name] = parse_json(data)
        elif name.endswith(".npy"):
            bundle.arrays[name] = load_npy(data)  # header checked before any allocation
        elif name.endswith(".onnx"):
            bundle.blobs[name] = data  # its graph is checked in _check_contents
        else:
            bundle.texts[name] = data.decode("utf-8")
    except BundleDataError as exc:
        raise ModelError(f"model bundle {folder}: {name}: {exc}") from None
    except UnicodeDecodeError as exc:
        raise ModelError(f"model bundle {folder}: {name} cannot be read ({exc})") from None


def _check_contents(bundle: VerifiedBundle) -> None:
    """The schema of every parsed file (app.core.bundles.bundle_schema), naming the file at fault."""
    if bundle.engine == ENCODER_TYPE:
        _check_encoder_contents(bundle)
        return
    current = "features.json"
    try:
        sizes, names = None, None
        if current in bundle.json_files:
            sizes = check_features(bundle.json_files[current])
            names = [name for name, _ in sizes]
        current = "classifier.json"
        if current in bundle.json_files:
            check_classifier(bundle.json_files[current], names)
        current = "arrays"
        check_arrays(bundle.arrays, sizes)
        check_claimed_auc(bundle.manifest, bundle.arrays)
    except BundleDataError as exc:
        where = "" if current == "arrays" else f"{current}: "
        raise ModelError(f"model bundle {bundle.path}: {where}{exc}") from None


def _check_encoder_contents(bundle: VerifiedBundle) -> None:
    """An encoder bundle: its classifier.json, tokenizer and ONNX graph (allow-listed operators,
    no external data or custom ops, sizes within limits), before any session is created."""
    current = "classifier.json"
    try:
        check_encoder_classifier(bundle.json_files[current])
        current = TOKENIZER_FILE
        if current not in bundle.json_files:
            raise BundleDataError("is missing")
        check_tokenizer(bundle.json_files[current])
        current = MODEL_FILE
        if current not in bundle.blobs:
            raise BundleDataError("is missing")
        check_encoder_signature(check_onnx_model(bundle.blobs[current]))
        current = "arrays"
        check_arrays(bundle.arrays, None)
        check_claimed_auc(bundle.manifest, bundle.arrays)
    except BundleDataError as exc:
        where = "" if current == "arrays" else f"{current}: "
        raise ModelError(f"model bundle {bundle.path}: {where}{exc}") from None


ManifestCheck = Callable[[Path, bytes, "bytes | None"], Any]


def load_verified(
    folder: str | Path, *, check_manifest: ManifestCheck | None = None, parse: bool = True
) -> VerifiedBundle:
    """Verify every file of the bundle against its manifest, then parse it.

    ``check_manifest(folder, manifest_bytes, signature_bytes_or_None)`` runs on the raw manifest
    before even the manifest is parsed (the signature check: app.core.bundles.signing); what it returns
    is kept as ``bundle.signature``. With ``parse=False`` files are only checked (a cheap
    listing), and the returned bundle holds the manifest alone. Raises ModelError naming the file on any mismatch, missing
    or extra file.
    """
    folder = Path(folder)
    if folder.is_symlink() or not folder.is_dir():
        raise ModelError(f"model bundle {folder} is not a folder")
    raw = _read_capped(folder, MANIFEST_NAME, MAX_MANIFEST_BYTES)
    signature = None
    if check_manifest is not None:
        signature = check_manifest(folder, raw, read_signature(folder))
    manifest = parse_manifest(folder, raw)
    listed: dict[str, Any] = manifest["files"]
    _check_listing(folder, listed)
    bundle = VerifiedBundle(
        path=folder, manifest=manifest, manifest_sha256=sha256_bytes(raw), signature=signature
    )
    for name, entry in listed.items():
        path = folder / name
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise ModelError(f"model bundle {folder}: {name} is too large ({size:,} bytes)")
        data = path.read_bytes()
        if sha256_bytes(data) != entry["sha256"]:
            raise ModelError(
                f"model bundle {folder}: {name} does not match its SHA-256 in the manifest "
                "(the file was changed or damaged)"
            )
        if parse:
            _parse(folder, name, data, bundle)
    if parse:
        _check_contents(bundle)
    return bundle


def npy_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, np.ascontiguousarray(array), allow_pickle=False)
    return buffer.getvalue()


def write_bundle(
    folder: str | Path,
    manifest: dict[str, Any],
    files: Mapping[str, bytes | str | np.ndarray | dict],
) -> Path:
    """Write a bundle: each file, then the manifest with their hashes (the manifest goes last).

    ``files`` maps names to bytes, text, a numpy array (saved as .npy) or a JSON-able dict.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    entries: dict[str, dict[str, Any]] = {}
    for name, content in files.items():
        if isinstance(content, np.ndarray):
            data = npy_bytes(content)
        elif isinstance(content, dict | list):
            data = (json.dumps(content, ensure_ascii=False, separators=(",", ":")) + "\n").encode()
        elif isinstance(content, str):
            data = content.encode("utf-8")
        else:
            data = bytes(content)
        atomic_write_bytes(folder / name, data)
        entries[name] = {"sha256": sha256_bytes(data), "bytes": len(data)}
    manifest = dict(manifest)
    manifest["format"] = BUNDLE_FORMAT
    manifest["format_version"] = BUNDLE_FORMAT_VERSION
    manifest["files"] = dict(sorted(entries.items()))
    atomic_write_json(folder / MANIFEST_NAME, manifest)
    return folder


def find_bundles(models_dir: Path) -> list[Path]:
    """Bundle folders (those with a manifest) under ``models_dir``, sorted by name."""
    if not models_dir.is_dir():
        return []
    return sorted(p for p in models_dir.iterdir() if (p / MANIFEST_NAME).is_file())
