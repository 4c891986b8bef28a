"""TT-SNN, trainable (PyTorch): a spiking ResNet-18 layout (MS-ResNet: membrane shortcuts) whose
3x3 convolutions are tensor-train decomposed into four cores, with the three schedules (see
docs/workloads/ttsnn.md and ``archsim.generators.shapes.ttsnn`` for the published sizes).

The small configuration trains on Fashion-MNIST (32x32x1, T = 4, widths 16/32/64/128, a stride-2
first conv so that the stages run at 16/8/4/2: a quarter of the CIFAR layout's work, for our CPU
budget):

1. the **baseline** (3x3 convs) is trained;
2. each 3x3 conv's rank is estimated by EVBMF on its trained weight (``workloads.papers.ttsnn.vbmf``, the
   authors' method), floored at a quarter of its channels (:func:`tt_ranks`), and its four cores
   are initialised by TT-SVD of that weight
   (``workloads.papers.ttsnn.decompose``); every other weight is copied;
3. the **STT / PTT / HTT** networks are fine-tuned from there (PTT and HTT are different functions
   from STT: the SVD cores are only their starting point).

Cores: G1 1x1 Cin->r (stride here: the SATA_Sim layout), G2 3x1, G3 1x3, G4 1x1 r->Cout. Only G1
reads spikes. PTT averages G2 and G3 of G1's output; HTT runs PTT for the first T/2 timesteps and
G1 -> G4 for the rest, so its G2, G3, averaging and both G4 calls run on T/2 timesteps
(``trace_timesteps``). LIF as the authors': threshold 0.5, membrane decay 0.25, reset to 0.
"""
from __future__ import annotations

import torch
from torch import nn

from workloads.ops import Add
from workloads.snn.network import SpikingNet
from workloads.snn.neuron import LIF

WIDTHS = (16, 32, 64, 128)
BLOCKS = (2, 2, 2, 2)
SCHEDULES = ("baseline", "stt", "ptt", "htt")


def tt_lif() -> LIF:
    # H[t] = 0.25 V[t-1] + X[t], spike when H >= 0.5, reset to 0: the authors' mem_update
    return LIF(tau=4.0 / 3.0, v_threshold=0.5, v_reset=0.0, decay_input=False)


class Mean2(Add):
    """``(a + b) / 2``: PTT's average of the two branches (an ``add`` in the trace)."""

    def forward(self, a, b):
        return (a + b) * 0.5


class JoinTimesteps(nn.Module):
    """Concatenate the timestep ranges of HTT's two G4 calls ``[t1*B, ...]`` and ``[t2*B, ...]``.
    No op of its own in the trace: its output stands for both G4 ops."""

    trace_through = True

    def forward(self, first, second):
        return torch.cat([first, second], 0)


class TTConv(nn.Module):
    """The four TT cores of one 3x3 conv, run in ``schedule`` order."""

    def __init__(self, cin: int, cout: int, rank: int, stride: int, schedule: str, timesteps: int):
        super().__init__()
        if schedule not in ("stt", "ptt", "htt"):
            raise ValueError(f"schedule must be stt, ptt or htt, got {schedule!r}")
        self.schedule, self.timesteps = schedule, timesteps
        self.g1 = nn.Conv2d(cin, rank, 1, stride=stride, bias=False)
        self.g2 = nn.Conv2d(rank, rank, (3, 1), padding=(1, 0), bias=False)
        self.g3 = nn.Conv2d(rank, rank, (1, 3), padding=(0, 1), bias=False)
        self.g4 = nn.Conv2d(rank, cout, 1, bias=False)
        if schedule != "stt":
            self.avg = Mean2()
        if schedule == "htt":
            self.join = JoinTimesteps()
            half = timesteps // 2
            for m in (self.g2, self.g3, self.avg, self.g4):
                m.trace_timesteps = half     # T even: both G4 calls run on T/2 timesteps

    def forward(self, x):
        a = self.g1(x)
        if self.schedule == "stt":
            return self.g4(self.g3(self.g2(a)))
        if self.schedule == "ptt":
            return self.g4(self.avg(self.g2(a), self.g3(a)))
        rows = a.shape[0] * (self.timesteps // 2) // self.timesteps
        full = self.g4(self.avg(self.g2(a[:rows]), self.g3(a[:rows])))
        return self.join(full, self.g4(a[rows:]))


class Block(nn.Module):
    """MS-ResNet basic block: LIF -> conv A -> BN -> LIF -> conv B -> BN, added to the stream or to
    a strided 1x1 conv + BN of it."""

    def __init__(self, cin: int, cout: int, stride: int, schedule: str, ranks: tuple[int, int], timesteps: int):
        super().__init__()
        make = (lambda ci, co, s, r: nn.Conv2d(ci, co, 3, s, 1, bias=False)) if schedule == "baseline" else \
            (lambda ci, co, s, r: TTConv(ci, co, r, s, schedule, timesteps))
        self.lif_a, self.conv_a, self.bn_a = tt_lif(), make(cin, cout, stride, ranks[0]), nn.BatchNorm2d(cout)
        self.lif_b, self.conv_b, self.bn_b = tt_lif(), make(cout, cout, 1, ranks[1]), nn.BatchNorm2d(cout)
        self.shortcut = (nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))
                         if stride != 1 or cin != cout else nn.Identity())
        self.res = Add()

    def forward(self, x):
        h = self.bn_a(self.conv_a(self.lif_a(x)))
        h = self.bn_b(self.conv_b(self.lif_b(h)))
        return self.res(h, self.shortcut(x))


class TTResNetBody(nn.Module):
    def __init__(self, in_channels: int, num_classes: int, schedule: str, ranks: list[int] | None,
                 timesteps: int, widths=WIDTHS, blocks=BLOCKS, stem_stride: int = 2):
        super().__init__()
        n = 2 * sum(blocks)
        if schedule != "baseline" and (ranks is None or len(ranks) != n):
            raise ValueError(f"schedule {schedule!r} needs {n} ranks, got {ranks}")
        ranks = list(ranks or [0] * n)
        self.conv1 = nn.Conv2d(in_channels, widths[0], 3, stem_stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(widths[0])
        layers, cin, i = [], widths[0], 0
        for si, (w, nb) in enumerate(zip(widths, blocks)):
            for bi in range(nb):
                layers.append(Block(cin, w, 2 if (si > 0 and bi == 0) else 1, schedule, (ranks[i], ranks[i + 1]),
                                    timesteps))
                cin, i = w, i + 2
        self.blocks = nn.Sequential(*layers)
        self.lif = tt_lif()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.flatten = nn.Flatten()
        self.fc = nn.Linear(widths[-1], num_classes)

    def forward(self, x):
        return self.fc(self.flatten(self.pool(self.lif(self.blocks(self.bn1(self.conv1(x)))))))


def ttsnn_resnet18(num_classes: int = 10, timesteps: int = 4, encoding: str = "direct", in_channels: int = 1,
                   schedule: str = "baseline", ranks: list[int] | None = None, widths=WIDTHS,
                   **_ignored) -> SpikingNet:
    """``widths``: the four stages' channels (smaller ones for tests)."""
    if schedule == "htt" and timesteps % 2:
        raise ValueError(f"HTT splits the timesteps in two halves: T must be even, got {timesteps}")
    body = TTResNetBody(in_channels, num_classes, schedule, ranks, timesteps, widths=tuple(widths))
    return SpikingNet(body, timesteps=timesteps, encoding=encoding, num_classes=num_classes, in_channels=in_channels)


def decomposed_convs(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """The 3x3 convs of the residual branches (conv A, conv B of each block), in order."""
    return [(n, m) for n, m in model.named_modules() if n.endswith(("conv_a", "conv_b"))]


def vbmf_ranks(baseline: nn.Module) -> list[int]:
    """EVBMF rank of each residual-branch 3x3 conv, at least 1 and at most min(Cin, Cout) (a
    larger bond cannot be filled by the TT-SVD)."""
    from workloads.papers.ttsnn.vbmf import conv_rank
    return [min(max(1, conv_rank(m.weight.detach().numpy())), m.in_channels, m.out_channels)
            for _, m in decomposed_convs(baseline)]


RANK_FLOOR = 0.25


def tt_ranks(baseline: nn.Module, floor: float = RANK_FLOOR) -> list[int]:
    """The ranks the TT networks use: each conv's EVBMF rank, at least ``floor`` x min(Cin, Cout).
    A few minutes of training leave the early layers' weights close to their random start, where
    EVBMF sees noise and returns rank 1 (docs/workloads/ttsnn.md); the published ResNet-34 ranks
    are 0.1-0.37 of the channels."""
    return [max(r, int(floor * min(m.in_channels, m.out_channels)))
            for r, (_, m) in zip(vbmf_ranks(baseline), decomposed_convs(baseline))]


@torch.no_grad()
def from_baseline(baseline: nn.Module, schedule: str, ranks: list[int], **build_kw) -> SpikingNet:
    """A TT network whose cores are the TT-SVD of the baseline's 3x3 weights (truncated to the
    ranks) and whose other weights and BN statistics are the baseline's."""
    from workloads.papers.ttsnn.decompose import conv_cores

    tt = ttsnn_resnet18(schedule=schedule, ranks=ranks, **build_kw)
    state = tt.state_dict()
    for key, value in baseline.state_dict().items():
        if key in state and state[key].shape == value.shape:
            state[key] = value.clone()
    convs = dict(decomposed_convs(baseline))
    for name, m in decomposed_convs(tt):
        cores = conv_cores(convs[name].weight.numpy(), m.g1.out_channels)
        for core, w in zip(("g1", "g2", "g3", "g4"), cores):
            state[f"{name}.{core}.weight"] = torch.from_numpy(w).to(torch.float32)
    tt.load_state_dict(state)
    return tt


def build(schedule: str, parent: SpikingNet | None = None, **kw) -> SpikingNet:
    """The registry's builder: the baseline (``schedule`` "baseline"), or a TT network that starts
    from the trained baseline ``parent`` (the trainer hands it over): EVBMF ranks (floored),
    TT-SVD cores."""
    if schedule == "baseline":
        return ttsnn_resnet18(schedule="baseline", **kw)
    return from_baseline(parent, schedule, tt_ranks(parent), **kw)
