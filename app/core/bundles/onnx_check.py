"""Checking an ONNX model file before onnxruntime ever sees it.

A bundle's signature proves who made `model.onnx`, not that it is sane: a broken or hostile
exporter could still ship a graph with control flow, custom operators, external data (a path that
onnxruntime would open), or shapes that make it allocate gigabytes. `check_onnx_model` reads the
bytes with a strict pure-Python protobuf reader (no `onnx`, no `protobuf` in the frozen app) and
accepts only: standard-domain operators from `ALLOWED_OPS`, every tensor stored in the file with
data that matches its dims, no sparse tensors, subgraphs, local functions or training info, a
graph that is topologically sorted and closed (each node reads only graph inputs, initializers or
earlier outputs; no name defined twice), IR version, opset, sizes and shapes within `OnnxLimits`.
Every refusal is one `BundleDataError` line; a file's bytes can raise nothing else.
`check_encoder_signature` then holds the graph to abuse-mini's contract.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.core.bundles.bundle_json import BundleDataError
from app.core.bundles.onnx_proto import (
    ELEM_SIZE,
    TYPE_NAMES,
    Graph,
    Node,
    OnnxLimits,
    Value,
    parse_node,
    parse_tensor,
    parse_value,
    within,
)
from app.core.bundles.protowire import (
    LEN,
    VARINT,
    Field,
    Wire,
    WireError,
    expect,
    iter_fields,
    once,
    quoted,
    text,
)

__all__ = [
    "ALLOWED_OPS",
    "OnnxLimits",
    "OnnxSummary",
    "check_encoder_signature",
    "check_onnx_model",
]

# Pure tensor operators of the default domain that a BERT-style encoder, its export and its
# dynamically int8-quantised form use. Never control flow or anything taking a subgraph (If,
# Loop, Scan, SequenceMap), no random operators (Dropout included: random in training mode), no
# string, sequence, optional or I/O operators.
# No operator that makes a tensor of a size read from data (ConstantOfShape, Expand, Range,
# Tile): a graph of a few kilobytes could otherwise ask for gigabytes or minutes of work at run
# time, which no check of its stored tensors would see.
ALLOWED_OPS: frozenset[str] = frozenset(
    {
        # arithmetic and elementwise
        "Abs", "Add", "Sub", "Mul", "Div", "Pow", "Sqrt", "Reciprocal", "Exp", "Log", "Erf",
        "Tanh", "Sigmoid", "Relu", "Gelu", "Neg", "Max", "Min", "Clip", "Floor", "Ceil", "Round",
        # comparisons and logic
        "Equal", "Less", "Greater", "LessOrEqual", "GreaterOrEqual", "Not", "And", "Or", "Where",
        # linear algebra and normalisation
        "MatMul", "Gemm", "Softmax", "LogSoftmax", "LayerNormalization",
        "ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin",
        # shapes and indexing
        "Gather", "Reshape", "Transpose", "Squeeze", "Unsqueeze", "Concat", "Slice", "Split",
        "Flatten", "Shape", "Constant", "Identity", "Cast",
        # int8: per-token (abuse-mini's own graph) and onnxruntime's dynamic quantisation
        "DynamicQuantizeLinear", "MatMulInteger", "QuantizeLinear", "DequantizeLinear",
    }
)  # fmt: skip
_DEFAULT_DOMAINS = ("", "ai.onnx")
_STRING_ATTRIBUTES = {"value_string", "value_strings"}  # Constant's string forms


@dataclass(frozen=True)
class OnnxSummary:
    """What a checked model holds. dims: an int, a symbolic name, or "" for an unknown dim."""

    ir_version: int
    opset: int
    op_counts: dict[str, int]
    node_count: int
    initializer_count: int
    initializer_elements: int
    inputs: tuple[tuple[str, int, tuple[int | str, ...]], ...]
    outputs: tuple[tuple[str, int, tuple[int | str, ...]], ...]


def check_onnx_model(data: bytes, limits: OnnxLimits = OnnxLimits()) -> OnnxSummary:  # noqa: B008
    """The summary of a model that passes every check; `BundleDataError` (one line) otherwise."""
    if len(data) > limits.max_bytes:
        raise BundleDataError(f"ONNX model of {len(data):,} bytes (limit {limits.max_bytes:,})")
    buf = Wire(bytes(data), limits.max_fields)
    try:
        ir_version, opset, graph = _parse_model(buf, limits)
    except WireError as exc:
        raise BundleDataError(f"damaged ONNX file: {exc}") from None
    except BundleDataError as exc:
        raise BundleDataError(f"ONNX model refused: {exc}") from None
    try:
        op_counts = _check_graph(graph)
    except BundleDataError as exc:
        raise BundleDataError(f"ONNX graph refused: {exc}") from None
    return OnnxSummary(
        ir_version=ir_version,
        opset=opset,
        op_counts=dict(sorted(op_counts.items())),
        node_count=len(graph.nodes),
        initializer_count=len(graph.initializers),
        initializer_elements=sum(t.elements for t in graph.initializers),
        inputs=tuple(_signature(v) for v in graph.inputs),
        outputs=tuple(_signature(v) for v in graph.outputs),
    )


def check_encoder_signature(summary: OnnxSummary) -> None:
    """abuse-mini's contract: inputs `input_ids` and `attention_mask`, both INT64 of rank 2
    ([batch, tokens]); one output `logits`, FLOAT of rank 1 ([batch])."""
    inputs = {name: (elem, len(dims)) for name, elem, dims in summary.inputs}
    outputs = {name: (elem, len(dims)) for name, elem, dims in summary.outputs}
    wanted_in = {"input_ids": (7, 2), "attention_mask": (7, 2)}
    if len(summary.inputs) != 2 or set(inputs) != set(wanted_in):
        names = ", ".join(quoted(n) for n, _e, _d in summary.inputs) or "none"
        raise BundleDataError(
            f"ONNX model's inputs are {names}; expected 'input_ids' and 'attention_mask'"
        )
    for name, (elem, rank) in inputs.items():
        if (elem, rank) != wanted_in[name]:
            raise BundleDataError(
                f"ONNX input {quoted(name)} is type {elem} of rank {rank}; expected INT64 (7) of"
                " rank 2"
            )
    if len(summary.outputs) != 1 or "logits" not in outputs:
        names = ", ".join(quoted(n) for n, _e, _d in summary.outputs) or "none"
        raise BundleDataError(f"ONNX model's outputs are {names}; expected only 'logits'")
    if outputs["logits"] != (1, 1):
        elem, rank = outputs["logits"]
        raise BundleDataError(
            f"ONNX output 'logits' is type {elem} of rank {rank}; expected FLOAT (1) of rank 1"
        )


def _signature(value: Value) -> tuple[str, int, tuple[int | str, ...]]:
    return value.name, value.elem_type, value.dims or ()


def _parse_model(buf: Wire, limits: OnnxLimits) -> tuple[int, int, Graph]:
    """ModelProto -> (ir_version, default-domain opset, graph)."""
    seen: set[int] = set()
    ir_version, graph = None, None
    opsets: dict[str, int] = {}
    for field in iter_fields(buf, 0, len(buf.data)):
        number = field[0]
        if number == 1:
            once(seen, field, "ir_version")
            expect(field, VARINT, "ir_version")
            ir_version = field[2]
        elif number == 8:
            domain, version = _opset_import(buf, field, limits)
            domain = "" if domain in _DEFAULT_DOMAINS else domain
            if domain in opsets:
                raise BundleDataError(f"opset of domain {quoted(domain)} imported twice")
            opsets[domain] = version
        elif number == 2:
            once(seen, field, "producer_name")
            text(buf, field, "producer_name", limits.max_name_chars)
        elif number == 7:
            once(seen, field, "graph")
            expect(field, LEN, "graph")
            graph = _parse_graph(buf, field, limits)
        elif number == 20:
            raise BundleDataError("the model holds training info")
        elif number == 25:
            raise BundleDataError("the model defines local functions")
    if graph is None:
        raise BundleDataError("no graph (empty or not an ONNX model)")
    if ir_version is None or not limits.min_ir_version <= ir_version <= limits.max_ir_version:
        raise BundleDataError(
            f"IR version {ir_version} is outside {limits.min_ir_version}..{limits.max_ir_version}"
        )
    opset = opsets.get("")
    if opset is None:
        raise BundleDataError("no opset imported for the default (ai.onnx) domain")
    if not limits.min_opset <= opset <= limits.max_opset:
        raise BundleDataError(
            f"default-domain opset {opset} is outside {limits.min_opset}..{limits.max_opset}"
        )
    return ir_version, opset, graph


def _opset_import(buf: Wire, field: Field, limits: OnnxLimits) -> tuple[str, int]:
    expect(field, LEN, "opset_import")
    seen: set[int] = set()
    domain, version = "", 0
    for sub in iter_fields(buf, field[2], field[3]):
        if sub[0] == 1:
            once(seen, sub, "opset domain")
            domain = text(buf, sub, "opset domain", limits.max_name_chars)
        elif sub[0] == 2:
            once(seen, sub, "opset version")
            expect(sub, VARINT, "opset version")
            version = sub[2]
    return domain, version


def _parse_graph(buf: Wire, field: Field, limits: OnnxLimits) -> Graph:
    """GraphProto -> nodes, initializers, inputs, outputs; value_info is checked, then dropped."""
    graph = Graph([], [], [], [], 0)
    seen: set[int] = set()
    for sub in iter_fields(buf, field[2], field[3]):
        number = sub[0]
        if number in (1, 5, 11, 12, 13):
            expect(sub, LEN, "graph entry")
        if number == 1:
            if len(graph.nodes) == limits.max_nodes:
                raise BundleDataError(f"more than {limits.max_nodes:,} nodes")
            with within(f"node #{len(graph.nodes) + 1}"):
                node, stored = parse_node(buf, sub[2], sub[3], limits)
            graph.nodes.append(node)
            graph.stored_elements += stored
        elif number == 5:
            with within(f"initializer #{len(graph.initializers) + 1}"):
                tensor = parse_tensor(buf, sub[2], sub[3], limits)
            graph.initializers.append(tensor)
            graph.stored_elements += tensor.elements
        elif number in (11, 12, 13):
            kind = {11: "input", 12: "output", 13: "value_info"}[number]
            with within(f"graph {kind}"):
                value = parse_value(buf, sub[2], sub[3], limits)
            if number == 11:
                graph.inputs.append(value)
            elif number == 12:
                graph.outputs.append(value)
        elif number == 15:
            raise BundleDataError("the graph has a sparse initializer")
        elif number == 2:
            once(seen, sub, "graph name")
            text(buf, sub, "graph name", limits.max_name_chars)
        if graph.stored_elements > limits.max_initializer_elements:
            raise BundleDataError(
                f"more than {limits.max_initializer_elements:,} tensor elements stored"
            )
    return graph


def _check_graph(graph: Graph) -> dict[str, int]:
    """Graph-wide rules: allowed operators, sorted and closed, every name defined once."""
    defined: set[str] = set()
    for value in graph.inputs:
        _check_io(value, "input")
        _define(defined, value.name, "graph input")
    for tensor in graph.initializers:
        if not tensor.name:
            raise BundleDataError("an initializer has no name")
        if tensor.name in defined:  # ORT would let a caller replace the weights
            raise BundleDataError(f"initializer {quoted(tensor.name)} is also a graph input")
        _define(defined, tensor.name, "initializer")
    op_counts: dict[str, int] = {}
    for index, node in enumerate(graph.nodes, 1):
        where = f"node {quoted(node.name) if node.name else f'#{index}'}"
        _check_operator(node, where)
        label = f"{where} ({quoted(node.op_type)})"
        for name in node.inputs:
            if name and name not in defined:
                raise BundleDataError(
                    f"{label} reads {quoted(name)}, which no graph input, initializer or earlier"
                    " node defines (the graph must be sorted and closed)"
                )
        for name in node.outputs:
            if name:
                _define(defined, name, f"{label} output")
        op_counts[node.op_type] = op_counts.get(node.op_type, 0) + 1
    if not graph.outputs:
        raise BundleDataError("the graph has no outputs")
    names: set[str] = set()
    for value in graph.outputs:
        _check_io(value, "output")
        if value.name in names:
            raise BundleDataError(f"graph output {quoted(value.name)} is listed twice")
        if value.name not in defined:
            raise BundleDataError(f"graph output {quoted(value.name)} is never computed")
        names.add(value.name)
    return op_counts


def _define(defined: set[str], name: str, what: str) -> None:
    if name in defined:
        raise BundleDataError(f"{what} {quoted(name)} is defined twice")
    defined.add(name)


def _check_io(value: Value, kind: str) -> None:
    if not value.name:
        raise BundleDataError(f"a graph {kind} has no name")
    if value.elem_type not in ELEM_SIZE:
        raise BundleDataError(f"graph {kind} {quoted(value.name)} has no tensor element type")
    if value.dims is None:
        raise BundleDataError(f"graph {kind} {quoted(value.name)} has no shape")


def _check_operator(node: Node, where: str) -> None:
    if node.domain not in _DEFAULT_DOMAINS:
        custom = quoted(node.domain + "::" + node.op_type)
        raise BundleDataError(f"{where} uses the custom operator {custom}")
    if node.op_type not in ALLOWED_OPS:
        raise BundleDataError(f"{where} uses the operator {quoted(node.op_type)}, not allowed")
    label = f"{where} ({quoted(node.op_type)})"
    if node.op_type == "Cast" and node.int_attrs.get("to", 0) not in ELEM_SIZE:
        target = node.int_attrs.get("to", 0)
        raise BundleDataError(f"{label} casts to data type {TYPE_NAMES.get(target, target)}")
    if node.op_type == "Constant" and _STRING_ATTRIBUTES & set(node.attr_names):
        raise BundleDataError(f"{label} is a string constant")
