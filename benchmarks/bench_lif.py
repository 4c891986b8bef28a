"""Speed of the fused LIF (Numba forward/backward) against the step-by-step autograd reference.

    .venv/bin/python benchmarks/bench_lif.py

Prints the median time of the LIF alone (forward + backward over T=4 on one VGG16 layer's
neurons at batch 32) and of one whole VGG16 training step (batch 32, T=4) with each, and the
ratios. One run; numbers depend on the machine and its load.
"""
from __future__ import annotations

import statistics
import time

import torch

from workloads.papers.loas.nets import loas_vgg16
from workloads.snn import neuron


def median_time(fn, repeat=5):
    fn()                                   # warm-up (Numba compile / cache load)
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def lif_only(impl):
    x = torch.randn(4, 32 * 64 * 32 * 32, requires_grad=True)
    lif = neuron.LIF()

    def run():
        impl(x, lif).sum().backward()
    return run


def train_step(impl):
    torch.manual_seed(0)
    model = loas_vgg16()
    opt = torch.optim.Adam(model.parameters())
    x, y = torch.rand(32, 3, 32, 32), torch.randint(0, 10, (32,))

    def run():
        saved = neuron.lif_sequence
        neuron.lif_sequence = impl
        try:
            loss = torch.nn.functional.cross_entropy(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
        finally:
            neuron.lif_sequence = saved
    return run


def main():
    fused, ref = neuron.lif_sequence, neuron.lif_sequence_reference
    for name, make, repeat in (("LIF forward+backward, 4 x 2.1 M neurons", lif_only, 5),
                               ("VGG16 training step, batch 32, T=4", train_step, 3)):
        tf = median_time(make(fused), repeat)
        tr = median_time(make(ref), repeat)
        print(f"{name}: fused {tf:.3f} s, autograd reference {tr:.3f} s, ratio {tr / tf:.2f}x")


if __name__ == "__main__":
    main()
