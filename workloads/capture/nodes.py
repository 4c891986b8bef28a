"""What the graph capture records (:mod:`workloads.capture.record`) and the op handlers
(:mod:`workloads.capture.aten_ops`) read: a recorded op (:class:`Node`), the tensors it read and
wrote (:class:`Arg`), and what the capture knows about a live tensor (:class:`TInfo`)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from torch.utils._pytree import tree_flatten

from workloads.capture.neurons import NeuronSpec


@dataclass
class TInfo:
    """What the capture knows about a live tensor."""

    src: int | None = None          # index of the node that produced it (None: model input / constant)
    param: str | None = None        # parameter it is (a view of)
    spike: bool = False             # a spike train (a neuron's output, through views / max-pooling)
    timed: bool = False             # its leading axis carries the timesteps ([T*B, ...] or [T, B, ...])
    is_input: bool = False          # the model's input (or a view of it)
    major: bool = False             # timed as [T, B, ...] (multi-step libraries), not [T*B, ...]


@dataclass
class Arg:
    """One tensor an op read: a copy of its values and what produced it."""

    array: np.ndarray | None
    shape: tuple[int, ...]
    info: TInfo


@dataclass
class Node:
    index: int
    func: Any                       # the aten OpOverload (None for a neuron node)
    name: str                       # aten packet name ("convolution", "addmm"...) or "neuron"
    module: str                     # innermost module path ("" = the model itself)
    site: tuple                     # where it was called from: same site -> same layer
    args: list[Any]                 # the op's args, tensors replaced by their Arg
    kwargs: dict[str, Any]
    out: list[Arg] = field(default_factory=list)
    neuron: NeuronSpec | None = None
    leaf: bool = False              # its module has no children

    @property
    def tensor_args(self) -> list[Arg]:
        flat, _ = tree_flatten((self.args, self.kwargs))
        return [a for a in flat if isinstance(a, Arg)]
