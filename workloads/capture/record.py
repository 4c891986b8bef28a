"""Graph capture: run a model once on real tensors under a ``TorchDispatchMode`` and record every
aten op it executes, with copies of the tensors it read and wrote and the op that produced each.

Why dispatch level: it sees the same post-autograd aten ops that ``torch.export`` and ``make_fx``
capture and that ``torch.utils.flop_counter.FlopCounterMode`` counts (functional calls, ``x + y``,
``torch.matmul``, einsum, reshapes, attention: everything), while running eagerly, so Python
control flow, timestep loops and the stateful neurons of the SNN libraries work unchanged
(``torch.export`` refuses modules that mutate their attributes, as SpikingJelly's neurons do).
Module hooks keep the module path of every op, and a spiking-neuron module
(:mod:`workloads.capture.neurons`) is recorded as one node instead of the ops inside it, as is a
module whose caller's rule writes its ops or no op (:mod:`workloads.capture.rules`, ``ops=``,
``through=True``).

Attention runs on PyTorch's math backend and ``nn.MultiheadAttention``'s fused fast path is off
during capture: the fused CPU kernels (``_scaled_dot_product_flash_attention_for_cpu``,
``_native_multi_head_attention``) hide the Q·Kᵀ and A·V products inside one op.
"""
from __future__ import annotations

import contextlib
import dataclasses
import os
import sys
from typing import Any

import torch
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten

from workloads.capture.aten_ops import handler_for
from workloads.capture.neurons import neuron_spec
from workloads.capture.nodes import Arg, Node, TInfo

_TORCH_DIR = os.path.dirname(torch.__file__)
_HERE = os.path.dirname(__file__)


VIEW_OPS = {
    "view", "_unsafe_view", "reshape", "_reshape_alias", "t", "transpose", "permute", "expand", "expand_as",
    "squeeze", "unsqueeze", "flatten", "unflatten", "contiguous", "clone", "detach", "alias", "lift_fresh",
    "lift_fresh_copy", "_to_copy", "to", "slice", "select", "split", "split_with_sizes", "unbind", "chunk",
    "narrow", "as_strided", "constant_pad_nd", "repeat", "roll", "index", "index_select", "gather", "copy",
    "copy_", "_local_scalar_dense", "view_as", "movedim", "diagonal", "unfold", "flip", "im2col",
    "pixel_shuffle", "channel_shuffle", "tile", "_unsafe_index", "masked_select", "nonzero", "clamp_max_",
}
CREATION_OPS = {
    "zeros", "ones", "full", "empty", "empty_like", "zeros_like", "ones_like", "full_like", "new_zeros",
    "new_ones", "new_empty", "new_full", "arange", "scalar_tensor", "empty_strided", "fill", "fill_", "zero_",
    "rand", "randn", "rand_like", "randn_like", "bernoulli", "bernoulli_", "linspace", "eye", "tensor",
    "_assert_async", "_assert_scalar", "sym_size", "sym_numel", "sym_stride", "is_same_size", "set_",
    "resize_", "_has_compatible_shallow_copy_type", "equal", "is_nonzero", "item", "detach_", "record_stream",
}
GEMM_NAMES = {"mm", "addmm", "bmm", "baddbmm", "convolution", "_convolution", "addmv", "mv", "dot", "linear"}


def _user_site(depth: int = 3) -> tuple[str, int]:
    """File and line of the innermost caller outside torch and this package."""
    f = sys._getframe(depth)
    while f is not None:
        fn = f.f_code.co_filename
        if not fn.startswith(_TORCH_DIR) and not fn.startswith(_HERE) and "contextlib" not in fn:
            return fn, f.f_lineno
        f = f.f_back
    return "", 0


class Recorder(TorchDispatchMode):
    """Records :class:`Node` s while a model runs (use with :func:`capture`)."""

    def __init__(self, model: nn.Module, timesteps: int, store_values: bool = True,
                 opaque: set[str] | frozenset[str] = frozenset(), through: set[str] | frozenset[str] = frozenset()):
        super().__init__()
        self.opaque = set(opaque) | set(through)   # module paths recorded as one node per call (a rule writes their ops)
        self.through = set(through)                # ... of which those that write no op
        self.where = ""               # the aten op / module running now (named when the model fails)
        self.opaque_depth = 0
        self.T = timesteps
        self.nodes: list[Node] = []
        self.info: dict[int, TInfo] = {}
        self.alive: list[torch.Tensor] = []
        self.stack: list[str] = []
        self.neuron_depth = 0
        self.names = {m: n for n, m in model.named_modules()}
        self.leaf_names = {n for m, n in self.names.items() if not any(True for _ in m.children())}
        self.specs = {m: s for m in self.names if (s := neuron_spec(m)) is not None}
        self.params = {id(p): n for n, p in model.named_parameters()}
        self.calls: dict[str, int] = {}
        self.store_values = store_values
        # [T, B, ...] tensors exist only with the multi-step neurons of SpikingJelly / Norse
        self.major_ok = any(s.step == "multi" and s.library != "archsim" for s in self.specs.values())

    # ---- tensors
    def _info(self, t: torch.Tensor) -> TInfo:
        i = self.info.get(id(t))
        if i is None:
            i = TInfo(param=self.params.get(id(t)))
            self._set(t, i)
        return i

    def _set(self, t: torch.Tensor, i: TInfo) -> None:
        if i.major and not self.major_ok:    # [T*B, ...] layout: a tensor of T rows is not [T, B, ...]
            i = dataclasses.replace(i, major=False)
        self.info[id(t)] = i
        self.alive.append(t)

    def mark_input(self, x: Any, timed: bool = False) -> None:
        """The model's inputs; ``timed``: they already hold the T timesteps on their leading axis
        (``[T*B, ...]``, or ``[T, B, ...]`` for the multi-step libraries)."""
        flat, _ = tree_flatten(x)
        for t in flat:
            if isinstance(t, torch.Tensor):
                major = self.input_timed(t)
                on = major or (timed and self.T > 1 and t.dim() > 0 and t.shape[0] % self.T == 0)
                self._set(t, TInfo(is_input=True, timed=on, major=major))

    def input_timed(self, t: torch.Tensor) -> bool:
        multi = any(s.step == "multi" and s.library != "archsim" for s in self.specs.values())
        return self.T > 1 and multi and t.dim() >= 2 and t.shape[0] == self.T

    def _arg(self, t: torch.Tensor, copy: bool = True) -> Arg:
        a = None
        if copy and self.store_values and t.numel() and (t.dtype.is_floating_point or t.dtype == torch.bool):
            a = t.detach().to(torch.float32).cpu().numpy().copy()
        return Arg(a, tuple(t.shape), self._info(t))

    def _module(self) -> str:
        return self.stack[-1] if self.stack else ""

    # ---- module hooks
    def pre_hook(self, module, args):
        name = self.names.get(module)
        if name is None:
            return
        self.stack.append(name)
        self.calls[name] = self.calls.get(name, 0) + 1
        if name in self.opaque:
            if not self.opaque_depth:
                flat, _ = tree_flatten(args)
                module._capture_args = [t for t in flat if isinstance(t, torch.Tensor)]
            self.opaque_depth += 1
            return
        if self.opaque_depth:
            return
        if module in self.specs:
            self.neuron_depth += 1
            flat, _ = tree_flatten(args)
            tensors = [t for t in flat if isinstance(t, torch.Tensor)]
            module._capture_input = tensors[0] if tensors else None

    def post_hook(self, module, args, output):
        name = self.names.get(module)
        if name is None:
            return
        if self.stack and self.stack[-1] == name:
            self.stack.pop()
        if name in self.opaque:
            self.opaque_depth -= 1
            if not self.opaque_depth:
                self._opaque_node(name, module, output)
            return
        if self.opaque_depth or module not in self.specs:
            return
        self.neuron_depth -= 1
        if self.neuron_depth:
            return
        x = getattr(module, "_capture_input", None)
        flat, _ = tree_flatten(output)
        outs = [t for t in flat if isinstance(t, torch.Tensor)]
        if x is None or not outs:
            return
        with _no_mode(self):
            inp = self._arg(x)
            node = Node(len(self.nodes), None, "neuron", name, (name, "neuron", *_user_site(2)), [inp], {},
                        neuron=self.specs[module], leaf=True)
            spikes = outs[0]
            timed = self.T > 1 and (inp.info.timed or self.specs[module].step == "multi") and \
                spikes.shape[0] % self.T == 0
            major = timed and inp.info.major and spikes.shape[0] == self.T
            self._set(spikes, TInfo(src=node.index, spike=True, timed=timed, major=major))
            node.out = [self._arg(spikes)]
            for t in outs[1:]:
                self._set(t, TInfo(src=node.index, timed=timed, major=major))
            self.nodes.append(node)
        module._capture_input = None

    def _opaque_node(self, name: str, module: nn.Module, output) -> None:
        """One node for a call of a module a rule writes (its inputs and outputs)."""
        xs = getattr(module, "_capture_args", None) or []
        module._capture_args = None
        flat, _ = tree_flatten(output)
        outs = [t for t in flat if isinstance(t, torch.Tensor)]
        through = name in self.through
        with _no_mode(self):
            args = [self._arg(t, copy=not through) for t in xs]
            node = Node(len(self.nodes), None, "through" if through else "module", name,
                        (name, "module", *_user_site(2)), args, {}, leaf=True)
            timed = any(a.info.timed for a in args)
            major = any(a.info.major for a in args)
            lead = xs[0].shape[0] if xs and xs[0].dim() else 0
            for i, t in enumerate(outs):
                lead_ok = self.T > 1 and t.dim() > 0 and t.shape[0] % self.T == 0
                # a module that lengthens the leading axis to a multiple of T makes timesteps (repeats
                # or joins them); one that writes no op passes its input on (spikes, the model's input)
                t_ok = lead_ok and (timed or t.shape[0] > lead)
                ti = TInfo(src=node.index, timed=t_ok, major=t_ok and major and t.shape[0] == self.T and t.dim() > 1,
                           spike=through and bool(args) and all(a.info.spike for a in args),
                           is_input=through and bool(args) and all(a.info.is_input for a in args))
                arr = self._arg(t, copy=not through).array if i == 0 else None
                node.out.append(Arg(arr, tuple(t.shape), ti))
                self._set(t, ti)
            self.nodes.append(node)

    # ---- aten ops
    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if self.opaque_depth:     # inside a module a rule writes: run, record nothing
            out = func(*args, **kwargs)
            return out
        name = func.overloadpacket.__name__
        base = name.rstrip("_") if name.endswith("_") and not name.startswith("_") else name
        self.where = f"aten.{name} in module {self._module() or '(model)'!r}"
        flat_in, _ = tree_flatten((args, kwargs))
        tin = [t for t in flat_in if isinstance(t, torch.Tensor)]
        recorded = not (self.neuron_depth and base not in GEMM_NAMES) and base not in CREATION_OPS \
            and base not in VIEW_OPS and bool(tin)
        if recorded and base not in GEMM_NAMES and handler_for(func) is None:
            # like FlopCounterMode: an op we have no entry for runs as its decomposition, if it has one
            with self:
                r = func.decompose(*args, **kwargs)
            if r is not NotImplemented:
                return r
        if recorded:   # inputs copied before the op runs (an in-place op overwrites them)
            conv = lambda v: self._arg(v) if isinstance(v, torch.Tensor) else v  # noqa: E731
            margs = [([conv(x) for x in a] if isinstance(a, (list, tuple)) else conv(a)) for a in args]
            mkw = {k: conv(v) for k, v in kwargs.items()}
            timed = any(self._info(t).timed for t in tin)
            major_in = [self._info(t).major for t in tin if self._info(t).timed]
            spike_in = self._info(tin[0]).spike
            all_spike = all(self._info(t).spike for t in tin)
        out = func(*args, **kwargs)
        flat_out, _ = tree_flatten(out)
        tout = [t for t in flat_out if isinstance(t, torch.Tensor)]
        if self.neuron_depth and base not in GEMM_NAMES:
            for t in tout:            # state inside a neuron: no producer until the neuron's output
                if id(t) not in self.info:
                    self._set(t, TInfo())
            return out
        if base in CREATION_OPS or not tin:
            for t in tout:
                if id(t) not in self.info or base in ("fill", "zero"):
                    self._set(t, TInfo())
            return out
        if base in VIEW_OPS:
            src = self._info(tin[-1] if base == "copy" and len(tin) > 1 else tin[0])
            for t in tout:
                lead_ok = t.dim() > 0 and self.T > 1 and t.shape[0] % self.T == 0
                grown = lead_ok and tin[0].dim() > 0 and t.shape[0] == self.T * tin[0].shape[0]
                timed = (src.timed and lead_ok) or (grown and base in ("repeat", "expand", "tile", "cat"))
                d0 = tin[0].dim()
                major = bool(timed) and t.dim() > 1 and t.shape[0] == self.T and (
                    (src.major and t.dim() >= d0) or (src.timed and not src.major and t.dim() == d0 + 1)
                    or (not src.timed and t.dim() == d0))
                self._set(t, TInfo(src=src.src, param=src.param, spike=src.spike, timed=bool(timed),
                                   is_input=src.is_input, major=major))
            return out
        with _no_mode(self):
            module = self._module()
            node = Node(len(self.nodes), func, base, module, (module, base, *_user_site()), margs, mkw,
                        leaf=module in self.leaf_names)
            spike = (base in ("max_pool2d_with_indices", "max_pool2d", "adaptive_max_pool2d", "max_pool1d",
                              "max_pool3d_with_indices") and spike_in) or (base in ("cat", "stack") and all_spike)
            # stacking one tensor per timestep (a per-step loop's outputs) makes a [T, ...] tensor
            stacked = base == "stack" and len(tin) == self.T > 1
            node.out = []
            for i, t in enumerate(tout):
                t_ok = timed and t.dim() > 0 and self.T > 1 and t.shape[0] % self.T == 0
                ti = TInfo(src=node.index, spike=spike, timed=t_ok or stacked,
                           major=stacked or (t_ok and bool(major_in) and major_in[0] and t.shape[0] == self.T
                                             and t.dim() > 1))
                node.out.append(Arg(None, tuple(t.shape), ti))
                if i == 0 and self.store_values and t.numel() and (t.dtype.is_floating_point or t.dtype == torch.bool):
                    node.out[0].array = t.detach().to(torch.float32).cpu().numpy().copy()
                self._set(t, ti)
            self.nodes.append(node)
        return out


@contextlib.contextmanager
def _no_mode(mode: TorchDispatchMode):
    """Run torch code inside the dispatch handler without re-entering the recorder."""
    from torch.utils._python_dispatch import _pop_mode_temporarily, _get_current_dispatch_mode
    if _get_current_dispatch_mode() is mode:
        with _pop_mode_temporarily():
            yield
    else:
        yield


@contextlib.contextmanager
def capture_context(rec: Recorder):
    """Module hooks, the math attention backend and the MHA slow path, for one capture."""
    from torch.nn.attention import SDPBackend, sdpa_kernel

    pre = nn.modules.module.register_module_forward_pre_hook(rec.pre_hook)
    post = nn.modules.module.register_module_forward_hook(rec.post_hook)
    fast = torch.backends.mha.get_fastpath_enabled()
    torch.backends.mha.set_fastpath_enabled(False)
    try:
        with torch.no_grad(), sdpa_kernel([SDPBackend.MATH]), rec:
            yield rec
    finally:
        pre.remove()
        post.remove()
        torch.backends.mha.set_fastpath_enabled(fast)
