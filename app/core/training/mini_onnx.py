"""abuse-mini as an ONNX graph: written op by op from the fine-tuned weights, then int8.

The graph is the computation of `app.core.training.mini_model.MiniClassifier` written a second
time with standard ONNX operators only (opset 17), so the bundle's model passes the loader's
allow-list (`app.core.bundles.onnx_check`) and nothing depends on a framework's exporter. The
recipe checks the two against each other. Sizes come from the weights, so tests build tiny
models with the same code. Needs the ``onnx`` package (the `train-mini` and dev extras).

Inputs ``input_ids`` and ``attention_mask`` (int64, batch × length); output ``logits`` (float,
batch): the uncalibrated logit of "abusive" per text.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

OPSET = 17
LAYER_NORM_EPS = 1e-12
MASKED = -10000.0  # the additive attention bias of padding, as in the PyTorch module


class _Graph:
    """Collects nodes and initialisers; names are generated, so each op reads as one line."""

    def __init__(self) -> None:
        import onnx.helper as helper
        import onnx.numpy_helper as numpy_helper

        self.helper, self.numpy_helper = helper, numpy_helper
        self.nodes: list[Any] = []
        self.initializers: list[Any] = []
        self._count = 0

    def const(self, name: str, value: np.ndarray) -> str:
        self.initializers.append(self.numpy_helper.from_array(np.ascontiguousarray(value), name))
        return name

    def op(self, op_type: str, *inputs: str, **attributes: Any) -> str:
        self._count += 1
        output = f"{op_type.lower()}_{self._count}"
        self.nodes.append(self.helper.make_node(op_type, list(inputs), [output], **attributes))
        return output

    def linear(self, x: str, weights: dict[str, np.ndarray], prefix: str) -> str:
        """x · Wᵀ + b, with W stored transposed so MatMul reads it directly (and int8
        quantisation sees a plain MatMul weight)."""
        w = self.const(f"{prefix}.weight_t", weights[f"{prefix}.weight"].T.astype(np.float32))
        b = self.const(f"{prefix}.bias", weights[f"{prefix}.bias"].astype(np.float32))
        return self.op("Add", self.op("MatMul", x, w), b)

    def layer_norm(self, x: str, weights: dict[str, np.ndarray], prefix: str) -> str:
        gamma = self.const(f"{prefix}.weight", weights[f"{prefix}.weight"].astype(np.float32))
        beta = self.const(f"{prefix}.bias", weights[f"{prefix}.bias"].astype(np.float32))
        return self.op("LayerNormalization", x, gamma, beta, axis=-1, epsilon=LAYER_NORM_EPS)


def _layer(
    g: _Graph, x: str, mask_bias: str, weights: dict[str, np.ndarray], i: int, heads: int
) -> str:
    hidden = weights["words.weight"].shape[1]
    width = hidden // heads
    p = f"layers.{i}"
    split_heads = g.const(f"{p}.split_heads", np.array([0, 0, heads, width], np.int64))
    join_heads = g.const(f"{p}.join_heads", np.array([0, 0, hidden], np.int64))
    q = g.op(
        "Transpose",
        g.op("Reshape", g.linear(x, weights, f"{p}.query"), split_heads),
        perm=[0, 2, 1, 3],
    )
    k = g.op(
        "Transpose",
        g.op("Reshape", g.linear(x, weights, f"{p}.key"), split_heads),
        perm=[0, 2, 3, 1],
    )
    v = g.op(
        "Transpose",
        g.op("Reshape", g.linear(x, weights, f"{p}.value"), split_heads),
        perm=[0, 2, 1, 3],
    )
    scale = g.const(f"{p}.scale", np.array(1.0 / math.sqrt(width), np.float32))
    scores = g.op("Add", g.op("Mul", g.op("MatMul", q, k), scale), mask_bias)
    context = g.op("MatMul", g.op("Softmax", scores, axis=-1), v)
    context = g.op("Reshape", g.op("Transpose", context, perm=[0, 2, 1, 3]), join_heads)
    attended = g.op("Add", g.linear(context, weights, f"{p}.attention_out"), x)
    x = g.layer_norm(attended, weights, f"{p}.attention_norm")
    inner = g.linear(x, weights, f"{p}.inner")
    # exact GELU: x · ½ · (1 + erf(x / √2))
    root2 = g.const(f"{p}.root2", np.array(math.sqrt(2.0), np.float32))
    half = g.const(f"{p}.half", np.array(0.5, np.float32))
    one = g.const(f"{p}.one", np.array(1.0, np.float32))
    gelu = g.op(
        "Mul", g.op("Mul", inner, half), g.op("Add", g.op("Erf", g.op("Div", inner, root2)), one)
    )
    out = g.op("Add", g.linear(gelu, weights, f"{p}.outer"), x)
    return g.layer_norm(out, weights, f"{p}.output_norm")


def build_graph(weights: dict[str, np.ndarray], heads: int) -> Any:
    """The ONNX ModelProto of the classifier whose PyTorch ``state_dict`` (as numpy) is
    ``weights``."""
    import onnx
    from onnx import TensorProto

    g = _Graph()
    layers = len({k.split(".")[1] for k in weights if k.startswith("layers.")})
    words = g.const("words.weight", weights["words.weight"].astype(np.float32))
    positions = g.const("positions.weight", weights["positions.weight"].astype(np.float32))
    token_type = g.const("token_type", weights["token_type"].astype(np.float32))
    shape = g.op("Shape", "input_ids")
    length = g.op(
        "Slice",
        shape,
        g.const("one_i", np.array([1], np.int64)),
        g.const("two_i", np.array([2], np.int64)),
    )
    zero_i = g.const("zero_i", np.array([0], np.int64))
    used_positions = g.op("Slice", positions, zero_i, length, zero_i)
    x = g.op("Add", g.op("Add", g.op("Gather", words, "input_ids"), used_positions), token_type)
    x = g.layer_norm(x, weights, "embedding_norm")
    mask = g.op("Cast", "attention_mask", to=TensorProto.FLOAT)
    one = g.const("one_f", np.array(1.0, np.float32))
    masked = g.const("masked", np.array(MASKED, np.float32))
    bias = g.op("Mul", g.op("Sub", one, mask), masked)
    mask_bias = g.op("Unsqueeze", bias, g.const("axes_1_2", np.array([1, 2], np.int64)))
    for i in range(layers):
        x = _layer(g, x, mask_bias, weights, i, heads)
    weights_3d = g.op("Unsqueeze", mask, g.const("axes_2", np.array([2], np.int64)))
    axis_1 = g.const("axis_1", np.array([1], np.int64))
    summed = g.op("ReduceSum", g.op("Mul", x, weights_3d), axis_1, keepdims=0)
    count = g.op("Max", g.op("ReduceSum", mask, axis_1, keepdims=1), one)
    pooled = g.op("Div", summed, count)
    head_w = g.const("head.weight_t", weights["head.weight"].T.astype(np.float32))
    head_b = g.const("head.bias", weights["head.bias"].astype(np.float32))
    logit = g.op("Add", g.op("Squeeze", g.op("MatMul", pooled, head_w), axis_1), head_b)
    g.nodes.append(onnx.helper.make_node("Identity", [logit], ["logits"]))
    graph = onnx.helper.make_graph(
        g.nodes,
        "abuse-mini",
        [
            onnx.helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "length"]),
            onnx.helper.make_tensor_value_info(
                "attention_mask", TensorProto.INT64, ["batch", "length"]
            ),
        ],
        [onnx.helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch"])],
        g.initializers,
    )
    model = onnx.helper.make_model(
        graph, opset_imports=[onnx.helper.make_opsetid("", OPSET)], producer_name="abuse-desk"
    )
    model.ir_version = 8  # readable by every onnxruntime of the last years
    onnx.checker.check_model(model, full_check=True)
    return model


QUANTISATIONS = {"per-tensor": False, "per-channel": True}  # name -> per_channel


def quantize_int8(fp32: bytes, work: Path, per_channel: bool = False) -> bytes:
    """Dynamic int8 quantisation of the MatMul weights and the embedding table (signed, per
    tensor or per output channel), as onnxruntime's tool does it; returns the model's bytes."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    work.mkdir(parents=True, exist_ok=True)
    source, target = work / "fp32.onnx", work / "int8.onnx"
    source.write_bytes(fp32)
    quantize_dynamic(
        source,
        target,
        weight_type=QuantType.QInt8,
        per_channel=per_channel,
        op_types_to_quantize=["MatMul", "Gather"],
        extra_options={"MatMulConstBOnly": True},
    )
    return target.read_bytes()
