"""Hostile and damaged zips for `models import`: each is refused with one line naming the zip,
exit 4, the zip unchanged, nothing installed, no traceback; and wherever the zip's own directory
or the signed manifest already tells, before a single byte is extracted."""

from __future__ import annotations

import io
import stat
import struct
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from app.core.models import model_import
from tests.adversarial.bundle_kit import (
    assert_refused,
    digest,
    edit_json,
    installed,
    make_home,
    run_main,
)

Build = Callable[[Path, Path, Path], bytes]  # (bundle, signing key, work dir) -> zip bytes
MiB = 1 << 20


def _zip(
    members: list[tuple[zipfile.ZipInfo | str, bytes]], method: int = zipfile.ZIP_STORED
) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", method) as archive:
        for info, data in members:
            archive.writestr(info, data)
    return buffer.getvalue()


def _members(bundle: Path, top: str = "b/") -> list[tuple[zipfile.ZipInfo | str, bytes]]:
    return [(f"{top}{p.name}", p.read_bytes()) for p in sorted(bundle.iterdir())]


def _info(name: str, mode: int, method: int = zipfile.ZIP_STORED) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name)
    info.external_attr = mode << 16
    info.compress_type = method
    return info


def _patch(data: bytes, name: str, **fields: int) -> bytes:
    """Rewrite fields of one member in both its local header and the central directory:
    what a damaged or hand-made zip holds (zipfile itself never writes such a file)."""
    local = {"method": (8, "<H"), "crc": (14, "<I"), "csize": (18, "<I"), "usize": (22, "<I")}
    central = {"method": (10, "<H"), "crc": (16, "<I"), "csize": (20, "<I"), "usize": (24, "<I")}
    buf = bytearray(data)
    encoded = name.encode()
    for signature, layout, name_at, length_at in (
        (b"PK\x03\x04", local, 30, 26),
        (b"PK\x01\x02", central, 46, 28),
    ):
        at = buf.find(signature)
        while at >= 0:
            (length,) = struct.unpack_from("<H", buf, at + length_at)
            if bytes(buf[at + name_at : at + name_at + length]) == encoded:
                for field, value in fields.items():
                    offset, fmt = layout[field]
                    struct.pack_into(fmt, buf, at + offset, value)
            at = buf.find(signature, at + 4)
    return bytes(buf)


def _size(data: bytes, name: str) -> tuple[int, int]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        info = archive.getinfo(name)
        return info.file_size, info.compress_size


def _flip_in(data: bytes, needle: bytes) -> bytes:
    at = data.find(needle)
    assert at >= 0
    return data[:at] + bytes([data[at] ^ 0xFF]) + data[at + 1 :]


def _bomb(bundle: Path, key: Path, work: Path) -> bytes:
    members = [(n, d) for n, d in _members(bundle) if n != "b/coef.npy"]
    return _zip([*members, ("b/coef.npy", b"\0" * (8 * MiB))], zipfile.ZIP_DEFLATED)


def _understated(bundle: Path, key: Path, work: Path) -> bytes:
    data = _zip(_members(bundle))
    size, _ = _size(data, "b/coef.npy")
    return _patch(data, "b/coef.npy", usize=size - 8)


def _overstated(bundle: Path, key: Path, work: Path) -> bytes:
    data = _zip(_members(bundle))
    size, _ = _size(data, "b/coef.npy")
    return _patch(data, "b/coef.npy", usize=size + 4096)


def _bad_crc(bundle: Path, key: Path, work: Path) -> bytes:
    coef = (bundle / "coef.npy").read_bytes()
    return _flip_in(_zip(_members(bundle)), coef[200:232])


def _bad_crc_manifest(bundle: Path, key: Path, work: Path) -> bytes:
    return _flip_in(_zip(_members(bundle)), b'"format_version"')


def _truncated_stream(bundle: Path, key: Path, work: Path) -> bytes:
    data = _zip(_members(bundle), zipfile.ZIP_DEFLATED)
    _, packed = _size(data, "b/features.json")
    return _patch(data, "b/features.json", csize=packed // 3)


def _method(number: int) -> Build:
    def build(bundle: Path, key: Path, work: Path) -> bytes:
        return _patch(_zip(_members(bundle)), "b/coef.npy", method=number)

    return build


def _compressed_with(method: int) -> Build:
    def build(bundle: Path, key: Path, work: Path) -> bytes:
        members = [(n, d) for n, d in _members(bundle) if n != "b/coef.npy"]
        coef = _info("b/coef.npy", stat.S_IFREG | 0o644, method)
        return _zip([*members, (coef, (bundle / "coef.npy").read_bytes())])

    return build


def _with_extra(name: str, data: bytes, mode: int | None = None) -> Build:
    def build(bundle: Path, key: Path, work: Path) -> bytes:
        info: zipfile.ZipInfo | str = name if mode is None else _info(name, mode)
        return _zip([*_members(bundle), (info, data)])

    return build


def _coef_with_mode(mode: int) -> Build:
    def build(bundle: Path, key: Path, work: Path) -> bytes:
        members = [(n, d) for n, d in _members(bundle) if n != "b/coef.npy"]
        return _zip([*members, (_info("b/coef.npy", mode), (bundle / "coef.npy").read_bytes())])

    return build


def _without(name: str) -> Build:
    return lambda bundle, key, work: _zip([m for m in _members(bundle) if m[0] != f"b/{name}"])


def _untrusted(bundle: Path, key: Path, work: Path) -> bytes:
    from app.core.bundles.signing import generate_key_pair, sign_bundle

    generate_key_pair(work / "stranger.key", work / "stranger.pem")
    sign_bundle(bundle, work / "stranger.key")
    return _zip(_members(bundle))


def _edited_after_signing(bundle: Path, key: Path, work: Path) -> bytes:
    manifest = bundle / "manifest.json"
    text = manifest.read_text()
    manifest.write_text(text.replace('"default_threshold": 0.45', '"default_threshold": 0.05', 1))
    assert manifest.read_text() != text
    return _zip(_members(bundle))


def _huge_manifest(bundle: Path, key: Path, work: Path) -> bytes:
    members = [m for m in _members(bundle) if m[0] != "b/manifest.json"]
    return _zip([*members, ("b/manifest.json", b" " * (5 * MiB))])  # stored: no ratio


def _central_directory_moved(bundle: Path, key: Path, work: Path) -> bytes:
    data = bytearray(_zip(_members(bundle)))
    end = data.rfind(b"PK\x05\x06")
    (offset,) = struct.unpack_from("<I", data, end + 16)
    struct.pack_into("<I", data, end + 16, offset - 7)
    return bytes(data)


def _names_differ(bundle: Path, key: Path, work: Path) -> bytes:
    data = bytearray(_zip(_members(bundle)))
    at = data.find(b"PK\x03\x04" + bytes(data[4:26]))  # the first local header
    name_at = data.find(b"b/MODEL_CARD.md", at)
    data[name_at + 2 : name_at + 5] = b"XYZ"
    return bytes(data)


# (build, words in the message, refused before anything is extracted)
ZIP_CASES: dict[str, tuple[Build, str, bool]] = {
    "zip bomb by ratio": (_bomb, "zip bomb", True),
    "header understates a size": (_understated, "declares", True),
    "header overstates a size": (_overstated, "declares", True),
    "bad CRC in a data file": (_bad_crc, "damaged", False),
    "bad CRC in the manifest": (_bad_crc_manifest, "damaged", True),
    "truncated deflate stream": (_truncated_stream, "damaged", False),
    "unknown compression method 99": (_method(99), "compression method 99", True),
    "bzip2 member": (_compressed_with(zipfile.ZIP_BZIP2), "compression method 12", True),
    "lzma member": (_compressed_with(zipfile.ZIP_LZMA), "compression method 14", True),
    "unsigned extra file": (
        _with_extra("b/notes.md", b"# hi\n"),
        "not in the signed manifest",
        True,
    ),
    "case-variant duplicate": (_with_extra("b/COEF.npy", b"x"), "appears twice", True),
    "stray folder entry": (
        _with_extra("other/", b"", stat.S_IFDIR | 0o755),
        "one bundle folder",
        True,
    ),
    "folder posing as a file": (_coef_with_mode(stat.S_IFDIR | 0o755), "folder posing", True),
    "FIFO member": (_coef_with_mode(stat.S_IFIFO | 0o644), "not a regular file", True),
    "untrusted signature": (_untrusted, "not trusted", True),
    "manifest edited after signing": (_edited_after_signing, "signature does not match", True),
    "no manifest": (_without("manifest.json"), "holds no manifest.json", True),
    "empty zip": (lambda bundle, key, work: _zip([]), "holds no manifest.json", True),
    "5 MB manifest": (_huge_manifest, "manifest.json is over", True),
    "central directory offset wrong": (_central_directory_moved, "damaged", True),
    "header and directory names differ": (_names_differ, "damaged", False),
}


@pytest.fixture
def home(tmp_path: Path, signing_key: tuple[Path, Path]) -> Path:
    return make_home(tmp_path, signing_key[1])


@pytest.fixture
def extracted(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Names of the files import copied out of a zip (a spy on its one copy function)."""
    names: list[str] = []
    real = model_import._copy_capped

    def spy(source, name, *args, **kwargs):  # type: ignore[no-untyped-def]
        names.append(name)
        return real(source, name, *args, **kwargs)

    monkeypatch.setattr(model_import, "_copy_capped", spy)
    return names


@pytest.mark.filterwarnings("ignore:Duplicate name")
@pytest.mark.parametrize("case", list(ZIP_CASES))
def test_hostile_zip_is_refused(
    case, signed_tiny_bundle, signing_key, home, tmp_path, extracted, monkeypatch, capsys
):
    build, words, early = ZIP_CASES[case]
    archive = tmp_path / "incoming.zip"
    archive.write_bytes(build(signed_tiny_bundle, signing_key[0], tmp_path))
    before = digest(archive)
    code, out, err = run_main(monkeypatch, capsys, home, "models", "import", str(archive))
    assert_refused(code, err, 4, archive, words)
    assert digest(archive) == before
    assert installed(home) == []
    if early:
        assert extracted == [], f"extracted {extracted} before refusing"


def test_declared_total_is_checked_before_extracting(
    signed_tiny_bundle, home, tmp_path, extracted, monkeypatch, capsys
):
    monkeypatch.setattr(model_import, "MAX_TOTAL_BYTES", 20_000)
    archive = tmp_path / "big.zip"
    archive.write_bytes(_zip(_members(signed_tiny_bundle)))
    code, _, err = run_main(monkeypatch, capsys, home, "models", "import", str(archive))
    assert_refused(code, err, 4, archive, "more than 20,000 bytes")
    assert extracted == [] and installed(home) == []


def test_declared_file_size_is_checked_before_extracting(
    signed_tiny_bundle, home, tmp_path, extracted, monkeypatch, capsys
):
    largest = max(signed_tiny_bundle.iterdir(), key=lambda p: p.stat().st_size)
    monkeypatch.setattr(model_import, "MAX_FILE_BYTES", largest.stat().st_size - 1)
    archive = tmp_path / "big.zip"
    archive.write_bytes(_zip(_members(signed_tiny_bundle)))
    code, _, err = run_main(monkeypatch, capsys, home, "models", "import", str(archive))
    assert_refused(code, err, 4, archive, f"{largest.name} is too large")
    assert extracted == [] and installed(home) == []


def test_only_files_the_manifest_lists_are_extracted(
    signed_tiny_bundle, signing_key, home, tmp_path, extracted, monkeypatch, capsys
):
    """A good zip: the manifest and signature are read first, then exactly the listed files."""
    archive = tmp_path / "good.zip"
    archive.write_bytes(_zip(_members(signed_tiny_bundle), zipfile.ZIP_DEFLATED))
    code, out, err = run_main(monkeypatch, capsys, home, "models", "import", str(archive))
    assert code == 0, err
    assert sorted(extracted) == sorted(p.name for p in signed_tiny_bundle.iterdir())
    assert installed(home) == ["tiny-0.0.1"]


def test_not_a_zip_at_all_is_a_model_refusal(home, tmp_path, monkeypatch, capsys):
    """The chosen exit code (README): every refused import source exits 4, this one too."""
    fake = tmp_path / "model.zip"
    fake.write_bytes(b"PK not really a zip" * 100)
    code, _, err = run_main(monkeypatch, capsys, home, "models", "import", str(fake))
    assert_refused(code, err, 4, fake, "neither a bundle folder nor a zip file")


def test_zip_of_a_bundle_with_bad_values_is_refused_naming_the_zip(
    signed_tiny_bundle, signing_key, home, tmp_path, monkeypatch, capsys
):
    """Validation errors found after extraction name the zip, never the staging folder."""
    edit_json(
        signed_tiny_bundle,
        "classifier.json",
        lambda c: c["calibration"].__setitem__("a", 1e9),
        signing_key[0],
    )
    archive = tmp_path / "calibrated.zip"
    archive.write_bytes(_zip(_members(signed_tiny_bundle)))
    code, _, err = run_main(monkeypatch, capsys, home, "models", "import", str(archive))
    assert_refused(code, err, 4, archive, "calibration.a")
