"""abuse-mini as an ONNX graph: written op by op from the fine-tuned weights, then int8.

The graph is the computation of `app.core.training.mini_model.MiniClassifier` written a second
time with standard ONNX operators only (opset 17), so the bundle's model passes the loader's
allow-list (`app.core.bundles.onnx_check`) and nothing depends on a framework's exporter. The
recipe checks the two against each other. Sizes come from the weights, so tests build tiny
models with the same code. Needs the ``onnx`` package (the `train-mini` and dev extras).

Inputs ``input_ids`` and ``attention_mask`` (int64, batch × length); output ``logits`` (float,
batch): the uncalibrated logit of "abusive" per text.

The int8 graph (`build_int8_graph`) is built the same way, not by a quantisation tool: weights
are int8 (one scale per matrix or per output column), the embedding table int8 with one scale
per token, and each linear layer quantises its input with one scale per token (its largest
absolute value / 127). A tool's dynamic quantisation uses one scale for the whole run's input,
so a text's score would depend on the texts batched with it; here every token is quantised on
its own, integer products are exact, and texts of one length scored together give the same
bits as each alone (the engine checks this before it batches, `app.core.engine.encoder`).
"""

from __future__ import annotations

import math
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

    def embedding(self, table: np.ndarray, ids: str) -> str:
        return self.op("Gather", self.const("words.weight", table.astype(np.float32)), ids)

    def layer_norm(self, x: str, weights: dict[str, np.ndarray], prefix: str) -> str:
        gamma = self.const(f"{prefix}.weight", weights[f"{prefix}.weight"].astype(np.float32))
        beta = self.const(f"{prefix}.bias", weights[f"{prefix}.bias"].astype(np.float32))
        return self.op("LayerNormalization", x, gamma, beta, axis=-1, epsilon=LAYER_NORM_EPS)


def _int8_columns(matrix: np.ndarray, per_channel: bool) -> tuple[np.ndarray, np.ndarray]:
    """Symmetric int8 of a weight matrix (in × out): one scale per output column, or one."""
    largest = np.abs(matrix).max(axis=0 if per_channel else None, keepdims=per_channel)
    scale = np.maximum(largest, 1e-12) / 127.0
    quantized = np.clip(np.rint(matrix / scale), -127, 127).astype(np.int8)
    return quantized, np.asarray(scale, np.float32).reshape(-1)


class _Int8Graph(_Graph):
    """Linear layers and the embedding table in int8, activations quantised per token."""

    def __init__(self, per_channel: bool) -> None:
        super().__init__()
        self.per_channel = per_channel
        self._shared: dict[str, str] = {}

    def _shared_const(self, name: str, value: np.ndarray) -> str:
        if name not in self._shared:
            self._shared[name] = self.const(name, value)
        return self._shared[name]

    def _quantize_tokens(self, x: str) -> tuple[str, str]:
        """(uint8 codes with zero point 128, float scale per token) of activations x."""
        largest = self.op("ReduceMax", self.op("Abs", x), axes=[-1], keepdims=1)
        tiny = self._shared_const("q.tiny", np.array(1e-12, np.float32))
        scale = self.op(
            "Div",
            self.op("Max", largest, tiny),
            self._shared_const("q.levels", np.array(127.0, np.float32)),
        )
        low = self._shared_const("q.low", np.array(-127.0, np.float32))
        high = self._shared_const("q.high", np.array(127.0, np.float32))
        codes = self.op("Clip", self.op("Round", self.op("Div", x, scale)), low, high)
        shifted = self.op("Add", codes, self._shared_const("q.shift", np.array(128.0, np.float32)))
        return self.op("Cast", shifted, to=_uint8()), scale

    def linear(self, x: str, weights: dict[str, np.ndarray], prefix: str) -> str:
        matrix = weights[f"{prefix}.weight"].T.astype(np.float32)
        quantized, column_scale = _int8_columns(matrix, self.per_channel)
        w = self.const(f"{prefix}.weight_t_int8", quantized)
        w_scale = self.const(f"{prefix}.weight_scale", column_scale)
        b = self.const(f"{prefix}.bias", weights[f"{prefix}.bias"].astype(np.float32))
        codes, token_scale = self._quantize_tokens(x)
        zero = self._shared_const("q.zero_point", np.array(128, np.uint8))
        product = self.op("Cast", self.op("MatMulInteger", codes, w, zero), to=_float())
        return self.op("Add", self.op("Mul", self.op("Mul", product, token_scale), w_scale), b)

    def embedding(self, table: np.ndarray, ids: str) -> str:
        quantized, row_scale = _int8_columns(table.T.astype(np.float32), per_channel=True)
        codes = self.const("words.weight_int8", np.ascontiguousarray(quantized.T))
        scales = self.const("words.scale", row_scale.reshape(-1, 1))
        looked_up = self.op("Cast", self.op("Gather", codes, ids), to=_float())
        return self.op("Mul", looked_up, self.op("Gather", scales, ids))


def _uint8() -> int:
    from onnx import TensorProto

    return int(TensorProto.UINT8)


def _float() -> int:
    from onnx import TensorProto

    return int(TensorProto.FLOAT)


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


def build_graph(weights: dict[str, np.ndarray], heads: int, graph: _Graph | None = None) -> Any:
    """The ONNX ModelProto of the classifier whose PyTorch ``state_dict`` (as numpy) is
    ``weights`` (float32, or int8 with an `_Int8Graph`)."""
    import onnx
    from onnx import TensorProto

    g = graph or _Graph()
    layers = len({k.split(".")[1] for k in weights if k.startswith("layers.")})
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
    x = g.op(
        "Add",
        g.op("Add", g.embedding(weights["words.weight"], "input_ids"), used_positions),
        token_type,
    )
    x = g.layer_norm(x, weights, "embedding_norm")
    mask = g.op("Cast", "attention_mask", to=TensorProto.FLOAT)
    one = g.const("one_f", np.array(1.0, np.float32))
    masked = g.const("masked", np.array(MASKED, np.float32))
    bias = g.op("Mul", g.op("Sub", one, mask), masked)
    mask_bias = g.op("Unsqueeze", bias, g.const("axes_1_2", np.array([1, 2], np.int64)))
    for i in range(layers):
        x = _layer(g, x, mask_bias, weights, i, heads)
    # The masked sum over tokens as a (1 × length)·(length × hidden) product per text: a
    # ReduceSum's order of addition changes with the batch's shape, a per-text product does not.
    mask_row = g.op("Unsqueeze", mask, g.const("axes_1", np.array([1], np.int64)))
    axis_1 = g.const("axis_1", np.array([1], np.int64))
    summed = g.op("Squeeze", g.op("MatMul", mask_row, x), axis_1)
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


def build_int8_graph(weights: dict[str, np.ndarray], heads: int, per_channel: bool) -> Any:
    """The int8 ModelProto of the classifier (see the module's docstring): weights with one
    scale per matrix or per output column, activations and embeddings per token."""
    return build_graph(weights, heads, _Int8Graph(per_channel))
