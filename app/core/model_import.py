"""Importing a model bundle from a folder or a zip file (removable media), verified first.

The source is copied into a private staging folder inside the user's model folder, and only
there checked: every name, type and size while copying (no links, no subfolders, no path
tricks, no oversize or surplus files), then the signature on the raw manifest, then each file's
SHA-256, and finally the model is built once to check that its shapes agree. Only then is the
staging folder renamed into place, in one step, so a half-imported bundle is never listed; on
any refusal the staging folder is removed. Checking the copy (not the source) means the bytes
verified are the bytes installed, even if the removable medium changes meanwhile.
"""

from __future__ import annotations

import re
import shutil
import stat
import tempfile
import zipfile
from pathlib import Path, PurePosixPath
from typing import IO

from app.core.atomic import fsync_dir
from app.core.bundle import (
    MANIFEST_NAME,
    MAX_FILE_BYTES,
    SIGNATURE_NAME,
    load_verified,
    sha256_file,
)
from app.core.errors import ModelError
from app.core.registry import USER, ModelEntry, ModelRegistry
from app.core.scoring import Scorer

MAX_FILES = 64
MAX_TOTAL_BYTES = 1 << 30
_SAFE_PART = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,63}$")  # a model name or version


def import_bundle(registry: ModelRegistry, source: Path) -> tuple[ModelEntry, bool]:
    """Install ``source`` (a bundle folder or a .zip of one) into the user model folder.

    Returns (entry, installed): installed is False when the identical bundle is already there.
    Raises ModelError naming the cause for anything it refuses.
    """
    source = Path(source)
    if not source.exists():
        raise ModelError(f"{source} does not exist")
    registry.user_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".import-", dir=registry.user_dir))
    try:
        if source.is_dir() and not source.is_symlink():
            _copy_folder(source, staging)
        elif source.is_file() and zipfile.is_zipfile(source):
            _extract_zip(source, staging)
        else:
            raise ModelError(f"{source} is neither a bundle folder nor a zip file")
        bundle = load_verified(staging, check_manifest=registry.check)  # signature, then hashes
        Scorer(bundle)  # shapes and settings agree (vocabulary vs coefficients, ...)
        name, version = str(bundle.manifest["name"]), str(bundle.manifest["version"])
        for part in (name, version):
            if not _SAFE_PART.match(part):
                raise ModelError(f"{source}: name/version {part!r} cannot name a folder")
        target = registry.user_dir / f"{name}-{version}"
        existing = _installed(registry, target.name)
        if existing is not None:
            if sha256_file(existing / MANIFEST_NAME) == bundle.manifest_sha256:
                return registry.describe(existing, _source_of(registry, existing)), False
            raise ModelError(
                f"{source}: a different bundle named {name} {version} is already installed "
                f"({existing}); a changed model needs a new version"
            )
        staging.rename(target)  # atomic on one filesystem: the bundle appears complete or not
        fsync_dir(registry.user_dir)
        return registry.describe(target, USER), True
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)


def _installed(registry: ModelRegistry, folder_name: str) -> Path | None:
    for base in (registry.bundled_dir, registry.user_dir):
        candidate = base / folder_name
        if candidate.exists():
            return candidate
    return None


def _source_of(registry: ModelRegistry, folder: Path) -> str:
    return USER if folder.parent == registry.user_dir else "bundled"


def _check_name(source: Path, name: str) -> None:
    if name in (MANIFEST_NAME, SIGNATURE_NAME):
        return
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}", name) or ".." in name:
        raise ModelError(f"{source}: file name {name!r} is not allowed in a bundle")


def _copy_folder(source: Path, staging: Path) -> None:
    entries = list(source.iterdir())
    if len(entries) > MAX_FILES:
        raise ModelError(f"{source}: {len(entries)} files, more than a bundle has ({MAX_FILES})")
    total = 0
    for entry in entries:
        mode = entry.lstat().st_mode
        if stat.S_ISLNK(mode):
            raise ModelError(f"{source}: {entry.name} is a link; bundles hold regular files only")
        if not stat.S_ISREG(mode):
            raise ModelError(f"{source}: {entry.name} is not a regular file")
        _check_name(source, entry.name)
        size = entry.stat().st_size
        total += size
        if size > MAX_FILE_BYTES or total > MAX_TOTAL_BYTES:
            raise ModelError(f"{source}: {entry.name} is too large ({size:,} bytes)")
        _copy_capped(source, entry.name, entry.open("rb"), staging / entry.name)


def _copy_capped(source: Path, name: str, fh: IO[bytes], target: Path) -> None:
    """Copy at most MAX_FILE_BYTES: a size that lies (zip headers, a growing file) is caught."""
    copied = 0
    with fh, open(target, "xb") as out:
        while block := fh.read(1 << 20):
            copied += len(block)
            if copied > MAX_FILE_BYTES:
                raise ModelError(f"{source}: {name} is larger than {MAX_FILE_BYTES:,} bytes")
            out.write(block)


def _zip_member_name(source: Path, info: zipfile.ZipInfo) -> str | None:
    """The file name a zip member installs as; None for a directory entry. Refuses links,
    absolute paths, '..', backslashes, drive letters and anything deeper than one folder."""
    raw = info.filename
    if (info.external_attr >> 16) and stat.S_ISLNK(info.external_attr >> 16):
        raise ModelError(f"{source}: {raw!r} is a link; bundles hold regular files only")
    if info.flag_bits & 0x1:
        raise ModelError(f"{source}: {raw!r} is encrypted")
    if "\\" in raw or raw.startswith("/") or re.match(r"^[A-Za-z]:", raw) or "\x00" in raw:
        raise ModelError(f"{source}: {raw!r} is not a relative path inside the bundle")
    parts = PurePosixPath(raw).parts
    if any(part in ("..", ".") for part in parts):
        raise ModelError(f"{source}: {raw!r} points outside the bundle (path traversal)")
    if info.is_dir():
        if len(parts) > 1:
            raise ModelError(f"{source}: folder {raw!r} is nested; a bundle is one flat folder")
        return None
    if len(parts) > 2:
        raise ModelError(f"{source}: {raw!r} is nested; a bundle is one flat folder")
    return "/".join(parts)


def _extract_zip(source: Path, staging: Path) -> None:
    with zipfile.ZipFile(source) as archive:
        infos = archive.infolist()
        if len(infos) > MAX_FILES + 1:
            raise ModelError(f"{source}: {len(infos)} entries, more than a bundle has")
        members = [(info, _zip_member_name(source, info)) for info in infos]
        files = [(info, name) for info, name in members if name is not None]
        tops = {name.split("/")[0] for _, name in files if "/" in name}
        flat = {name for _, name in files if "/" not in name}
        if len(tops) > 1 or (tops and flat):
            raise ModelError(f"{source}: the zip must hold one bundle folder (or the files alone)")
        seen: set[str] = set()
        total = 0
        for info, name in files:
            base = name.rsplit("/", 1)[-1]
            if base in seen:
                raise ModelError(f"{source}: {base!r} appears twice in the zip")
            seen.add(base)
            _check_name(source, base)
            total += info.file_size
            if info.file_size > MAX_FILE_BYTES or total > MAX_TOTAL_BYTES:
                raise ModelError(f"{source}: {base} is too large ({info.file_size:,} bytes)")
            _copy_capped(source, base, archive.open(info), staging / base)
