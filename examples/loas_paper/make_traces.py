"""Regenerate the statistics-only LoAS paper traces in this folder (synthetic from statistics;
see archsim/generators/stats/loas_paper.py):

    .venv/bin/python examples/loas_paper/make_traces.py              # write the traces
    .venv/bin/python examples/loas_paper/make_traces.py --real reports/traces   # the committed ones
    .venv/bin/python examples/loas_paper/make_traces.py --calibrate  # re-derive COLUMN_SPREAD

``--real DIR``: the folder of the real VGG16 family the main job exports (loas-vgg16.trace,
loas-vgg16-t6.trace, loas-vgg16-t8.trace): vgg16_T6/T8.trace then move each layer's spike
statistics from T = 4 as the trained network's same layer moved (our derivation, in the traces'
provenance); without it, by archsim's dead-neuron + Bernoulli mixture.

``--calibrate`` bisects, per network, the lognormal spread of the output-channel weight densities
until SparTen-S (hw_configs/sparten_s_paper.yaml) reaches the authors' network cycles, and prints
the values to paste into COLUMN_SPREAD.
"""
import sys
from pathlib import Path

from archsim.generators.stats.loas_paper import NETWORKS, TOTALS, build_trace, write_traces

HERE = Path(__file__).parent


def calibrate(network: str, lo: float = 0.0, hi: float = 2.5, steps: int = 12) -> float:
    from archsim.config.hardware import load_hardware
    from archsim.engine import simulate

    hw = load_hardware(HERE.parent.parent / "hw_configs/sparten_s_paper.yaml")
    target = TOTALS[network]["sparten"][0]
    for _ in range(steps):
        mid = (lo + hi) / 2
        cycles = simulate(build_trace(network, column_spread=mid), hw)["cycles"]
        print(f"  {network}: spread {mid:.4f} -> SparTen-S {cycles:.0f} cycles (authors: {target})")
        lo, hi = (mid, hi) if cycles < target else (lo, mid)
    return round((lo + hi) / 2, 3)


if __name__ == "__main__":
    if "--calibrate" in sys.argv:
        found = {n: calibrate(n) for n in NETWORKS}
        print(f"COLUMN_SPREAD = {found}")
    else:
        real = sys.argv[sys.argv.index("--real") + 1] if "--real" in sys.argv else None
        for path in write_traces(HERE, real=real):
            print(f"wrote {path}")
