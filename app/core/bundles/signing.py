"""Ed25519 signatures over bundle manifests, and the public keys this installation trusts.

Why sign the manifest only: it already pins the SHA-256 of every other file, so one signature
over its exact bytes covers the whole bundle. The signature sits next to it in ``manifest.sig``
(the one file the manifest does not list) and is checked on the raw bytes *before* the manifest
is parsed, so an untrusted bundle gets no further than reading two size-capped files.

Trusted keys are PEM public keys: those shipped in ``resources/trusted_keys/`` and those an
administrator adds to the user config folder (``trusted_keys/``). The training team keeps the
private key; ``python -m app models sign`` writes the signature.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from app.core.bundles.bundle import MANIFEST_NAME, SIGNATURE_NAME, ManifestCheck, load_verified
from app.core.common.atomic import atomic_write_bytes
from app.core.common.errors import ModelError
from app.core.common.paths import resource_path, user_config_dir

SIGNATURE_FORMAT = "abuse-desk-signature"
TRUSTED_KEYS = "trusted_keys"
MAX_KEY_FILE_BYTES = 8192


def key_id(public_key: Ed25519PublicKey) -> str:
    """A short, stable name for a key: the first 16 hex digits of SHA-256 of its raw bytes."""
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


@dataclass(frozen=True)
class SignatureStatus:
    signed: bool
    key_id: str | None = None
    key_name: str | None = None  # the trusted key file's stem

    def describe(self) -> str:
        if not self.signed:
            return "unsigned"
        return f"signed by {self.key_name} ({self.key_id})"


@dataclass
class TrustStore:
    """Public keys by key id; ``problems`` lists key files that were skipped and why."""

    keys: dict[str, tuple[Ed25519PublicKey, str]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    @classmethod
    def load(cls, folders: list[Path]) -> TrustStore:
        store = cls()
        owners: dict[str, str] = {}  # key name -> key id: a name names one key only
        for folder in folders:
            if not folder.is_dir():
                continue
            for path in sorted(folder.glob("*.pem")):
                try:
                    public = read_public_key(path)
                except ModelError as exc:
                    store.problems.append(str(exc))
                    continue
                kid = key_id(public)
                if owners.setdefault(path.stem, kid) != kid:
                    # Two keys under one name would make "signed by <name>" ambiguous.
                    store.problems.append(
                        f"{path} is not trusted: the name {path.stem} already names key "
                        f"{owners[path.stem]}"
                    )
                    continue
                store.keys.setdefault(kid, (public, path.stem))
        return store

    @classmethod
    def default(cls) -> TrustStore:
        return cls.load(default_key_folders())

    def describe(self) -> list[str]:
        return [f"{name} ({kid})" for kid, (_key, name) in sorted(self.keys.items())]


def default_key_folders() -> list[Path]:
    return [resource_path(TRUSTED_KEYS), user_config_dir() / TRUSTED_KEYS]


def read_public_key(path: Path) -> Ed25519PublicKey:
    data = _read_small(path, "public key")
    try:
        public = serialization.load_pem_public_key(data)
    except (ValueError, TypeError) as exc:
        raise ModelError(f"{path} is not a PEM public key ({exc})") from None
    if not isinstance(public, Ed25519PublicKey):
        raise ModelError(f"{path} is not an Ed25519 public key")
    return public


def read_private_key(path: Path) -> Ed25519PrivateKey:
    data = _read_small(path, "private key")
    try:
        private = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise ModelError(f"{path} is not an unencrypted PEM private key ({exc})") from None
    if not isinstance(private, Ed25519PrivateKey):
        raise ModelError(f"{path} is not an Ed25519 private key")
    return private


def _read_small(path: Path, what: str) -> bytes:
    if path.is_symlink() or not path.is_file():
        raise ModelError(f"{what} {path} is not a regular file")
    if path.stat().st_size > MAX_KEY_FILE_BYTES:
        raise ModelError(f"{what} {path} is too large to be a key")
    return path.read_bytes()


def generate_key_pair(private_path: Path, public_path: Path) -> str:
    """Write a new Ed25519 key pair (the private key readable by its owner only); returns its id."""
    private = Ed25519PrivateKey.generate()
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    private_path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)
    public = private.public_key()
    public_path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(
        public_path,
        public.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ),
    )
    return key_id(public)


def sign_bundle(folder: Path, private_key_path: Path) -> str:
    """Sign a bundle's manifest after checking every file against it; returns the key id."""
    private = read_private_key(private_key_path)
    load_verified(folder)  # never sign a bundle that does not verify: hashes and schema
    manifest = (folder / MANIFEST_NAME).read_bytes()
    public = private.public_key()
    document = {
        "format": SIGNATURE_FORMAT,
        "algorithm": "ed25519",
        "key_id": key_id(public),
        "signature": base64.b64encode(private.sign(manifest)).decode("ascii"),
    }
    atomic_write_bytes(folder / SIGNATURE_NAME, (json.dumps(document, indent=2) + "\n").encode())
    return key_id(public)


def add_trusted_key(
    pem_path: Path,
    folder: Path | None = None,
    *,
    before: Callable[[str], None] | None = None,
    known: list[Path] | None = None,
) -> str:
    """Install a public key as trusted (an administrator's act); returns its key id.

    Refused when another key already has its name (the file's stem) in any trusted-key folder
    (``known``, by default the shipped and the user's). ``before(key_id)`` runs once the key is
    accepted and before it is written: the CLI records the act in the activity log there, so a
    key is never trusted without a record."""
    public = read_public_key(pem_path)
    kid = key_id(public)
    folder = folder or user_config_dir() / TRUSTED_KEYS
    for known_folder in [*(known if known is not None else default_key_folders()), folder]:
        existing = known_folder / f"{pem_path.stem}.pem"
        if existing.exists() or existing.is_symlink():
            if key_id(read_public_key(existing)) != kid:
                where = "shipped with the app" if known_folder != folder else "trusted by you"
                raise ModelError(
                    f"{pem_path}: a different key named {pem_path.stem} is already {where}; "
                    "rename the key file to trust it under another name"
                )
    if before is not None:
        before(kid)
    folder.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(
        folder / f"{pem_path.stem}.pem",
        public.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ),
    )
    return kid


def check_signature(
    folder: Path, manifest: bytes, signature: bytes | None, trust: TrustStore, allow_unsigned: bool
) -> SignatureStatus:
    """The signature policy. A bad or untrusted signature is always refused; a missing one only
    when unsigned bundles are not explicitly allowed."""
    if signature is None:
        if allow_unsigned:
            return SignatureStatus(signed=False)
        raise ModelError(
            f"model bundle {folder} is not signed; unsigned bundles are refused unless an "
            "administrator sets allow_unsigned_models in the settings"
        )
    try:
        document = json.loads(signature.decode("utf-8"))
        if not isinstance(document, dict) or document.get("format") != SIGNATURE_FORMAT:
            raise ValueError("not an abuse-desk signature")
        if document.get("algorithm") != "ed25519":
            raise ValueError(f"algorithm {document.get('algorithm')!r} is not ed25519")
        kid, encoded = str(document["key_id"]), str(document["signature"])
        raw = base64.b64decode(encoded, validate=True)
    except (UnicodeDecodeError, ValueError, KeyError, binascii.Error) as exc:
        raise ModelError(f"model bundle {folder}: {SIGNATURE_NAME} is malformed ({exc})") from None
    if kid not in trust.keys:
        raise ModelError(
            f"model bundle {folder} is signed by key {kid}, which is not trusted here "
            f"({len(trust.keys)} trusted); to accept it: models trust KEY.pem"
        )
    public, name = trust.keys[kid]
    try:
        public.verify(raw, manifest)
    except InvalidSignature:
        raise ModelError(
            f"model bundle {folder}: the signature does not match {MANIFEST_NAME} "
            "(the manifest was changed after it was signed)"
        ) from None
    return SignatureStatus(signed=True, key_id=kid, key_name=name)


def signature_policy(trust: TrustStore, allow_unsigned: bool) -> ManifestCheck:
    """The ``check_manifest`` hook for ``load_verified`` that applies `check_signature`."""

    def check(folder: Path, manifest: bytes, signature: bytes | None) -> SignatureStatus:
        return check_signature(folder, manifest, signature, trust, allow_unsigned)

    return check
