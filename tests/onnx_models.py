"""Small ONNX models for tests, built with `onnx.helper`: an encoder-like graph with abuse-mini's
signature (input_ids, attention_mask -> logits) and its dynamically int8-quantised copy."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

VOCAB = 100
OPSET = 17


def encoder_model(
    hidden: int = 16, vocab: int = VOCAB, seed: int = 0, extra_nodes: list | None = None
) -> onnx.ModelProto:
    """Embedding lookup, a hidden MatMul + Tanh, a MatMul to one score per token, masked sum over
    tokens: logits[b] = sum_t mask[b, t] * (tanh(emb[ids[b, t]] @ w1) @ w2)."""
    rng = np.random.default_rng(seed)
    initializers = [
        numpy_helper.from_array(rng.standard_normal((vocab, hidden)).astype(np.float32), "emb"),
        numpy_helper.from_array(rng.standard_normal((hidden, hidden)).astype(np.float32), "w1"),
        numpy_helper.from_array(rng.standard_normal((hidden, 1)).astype(np.float32), "w2"),
        numpy_helper.from_array(np.array([2], dtype=np.int64), "axis_last"),
        numpy_helper.from_array(np.array([1], dtype=np.int64), "axis_tokens"),
    ]
    nodes = [
        helper.make_node("Gather", ["emb", "input_ids"], ["embedded"], name="embed"),
        helper.make_node("MatMul", ["embedded", "w1"], ["hidden_pre"], name="dense"),
        helper.make_node("Tanh", ["hidden_pre"], ["hidden"], name="act"),
        helper.make_node("MatMul", ["hidden", "w2"], ["token_score3"], name="score"),
        helper.make_node("Squeeze", ["token_score3", "axis_last"], ["token_score"]),
        helper.make_node("Cast", ["attention_mask"], ["mask"], to=TensorProto.FLOAT),
        helper.make_node("Mul", ["token_score", "mask"], ["masked"]),
        helper.make_node("ReduceSum", ["masked", "axis_tokens"], ["logits"], keepdims=0),
        *(extra_nodes or []),
    ]
    graph = helper.make_graph(
        nodes,
        "encoder",
        [
            helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "tokens"]),
            helper.make_tensor_value_info("attention_mask", TensorProto.INT64, ["batch", "tokens"]),
        ],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch"])],
        initializers,
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])


def encoder_logits(model: onnx.ModelProto, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """What `encoder_model` computes, in numpy (the reference ORT's output is held to)."""
    weights = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    hidden = np.tanh(weights["emb"][ids] @ weights["w1"])
    return ((hidden @ weights["w2"])[..., 0] * mask).sum(axis=1)


def quantized_encoder(folder: Path, hidden: int = 64) -> bytes:
    """`encoder_model` with its weights quantised by onnxruntime's quantize_dynamic (QInt8)."""
    return quantize(encoder_model(hidden=hidden), folder)


def attention_model(hidden: int = 32, heads: int = 2, vocab: int = VOCAB) -> onnx.ModelProto:
    """One BERT layer as exporters write it: embedding + LayerNormalization, multi-head
    self-attention with the additive mask, Erf GELU feed-forward, masked mean pooling to a
    [batch] `logits`. Shapes are taken at run time (Shape, Gather, Concat, Reshape)."""
    rng = np.random.default_rng(3)
    head = hidden // heads

    def weight(name: str, *shape: int) -> onnx.TensorProto:
        return numpy_helper.from_array(rng.standard_normal(shape).astype(np.float32) * 0.1, name)

    def const(name: str, value: object, dtype: type = np.int64) -> onnx.TensorProto:
        return numpy_helper.from_array(np.array(value, dtype=dtype), name)

    inits = [weight("emb", vocab, hidden), weight("ln_g", hidden), weight("ln_b", hidden)]
    inits += [weight(n, hidden, hidden) for n in ("wq", "wk", "wv", "wo")]
    inits += [weight("w_up", hidden, 2 * hidden), weight("w_down", 2 * hidden, hidden)]
    inits += [weight("w_out", hidden, 1)]
    inits += [const("ax1", [1]), const("ax2", [2]), const("ax_last", [-1]), const("zero", [0])]
    inits += [const("heads_dims", [heads, head]), const("minus_one", [-1])]
    inits += [const("one_f", 1.0, np.float32), const("neg_big", -10000.0, np.float32)]
    inits += [const("sqrt2", np.sqrt(2.0), np.float32), const("half", 0.5, np.float32)]
    inits += [const("scale", np.sqrt(head), np.float32)]
    n = helper.make_node
    nodes = [
        n("Gather", ["emb", "input_ids"], ["e"]),
        n("LayerNormalization", ["e", "ln_g", "ln_b"], ["x"], axis=-1, epsilon=1e-12),
        n("Shape", ["x"], ["x_shape"]),
        n("Slice", ["x_shape", "zero", "ax2"], ["bt"]),
        n("Concat", ["bt", "heads_dims"], ["split_shape"], axis=0),
    ]
    for proj in ("q", "k", "v"):
        nodes += [
            n("MatMul", ["x", f"w{proj}"], [f"{proj}_flat"]),
            n("Reshape", [f"{proj}_flat", "split_shape"], [f"{proj}_split"]),
            n("Transpose", [f"{proj}_split"], [f"{proj}_h"], perm=[0, 2, 1, 3]),
        ]
    nodes += [
        n("Transpose", ["k_h"], ["k_t"], perm=[0, 1, 3, 2]),
        n("MatMul", ["q_h", "k_t"], ["raw_scores"]),
        n("Div", ["raw_scores", "scale"], ["scores"]),
        n("Unsqueeze", ["attention_mask", "ax1"], ["m3"]),
        n("Unsqueeze", ["m3", "ax1"], ["m4"]),
        n("Cast", ["m4"], ["m4f"], to=TensorProto.FLOAT),
        n("Sub", ["one_f", "m4f"], ["inv"]),
        n("Mul", ["inv", "neg_big"], ["bias"]),
        n("Add", ["scores", "bias"], ["biased"]),
        n("Softmax", ["biased"], ["probs"], axis=-1),
        n("MatMul", ["probs", "v_h"], ["ctx_h"]),
        n("Transpose", ["ctx_h"], ["ctx_t"], perm=[0, 2, 1, 3]),
        n("Concat", ["bt", "minus_one"], ["merge_shape"], axis=0),
        n("Reshape", ["ctx_t", "merge_shape"], ["ctx"]),
        n("MatMul", ["ctx", "wo"], ["attn"]),
        n("Add", ["x", "attn"], ["res1"]),
        n("LayerNormalization", ["res1", "ln_g", "ln_b"], ["y"], axis=-1, epsilon=1e-12),
        n("MatMul", ["y", "w_up"], ["up"]),
        n("Div", ["up", "sqrt2"], ["up_s"]),
        n("Erf", ["up_s"], ["erf"]),
        n("Add", ["erf", "one_f"], ["erf1"]),
        n("Mul", ["up", "erf1"], ["gelu_2"]),
        n("Mul", ["gelu_2", "half"], ["gelu"]),
        n("MatMul", ["gelu", "w_down"], ["down"]),
        n("Add", ["y", "down"], ["z"]),
        n("Cast", ["attention_mask"], ["mf"], to=TensorProto.FLOAT),
        n("Unsqueeze", ["mf", "ax_last"], ["mf3"]),
        n("Mul", ["z", "mf3"], ["zm"]),
        n("ReduceSum", ["zm", "ax1"], ["pooled_sum"], keepdims=0),
        n("ReduceSum", ["mf3", "ax1"], ["count"], keepdims=0),
        n("Div", ["pooled_sum", "count"], ["pooled"]),
        n("MatMul", ["pooled", "w_out"], ["logit2"]),
        n("Squeeze", ["logit2", "ax_last"], ["logits"]),
    ]
    graph = helper.make_graph(
        nodes,
        "bert_layer",
        [
            helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "tokens"]),
            helper.make_tensor_value_info("attention_mask", TensorProto.INT64, ["batch", "tokens"]),
        ],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch"])],
        inits,
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])


def quantize(model: onnx.ModelProto, folder: Path) -> bytes:
    """`model` through onnxruntime's quantize_dynamic with int8 weights."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    source, target = folder / "fp32.onnx", folder / "int8.onnx"
    onnx.save(model, source)
    quantize_dynamic(source, target, weight_type=QuantType.QInt8)
    return target.read_bytes()
