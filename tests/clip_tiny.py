"""A tiny random "CLIP tower" as ONNX, with CLIP's graph names (no download): for the tests of
the CLIP extractors and of every model built on them."""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from realorai.features.clip import BLOCK

T, D = 5, 8  # tokens (1 class + 4 patches) and width of the tiny tower


def tiny_tower(path, seed: int = 0):
    """A 12-block "tower" whose tensors carry CLIP's graph names: pooled pixels -> tokens, then
    each block adds a constant. Returns (W, per-block constants) to compute the expected values."""
    rng = np.random.default_rng(seed)
    w = rng.normal(size=(3, T * D)).astype(np.float32)
    consts = [rng.normal(size=(T, D)).astype(np.float32) for _ in range(12)]
    inits = [numpy_helper.from_array(w, "W"), numpy_helper.from_array(np.array([0, T, D], np.int64), "shape")]
    nodes = [helper.make_node("ReduceMean", ["pixel_values"], ["pooled"], axes=[2, 3], keepdims=0),
             helper.make_node("MatMul", ["pooled", "W"], ["flat"]),
             helper.make_node("Reshape", ["flat", "shape"], ["tokens"])]  # fmt: skip
    prev = "tokens"
    for k, c in enumerate(consts):
        inits.append(numpy_helper.from_array(c, f"C{k}"))
        nodes.append(helper.make_node("Add", [prev, f"C{k}"], [BLOCK.format(k)]))
        prev = BLOCK.format(k)
    nodes.append(helper.make_node("ReduceMean", [prev], ["image_embeds"], axes=[1], keepdims=0))
    graph = helper.make_graph(
        nodes, "tiny", [helper.make_tensor_value_info("pixel_values", TensorProto.FLOAT, ["batch", 3, 224, 224])],
        [helper.make_tensor_value_info("image_embeds", TensorProto.FLOAT, ["batch", D])], inits,
    )  # fmt: skip
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 14)]), str(path))
    return w, consts
