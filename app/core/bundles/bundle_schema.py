"""The schema of a model bundle: every field of every JSON file and every array, checked on load.

A signature says who made a bundle, not that its numbers are sane: a trusted key may sign the
output of a broken training run. So after the hashes match (app.core.bundles.bundle) each file is checked
here, before the model is built: types, ranges and lengths of every field the app reads, bounds
on the free-form provenance (``training``, ``metrics``), thresholds and rates within [0, 1],
finite calibration, finite coefficients of bounded size, small n-gram ranges, bounded
vocabularies, and array dtypes and shapes (their headers were checked before allocation by
app.core.bundles.bundle_json). Each check raises `BundleDataError` with a path such as
``blocks[1].settings.ngram_range``.
"""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np

from app.core.bundles.bundle_json import BundleDataError
from app.core.bundles.token_patterns import NAME_KEY, TEXT_KEY, resolve

SAFE_PART = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]{0,63}")  # a model name or version
BLOCK_NAME = re.compile(r"[a-z][a-z0-9_]{0,31}")  # names the block's <name>_idf.npy
SHA256 = re.compile(r"[0-9a-f]{64}")
FILE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")  # a file the manifest lists
FILE_TYPES = (".json", ".npy", ".md", ".onnx")  # data only: nothing that runs code when loaded
# (an .onnx graph is data too, once `app.core.bundles.onnx_check` has allowed its operators)
UNLISTED = ("manifest.json", "manifest.sig")  # the manifest and its signature list no one
MAX_TEXT = 4096  # a string in the free-form parts
MAX_ITEMS = 10_000  # items of a list or keys of an object in the free-form parts
MAX_BLOCKS = 8
MAX_TERMS = 4_000_000  # all blocks together (the bundled 1.0.0: 340,236)
MAX_TERM_CHARS = 512
MAX_NGRAM = {"word": 3, "char": 6, "char_wb": 6}
MAX_IDF = 100.0  # idf = ln(n / df) + 1: 100 would need e^99 documents
MAX_WEIGHT = 1e3  # a coefficient or the intercept (the bundled models: under 30)
MAX_CALIBRATION = 100.0
MAX_EVAL_ITEMS = 1_000_000
# Manifest keys whose numbers are probabilities, rates or thresholds, wherever they appear.
UNIT_KEYS = frozenset(
    "auc roc_auc brier ece threshold default_threshold best_f1_threshold best_f1 precision "
    "recall f1 accuracy specificity queue_rate benign_fpr overall_fpr abusive_tpr "
    "validation_auc mean_test_part_auc".split()
)
# Manifest keys whose numbers are counts.
COUNT_KEYS = frozenset(
    "n positives tn fp fn tp flagged rows rows_in items bytes total benign_items abusive_items "
    "capped_features duplicate_rows_merged tied_label_groups_dropped".split()
)
MANIFEST_KEYS = frozenset(
    "format format_version name version files created_utc normalizer_version libraries "
    "training default_threshold recommended_thresholds metrics evaluation_arrays".split()
)
SETTING_TYPES: dict[str, tuple[type, ...]] = {
    "analyzer": (str,),
    "ngram_range": (list,),
    "lowercase": (bool,),
    NAME_KEY: (str,),
    TEXT_KEY: (str,),
    "sublinear_tf": (bool,),
    "norm": (str, type(None)),
    "use_idf": (bool,),
    "smooth_idf": (bool,),
    "strip_accents": (str, type(None)),
    "weighting": (str,),
}
_CHOICES: dict[str, tuple[Any, ...]] = {
    "analyzer": tuple(MAX_NGRAM),
    "norm": ("l2", "l1", None),
    "strip_accents": (None, "ascii", "unicode"),
}


def _fail(path: str, problem: str) -> BundleDataError:
    return BundleDataError(f"{path}: {problem}" if path else problem)


def _type(value: Any, kinds: tuple[type, ...], path: str) -> Any:
    # bool is an int in Python: a count or a weight given as true is refused all the same
    if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
        names = " or ".join("null" if k is type(None) else k.__name__ for k in kinds)
        raise _fail(path, f"must be {names}, not {type(value).__name__}")
    return value


def _text(value: Any, path: str, limit: int = MAX_TEXT) -> str:
    _type(value, (str,), path)
    if len(value) > limit:
        raise _fail(path, f"text of {len(value):,} characters (limit {limit:,})")
    return str(value)


def _number(value: Any, path: str, low: float, high: float) -> float:
    _type(value, (int, float), path)
    if not (math.isfinite(value) and low <= value <= high):
        raise _fail(path, f"{value!r} is outside [{low:g}, {high:g}]")
    return float(value)


def _keys(value: Any, path: str, required: set[str], allowed: set[str] | frozenset[str]) -> None:
    _type(value, (dict,), path)
    missing = sorted(required - set(value))
    if missing:
        raise _fail(path, f"'{missing[0]}' is missing")
    unknown = sorted(set(value) - set(allowed))
    if unknown:
        raise _fail(path, f"unknown field '{str(unknown[0])[:40]}'")


def check_free(value: Any, path: str) -> None:
    """Free-form provenance: bounded sizes; named rates in [0, 1] and counts non-negative."""
    stack: list[tuple[Any, str, str]] = [(value, path, "")]
    while stack:
        item, where, key = stack.pop()
        if isinstance(item, dict | list) and len(item) > MAX_ITEMS:
            raise _fail(where, f"{len(item):,} items (limit {MAX_ITEMS:,})")
        if isinstance(item, dict):
            for k, v in item.items():
                stack.append((v, f"{where}.{_text(k, where, 200)}", k))
        elif isinstance(item, list):
            stack.extend((v, f"{where}[{i}]", key) for i, v in enumerate(item))
        elif isinstance(item, str):
            _text(item, where)
        elif item is not None and key in UNIT_KEYS:
            _number(item, where, 0.0, 1.0)
        elif item is not None and key in COUNT_KEYS:
            _type(item, (int,), where)
            _number(item, where, 0, 2**63 - 1)


def check_manifest(manifest: Any) -> None:
    """Every field of manifest.json (parsed before the other files, also by cheap listings)."""
    _keys(manifest, "", {"format", "format_version", "name", "version", "files"}, MANIFEST_KEYS)
    for key in ("name", "version"):
        if not SAFE_PART.fullmatch(_text(manifest[key], key, 64)):
            shown = manifest[key][:64]
            raise _fail(key, f"{shown!r} cannot name a folder (letters, digits, . _ + - only)")
    files = _type(manifest["files"], (dict,), "files")
    if not files or len(files) > 64:
        raise _fail("files", f"lists {len(files)} files (1 to 64)")
    for name, entry in files.items():
        where = f"files.{_text(name, 'files', 128)}"
        # a plain file name: no folders, no "..", nothing hidden, only data file types
        if not FILE_NAME.fullmatch(name) or ".." in name or name in UNLISTED:
            raise _fail("files", f"invalid file name {name[:64]!r}")
        if not name.endswith(FILE_TYPES):
            raise _fail("files", f"file type of {name!r} is not allowed")
        _keys(entry, where, {"sha256"}, {"sha256", "bytes"})
        if not SHA256.fullmatch(_text(entry["sha256"], f"{where}.sha256", 64)):
            raise _fail(f"{where}.sha256", "is not 64 lower-case hex digits")
        if "bytes" in entry:
            _type(entry["bytes"], (int,), f"{where}.bytes")
            _number(entry["bytes"], f"{where}.bytes", 0, 256 << 20)
    if "default_threshold" in manifest:
        _number(manifest["default_threshold"], "default_threshold", 0.0, 1.0)
    for key in ("created_utc", "normalizer_version"):
        if key in manifest:
            _text(manifest[key], key, 64)
    for key in ("libraries", "evaluation_arrays"):
        if key in manifest:
            for k, v in _type(manifest[key], (dict,), key).items():
                _text(v, f"{key}.{_text(k, key, 64)}", 256)
    if "recommended_thresholds" in manifest:
        recs = _type(manifest["recommended_thresholds"], (list,), "recommended_thresholds")
        for i, rec in enumerate(recs[:MAX_ITEMS]):
            where = f"recommended_thresholds[{i}]"
            _keys(rec, where, {"name", "threshold"}, set(rec) if isinstance(rec, dict) else set())
            _text(rec["name"], f"{where}.name", 200)
    for key, kind in (("training", dict), ("metrics", dict), ("recommended_thresholds", list)):
        if key in manifest:
            check_free(_type(manifest[key], (kind,), key), key)
    if isinstance(manifest.get("metrics"), dict) and "test" in manifest["metrics"]:
        _type(manifest["metrics"]["test"], (dict,), "metrics.test")  # the registry reads it


def check_settings(settings: Any, path: str) -> None:
    """A feature block's vectoriser settings: known keys, types and small n-gram ranges."""
    _type(settings, (dict,), path)
    for key, value in settings.items():
        if key not in SETTING_TYPES:
            raise _fail(path, f"unknown setting '{str(key)[:40]}'")
        _type(value, SETTING_TYPES[key], f"{path}.{key}")
        if key in _CHOICES and value not in _CHOICES[key]:
            raise _fail(f"{path}.{key}", f"{str(value)[:40]!r} is not one of {_CHOICES[key]}")
    try:
        resolve(settings)  # the tokenisation pattern comes from the fixed list in the code
    except ValueError as exc:
        raise _fail(path, str(exc)) from None
    analyzer = settings.get("analyzer", "word")
    if "analyzer" not in settings:
        raise _fail(path, "'analyzer' is missing")
    ngrams = settings.get("ngram_range", [1, 1])
    if len(ngrams) != 2 or not all(isinstance(n, int) and not isinstance(n, bool) for n in ngrams):
        raise _fail(f"{path}.ngram_range", "must be two integers")
    low, high = ngrams
    if not 1 <= low <= high <= MAX_NGRAM[analyzer]:
        raise _fail(
            f"{path}.ngram_range",
            f"[{low}, {high}] is outside 1..{MAX_NGRAM[analyzer]} for {analyzer} n-grams",
        )


def check_features(features: Any) -> list[tuple[str, int]]:
    """features.json; returns each block's (name, vocabulary size) for the array checks."""
    _keys(features, "", {"normalizer_version", "blocks"}, {"normalizer_version", "blocks"})
    _text(features["normalizer_version"], "normalizer_version", 16)
    blocks = _type(features["blocks"], (list,), "blocks")
    if not 1 <= len(blocks) <= MAX_BLOCKS:
        raise _fail("blocks", f"{len(blocks)} feature blocks (1 to {MAX_BLOCKS})")
    sizes: list[tuple[str, int]] = []
    for i, block in enumerate(blocks):
        where = f"blocks[{i}]"
        keys = {"name", "settings", "vocabulary"}
        _keys(block, where, keys, keys)
        name = _text(block["name"], f"{where}.name", 32)
        if not BLOCK_NAME.fullmatch(name) or name in dict(sizes):
            raise _fail(f"{where}.name", f"{name!r} is not a unique lower-case identifier")
        check_settings(block["settings"], f"{where}.settings")
        terms = _type(block["vocabulary"], (list,), f"{where}.vocabulary")
        if terms and set(map(type, terms)) != {str}:  # (in C: vocabularies are large)
            raise _fail(f"{where}.vocabulary", "every term must be a string")
        if terms and not (min(map(len, terms)) > 0 and max(map(len, terms)) <= MAX_TERM_CHARS):
            raise _fail(
                f"{where}.vocabulary", f"every term must have 1 to {MAX_TERM_CHARS} characters"
            )
        sizes.append((name, len(terms)))
    total = sum(n for _, n in sizes)
    if not 0 < total <= MAX_TERMS:
        raise _fail("blocks", f"{total:,} terms in all (1 to {MAX_TERMS:,})")
    return sizes


POSITIVE_LABEL = "abusive"  # what a score measures (app.core.engine.scoring's ABUSIVE label)
CLASSES = ("benign", "abusive")  # class 0, class 1: coefficients push towards the second


def check_classifier(classifier: Any, block_names: list[str] | None) -> None:
    """classifier.json: a linear model over the named blocks, with a finite calibration."""
    allowed = {"type", "positive_label", "classes", "feature_blocks", "calibration"}
    _keys(classifier, "", set(), allowed)
    if classifier.get("type", "linear") != "linear":
        raise _fail("type", f"{str(classifier['type'])[:40]!r} is not 'linear'")
    # The scorer implements one meaning: the score is P(abusive), class 1 of (benign, abusive).
    # A bundle that claims another would be read with its labels silently swapped: refused.
    if "positive_label" in classifier:
        label = _text(classifier["positive_label"], "positive_label", 64)
        if label != POSITIVE_LABEL:
            raise _fail("positive_label", f"{label!r}: this app scores only {POSITIVE_LABEL!r}")
    if "classes" in classifier:
        classes = _type(classifier["classes"], (list,), "classes")
        if len(classes) != 2 or len({_text(c, "classes", 64) for c in classes}) != 2:
            raise _fail("classes", "must be two different labels")
        if tuple(classes) != CLASSES:
            raise _fail("classes", f"must be {list(CLASSES)!r} in this order (the app's scale)")
    if "feature_blocks" in classifier and block_names is not None:
        if classifier["feature_blocks"] != block_names:
            raise _fail("feature_blocks", "differs from the blocks of features.json")
    calibration = classifier.get("calibration", {})
    _keys(calibration, "calibration", set(), {"method", "a", "b"})
    if calibration.get("method", "none") not in ("platt", "none"):
        raise _fail("calibration.method", f"{str(calibration['method'])[:40]!r} is unknown")
    _number(calibration.get("a", 1.0), "calibration.a", 1e-6, MAX_CALIBRATION)
    _number(calibration.get("b", 0.0), "calibration.b", -MAX_CALIBRATION, MAX_CALIBRATION)


def _vector(array: np.ndarray, name: str, dtype: str, length: int | None) -> None:
    if array.dtype != np.dtype(dtype) or array.ndim != 1:
        raise BundleDataError(
            f"{name}: must be a 1-D {dtype} array, not {array.dtype} {array.shape}"
        )
    if length is not None and len(array) != length:
        raise BundleDataError(f"{name}: holds {len(array):,} values, expected {length:,}")


def _bounded(array: np.ndarray, name: str, low: float, high: float) -> None:
    if array.size and not (
        np.all(np.isfinite(array)) and array.min() >= low and array.max() <= high
    ):
        raise BundleDataError(f"{name}: values must be finite and within [{low:g}, {high:g}]")


def check_arrays(arrays: dict[str, np.ndarray], sizes: list[tuple[str, int]] | None) -> None:
    """The model's arrays against features.json, and the evaluation arrays against each other."""
    if sizes is not None:
        for block, n in sizes:
            name = f"{block}_idf.npy"
            if name in arrays:
                _vector(arrays[name], name, "<f8", n)
                _bounded(arrays[name], name, 1e-9, MAX_IDF)
        total = sum(n for _, n in sizes)
        if "coef.npy" in arrays:
            _vector(arrays["coef.npy"], "coef.npy", "<f8", total)
    for name in ("coef.npy", "intercept.npy"):
        if name in arrays:
            _vector(arrays[name], name, "<f8", 1 if name == "intercept.npy" else None)
            _bounded(arrays[name], name, -MAX_WEIGHT, MAX_WEIGHT)
    evaluation = {"eval_scores.npy": "<f8", "eval_labels.npy": "i1", "eval_ids.npy": "<u8"}
    lengths = set()
    for name, dtype in evaluation.items():
        if name in arrays:
            _vector(arrays[name], name, dtype, None)
            lengths.add(len(arrays[name]))
    if "eval_origin.npy" in arrays:
        origin = arrays["eval_origin.npy"]
        if origin.dtype.kind != "U" or origin.ndim != 1 or origin.dtype.itemsize > 64 * 4:
            raise BundleDataError("eval_origin.npy: must be 1-D text of at most 64 characters")
        lengths.add(len(origin))
    if len(lengths) > 1 or max(lengths, default=0) > MAX_EVAL_ITEMS:
        raise BundleDataError(f"evaluation arrays differ in length or exceed {MAX_EVAL_ITEMS:,}")
    if "eval_scores.npy" in arrays:
        _bounded(arrays["eval_scores.npy"], "eval_scores.npy", 0.0, 1.0)
    if "eval_labels.npy" in arrays:
        _bounded(arrays["eval_labels.npy"], "eval_labels.npy", 0, 1)
