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

import dataclasses
import re
import shutil
import stat
import struct
import tempfile
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath
from typing import IO

from app.core.bundles.bundle import (
    MANIFEST_NAME,
    MAX_FILE_BYTES,
    MAX_MANIFEST_BYTES,
    MAX_SIGNATURE_BYTES,
    SIGNATURE_NAME,
    ManifestCheck,
    VerifiedBundle,
    load_verified,
    parse_manifest,
    sha256_file,
)
from app.core.common.atomic import fsync_dir
from app.core.common.errors import ModelError
from app.core.engine.scoring import Scorer
from app.core.models.registry import USER, ModelEntry, ModelRegistry

MAX_FILES = 64
MAX_TOTAL_BYTES = 1 << 30
MAX_RATIO = 200  # deflate reaches ~1000; real bundle files stay under 100
RATIO_FLOOR = 1 << 20  # a smaller file cannot exhaust anything, whatever its ratio
# Everything zipfile and zlib raise for a damaged, truncated, lying or unsupported zip.
_ZIP_ERRORS = (
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    zlib.error,
    EOFError,
    NotImplementedError,
    RuntimeError,
    ValueError,
    struct.error,
    OSError,
)


def import_bundle(registry: ModelRegistry, source: Path) -> tuple[ModelEntry, bool]:
    """Install ``source`` (a bundle folder or a .zip of one) into the user model folder.

    Returns (entry, installed): installed is False when the identical bundle is already there.
    Raises ModelError naming the cause for anything it refuses.
    """
    with _staging(registry, source, ".import-") as staging:
        return _install(registry, Path(source), staging)


def verify_source(registry: ModelRegistry, source: Path) -> tuple[ModelEntry, str]:
    """Check ``source`` (a zip, or a folder) exactly as `import_bundle` does, in a staging folder
    that is removed afterwards: nothing is installed. Returns the entry (naming ``source``) and
    the manifest's SHA-256; raises ModelError naming ``source`` for anything import refuses."""
    source = Path(source)
    with _staging(registry, source, ".verify-") as staging:
        bundle = _stage_and_check(registry, source, staging)
        entry = registry.describe(staging, "not installed")
        return dataclasses.replace(entry, folder=source), bundle.manifest_sha256


@contextmanager
def _staging(registry: ModelRegistry, source: Path, prefix: str) -> Iterator[Path]:
    """A private staging folder (mkdtemp: mode 0700) in the user model folder, removed on exit;
    refusals name the user's source, never the staging folder."""
    if not Path(source).exists():
        raise ModelError(f"{source} does not exist")
    registry.user_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=prefix, dir=registry.user_dir))
    try:
        yield staging
    except ModelError as exc:
        # Checks name the folder they read; the user knows their source, never the staging folder.
        raise ModelError(str(exc).replace(str(staging), str(source))) from None
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)


def _stage_and_check(registry: ModelRegistry, source: Path, staging: Path) -> VerifiedBundle:
    if source.is_dir() and not source.is_symlink():
        _copy_folder(source, staging)
    elif source.is_file() and zipfile.is_zipfile(source):
        _extract_zip(source, staging, registry.check)
    else:
        raise ModelError(f"{source} is neither a bundle folder nor a zip file")
    bundle = load_verified(staging, check_manifest=registry.check)  # signature, hashes, schema
    Scorer(bundle)  # shapes and settings agree (vocabulary vs coefficients, ...), probe scores
    return bundle


def _install(registry: ModelRegistry, source: Path, staging: Path) -> tuple[ModelEntry, bool]:
    bundle = _stage_and_check(registry, source, staging)
    name, version = str(bundle.manifest["name"]), str(bundle.manifest["version"])
    target = registry.user_dir / f"{name}-{version}"  # plain names: the schema checked them
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


def _copy_capped(
    source: Path, name: str, fh: IO[bytes], target: Path, limit: int = MAX_FILE_BYTES
) -> None:
    """Copy at most ``limit`` bytes (a zip member's declared size): a size that lies (zip
    headers, a growing file) is caught."""
    copied = 0
    with fh, open(target, "xb") as out:
        while block := fh.read(1 << 20):
            copied += len(block)
            if copied > min(limit, MAX_FILE_BYTES):
                raise ModelError(f"{source}: {name} is larger than it declares")
            out.write(block)


def _zip_member_name(source: Path, info: zipfile.ZipInfo) -> str | None:
    """The file name a zip member installs as; None for a directory entry. Refuses links,
    absolute paths, '..', backslashes, drive letters and anything deeper than one folder."""
    raw = info.filename
    mode = info.external_attr >> 16
    if mode and stat.S_ISLNK(mode):
        raise ModelError(f"{source}: {raw!r} is a link; bundles hold regular files only")
    kind = stat.S_IFMT(mode)  # 0 when the zip records no type (then the name decides)
    if kind and stat.S_ISDIR(mode) != info.is_dir():
        raise ModelError(f"{source}: {raw!r} is a folder posing as a file (or the reverse)")
    if kind not in (0, stat.S_IFREG, stat.S_IFDIR):
        raise ModelError(f"{source}: {raw!r} is not a regular file")
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


def _zip_plan(
    source: Path, archive: zipfile.ZipFile, check: ManifestCheck
) -> list[tuple[zipfile.ZipInfo, str]]:
    """What to extract, decided before anything is: every entry's name, type, method and
    declared sizes checked, then the manifest read and its signature verified, and only the
    files the signed manifest lists kept (anything else in the zip is refused)."""
    infos = archive.infolist()
    if len(infos) > MAX_FILES + 1:
        raise ModelError(f"{source}: {len(infos)} entries, more than a bundle has")
    members = [(info, _zip_member_name(source, info)) for info in infos]
    files = [(info, name) for info, name in members if name is not None]
    tops = {name.split("/")[0] for _, name in files if "/" in name}
    flat = {name for _, name in files if "/" not in name}
    folders = [info.filename.rstrip("/") for info, name in members if name is None]
    if len(tops) > 1 or (tops and flat) or any(f not in tops for f in folders):
        raise ModelError(f"{source}: the zip must hold one bundle folder (or the files alone)")
    by_name: dict[str, zipfile.ZipInfo] = {}
    total = 0
    for info, name in files:
        base = name.rsplit("/", 1)[-1]
        if base.casefold() in {n.casefold() for n in by_name}:
            raise ModelError(f"{source}: {base!r} appears twice in the zip")
        _check_name(source, base)
        _check_declared(source, info, base)
        total += info.file_size
        if total > MAX_TOTAL_BYTES:
            raise ModelError(f"{source}: the zip declares more than {MAX_TOTAL_BYTES:,} bytes")
        by_name[base] = info
    if MANIFEST_NAME not in by_name:
        raise ModelError(f"{source}: the zip holds no {MANIFEST_NAME}")
    listed = _signed_listing(source, archive, by_name, check)
    for base, info in by_name.items():
        if base in (MANIFEST_NAME, SIGNATURE_NAME):
            continue
        if base not in listed:
            raise ModelError(f"{source}: unexpected file {base} (not in the signed manifest)")
        declared = listed[base].get("bytes")
        if declared is not None and declared != info.file_size:
            raise ModelError(
                f"{source}: {base} declares {info.file_size:,} bytes, the manifest {declared:,}"
            )
    missing = sorted(set(listed) - set(by_name))
    if missing:
        raise ModelError(f"{source}: file {missing[0]} is missing from the zip")
    return [(info, base) for base, info in by_name.items()]


def _check_declared(source: Path, info: zipfile.ZipInfo, base: str) -> None:
    """Method and sizes from the zip's own directory, before a byte is decompressed."""
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise ModelError(
            f"{source}: {base} uses compression method {info.compress_type}; "
            "bundles are stored or deflated"
        )
    if info.file_size > MAX_FILE_BYTES:
        raise ModelError(f"{source}: {base} is too large ({info.file_size:,} bytes)")
    if info.file_size > RATIO_FLOOR and info.file_size > MAX_RATIO * max(info.compress_size, 1):
        raise ModelError(
            f"{source}: {base} expands {info.file_size // max(info.compress_size, 1):,} times "
            f"(limit {MAX_RATIO}); refused as a possible zip bomb"
        )


def _signed_listing(
    source: Path,
    archive: zipfile.ZipFile,
    by_name: dict[str, zipfile.ZipInfo],
    check: ManifestCheck,
) -> dict[str, dict]:
    """The manifest's file list, after its signature is verified on the bytes in the zip."""
    raw = _read_member(source, archive, by_name[MANIFEST_NAME], MAX_MANIFEST_BYTES)
    signature = None
    if SIGNATURE_NAME in by_name:
        signature = _read_member(source, archive, by_name[SIGNATURE_NAME], MAX_SIGNATURE_BYTES)
    check(source, raw, signature)
    files: dict[str, dict] = parse_manifest(source, raw)["files"]
    return files


def _read_member(
    source: Path, archive: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int
) -> bytes:
    if info.file_size > limit:
        raise ModelError(f"{source}: {info.filename} is over {limit:,} bytes")
    with archive.open(info) as fh:
        data = fh.read(limit + 1)
    if len(data) > limit:
        raise ModelError(f"{source}: {info.filename} is over {limit:,} bytes")
    return data


def _extract_zip(source: Path, staging: Path, check: ManifestCheck) -> None:
    """Extract what `_zip_plan` allows; any error of the zip itself is one line naming it."""
    try:
        with zipfile.ZipFile(source) as archive:
            for info, base in _zip_plan(source, archive, check):
                _copy_capped(source, base, archive.open(info), staging / base, info.file_size)
    except ModelError:
        raise
    except _ZIP_ERRORS as exc:
        why = str(exc).splitlines()[0][:160] if str(exc) else type(exc).__name__
        raise ModelError(f"{source}: the zip is damaged or not supported ({why})") from None
