"""Parsing a bundle's JSON and ``.npy`` files with limits, before any schema looks at them.

Why limits at the parser: a bundle is data from removable media, and even a correctly signed one
may have been built by a broken or hostile tool. Python's ``json`` accepts ``NaN``, ``Infinity``
and ``1e400`` (read as infinity), integers of thousands of digits and nesting deep enough to
exhaust the stack; ``np.load`` trusts a header that can declare terabytes or an object dtype.
Here every such value is refused with a `BundleDataError` (a ValueError) saying what and where;
app.core.bundles.bundle turns it into one line naming the bundle.
"""

from __future__ import annotations

import io
import json
import math
import re
from collections import Counter
from typing import Any

import numpy as np

MAX_JSON_BYTES = 32 << 20  # features.json of the bundled 1.0.0 is ~4 MB
MAX_DEPTH = 16  # the deepest bundle file today nests 7 levels
MAX_INT_DIGITS = 18  # fits in 64 bits with a sign
MAX_NPY_HEADER = 4096  # np.save writes 128 bytes for a 1-D array
MAX_ARRAY_ITEMS = 8_000_000  # 64 MB of float64; the bundled 1.0.0 holds 340,236 coefficients
MAX_ARRAY_DIMS = 2


_FLAT = frozenset((dict, list))  # the types that nest
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


class BundleDataError(ValueError):
    """A value of a bundle file that is refused; the message says what and (a path) where."""


def _refuse_constant(name: str) -> Any:
    raise BundleDataError(f"{name} is not a number JSON allows")


def _parse_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise BundleDataError(f"integer of {len(text)} digits (limit {MAX_INT_DIGITS})")
    return int(text)


def _parse_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # 1e400 parses as infinity
        raise BundleDataError(f"number {text[:24]} is out of range")
    return value


def parse_json(data: bytes) -> Any:
    """Parse a bundle's JSON file: size, depth, integer digits and finite numbers bounded."""
    if len(data) > MAX_JSON_BYTES:
        raise BundleDataError(f"{len(data):,} bytes of JSON (limit {MAX_JSON_BYTES:,})")
    try:
        value = json.loads(
            data.decode("utf-8"),
            parse_int=_parse_int,
            parse_float=_parse_float,
            parse_constant=_refuse_constant,
            object_pairs_hook=_unique_keys,
        )
    except RecursionError:
        raise BundleDataError(f"JSON nested deeper than {MAX_DEPTH} levels") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BundleDataError(f"not valid JSON ({exc})") from None
    check_depth(value)
    if _SURROGATE_ESCAPE.search(data):  # rare: only an escape can put a surrogate in a string
        try:
            json.dumps(value, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            # a lone surrogate cannot be printed or written as UTF-8: every report would fail
            raise BundleDataError("text that is not valid Unicode (a lone surrogate)") from None
    return value


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """An object's keys, each once: with a key twice, one reader would take the first value and
    another (this one) the last, so a reviewer could read a different bundle from the one used."""
    value = dict(pairs)
    if len(value) != len(pairs):
        twice = next(key for key, n in Counter(key for key, _ in pairs).items() if n > 1)
        raise BundleDataError(f"the key {twice[:40]!r} appears twice in one object")
    return value


def check_depth(value: Any) -> None:
    """Refuse containers nested deeper than MAX_DEPTH (iterative: no recursion to exhaust)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise BundleDataError(f"JSON nested deeper than {MAX_DEPTH} levels")
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values() if isinstance(v, dict | list))
        elif isinstance(item, list) and not _FLAT.isdisjoint(set(map(type, item))):
            # (the test above runs in C: a vocabulary of 300,000 strings is skipped at once)
            stack.extend((v, depth + 1) for v in item if isinstance(v, dict | list))


def _header(stream: io.BytesIO) -> tuple[tuple[int, ...], bool, np.dtype]:
    try:
        version = np.lib.format.read_magic(stream)
        if version == (1, 0):
            return np.lib.format.read_array_header_1_0(stream, max_header_size=MAX_NPY_HEADER)
        if version == (2, 0):
            return np.lib.format.read_array_header_2_0(stream, max_header_size=MAX_NPY_HEADER)
    except (ValueError, SyntaxError, TypeError, EOFError) as exc:
        raise BundleDataError(f"not a valid .npy file ({exc})") from None
    raise BundleDataError(f".npy format version {version} is not supported")


def load_npy(data: bytes) -> np.ndarray:
    """A numeric array from ``.npy`` bytes, its header checked before anything is allocated:
    no object or structured dtype (those would need pickle), at most MAX_ARRAY_DIMS dimensions
    and MAX_ARRAY_ITEMS items, C order, and exactly as many data bytes as the header declares.
    The values are those of ``data`` (the bytes that were hashed)."""
    stream = io.BytesIO(data)
    shape, fortran_order, dtype = _header(stream)
    if dtype.hasobject or dtype.names is not None or dtype.subdtype is not None:
        raise BundleDataError(f"dtype {dtype} is not allowed (object or structured data)")
    if dtype.kind not in "biufU":
        raise BundleDataError(f"dtype {dtype} is not allowed")
    if fortran_order:
        raise BundleDataError("Fortran-ordered arrays are not allowed")
    if len(shape) > MAX_ARRAY_DIMS or any(not isinstance(n, int) or n < 0 for n in shape):
        raise BundleDataError(f"shape {shape} is not allowed")
    items = math.prod(shape)
    if items > MAX_ARRAY_ITEMS:
        raise BundleDataError(f"shape {shape} has {items:,} items (limit {MAX_ARRAY_ITEMS:,})")
    offset = stream.tell()
    if len(data) - offset != items * dtype.itemsize:
        raise BundleDataError(
            f"holds {len(data) - offset:,} data bytes, its header declares "
            f"{items * dtype.itemsize:,}"
        )
    # a copy, as np.load gives: an aligned, writable array independent of the file's bytes
    return np.frombuffer(data, dtype=dtype, count=items, offset=offset).reshape(shape).copy()
