"""Model bundles signed by a trusted key and still hostile or broken: every one is refused on
import with one line naming the user's bundle, exit 4, the bundle left as it was, nothing
installed, and never a traceback or a hang."""

from __future__ import annotations

import io
import json
import shutil
import struct
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.adversarial.bundle_kit import (
    assert_refused,
    digest,
    edit_json,
    installed,
    make_home,
    npy_bytes,
    put,
    resign,
    run_main,
)

Tamper = Callable[[Path, Path], None]
DEEP = "[" * 5000 + "]" * 5000
BIG_INT = "9" * 4000  # under Python's own 4300-digit limit: only our parser refuses it


def _setting(block: int, key: str, value: Any, drop: str | None = None) -> Tamper:
    def change(f: dict) -> None:
        settings = f["blocks"][block]["settings"]
        settings.pop(drop, None)
        settings[key] = value

    return lambda folder, key_: edit_json(folder, "features.json", change, key_)


def _features(change: Callable[[dict], Any]) -> Tamper:
    return lambda folder, key: edit_json(folder, "features.json", change, key)


def _classifier(change: Callable[[dict], Any]) -> Tamper:
    return lambda folder, key: edit_json(folder, "classifier.json", change, key)


def _manifest(change: Callable[[dict], Any]) -> Tamper:
    return lambda folder, key: edit_json(folder, "manifest.json", change, key)


def _raw_manifest_value(field: str, literal: str) -> Tamper:
    """Set a manifest field to JSON text json.dumps cannot write (NaN, 1e400, huge ints)."""

    def change(m: dict) -> str:
        m[field] = "@@"
        return json.dumps(m).replace('"@@"', literal)

    return _manifest(change)


def _raw_calibration(field: str, literal: str) -> Tamper:
    def change(c: dict) -> str:
        c["calibration"][field] = "@@"
        return json.dumps(c).replace('"@@"', literal)

    return _classifier(change)


def _array(name: str, array: np.ndarray) -> Tamper:
    return lambda folder, key: put(folder, name, npy_bytes(array), key)


def _scaled(name: str, value: float, index: int = 0) -> Tamper:
    def tamper(folder: Path, key: Path) -> None:
        array = np.load(folder / name).copy()
        array[index] = value
        put(folder, name, npy_bytes(array), key)

    return tamper


def _npy_header(header: str, data: bytes = b"\0" * 8) -> bytes:
    """A hand-written .npy 1.0 file: what np.save would never write."""
    text = header.encode("latin1")
    pad = 64 - (10 + len(text) + 1) % 64
    text += b" " * pad + b"\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(text)) + text + data


def _raw_npy(name: str, data: bytes) -> Tamper:
    return lambda folder, key: put(folder, name, data, key)


def _pickled(name: str) -> Tamper:
    buffer = io.BytesIO()
    np.save(buffer, np.array([{"x": 1}, None], dtype=object), allow_pickle=True)
    return _raw_npy(name, buffer.getvalue())


def _npy_v3(folder: Path, key: Path) -> None:
    data = npy_bytes(np.load(folder / "intercept.npy"))
    put(folder, "intercept.npy", b"\x93NUMPY\x03\x00" + data[8:10] + b"\x00\x00" + data[10:], key)


BUNDLE_CASES: dict[str, tuple[Tamper, str]] = {
    # features.json: n-gram ranges, analyzers, vectoriser settings
    "char n-grams up to 50": (_setting(1, "ngram_range", [1, 50]), "ngram_range"),
    "word n-grams up to 9": (_setting(0, "ngram_range", [1, 9]), "ngram_range"),
    "n-gram range from 0": (_setting(1, "ngram_range", [0, 3]), "ngram_range"),
    "n-gram range reversed": (_setting(1, "ngram_range", [4, 2]), "ngram_range"),
    "n-gram range as text": (_setting(0, "ngram_range", "12"), "ngram_range"),
    "n-gram range of floats": (_setting(0, "ngram_range", [1.0, 2.5]), "ngram_range"),
    "n-gram range of three": (_setting(0, "ngram_range", [1, 1, 1]), "ngram_range"),
    "lowercase as text": (_setting(0, "lowercase", "no"), "lowercase"),
    "sublinear_tf as number": (_setting(0, "sublinear_tf", 1), "sublinear_tf"),
    "unknown norm": (_setting(0, "norm", "l3"), "norm"),
    "unknown accent stripping": (_setting(1, "strip_accents", "evil"), "strip_accents"),
    "unknown vectoriser setting": (_setting(0, "stop_words", None), "unknown setting"),
    # tokenisation: no regular expression from a bundle is ever compiled
    "ReDoS token pattern": (
        _setting(0, "token_pattern", r"(?u)(\w+)+$", drop="token_pattern_name"),
        "token pattern",
    ),
    "other token pattern": (
        _setting(0, "token_pattern", r"(?u)\b\w+\b", drop="token_pattern_name"),
        "token pattern",
    ),
    "token pattern not text": (
        _setting(0, "token_pattern", 42, drop="token_pattern_name"),
        "token_pattern",
    ),
    "unknown token pattern name": (_setting(0, "token_pattern_name", "(a+)+$"), "token pattern"),
    # vocabularies
    "term that is a number": (
        _features(lambda f: f["blocks"][0]["vocabulary"].__setitem__(0, 5)),
        "vocabulary",
    ),
    "term of 100,000 characters": (
        _features(lambda f: f["blocks"][0]["vocabulary"].__setitem__(0, "x" * 100_000)),
        "vocabulary",
    ),
    "term with a lone surrogate": (
        _features(
            lambda f: json.dumps(f).replace('"vocabulary": ["', '"vocabulary": ["\\ud800', 1)
        ),
        "lone surrogate",
    ),
    "creation time with a lone surrogate": (
        _manifest(
            lambda m: json.dumps(m).replace('"created_utc": "', '"created_utc": "\\udfff', 1)
        ),
        "lone surrogate",
    ),
    "empty term": (
        _features(lambda f: f["blocks"][1]["vocabulary"].__setitem__(0, "")),
        "vocabulary",
    ),
    "vocabulary as object": (
        _features(lambda f: f["blocks"][0].__setitem__("vocabulary", {"a": 0})),
        "vocabulary",
    ),
    "block without vocabulary": (
        _features(lambda f: f["blocks"][0].pop("vocabulary")),
        "vocabulary",
    ),
    "block named like a path": (
        _features(lambda f: f["blocks"][0].__setitem__("name", "../word")),
        "name",
    ),
    "unknown field in features.json": (_features(lambda f: f.__setitem__("hook", "x")), "hook"),
    "features.json nested 5000 deep": (
        _features(lambda f: f.__setitem__("x", "@@") or json.dumps(f).replace('"@@"', DEEP)),
        "nested",
    ),
    "features.json with NaN": (
        _features(lambda f: json.dumps(f).replace('"lowercase": true', '"lowercase": NaN', 1)),
        "NaN",
    ),
    "a key twice in classifier.json (readers disagree on which value counts)": (
        _classifier(
            lambda c: json.dumps(c).replace('"calibration":', '"type": "tree", "calibration":', 1)
        ),
        "appears twice",
    ),
    # classifier.json: calibration and structure
    "calibration offset NaN": (_raw_calibration("b", "NaN"), "JSON allows"),
    "calibration offset Infinity": (_raw_calibration("b", "-Infinity"), "JSON allows"),
    "calibration offset 1e400": (_raw_calibration("b", "1e400"), "out of range"),
    "calibration slope 1e300": (_raw_calibration("a", "1e300"), "calibration.a"),
    "calibration slope as text": (_raw_calibration("a", '"2"'), "calibration.a"),
    "calibration as a list": (
        _classifier(lambda c: c.__setitem__("calibration", [1, 0])),
        "calibration",
    ),
    "unknown calibration method": (
        _classifier(lambda c: c["calibration"].__setitem__("method", "isotonic")),
        "calibration.method",
    ),
    "classifier type tree": (_classifier(lambda c: c.__setitem__("type", "tree")), "type"),
    "three classes": (
        _classifier(lambda c: c.__setitem__("classes", ["a", "b", "c"])),
        "classes",
    ),
    "positive label benign (scores would mean the opposite)": (
        _classifier(lambda c: c.__setitem__("positive_label", "benign")),
        "positive_label",
    ),
    "classes swapped": (
        _classifier(lambda c: c.__setitem__("classes", ["abusive", "benign"])),
        "classes",
    ),
    "blocks in another order": (
        _classifier(lambda c: c.__setitem__("feature_blocks", ["char", "word"])),
        "feature_blocks",
    ),
    # arrays: values
    "coefficient 1e300": (_scaled("coef.npy", 1e300), "coef.npy"),
    "intercept -1e12": (_scaled("intercept.npy", -1e12), "intercept.npy"),
    "negative idf": (_scaled("word_idf.npy", -3.0), "word_idf.npy"),
    "zero idf": (_scaled("char_idf.npy", 0.0), "char_idf.npy"),
    "evaluation score NaN": (_scaled("eval_scores.npy", np.nan), "eval_scores.npy"),
    "evaluation score 2.5": (_scaled("eval_scores.npy", 2.5), "eval_scores.npy"),
    "evaluation label 7": (_scaled("eval_labels.npy", 7), "eval_labels.npy"),
    "evaluation labels as floats": (_array("eval_labels.npy", np.zeros(4)), "eval_labels.npy"),
    "evaluation arrays of different lengths": (
        _array("eval_scores.npy", np.full(3, 0.5)),
        "evaluation arrays",
    ),
    # arrays: headers checked before allocation
    "header declares a trillion items": (
        _raw_npy(
            "coef.npy",
            _npy_header("{'descr': '<f8', 'fortran_order': False, 'shape': (10**12,), }"),
        ),
        "coef.npy",
    ),
    "header declares 2**40 x 2**40": (
        _raw_npy(
            "eval_ids.npy",
            _npy_header(
                "{'descr': '<u8', 'fortran_order': False, 'shape': (1099511627776, 1099511627776), }"
            ),
        ),
        "eval_ids.npy",
    ),
    "fortran-ordered array": (
        _raw_npy(
            "intercept.npy", _npy_header("{'descr': '<f8', 'fortran_order': True, 'shape': (1,), }")
        ),
        "Fortran",
    ),
    "structured dtype": (
        _raw_npy(
            "eval_ids.npy",
            _npy_header("{'descr': [('a', '<f8')], 'fortran_order': False, 'shape': (1,), }"),
        ),
        "eval_ids.npy",
    ),
    "surplus data after the array": (
        _raw_npy(
            "intercept.npy",
            _npy_header("{'descr': '<f8', 'fortran_order': False, 'shape': (1,), }", b"\0" * 64),
        ),
        "intercept.npy",
    ),
    "npy format 3.0": (_npy_v3, "intercept.npy"),
    "object dtype (pickle)": (_pickled("eval_origin.npy"), "eval_origin.npy"),
    # manifest.json: every field, NaN and friends, limits
    "default threshold NaN": (_raw_manifest_value("default_threshold", "NaN"), "JSON allows"),
    "default threshold Infinity": (
        _raw_manifest_value("default_threshold", "Infinity"),
        "JSON allows",
    ),
    "default threshold 1e400": (_raw_manifest_value("default_threshold", "1e400"), "out of range"),
    "default threshold 1.5": (_raw_manifest_value("default_threshold", "1.5"), "default_threshold"),
    "default threshold -0.1": (
        _raw_manifest_value("default_threshold", "-0.1"),
        "default_threshold",
    ),
    "default threshold as text": (
        _raw_manifest_value("default_threshold", '"0.5"'),
        "default_threshold",
    ),
    "default threshold true": (
        _raw_manifest_value("default_threshold", "true"),
        "default_threshold",
    ),
    "4000-digit integer": (_raw_manifest_value("created_utc", BIG_INT), "digits"),
    "5000-digit integer": (_raw_manifest_value("created_utc", "9" * 5000), "digits"),
    "manifest nested 5000 deep": (_raw_manifest_value("training", DEEP), "nested"),
    "manifest nested 30 deep": (_raw_manifest_value("training", "[" * 30 + "]" * 30), "nested"),
    "name that is a number": (_raw_manifest_value("name", "42"), "name"),
    "unknown manifest field": (
        _manifest(lambda m: m.__setitem__("install_hook", "x")),
        "install_hook",
    ),
    "negative file size": (
        _manifest(lambda m: m["files"]["coef.npy"].__setitem__("bytes", -1)),
        "files.coef.npy.bytes",
    ),
    "creation time of 10,000 characters": (
        _manifest(lambda m: m.__setitem__("created_utc", "2026" * 2500)),
        "created_utc",
    ),
    "test ROC-AUC of 7": (
        _manifest(lambda m: m["metrics"]["test"]["all"].__setitem__("auc", 7.0)),
        "auc",
    ),
    "negative test count": (
        _manifest(lambda m: m["metrics"]["test"]["all"].__setitem__("n", -5)),
        ".n",
    ),
    "recommended threshold 3": (
        _manifest(lambda m: m["recommended_thresholds"][0].__setitem__("threshold", 3)),
        "threshold",
    ),
    "metrics as a list": (_manifest(lambda m: m.__setitem__("metrics", [1])), "metrics"),
    "test metrics as a list": (
        _manifest(lambda m: m["metrics"].__setitem__("test", ["all"])),
        "metrics.test",
    ),
    "libraries as a list": (_manifest(lambda m: m.__setitem__("libraries", ["x"])), "libraries"),
}


@pytest.fixture
def home(tmp_path: Path, signing_key: tuple[Path, Path]) -> Path:
    return make_home(tmp_path, signing_key[1])


@pytest.mark.parametrize("case", list(BUNDLE_CASES))
def test_signed_bad_bundle_is_refused_on_import(
    case, signed_tiny_bundle, signing_key, home, monkeypatch, capsys
):
    tamper, word = BUNDLE_CASES[case]
    tamper(signed_tiny_bundle, signing_key[0])
    before = digest(signed_tiny_bundle)
    code, out, err = run_main(
        monkeypatch, capsys, home, "models", "import", str(signed_tiny_bundle)
    )
    assert_refused(code, err, 4, signed_tiny_bundle, word)
    assert out == ""
    assert digest(signed_tiny_bundle) == before
    assert installed(home) == []


def test_tampered_bundle_is_refused_by_verify_as_well(
    signed_tiny_bundle, signing_key, home, monkeypatch, capsys
):
    _raw_calibration("b", "NaN")(signed_tiny_bundle, signing_key[0])
    code, _, err = run_main(monkeypatch, capsys, home, "models", "verify", str(signed_tiny_bundle))
    assert_refused(code, err, 4, signed_tiny_bundle, "JSON allows")


def test_redos_pattern_cannot_hang_scoring(signed_tiny_bundle, signing_key, tmp_path):
    """The attack end to end, in a real process with a deadline: refused at once, no hang."""
    from tests.cli_runner import run_cli

    _setting(0, "token_pattern", r"(?u)(\w|\w\w)+$", drop="token_pattern_name")(
        signed_tiny_bundle, signing_key[0]
    )
    home = make_home(tmp_path / "h", signing_key[1])
    text = "a" * 40 + "!"
    result = run_cli(
        "--model",
        str(signed_tiny_bundle),
        "score-text",
        text,
        timeout=60,
        ABUSE_DESK_HOME=str(home),
    )
    assert result.returncode == 4, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert str(signed_tiny_bundle) in result.stderr and "token pattern" in result.stderr


def test_probe_refuses_a_model_that_scores_nan(
    signed_tiny_bundle, signing_key, home, monkeypatch, capsys
):
    """Even if a limit were too loose, a model whose scores are not probabilities never loads:
    coefficients of +-1e308 make the logits inf - inf."""
    from app.core.bundles import bundle_schema

    monkeypatch.setattr(bundle_schema, "MAX_WEIGHT", float("inf"))
    coef = np.load(signed_tiny_bundle / "coef.npy").copy()
    coef[:] = np.where(np.arange(len(coef)) % 2, 1e308, -1e308)
    put(signed_tiny_bundle, "coef.npy", npy_bytes(coef), signing_key[0])
    code, _, err = run_main(monkeypatch, capsys, home, "models", "import", str(signed_tiny_bundle))
    assert_refused(code, err, 4, signed_tiny_bundle, "probe")
    assert installed(home) == []


def test_gui_models_panel_shows_the_same_refusal(
    signed_tiny_bundle, signing_key, home, monkeypatch, capsys
):
    """The Models panel's import job calls the same core: its message is the CLI's line."""
    from app.core.common.errors import ModelError
    from app.core.models.registry import ModelRegistry
    from app.ui.models.jobs import import_model

    _setting(1, "ngram_range", [1, 50])(signed_tiny_bundle, signing_key[0])
    code, _, err = run_main(monkeypatch, capsys, home, "models", "import", str(signed_tiny_bundle))
    with pytest.raises(ModelError) as refused:
        import_model(ModelRegistry.default(), signed_tiny_bundle)
    assert code == 4 and err.strip().endswith(str(refused.value))
    assert str(signed_tiny_bundle) in str(refused.value)


# --- trusted keys: unique names, and `models trust` is logged before the key is trusted --------


def _second_key(tmp_path: Path, name: str) -> Path:
    from app.core.bundles.signing import generate_key_pair

    folder = tmp_path / "other"
    generate_key_pair(folder / "k.key", folder / f"{name}.pem")
    return folder / f"{name}.pem"


def test_second_key_with_a_shipped_name_is_refused(home, tmp_path, monkeypatch, capsys):
    from app.core.common.paths import resource_path

    shipped = next(resource_path("trusted_keys").glob("*.pem")).stem
    impostor = _second_key(tmp_path, shipped)
    code, _, err = run_main(monkeypatch, capsys, home, "models", "trust", str(impostor))
    assert_refused(code, err, 4, impostor, "is already")
    assert not (home / "config" / "trusted_keys" / f"{shipped}.pem").exists()


def test_trust_store_ignores_a_second_key_of_the_same_name(tmp_path, signing_key):
    from app.core.bundles.signing import TrustStore

    impostor = _second_key(tmp_path, "test-team")
    store = TrustStore.load([signing_key[1], impostor.parent])
    assert [name for _key, name in store.keys.values()] == ["test-team"]
    assert len(store.problems) == 1 and str(impostor) in store.problems[0]


def test_trust_is_logged(home, signing_key, tmp_path, monkeypatch, capsys):
    from app.core.activity.log import ActivityLog

    key = _second_key(tmp_path, "analyst-team")
    code, out, err = run_main(monkeypatch, capsys, home, "models", "trust", str(key))
    assert code == 0, err
    activity = ActivityLog.open_default(home / "data")
    try:
        events = [e for e in activity.query(limit=10) if e.action == "key_trusted"]
    finally:
        activity.close()
    assert len(events) == 1 and "analyst-team" in (events[0].detail or "")
    assert events[0].file_name == "analyst-team.pem"


def test_trust_is_not_granted_when_it_cannot_be_logged(home, tmp_path, monkeypatch, capsys):
    key = _second_key(tmp_path, "analyst-team")
    (home / "data").mkdir(parents=True)
    (home / "data" / "activity.sqlite3").mkdir()  # the log cannot be opened
    code, _, err = run_main(monkeypatch, capsys, home, "models", "trust", str(key))
    # Refused on the log, which is what is broken; nothing trusted.
    assert_refused(code, err, 3, home / "data" / "activity.sqlite3", "not a regular file")
    assert not (home / "config" / "trusted_keys" / "analyst-team.pem").exists()


def test_legacy_pattern_text_of_the_bundled_models_still_loads(bundled_model_path, tmp_path):
    """The shipped bundles give the pattern's text, not its name: it maps to the fixed list."""
    from app.core.engine.scoring import Scorer

    copy = shutil.copytree(bundled_model_path, tmp_path / bundled_model_path.name)
    assert '"token_pattern":' in (copy / "features.json").read_text()[:2000]
    assert Scorer.load(copy).score_text("you idiot", 0.45).label == "abusive"


def test_resign_helper_keeps_the_signature_valid(
    signed_tiny_bundle, signing_key, home, monkeypatch, capsys
):
    """Control: a re-signed, untampered bundle imports, so refusals above come from validation."""
    resign(signed_tiny_bundle, signing_key[0])
    code, out, err = run_main(
        monkeypatch, capsys, home, "models", "import", str(signed_tiny_bundle)
    )
    assert code == 0, err
    assert installed(home) == ["tiny-0.0.1"]


def test_sign_refuses_a_bundle_that_would_not_load(
    signed_tiny_bundle, signing_key, home, monkeypatch, capsys
):
    """The training team's `models sign` checks the whole schema first: a trusted key never
    signs a bundle with an unusable calibration."""
    _raw_calibration("b", "1e400")(signed_tiny_bundle, signing_key[0])
    (signed_tiny_bundle / "manifest.sig").unlink()
    before = digest(signed_tiny_bundle)
    code, _, err = run_main(
        monkeypatch,
        capsys,
        home,
        "models",
        "sign",
        str(signed_tiny_bundle),
        "--key",
        str(signing_key[0]),
    )
    assert_refused(code, err, 4, signed_tiny_bundle, "out of range")
    assert digest(signed_tiny_bundle) == before  # no signature written


# `models verify ZIP`: the README documents `models verify PATH|VERSION`; a zip gets every check
# of `models import` in a staging folder that is removed, and nothing is installed.
def _zip_of(bundle: Path, archive: Path) -> Path:
    from tests.adversarial.test_zips import _members, _zip

    archive.write_bytes(_zip(_members(bundle)))
    return archive


def _leftovers(home: Path) -> list[str]:
    folder = home / "data" / "models"
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


@pytest.mark.parametrize("as_json", [False, True])
def test_verify_of_a_good_zip_checks_it_and_installs_nothing(
    as_json, signed_tiny_bundle, home, tmp_path, monkeypatch, capsys
):
    archive = _zip_of(signed_tiny_bundle, tmp_path / "good.zip")
    before = digest(archive)
    extra = ["--json"] if as_json else []
    code, out, err = run_main(monkeypatch, capsys, home, "models", "verify", str(archive), *extra)
    assert code == 0, err
    assert err == ""
    if as_json:
        shown = json.loads(out)
        assert shown["verified"] is True and shown["name"] == "tiny"
        assert shown["ref"] == "good.zip" and ".verify-" not in out
    else:
        assert out.startswith("tiny 0.0.1: verified;") and "not installed" not in out
    assert digest(archive) == before
    assert _leftovers(home) == []  # nothing installed, no staging folder left behind


@pytest.mark.parametrize(
    "case",
    ["unknown compression method 99", "manifest edited after signing", "bad CRC in a data file"],
)
def test_verify_of_a_hostile_zip_is_refused_like_import(
    case, signed_tiny_bundle, signing_key, home, tmp_path, monkeypatch, capsys
):
    from tests.adversarial.test_zips import ZIP_CASES

    build, words, _ = ZIP_CASES[case]
    archive = tmp_path / "incoming.zip"
    archive.write_bytes(build(signed_tiny_bundle, signing_key[0], tmp_path))
    before = digest(archive)
    code, _, err = run_main(monkeypatch, capsys, home, "models", "verify", str(archive))
    assert_refused(code, err, 4, archive, words)
    assert ".verify-" not in err
    assert digest(archive) == before
    assert _leftovers(home) == []


def test_verify_of_a_zip_with_a_bad_bundle_names_the_zip(
    signed_tiny_bundle, signing_key, home, tmp_path, monkeypatch, capsys
):
    BUNDLE_CASES["positive label benign (scores would mean the opposite)"][0](
        signed_tiny_bundle, signing_key[0]
    )
    archive = _zip_of(signed_tiny_bundle, tmp_path / "benign.zip")
    code, _, err = run_main(monkeypatch, capsys, home, "models", "verify", str(archive))
    assert_refused(code, err, 4, archive, "positive_label")
    assert ".verify-" not in err and _leftovers(home) == []
