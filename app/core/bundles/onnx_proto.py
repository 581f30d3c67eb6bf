"""Reading an ONNX ModelProto's bytes into the few plain facts the checker needs, refusing on the way
everything that is wrong inside one message: a tensor whose dims disagree with its data, data in
an external file, sparse tensors, subgraph attributes, non-tensor types, oversized names and
shapes. `app.core.bundles.onnx_check` then checks the graph as a whole.

Field numbers are onnx.proto's (onnx 1.23, IR version 14); the wire format is read by
`app.core.bundles.protowire`. The walk has a fixed depth (model > graph > node > attribute >
tensor, value > type > shape > dim): no message that can nest itself is ever descended into.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from app.core.bundles.bundle_json import BundleDataError
from app.core.bundles.protowire import (
    I32,
    I64,
    LEN,
    VARINT,
    Field,
    Wire,
    WireError,
    count_packed_varints,
    expect,
    iter_fields,
    once,
    quoted,
    read_varint,
    signed64,
    text,
)

# TensorProto.DataType -> bytes per element: the fixed-size numeric types a BERT-style encoder
# and its int8 form use. STRING, complex, 4-bit, 2-bit and 8-bit float types are refused.
ELEM_SIZE = {1: 4, 2: 1, 3: 1, 4: 2, 5: 2, 6: 4, 7: 8, 9: 1, 10: 2, 11: 8, 12: 4, 13: 8, 16: 2}
TYPE_NAMES = {0: "UNDEFINED", 8: "STRING", 14: "COMPLEX64", 15: "COMPLEX128"}
# TensorProto's typed data fields -> (name, data types it may hold, element wire type).
_TYPED_DATA = {
    4: ("float_data", {1}, I32),
    5: ("int32_data", {2, 3, 4, 5, 6, 9, 10, 16}, VARINT),
    6: ("string_data", set(), LEN),
    7: ("int64_data", {7}, VARINT),
    10: ("double_data", {11}, I64),
    11: ("uint64_data", {12, 13}, VARINT),
}
_ATTR_KINDS_REFUSED = {
    5: "a subgraph (GRAPH)",
    10: "subgraphs (GRAPHS)",
    11: "a sparse tensor",
    12: "sparse tensors",
    13: "a type (TYPE_PROTO)",
    14: "types (TYPE_PROTOS)",
}
_ATTR_FIELDS_REFUSED = {6: "a subgraph", 11: "subgraphs", 22: "a sparse tensor"}
_ATTR_FIELDS_REFUSED |= {23: "sparse tensors", 14: "a type", 15: "types"}
_TYPE_KINDS_REFUSED = {4: "sequence", 5: "map", 7: "opaque", 8: "sparse tensor", 9: "optional"}


@dataclass(frozen=True)
class OnnxLimits:
    """What a model file may hold. The defaults fit all-MiniLM-L6-v2 (fp32 ~90 MB, 22.7M
    weights, ~1,000 nodes once quantised) with room, and nothing orders of magnitude larger."""

    max_bytes: int = 128 << 20
    max_nodes: int = 10_000
    max_initializer_elements: int = 100_000_000  # all stored tensors together
    max_dim: int = 50_000_000
    max_rank: int = 8
    max_name_chars: int = 512
    max_fields: int = 1_000_000  # protobuf fields in all; bounds the time a file can take
    # onnx 1.23 writes IR 14 / opset 28 by default and onnxruntime 1.32 runs both; opset 13 is
    # the oldest with the Squeeze/Unsqueeze/ReduceSum forms exporters write today.
    min_opset: int = 13
    max_opset: int = 28
    min_ir_version: int = 7
    max_ir_version: int = 14


@dataclass
class Tensor:
    name: str
    data_type: int
    elements: int


@dataclass
class Value:
    name: str
    elem_type: int
    dims: tuple[int | str, ...] | None  # None: no shape given


@dataclass
class Node:
    name: str
    op_type: str
    domain: str
    inputs: list[str]
    outputs: list[str]
    int_attrs: dict[str, int]  # only INT attributes: what the checker looks at (Cast's "to")
    attr_names: list[str]


@dataclass
class Graph:
    nodes: list[Node]
    initializers: list[Tensor]
    inputs: list[Value]
    outputs: list[Value]
    stored_elements: int  # initializers and attribute tensors


@contextmanager
def within(where: str) -> Iterator[None]:
    """Say where a refusal happened; wire errors keep their kind (damaged, not refused)."""
    try:
        yield
    except WireError as exc:
        raise WireError(f"{exc} (in {where})") from None
    except BundleDataError as exc:
        raise BundleDataError(f"{where}: {exc}") from None


def _dims(buf: Wire, field: Field, dims: list[int], limits: OnnxLimits) -> None:
    """Append TensorProto.dims values (packed or not), each within 0..max_dim."""
    if field[1] == VARINT:
        values = [field[2]]
    else:
        expect(field, LEN, "dims")
        values, pos = [], field[2]
        while pos < field[3] and len(values) <= limits.max_rank:
            value, pos = read_varint(buf.data, pos, field[3])
            values.append(value)
    for value in values:
        dim = signed64(value)
        if not 0 <= dim <= limits.max_dim:
            raise BundleDataError(f"dimension {dim} is outside 0..{limits.max_dim:,}")
        dims.append(dim)
    if len(dims) > limits.max_rank:
        raise BundleDataError(f"rank above {limits.max_rank}")


def _typed_count(buf: Wire, field: Field) -> int:
    """How many elements one occurrence of a typed data field adds (packed runs or one value)."""
    name, _types, wire = _TYPED_DATA[field[0]]
    if field[1] != LEN or wire == LEN:
        expect(field, wire, name)
        return 1
    size = field[3] - field[2]
    if wire == VARINT:
        return count_packed_varints(buf.data, field[2], field[3])
    width = 4 if wire == I32 else 8
    if size % width:
        raise WireError(f"packed {name} of {size} bytes is not a whole number of values")
    return size // width


def parse_tensor(buf: Wire, start: int, end: int, limits: OnnxLimits) -> Tensor:
    """A TensorProto whose data lies in the file and matches its type and dims."""
    seen: set[int] = set()
    name, data_type, raw = "", 0, -1
    dims: list[int] = []
    typed: dict[int, int] = {}
    refused = ""
    for field in iter_fields(buf, start, end):
        number = field[0]
        if number == 1:
            _dims(buf, field, dims, limits)
        elif number == 2:
            once(seen, field, "data_type")
            expect(field, VARINT, "data_type")
            data_type = field[2]
        elif number == 8:
            once(seen, field, "name")
            name = text(buf, field, "tensor name", limits.max_name_chars)
        elif number == 9:
            once(seen, field, "raw_data")
            expect(field, LEN, "raw_data")
            raw = field[3] - field[2]
        elif number in _TYPED_DATA:
            typed[number] = typed.get(number, 0) + _typed_count(buf, field)
        elif number in (13, 14) and (number == 13 or field[1] != VARINT or field[2] != 0):
            refused = "data stored outside the model file (external data)"
        elif number == 3:
            refused = "a segment of a tensor"
    with within(f"tensor {quoted(name)}" if name else "tensor"):
        if refused:  # said once the name is known
            raise BundleDataError(refused)
        elements = _check_data(data_type, dims, raw, typed, limits)
    return Tensor(name, data_type, elements)


def _check_data(
    data_type: int, dims: list[int], raw: int, typed: dict[int, int], limits: OnnxLimits
) -> int:
    """The element count, once the stored data agrees with data_type and dims."""
    if data_type not in ELEM_SIZE:
        kind = TYPE_NAMES.get(data_type, str(data_type))
        raise BundleDataError(f"data type {kind} is not allowed")
    elements = 1
    for dim in dims:
        elements *= dim
    if elements > limits.max_initializer_elements:
        raise BundleDataError(f"{elements:,} elements (limit {limits.max_initializer_elements:,})")
    if len(typed) + (raw >= 0) > 1:
        raise BundleDataError("data stored in more than one field")
    if raw >= 0:
        if raw != elements * ELEM_SIZE[data_type]:
            raise BundleDataError(
                f"dims {dims} of {ELEM_SIZE[data_type]}-byte elements need "
                f"{elements * ELEM_SIZE[data_type]:,} bytes, raw_data holds {raw:,}"
            )
    elif typed:
        ((number, count),) = typed.items()
        field_name, types, _wire = _TYPED_DATA[number]
        if data_type not in types:
            raise BundleDataError(f"{field_name} cannot hold data type {data_type}")
        if count != elements:
            raise BundleDataError(
                f"dims {dims} need {elements:,} values, {field_name} has {count:,}"
            )
    elif elements:
        raise BundleDataError(f"dims {dims} but no data")
    return elements


def _attribute(buf: Wire, field: Field, node: Node, limits: OnnxLimits) -> list[Tensor]:
    """One AttributeProto of `node`: its tensors (checked); subgraphs and the like refused."""
    expect(field, LEN, "attribute")
    seen: set[int] = set()
    name, kind, value = "", 0, 0
    tensors: list[Tensor] = []
    for sub in iter_fields(buf, field[2], field[3]):
        number = sub[0]
        if number == 1:
            once(seen, sub, "attribute name")
            name = text(buf, sub, "attribute name", limits.max_name_chars)
        elif number == 20:
            once(seen, sub, "attribute type")
            expect(sub, VARINT, "attribute type")
            kind = sub[2]
        elif number == 3:
            once(seen, sub, "attribute value i")
            expect(sub, VARINT, "attribute value i")
            value = signed64(sub[2])
        elif number in (5, 10):
            expect(sub, LEN, "attribute tensor")
            tensors.append(parse_tensor(buf, sub[2], sub[3], limits))
        elif number in _ATTR_FIELDS_REFUSED:
            raise BundleDataError(f"an attribute holds {_ATTR_FIELDS_REFUSED[number]}")
        elif number == 21:
            raise BundleDataError("an attribute refers to a function's attribute")
    if kind in _ATTR_KINDS_REFUSED:
        raise BundleDataError(f"attribute {quoted(name)} holds {_ATTR_KINDS_REFUSED[kind]}")
    if not 1 <= kind <= 9:
        raise BundleDataError(f"attribute {quoted(name)} has no valid type ({kind})")
    if name in node.attr_names:
        raise BundleDataError(f"attribute {quoted(name)} is given twice")
    node.attr_names.append(name)
    if kind == 2:
        node.int_attrs[name] = value
    return tensors


def parse_node(buf: Wire, start: int, end: int, limits: OnnxLimits) -> tuple[Node, int]:
    """A NodeProto and the elements of the tensors its attributes hold."""
    seen: set[int] = set()
    node = Node("", "", "", [], [], {}, [])
    stored = 0
    for field in iter_fields(buf, start, end):
        number = field[0]
        if number == 1:
            node.inputs.append(text(buf, field, "node input", limits.max_name_chars))
        elif number == 2:
            node.outputs.append(text(buf, field, "node output", limits.max_name_chars))
        elif number in (3, 4, 7):
            what = {3: "node name", 4: "op_type", 7: "domain"}[number]
            once(seen, field, what)
            value = text(buf, field, what, limits.max_name_chars)
            if number == 3:
                node.name = value
            elif number == 4:
                node.op_type = value
            else:
                node.domain = value
        elif number == 5:
            stored += sum(t.elements for t in _attribute(buf, field, node, limits))
    return node, stored


def parse_value(buf: Wire, start: int, end: int, limits: OnnxLimits) -> Value:
    """A ValueInfoProto: a name and a tensor type (other types refused), shape optional."""
    seen: set[int] = set()
    name, elem_type, dims = "", 0, None
    for field in iter_fields(buf, start, end):
        if field[0] == 1:
            once(seen, field, "value name")
            name = text(buf, field, "value name", limits.max_name_chars)
        elif field[0] == 2:
            once(seen, field, "value type")
            expect(field, LEN, "value type")
            elem_type, dims = _type(buf, field, limits)
    if elem_type and elem_type not in ELEM_SIZE:
        kind = TYPE_NAMES.get(elem_type, str(elem_type))
        raise BundleDataError(f"value {quoted(name)} has element type {kind}, not allowed")
    return Value(name, elem_type, dims)


def _type(buf: Wire, field: Field, limits: OnnxLimits) -> tuple[int, tuple[int | str, ...] | None]:
    """TypeProto -> (elem_type, dims or None)."""
    seen: set[int] = set()
    elem_type, dims = 0, None
    for sub in iter_fields(buf, field[2], field[3]):
        if sub[0] in _TYPE_KINDS_REFUSED:
            raise BundleDataError(f"a value of {_TYPE_KINDS_REFUSED[sub[0]]} type")
        if sub[0] != 1:
            continue
        once(seen, sub, "tensor_type")
        expect(sub, LEN, "tensor_type")
        inner: set[int] = set()
        for part in iter_fields(buf, sub[2], sub[3]):
            if part[0] == 1:
                once(inner, part, "elem_type")
                expect(part, VARINT, "elem_type")
                elem_type = part[2]
            elif part[0] == 2:
                once(inner, part, "shape")
                expect(part, LEN, "shape")
                dims = _shape(buf, part, limits)
    return elem_type, dims


def _shape(buf: Wire, field: Field, limits: OnnxLimits) -> tuple[int | str, ...]:
    """TensorShapeProto -> dims: an int, a symbolic name, or "" for a dim left unknown."""
    dims: list[int | str] = []
    for dim in iter_fields(buf, field[2], field[3]):
        if dim[0] != 1:
            continue
        expect(dim, LEN, "shape dim")
        if len(dims) == limits.max_rank:
            raise BundleDataError(f"rank above {limits.max_rank}")
        seen: set[int] = set()
        value: int | str = ""
        for part in iter_fields(buf, dim[2], dim[3]):
            if part[0] in (1, 2):
                # a oneof: dim_value or dim_param, not both
                once(seen, (1, part[1], part[2], part[3]), "dim_value/dim_param")
            if part[0] == 1:
                expect(part, VARINT, "dim_value")
                value = signed64(part[2])
                if not 0 <= value <= limits.max_dim:
                    raise BundleDataError(f"dimension {value} is outside 0..{limits.max_dim:,}")
            elif part[0] == 2:
                value = text(buf, part, "dim_param", limits.max_name_chars)
        dims.append(value)
    return tuple(dims)
