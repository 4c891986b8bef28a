"""ONNX model -> archsim trace (``archsim import onnx model.onnx --input-shape 1,3,224,224``).

Uses the ``onnx`` package only (no torch, no runtime): tensor shapes come from ONNX shape
inference after the graph inputs are given the shapes asked for; weights are the initialisers, so
their real sparsity (density, per-row and per-column nonzeros) reaches the trace. Activations are
not computed (no inputs are run), so activation operands carry shapes only (dense).

| ONNX op | trace op |
|---|---|
| ``Conv`` (1-D / 2-D, groups, strides, dilations, symmetric pads) | ``conv2d`` |
| ``Gemm``, ``MatMul`` with an initialiser operand | ``linear`` |
| ``MatMul`` between run-time tensors (attention's Q·Kᵀ, A·V), ``Attention`` | ``matmul`` (+ ``softmax``) |
| ``Softmax``, ``LayerNormalization``, ``BatchNormalization``, ``GroupNormalization`` | ``softmax``, ``layernorm``, ``elementwise`` |
| ``MaxPool``, ``AveragePool``, ``Global*Pool`` | ``pool`` |
| ``Add``/``Sub`` of two run-time tensors | ``add`` |
| ``Relu``, ``Sigmoid``, ``Mul``... (elementwise), ``Gelu``, ``ReduceMean``... | ``elementwise`` / ``gelu`` |
| ``Concat`` | ``concat`` |
| reshapes, transposes, slicing, gathers, casts, constants | no op (the consumer's edge goes to the producer) |

Any other op becomes an ``unmodelled`` op (with the MACs of a transposed or 3-D convolution when it
is one) and is listed in the returned warnings: nothing is dropped silently.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from archsim.errors import ArchsimError, TraceError
from archsim.trace.builder import TraceBuilder
from archsim.trace.io import Trace
from archsim.trace.quant import quantize_weight
from archsim.trace.schema import Header, Provenance, Quant, Role

PASS_THROUGH = {"Reshape", "Transpose", "Flatten", "Squeeze", "Unsqueeze", "Identity", "Dropout", "Cast",
                "Slice", "Gather", "GatherElements", "Split", "Expand", "Tile", "Pad", "Shape", "Constant",
                "ConstantOfShape", "Range", "Size", "Concat_", "SpaceToDepth", "DepthToSpace", "ScatterND",
                "Where_", "Resize_", "CastLike", "Trilu", "Pad"}
ELEMENTWISE = {"Relu", "Sigmoid", "Tanh", "Mul", "Div", "Pow", "Sqrt", "Exp", "Log", "Erf", "Neg", "Abs",
               "Clip", "LeakyRelu", "HardSigmoid", "HardSwish", "Softplus", "Elu", "Selu", "Mish", "Min", "Max",
               "Where", "Equal", "Less", "Greater", "Not", "And", "Or", "Reciprocal", "Floor", "Ceil", "Round",
               "PRelu", "Sign"}
REDUCTIONS = {"ReduceMean", "ReduceSum", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL2", "ReduceSumSquare",
              "ArgMax", "ArgMin", "TopK", "CumSum"}


# integer / boolean tensors: shape arithmetic and masks, not the model's compute
_INT_TYPES = {2, 3, 4, 5, 6, 7, 9, 12, 13}   # TensorProto UINT8, INT8, UINT16, INT16, INT32, INT64, BOOL, UINT32, UINT64


def _require_onnx():
    try:
        import onnx
    except ImportError:
        raise ArchsimError("archsim import onnx needs the onnx package: pip install 'archsim[onnx]'") from None
    return onnx


def parse_input_shapes(specs: list[str]) -> dict[str | None, list[int]]:
    """``1,3,224,224`` (the only graph input) or ``name=1,3,224,224`` (repeatable)."""
    out: dict[str | None, list[int]] = {}
    for spec in specs:
        name, sep, dims = spec.rpartition("=")
        try:
            shape = [int(d) for d in dims.split(",")]
        except ValueError:
            raise ArchsimError(f"--input-shape {spec!r}: expected [NAME=]D0,D1,... with integer dimensions") from None
        if not shape or any(d < 1 for d in shape):
            raise ArchsimError(f"--input-shape {spec!r}: dimensions must be >= 1")
        out[name if sep else None] = shape
    return out


def _attrs(node) -> dict:
    import onnx
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


class _Importer:
    def __init__(self, model, weight_bits: int | None, activation_bits: int):
        import onnx
        from onnx import numpy_helper

        self.g = model.graph
        self.init = {t.name: numpy_helper.to_array(t) for t in self.g.initializer}
        for node in self.g.node:            # Constant nodes hold weights too (e.g. after folding)
            if node.op_type == "Constant" and node.output:
                a = _attrs(node)
                if "value" in a:
                    self.init[node.output[0]] = numpy_helper.to_array(a["value"])
        self.shapes: dict[str, list[int]] = {}
        self.dtypes: dict[str, int] = {t.name: t.data_type for t in self.g.initializer}
        for vi in (*self.g.input, *self.g.value_info, *self.g.output):
            self.dtypes[vi.name] = vi.type.tensor_type.elem_type
            dims = vi.type.tensor_type.shape.dim
            if all(d.HasField("dim_value") for d in dims):
                self.shapes[vi.name] = [int(d.dim_value) for d in dims]
        for name, arr in self.init.items():
            self.shapes[name] = list(arr.shape)
        self.producer: dict[str, str] = {}
        self.weight_bits, self.activation_bits = weight_bits, activation_bits
        self.warnings: list[str] = []
        self.used: set[str] = set()
        self.onnx = onnx

    def shape(self, name: str, node) -> list[int]:
        if name not in self.shapes:
            raise ArchsimError(f"onnx node {node.name or node.op_type}: shape of '{name}' unknown after shape "
                               "inference (give every graph input a shape with --input-shape)")
        return self.shapes[name]

    def act(self, b: TraceBuilder, name: str, shape: list[int]):
        return b.operand(name, Role.activation, shape=[max(1, int(s)) for s in shape] or [1],
                         bits=self.activation_bits)

    def weight(self, b: TraceBuilder, w: np.ndarray):
        w = np.asarray(w, dtype=np.float32)
        if self.weight_bits:
            return b.operand("weight", Role.static_weight, data=quantize_weight(w, self.weight_bits),
                             bits=self.weight_bits, quant=Quant(granularity="channel", symmetric=True))
        return b.operand("weight", Role.static_weight, data=w, bits=32)

    def op_id(self, node) -> str:
        base = node.name or f"{node.op_type}_{len(self.used)}"
        k, op_id = 1, base
        while op_id in self.used:
            k += 1
            op_id = f"{base}#{k}"
        self.used.add(op_id)
        return op_id

    def sources(self, node) -> list[str]:
        return list(dict.fromkeys(self.producer[i] for i in node.input if i in self.producer))

    def run(self, b: TraceBuilder) -> None:
        for node in self.g.node:
            t = node.op_type
            index_math = t not in ("Conv", "Gemm", "MatMul", "Attention") and node.output and \
                self.dtypes.get(node.output[0]) in _INT_TYPES
            if t in PASS_THROUGH or t == "Constant" or index_math:
                src = self.sources(node)
                for o in node.output:
                    if src:
                        self.producer[o] = src[0]
                continue
            op_id = self.op_id(node)
            try:
                ids = self.emit(b, node, op_id)
            except (TraceError, ArchsimError) as exc:
                ids = None
                why = str(exc)
            else:
                why = f"ONNX op {t} has no trace op kind"
            if ids is None:
                ids = [self.unmodelled(b, node, op_id, why)]
            for o in node.output:
                self.producer[o] = ids[-1]

    def unmodelled(self, b: TraceBuilder, node, op_id: str, why: str) -> str:
        macs = 0
        if node.op_type in ("ConvTranspose", "Conv") and len(node.input) > 1 and node.input[1] in self.init:
            # each output (Conv) / input (ConvTranspose) element meets prod(weight.shape[1:]) weights
            w = self.init[node.input[1]]
            ref = self.shapes.get(node.output[0] if node.op_type == "Conv" else node.input[0])
            if ref:
                macs = int(np.prod(ref)) * int(np.prod(w.shape[1:]))
        elements = int(np.prod(self.shapes.get(node.output[0], [0]))) if node.output else 0
        b.add("unmodelled", op_id, inputs=self.sources(node), function=f"onnx.{node.op_type}", dense_macs=macs,
              elements=elements, tags={"reason": why[:200]})
        self.warnings.append(f"{op_id}: ONNX {node.op_type} recorded as unmodelled ({macs} MACs): {why}")
        return op_id

    def emit(self, b: TraceBuilder, node, op_id: str) -> list[str] | None:
        t, a = node.op_type, _attrs(node)
        ins = self.sources(node)
        x = node.input[0] if node.input else None
        out = node.output[0]
        oshape = self.shape(out, node)
        if t == "Conv":
            if node.input[1] not in self.init:
                return None
            w = self.init[node.input[1]]
            xs = self.shape(x, node)
            if w.ndim == 3:     # conv1d as conv2d of height 1
                w, xs, oshape = w[:, :, None, :], [xs[0], xs[1], 1, xs[2]], [oshape[0], oshape[1], 1, oshape[2]]
                pads = a.get("pads", [0, 0])
                pads = [0, pads[0], 0, pads[1]]
                strides, dil = [1, *a.get("strides", [1])], [1, *a.get("dilations", [1])]
            elif w.ndim == 4:
                pads = a.get("pads", [0, 0, 0, 0])
                strides, dil = a.get("strides", [1, 1]), a.get("dilations", [1, 1])
            else:
                return None
            if a.get("auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET", b"VALID", "VALID") or \
                    pads[0] != pads[2] or pads[1] != pads[3]:
                return None    # asymmetric padding: not a trace conv2d
            b.add("conv2d", op_id, inputs=ins, operands=[self.act(b, "input", xs), self.weight(b, w)],
                  output=self.act(b, "output", oshape), batch=xs[0], in_channels=xs[1], out_channels=w.shape[0],
                  in_h=xs[2], in_w=xs[3], kernel_h=w.shape[2], kernel_w=w.shape[3], stride_h=strides[0],
                  stride_w=strides[1], pad_h=pads[0], pad_w=pads[1], dilation_h=dil[0], dilation_w=dil[1],
                  groups=int(a.get("group", 1)), tags={"onnx": t})
            return [op_id]
        if t in ("Gemm", "MatMul"):
            A, B = node.input[0], node.input[1]
            sa, sb = self.shape(A, node), self.shape(B, node)
            if t == "Gemm" and a.get("transA", 0):
                sa = sa[::-1]
            if B in self.init and A not in self.init:
                w = self.init[B]
                w = w if (t == "Gemm" and a.get("transB", 0)) else w.T       # -> [N, K]
                tokens = math.prod(sa[:-1])
                b.add("linear", op_id, inputs=ins, operands=[self.act(b, "input", [tokens, sa[-1]]), self.weight(b, w)],
                      output=self.act(b, "output", [tokens, w.shape[0]]), tokens=tokens, in_features=sa[-1],
                      out_features=w.shape[0], tags={"onnx": t})
                return [op_id]
            if t == "Gemm" and a.get("transB", 0):
                sb = sb[::-1]
            lead = oshape[:-2] if len(oshape) > 2 else []
            batch = math.prod(lead) if lead else 1
            M, K, N = sa[-2] if len(sa) > 1 else 1, sa[-1], sb[-1]
            tags = {"onnx": t}
            if any(c.op_type == "Softmax" for c in self._consumers(out)):
                tags["attention"] = "scores"
            b.add("matmul", op_id, inputs=ins, operands=[self.act(b, "a", [batch, M, K]), self.act(b, "b", [batch, K, N])],
                  output=self.act(b, "output", [batch, M, N]), batch=batch, M=M, K=K, N=N, tags=tags)
            return [op_id]
        if t == "Attention":     # opset 23: softmax(Q Kᵀ) V, heads from q_num_heads or a 4-D Q
            qs, ks, vs = (self.shape(n, node) for n in node.input[:3])
            if len(qs) == 4:
                B_, H, L, E = qs
                S, Ev = ks[2], vs[3]
            else:
                H = int(a.get("q_num_heads", 1))
                B_, L, E = qs[0], qs[1], qs[2] // H
                S, Ev = ks[1], vs[2] // H
            g = B_ * H
            b.add("matmul", op_id + ".qk", inputs=ins, operands=[self.act(b, "a", [g, L, E]), self.act(b, "b", [g, E, S])],
                  output=self.act(b, "output", [g, L, S]), batch=g, M=L, K=E, N=S, tags={"onnx": t})
            b.add("softmax", op_id + ".softmax", inputs=[op_id + ".qk"], rows=g * L, cols=S)
            b.add("matmul", op_id + ".av", inputs=[op_id + ".softmax"],
                  operands=[self.act(b, "a", [g, L, S]), self.act(b, "b", [g, S, Ev])],
                  output=self.act(b, "output", [g, L, Ev]), batch=g, M=L, K=S, N=Ev, tags={"onnx": t})
            return [op_id + ".av"]
        n_out = math.prod(oshape) if oshape else 1
        if t == "Softmax":
            axis = int(a.get("axis", -1))
            cols = oshape[axis]
            b.add("softmax", op_id, inputs=ins, rows=n_out // cols, cols=cols, tags={"onnx": t})
            return [op_id]
        if t in ("LayerNormalization", "GroupNormalization"):
            if t == "LayerNormalization":
                axis = int(a.get("axis", -1)) % len(oshape)
                cols = math.prod(oshape[axis:])
                variant = "layer"
            else:
                groups = int(a.get("num_groups"))
                cols, variant = n_out // (oshape[0] * groups), "group"
            b.add("layernorm", op_id, inputs=ins, rows=n_out // cols, cols=cols, variant=variant, tags={"onnx": t})
            return [op_id]
        if t == "InstanceNormalization":     # also how exporters write GroupNorm: one row per (sample, channel)
            rows = oshape[0] * oshape[1]
            b.add("layernorm", op_id, inputs=ins, rows=rows, cols=n_out // rows, variant="group", tags={"onnx": t})
            return [op_id]
        if t == "BatchNormalization":
            b.add("elementwise", op_id, inputs=ins, elements=n_out, function="batch_norm", ops_per_element=2.0,
                  tags={"onnx": t, "foldable": True})
            return [op_id]
        if t in ("MaxPool", "AveragePool", "GlobalAveragePool", "GlobalMaxPool"):
            xs = self.shape(x, node)
            if len(xs) != 4:
                return None
            if t.startswith("Global"):
                k, s, p = xs[2:], xs[2:], [0, 0, 0, 0]
            else:
                k, s, p = a["kernel_shape"], a.get("strides", [1, 1]), a.get("pads", [0, 0, 0, 0])
                if p[0] != p[2] or p[1] != p[3] or a.get("ceil_mode", 0) or a.get("dilations", [1, 1]) != [1, 1]:
                    return None
            b.add("pool", op_id, inputs=ins, operands=[self.act(b, "input", xs)], output=self.act(b, "output", oshape),
                  mode="max" if "Max" in t else "avg", batch=xs[0], channels=xs[1], in_h=xs[2], in_w=xs[3],
                  kernel_h=k[0], kernel_w=k[1], stride_h=s[0], stride_w=s[1], pad_h=p[0], pad_w=p[1], tags={"onnx": t})
            return [op_id]
        if t in ("Add", "Sub") and not any(i in self.init for i in node.input):
            b.add("add", op_id, inputs=ins, elements=n_out, tags={"onnx": t})
            return [op_id]
        if t in ("Gelu", "FastGelu"):
            b.add("gelu", op_id, inputs=ins, elements=n_out, tags={"onnx": t})
            return [op_id]
        if t in ELEMENTWISE or t in ("Add", "Sub"):
            b.add("elementwise", op_id, inputs=ins, elements=n_out, function=t.lower(), tags={"onnx": t})
            return [op_id]
        if t in REDUCTIONS:
            n_in = math.prod(self.shape(x, node)) or 1
            b.add("elementwise", op_id, inputs=ins, elements=n_in, function=t.lower(),
                  tags={"onnx": t, "reduction": True})
            return [op_id]
        if t == "Concat":
            b.add("concat", op_id, inputs=ins, elements=n_out, axis=int(a.get("axis", 0)), tags={"onnx": t})
            return [op_id]
        if t == "Resize":
            b.add("elementwise", op_id, inputs=ins, elements=n_out, function="resize", tags={"onnx": t})
            return [op_id]
        return None

    def _consumers(self, name: str):
        return [n for n in self.g.node if name in n.input]


def import_onnx(path: str | Path, input_shapes: dict[str | None, list[int]] | None = None, *,
                weight_bits: int | None = 8, activation_bits: int = 8, name: str | None = None) -> tuple[Trace, list[str]]:
    """Read ``path`` and return its trace and the warnings (ops recorded as ``unmodelled``)."""
    onnx = _require_onnx()
    path = Path(path)
    if not path.is_file():
        raise ArchsimError(f"{path}: file not found")
    try:
        model = onnx.load(str(path))
    except Exception as exc:
        raise ArchsimError(f"{path}: not a readable ONNX model ({type(exc).__name__}: {str(exc)[:120]})") from None
    inits = {t.name for t in model.graph.initializer}
    graph_inputs = [i for i in model.graph.input if i.name not in inits]
    shapes = dict(input_shapes or {})
    if None in shapes:
        if len(graph_inputs) != 1:
            raise ArchsimError(f"{path}: the model has {len(graph_inputs)} inputs "
                               f"({', '.join(i.name for i in graph_inputs)}): name them, --input-shape NAME=D0,D1,...")
        shapes[graph_inputs[0].name] = shapes.pop(None)
    for key in shapes:
        if key not in {i.name for i in graph_inputs}:
            raise ArchsimError(f"{path}: --input-shape names '{key}', which is not a graph input "
                               f"({', '.join(i.name for i in graph_inputs)})")
    for inp in graph_inputs:
        dims = inp.type.tensor_type.shape.dim
        if inp.name in shapes:
            want = shapes[inp.name]
            if len(want) != len(dims):
                raise ArchsimError(f"{path}: input '{inp.name}' has {len(dims)} dimensions, --input-shape gives {len(want)}")
            for d, v in zip(dims, want):
                if d.HasField("dim_value") and d.dim_value != v:
                    raise ArchsimError(f"{path}: input '{inp.name}' is fixed at {[x.dim_value for x in dims]}; "
                                       f"--input-shape gives {want}")
                d.dim_value = v
        elif not all(d.HasField("dim_value") for d in dims):
            raise ArchsimError(f"{path}: input '{inp.name}' has symbolic dimensions; give --input-shape")
    try:
        model = onnx.shape_inference.infer_shapes(model, strict_mode=False, data_prop=True)
    except Exception as exc:
        raise ArchsimError(f"{path}: ONNX shape inference failed: {str(exc)[:200]}") from None
    batch = next(iter(shapes.values()), [1])[0] if shapes else 1
    header = Header(model=name or path.stem, source=f"ONNX import of {path.name}", batch=max(1, batch), timesteps=1,
                    input_description=", ".join(f"{k} {v}" for k, v in shapes.items()),
                    provenance=Provenance(weights="pretrained", inputs="none",
                                          notes=f"weights: the initialisers of {path.name} (their real sparsity); "
                                                "activations not computed (shapes only, dense)"),
                    config={"onnx_file": path.name, "opset": [int(o.version) for o in model.opset_import],
                            "weight_bits": weight_bits, "activation_bits": activation_bits},
                    created_by="archsim import onnx")
    imp = _Importer(model, weight_bits, activation_bits)
    b = TraceBuilder(header)
    imp.run(b)
    return b.build(), imp.warnings
