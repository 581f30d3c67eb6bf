"""A small, strict reader of the protobuf wire format, for checking ONNX files without `onnx`.

Why not the `protobuf` package: the frozen app does not carry it, and a checker that must refuse
hostile bytes is better small enough to read. Only the four wire types protobuf 3 writes are
accepted (varint, 64-bit, length-delimited, 32-bit); groups (3, 4), wire types 6 and 7, field
number 0, varints longer than ten bytes or wider than 64 bits, and lengths running past their
message are refused with a `BundleDataError`. Nothing recurses here: the caller walks the nesting
it knows (a fixed depth), and a field it does not know is skipped by its length, never parsed.
Length-delimited values come back as (start, end) offsets into the buffer, so a 20 MB
``raw_data`` is stepped over, not copied.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from app.core.bundles.bundle_json import BundleDataError
from app.core.common.messages import printable, shorten_middle

VARINT, I64, LEN, I32 = 0, 1, 2, 5
MAX_FIELD_NUMBER = (1 << 29) - 1
_U64 = 1 << 64
_WIRE_NAMES = {VARINT: "varint", I64: "64-bit", LEN: "length-delimited", I32: "32-bit"}
# A run of ten bytes with the continuation bit set: a varint longer than protobuf's ten bytes.
_OVERLONG_VARINT = re.compile(rb"[\x80-\xff]{10}")
_CONTINUATION_BYTES = bytes(range(0x80, 0x100))


class Wire:
    """A file's bytes and how many more fields may be read from them: a file of millions of tiny
    fields would otherwise keep a pure-Python reader busy for many seconds."""

    __slots__ = ("data", "fields_left", "max_fields")

    def __init__(self, data: bytes, max_fields: int) -> None:
        self.data = data
        self.fields_left = self.max_fields = max_fields


class WireError(BundleDataError):
    """The bytes are not well-formed protobuf (as opposed to a well-formed file refused)."""


# One field as read: (number, wire type, a, b). For a varint, a is its value (unsigned) and b 0;
# for every other wire type, [a, b) is where its bytes lie in the buffer.
Field = tuple[int, int, int, int]


def read_varint(buf: bytes, pos: int, end: int) -> tuple[int, int]:
    """The unsigned varint at `pos` and the position after it; at most ten bytes, 64 bits."""
    if pos < end and buf[pos] < 0x80:  # the common case: one byte
        return buf[pos], pos + 1
    result = 0
    shift = 0
    while True:
        if pos >= end:
            raise WireError("truncated varint")
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            if result >= _U64:
                raise WireError("varint wider than 64 bits")
            return result, pos
        shift += 7
        if shift > 63:
            raise WireError("varint longer than 10 bytes")


def signed64(value: int) -> int:
    """An int64 field's value: varints carry negative numbers as their 64-bit two's complement."""
    return value - _U64 if value >= 1 << 63 else value


def iter_fields(wire: Wire, start: int, end: int) -> Iterator[Field]:
    """Every field of the message in wire.data[start:end], in file order."""
    buf = wire.data
    pos = start
    while pos < end:
        wire.fields_left -= 1
        if wire.fields_left < 0:
            raise BundleDataError(f"more than {wire.max_fields:,} protobuf fields")
        key, pos = read_varint(buf, pos, end)
        number, kind = key >> 3, key & 7
        if number == 0 or number > MAX_FIELD_NUMBER:
            raise WireError(f"invalid protobuf field number {number}")
        if kind == VARINT:
            value, pos = read_varint(buf, pos, end)
            yield number, kind, value, 0
            continue
        if kind == LEN:
            size, pos = read_varint(buf, pos, end)
        elif kind == I64:
            size = 8
        elif kind == I32:
            size = 4
        elif kind in (3, 4):
            raise WireError(f"protobuf group in field {number} (wire types 3/4 refused)")
        else:
            raise WireError(f"invalid protobuf wire type {kind} in field {number}")
        if size > end - pos:
            raise WireError(f"field {number} runs past the end of its message")
        yield number, kind, pos, pos + size
        pos += size


def expect(field: Field, wire: int, what: str) -> None:
    """Refuse a known field written with another wire type than its declared one."""
    if field[1] != wire:
        raise BundleDataError(
            f"{what} has wire type {_WIRE_NAMES.get(field[1], field[1])}, "
            f"expected {_WIRE_NAMES[wire]}"
        )


def once(seen: set[int], field: Field, what: str) -> None:
    """Refuse a singular field written twice. Protobuf would keep the last scalar and merge two
    messages, so a checker reading the first could be shown one graph and ORT run another."""
    if field[0] in seen:
        raise BundleDataError(f"{what} appears more than once")
    seen.add(field[0])


def text(wire: Wire, field: Field, what: str, limit: int) -> str:
    """A string field: valid UTF-8, at most `limit` characters."""
    expect(field, LEN, what)
    start, end = field[2], field[3]
    if end - start > 4 * limit:  # cheap bound before decoding: UTF-8 is at most 4 bytes a char
        raise BundleDataError(f"{what} is longer than {limit} characters")
    try:
        value = wire.data[start:end].decode("utf-8")
    except UnicodeDecodeError:
        raise BundleDataError(f"{what} is not valid UTF-8") from None
    if len(value) > limit:
        raise BundleDataError(f"{what} is longer than {limit} characters")
    return value


def quoted(name: str) -> str:
    """A name from the file as it may appear in a one-line message: escaped and short."""
    return "'" + printable(shorten_middle(name, 60)) + "'"


def count_packed_varints(buf: bytes, start: int, end: int) -> int:
    """How many varints the packed run buf[start:end] holds (each ends with a byte < 0x80);
    C-speed, for int64 tensors stored as varints rather than raw bytes."""
    if start == end:
        return 0
    chunk = buf[start:end]
    if chunk[-1] >= 0x80:
        raise WireError("packed varints end in the middle of a value")
    if _OVERLONG_VARINT.search(chunk):
        raise WireError("varint longer than 10 bytes")
    return len(chunk.translate(None, _CONTINUATION_BYTES))
