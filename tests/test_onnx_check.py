"""The ONNX model check that runs before onnxruntime sees a bundle's model.onnx: real files from
onnx.helper and onnxruntime's quantiser pass (and run), every kind of refused file is refused with
one line naming the problem, and no bytes whatever raise anything but BundleDataError."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from onnx import TensorProto, helper, numpy_helper

from app.core.bundles.bundle_json import BundleDataError
from app.core.bundles.onnx_check import (
    ALLOWED_OPS,
    OnnxLimits,
    OnnxSummary,
    check_encoder_signature,
    check_onnx_model,
)
from tests.onnx_models import (
    OPSET,
    VOCAB,
    attention_model,
    encoder_logits,
    encoder_model,
    quantize,
    quantized_encoder,
)

INT64, FLOAT = TensorProto.INT64, TensorProto.FLOAT


DEFAULT_LIMITS = OnnxLimits()


def _refused(data: bytes, *words: str, limits: OnnxLimits = DEFAULT_LIMITS) -> str:
    with pytest.raises(BundleDataError) as caught:
        check_onnx_model(data, limits)
    message = str(caught.value)
    assert "\n" not in message
    for word in words:
        assert word in message, message
    return message


def _run(data: bytes, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
    session = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    return session.run(["logits"], {"input_ids": ids, "attention_mask": mask})[0]


@pytest.fixture(scope="module")
def quantized(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    return quantized_encoder(tmp_path_factory.mktemp("onnx"))


IDS = np.array([[1, 5, 7, 0], [3, 3, 99, 42]], dtype=np.int64)
MASK = np.array([[1, 1, 1, 0], [1, 1, 1, 1]], dtype=np.int64)


def test_a_small_encoder_passes_and_runs_in_onnxruntime() -> None:
    model = encoder_model(hidden=16)
    data = model.SerializeToString()
    summary = check_onnx_model(data)
    assert summary == OnnxSummary(
        ir_version=onnx.IR_VERSION,
        opset=OPSET,
        op_counts={
            "Cast": 1, "Gather": 1, "MatMul": 2, "Mul": 1, "ReduceSum": 1, "Squeeze": 1, "Tanh": 1
        },
        node_count=8,
        initializer_count=5,
        initializer_elements=VOCAB * 16 + 16 * 16 + 16 + 1 + 1,
        inputs=(
            ("input_ids", INT64, ("batch", "tokens")),
            ("attention_mask", INT64, ("batch", "tokens")),
        ),
        outputs=(("logits", FLOAT, ("batch",)),),
    )  # fmt: skip
    check_encoder_signature(summary)
    got = _run(data, IDS, MASK)
    assert got.shape == (2,)
    np.testing.assert_allclose(got, encoder_logits(model, IDS, MASK), rtol=1e-5, atol=1e-5)


def test_its_dynamically_quantised_copy_passes_and_runs(quantized: bytes) -> None:
    summary = check_onnx_model(quantized)
    check_encoder_signature(summary)
    # quantize_dynamic really rewrote the weight MatMuls into int8 operators
    assert summary.op_counts["MatMulInteger"] == 2
    assert summary.op_counts["DynamicQuantizeLinear"] >= 1
    assert "MatMul" not in summary.op_counts
    fp32 = encoder_logits(encoder_model(hidden=64), IDS, MASK)
    np.testing.assert_allclose(_run(quantized, IDS, MASK), fp32, rtol=0.1, atol=0.5)


def test_a_bert_layer_and_its_int8_copy_pass_and_run(tmp_path) -> None:
    # what exporters write for attention: LayerNormalization, run-time shapes, the additive
    # mask, Softmax, Erf GELU; quantize_dynamic turns its MatMuls with weights into int8 ones
    model = attention_model()
    fp32 = model.SerializeToString()
    int8 = quantize(model, tmp_path)
    expected = _run(fp32, IDS, MASK)
    for data in (fp32, int8):
        summary = check_onnx_model(data)
        check_encoder_signature(summary)
        assert {"LayerNormalization", "Softmax", "Erf", "Shape"} <= set(summary.op_counts)
        np.testing.assert_allclose(_run(data, IDS, MASK), expected, atol=0.005)
    assert check_onnx_model(int8).op_counts["MatMulInteger"] == 7  # 4 attention + 2 FF + out


def test_the_allow_list_holds_no_control_flow_random_or_string_operator() -> None:
    for op in ("If", "Loop", "Scan", "SequenceMap", "RandomNormal", "RandomUniformLike",
               "Multinomial", "Dropout", "StringNormalizer", "RegexFullMatch", "SequenceAt"):  # fmt: skip
        assert op not in ALLOWED_OPS
    assert {"MatMulInteger", "DynamicQuantizeLinear", "LayerNormalization", "Erf"} <= ALLOWED_OPS


def test_a_25_mb_model_passes(tmp_path) -> None:
    # 100,000 x 64 float32 embedding: 25.6 MB of raw_data, stepped over rather than read
    model = encoder_model(hidden=64, vocab=100_000, seed=1)
    data = model.SerializeToString()
    assert len(data) > 25_000_000
    summary = check_onnx_model(data)
    assert summary.initializer_elements == 100_000 * 64 + 64 * 64 + 64 + 2


# --- damaged bytes -------------------------------------------------------------------------------

VALID = encoder_model().SerializeToString()


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (VALID[:-7], ("damaged ONNX file", "past the end")),
        (b"", ("no graph",)),
        (b"\xff" * 40, ("damaged ONNX file", "varint")),
        (b"\x08" + b"\xff" * 10 + b"\x01" + VALID, ("varint longer than 10 bytes",)),
        (b"\x08" + b"\xff" * 9 + b"\x7f" + VALID, ("wider than 64 bits",)),
        (b"\x1b" + VALID, ("group", "wire types 3/4")),
        (b"\x1c" + VALID, ("group",)),
        (b"\x0e\x00" + VALID, ("wire type 6",)),
        (b"\x00\x00" + VALID, ("field number 0",)),
        (b"\x0a\x00" + VALID, ("ir_version has wire type length-delimited",)),
        (b"\x3a\xff\xff\xff\x0f" + VALID, ("runs past the end",)),
        (VALID + VALID, ("appears more than once",)),
        (b"PK\x03\x04 not an onnx file at all", ("damaged ONNX file",)),
    ],
)
def test_damaged_bytes_are_refused(data: bytes, words: tuple[str, ...]) -> None:
    _refused(data, *words)


def test_a_second_graph_field_is_refused_not_merged() -> None:
    # protobuf would merge two graph fields: the hidden one's nodes would run unchecked
    extra = helper.make_graph([helper.make_node("RandomNormal", [], ["r"], shape=[1])], "x", [], [])
    evil = onnx.ModelProto()
    evil.graph.CopyFrom(extra)
    _refused(VALID + evil.SerializeToString(), "graph appears more than once")


def test_every_truncation_of_a_valid_file_is_refused_cleanly() -> None:
    for end in range(len(VALID)):
        with pytest.raises(BundleDataError):
            check_onnx_model(VALID[:end])


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300))
def test_arbitrary_bytes_raise_nothing_else(data: bytes) -> None:
    try:
        check_onnx_model(b"\x08\x0e" + data)
    except BundleDataError as exc:
        assert "\n" not in str(exc)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_no_mutation_of_valid_bytes_raises_anything_else(
    quantized: bytes, data: st.DataObject
) -> None:
    original = bytearray(VALID if data.draw(st.booleans()) else quantized)
    for _ in range(data.draw(st.integers(1, 4))):
        where = data.draw(st.integers(0, len(original) - 1))
        action = data.draw(st.sampled_from(["set", "insert", "delete", "truncate"]))
        if action == "set":
            original[where] = data.draw(st.integers(0, 255))
        elif action == "insert":
            original[where:where] = data.draw(st.binary(min_size=1, max_size=6))
        elif action == "delete":
            del original[where : where + data.draw(st.integers(1, 8))]
        else:
            del original[where:]
        if not original:
            break
    try:
        check_onnx_model(bytes(original))
    except BundleDataError as exc:
        assert "\n" not in str(exc)


# --- refused graphs ------------------------------------------------------------------------------


def _with(change: Callable[[onnx.ModelProto], object]) -> bytes:
    model = encoder_model()
    change(model)
    return model.SerializeToString()


def _initializer(model: onnx.ModelProto, name: str) -> onnx.TensorProto:
    return next(t for t in model.graph.initializer if t.name == name)


def _add_node(model: onnx.ModelProto, node: onnx.NodeProto) -> None:
    model.graph.node.append(node)


def _external(model: onnx.ModelProto) -> None:
    tensor = _initializer(model, "w2")
    tensor.ClearField("raw_data")
    tensor.data_location = TensorProto.EXTERNAL


def _external_entries(model: onnx.ModelProto) -> None:
    entry = _initializer(model, "w2").external_data.add()
    entry.key, entry.value = "location", "../../etc/passwd"


def _external_tensor() -> onnx.TensorProto:
    tensor = helper.make_tensor("c0", FLOAT, [2], [1.0, 2.0])
    entry = tensor.external_data.add()
    entry.key, entry.value = "location", "/dev/zero"
    return tensor


def _subgraph(model: onnx.ModelProto) -> None:
    branch = helper.make_graph([helper.make_node("Identity", ["logits"], ["b"])], "b", [], [])
    model.graph.node.append(
        helper.make_node("If", ["c"], ["o"], then_branch=branch, else_branch=branch)
    )


def _function(model: onnx.ModelProto) -> None:
    body = [helper.make_node("Add", ["x", "x"], ["y"])]
    model.functions.append(
        helper.make_function("local", "Double", ["x"], ["y"], body, [helper.make_opsetid("", 17)])
    )


def _swap_first_nodes(model: onnx.ModelProto) -> None:
    first, second = onnx.NodeProto(), onnx.NodeProto()
    first.CopyFrom(model.graph.node[0])
    second.CopyFrom(model.graph.node[1])
    model.graph.node[0].CopyFrom(second)
    model.graph.node[1].CopyFrom(first)


def _raw_mismatch(model: onnx.ModelProto) -> None:
    tensor = _initializer(model, "w2")
    tensor.raw_data = tensor.raw_data[:-4]


def _typed_mismatch(model: onnx.ModelProto) -> None:
    tensor = _initializer(model, "w2")
    tensor.ClearField("raw_data")
    tensor.float_data.extend([1.0] * 15)  # dims [16, 1] need 16


def _sequence_input(model: onnx.ModelProto) -> None:
    model.graph.input.append(helper.make_tensor_sequence_value_info("seq", FLOAT, None))


def _set_opset(model: onnx.ModelProto, version: int) -> None:
    model.opset_import[0].version = version


REFUSALS: list[tuple[str, Callable[[onnx.ModelProto], object], tuple[str, ...]]] = [
    ("refused op", lambda m: _add_node(m, helper.make_node("RandomUniformLike", ["logits"], ["r"])),
     ("node #9 uses the operator 'RandomUniformLike', not allowed",)),
    ("custom domain", lambda m: _add_node(m, helper.make_node(
        "FusedMatMul", ["hidden", "w2"], ["f"], domain="com.microsoft")),
     ("uses the custom operator 'com.microsoft::FusedMatMul'",)),
    ("external data location", _external, ("external data",)),
    ("external data entries", _external_entries, ("external data", "'w2'")),
    ("sparse initializer", lambda m: m.graph.sparse_initializer.append(helper.make_sparse_tensor(
        numpy_helper.from_array(np.ones(1, np.float32), "v"),
        numpy_helper.from_array(np.zeros(1, np.int64), "i"), [4])),
     ("sparse initializer",)),
    ("subgraph attribute", _subgraph, ("subgraph",)),
    ("local functions", _function, ("local functions",)),
    ("training info", lambda m: m.training_info.add(), ("training info",)),
    ("unsorted graph", _swap_first_nodes,
     ("node 'dense' ('MatMul') reads 'embedded'", "sorted and closed")),
    ("unknown input", lambda m: _add_node(m, helper.make_node("Neg", ["nowhere"], ["n"])),
     ("reads 'nowhere'",)),
    ("duplicate output", lambda m: _add_node(m, helper.make_node("Neg", ["logits"], ["hidden"])),
     ("node #9 ('Neg') output 'hidden' is defined twice",)),
    ("output shadows an initializer", lambda m: _add_node(
        m, helper.make_node("Neg", ["logits"], ["w1"])), ("'w1' is defined twice",)),
    ("initializer also an input", lambda m: m.graph.input.append(
        helper.make_tensor_value_info("w2", FLOAT, [16, 1])), ("initializer 'w2' is also a graph input",)),
    ("output never computed", lambda m: m.graph.output.append(
        helper.make_tensor_value_info("ghost", FLOAT, [1])), ("'ghost' is never computed",)),
    ("raw data length", _raw_mismatch, ("'w2'", "need 64 bytes, raw_data holds 60")),
    ("typed data count", _typed_mismatch, ("'w2'", "need 16 values, float_data has 15")),
    ("string initializer", lambda m: m.graph.initializer.append(
        helper.make_tensor("words", TensorProto.STRING, [1], [b"x"])), ("data type STRING",)),
    ("string constant", lambda m: _add_node(m, helper.make_node(
        "Constant", [], ["c"], value_string="x")), ("node #9 ('Constant') is a string constant",)),
    ("constant with external data", lambda m: _add_node(m, helper.make_node(
        "Constant", [], ["c"], value=_external_tensor())), ("tensor 'c0'", "external data")),
    ("cast to string", lambda m: _add_node(m, helper.make_node(
        "Cast", ["logits"], ["text"], to=TensorProto.STRING)), ("casts to data type STRING",)),
    ("sequence input", _sequence_input, ("sequence type",)),
    ("old IR version", lambda m: setattr(m, "ir_version", 6), ("IR version 6 is outside",)),
    ("old opset", lambda m: _set_opset(m, 11), ("opset 11 is outside 13..28",)),
    ("future opset", lambda m: _set_opset(m, 99), ("opset 99 is outside",)),
    ("no default opset", lambda m: setattr(m.opset_import[0], "domain", "com.example"),
     ("no opset imported for the default (ai.onnx) domain",)),
    ("no outputs", lambda m: m.graph.ClearField("output"), ("no outputs",)),
    ("input without shape", lambda m: m.graph.input[0].type.tensor_type.ClearField("shape"),
     ("input 'input_ids' has no shape",)),
    ("huge dim", lambda m: m.graph.input[0].type.tensor_type.shape.dim[0].ClearField("dim_param")
     or setattr(m.graph.input[0].type.tensor_type.shape.dim[0], "dim_value", 10**9),
     ("dimension 1000000000 is outside",)),
    ("negative initializer dim", lambda m: _initializer(m, "w2").dims.__setitem__(1, -1),
     ("dimension -1 is outside",)),
    ("high rank", lambda m: m.graph.input[0].type.tensor_type.shape.dim.extend(
        [onnx.TensorShapeProto.Dimension(dim_value=1)] * 7), ("rank above 8",)),
]  # fmt: skip


@pytest.mark.parametrize(
    ("change", "words"), [r[1:] for r in REFUSALS], ids=[r[0] for r in REFUSALS]
)
def test_each_refusal_names_its_problem(
    change: Callable[[onnx.ModelProto], object], words: tuple[str, ...]
) -> None:
    _refused(_with(change), *words)


def test_limits_on_nodes_elements_and_bytes() -> None:
    _refused(VALID, "more than 7 nodes", limits=OnnxLimits(max_nodes=7))
    check_onnx_model(VALID, OnnxLimits(max_nodes=8))
    stored = VOCAB * 16 + 16 * 16 + 16 + 2
    _refused(VALID, f"more than {stored - 1:,} tensor elements",
             limits=OnnxLimits(max_initializer_elements=stored - 1))  # fmt: skip
    check_onnx_model(VALID, OnnxLimits(max_initializer_elements=stored))
    _refused(
        VALID, "1,600 elements (limit 1,599)", limits=OnnxLimits(max_initializer_elements=1_599)
    )
    _refused(VALID, f"{len(VALID):,} bytes", limits=OnnxLimits(max_bytes=len(VALID) - 1))
    _refused(VALID, "dimension 100 is outside 0..99", limits=OnnxLimits(max_dim=99))
    _refused(VALID, "longer than 8 characters", limits=OnnxLimits(max_name_chars=8))
    # a file of millions of tiny fields would keep the reader busy: the count is bounded too
    _refused(VALID, "more than 100 protobuf fields", limits=OnnxLimits(max_fields=100))


def test_a_hostile_name_reaches_the_message_escaped_on_one_line() -> None:
    node = helper.make_node("Loop", ["logits"], ["x"], name="evil\n\x1b[2Jname")
    message = _refused(
        _with(lambda m: _add_node(m, node)), "'evil", "name' uses the operator 'Loop'"
    )
    assert "\\x1b" in message


# --- abuse-mini's signature ----------------------------------------------------------------------


def _summary(inputs: tuple, outputs: tuple) -> OnnxSummary:
    return OnnxSummary(14, 17, {}, 0, 0, 0, inputs, outputs)


IDS_IN = ("input_ids", INT64, ("b", "t"))
MASK_IN = ("attention_mask", INT64, ("b", "t"))
LOGITS = ("logits", FLOAT, ("b",))


@pytest.mark.parametrize(
    ("inputs", "outputs", "words"),
    [
        ((IDS_IN,), (LOGITS,), ("inputs are 'input_ids'",)),
        ((IDS_IN, ("token_type_ids", INT64, ("b", "t"))), (LOGITS,), ("'token_type_ids'",)),
        ((IDS_IN, MASK_IN, MASK_IN), (LOGITS,), ("expected 'input_ids' and 'attention_mask'",)),
        (
            (IDS_IN, ("attention_mask", FLOAT, ("b", "t"))),
            (LOGITS,),
            ("'attention_mask' is type 1",),
        ),
        ((("input_ids", INT64, ("b",)), MASK_IN), (LOGITS,), ("'input_ids' is type 7 of rank 1",)),
        ((IDS_IN, MASK_IN), (("logits", FLOAT, ("b", 2)),), ("'logits' is type 1 of rank 2",)),
        ((IDS_IN, MASK_IN), (("logits", 11, ("b",)),), ("'logits' is type 11",)),
        ((IDS_IN, MASK_IN), (LOGITS, ("hidden", FLOAT, ("b",))), ("expected only 'logits'",)),
        ((IDS_IN, MASK_IN), (("probs", FLOAT, ("b",)),), ("outputs are 'probs'",)),
    ],
)
def test_the_encoder_signature_is_enforced(inputs: tuple, outputs: tuple, words: tuple) -> None:
    check_encoder_signature(_summary((IDS_IN, MASK_IN), (LOGITS,)))
    with pytest.raises(BundleDataError) as caught:
        check_encoder_signature(_summary(inputs, outputs))
    for word in words:
        assert word in str(caught.value)
