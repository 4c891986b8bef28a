#!/usr/bin/env python3
"""Golden numbers from SpikeSim's ELA functions (Intelligent-Computing-Lab-Yale/SpikeSim) over its
parameter space, for archsim's `imc` SpikeSim preset.

Reference (run, never copied): ``SNN_train_infer_quantization_ela/ela_spikesim.py`` of the SpikeSim
repository, commit recorded in the output. Get a checkout outside this repository (e.g. with
git clone, or the session's fetch tool), then, from the repository root::

    python tools/spikesim_golden/make_golden.py --ela /path/to/SpikeSim/SNN_train_infer_quantization_ela/ela_spikesim.py \
        --commit <sha> --out tools/spikesim_golden/ela_goldens.json

The script imports that file as a module (its own VGG9 example runs and prints once), then calls
its four functions (``pe_tile_count``, ``compute_energy``, ``compute_area``, ``latency_gen``)
with the parameters of each case and records what they return or print (``latency_gen`` and the
PE count are printed, not returned: stdout is captured and parsed). Cases: the ELA script's own
VGG9 example, then a seeded random sample of the grid

* networks: VGG9 / CIFAR-10 (the script's), VGG9 with a narrow first layer (32 of the crossbar's
  columns), a small three-layer net with narrow layers (16, 32, 64 channels), a wide two-layer
  net; SpikeSim requires PE counts in ascending layer order, all four satisfy it;
* crossbar 32, 64, 128, 256; PEs per tile 2, 4, 8, 16; timesteps 1-16; clock 100-1000 MHz
  (PE cycle = 26 clocks, as the script); device rram or sram.
"""
from __future__ import annotations

import argparse
import contextlib
import importlib.util
import io
import itertools
import json
import random
import re
from pathlib import Path

NETWORKS = {
    "vgg9": {"in_ch": [3, 64, 64, 128, 128, 256, 256], "out_ch": [64, 64, 128, 128, 256, 256, 256],
             "in_dim": [32, 32, 16, 16, 8, 8, 8], "out_dim": [32, 16, 16, 8, 8, 8, 4]},
    "vgg9_narrow_first": {"in_ch": [3, 32, 64, 128, 128, 256, 256], "out_ch": [32, 64, 128, 128, 256, 256, 256],
                          "in_dim": [32, 32, 16, 16, 8, 8, 8], "out_dim": [32, 16, 16, 8, 8, 8, 4]},
    "small_narrow": {"in_ch": [3, 16, 32], "out_ch": [16, 32, 64], "in_dim": [28, 14, 7], "out_dim": [14, 7, 7]},
    "wide2": {"in_ch": [64, 256], "out_ch": [256, 512], "in_dim": [16, 8], "out_dim": [8, 4]},
}
XBARS = [32, 64, 128, 256]
PE_PER_TILE = [2, 4, 8, 16]
TIMESTEPS = list(range(1, 17))
CLOCKS_MHZ = [100, 200, 250, 500, 1000]
DEVICES = ["rram", "sram"]
KERNEL = 3


def load_ela(path: Path):
    spec = importlib.util.spec_from_file_location("ela_spikesim", path)
    mod = importlib.util.module_from_spec(spec)
    with contextlib.redirect_stdout(io.StringIO()):
        spec.loader.exec_module(mod)
    return mod


def latency_terminates(net: str, xbar: int) -> bool:
    """SpikeSim's latency_gen fills its tile map with int(C_in/X * C_out/X) PEs per layer in a
    ``while`` loop that never ends when every layer rounds to 0 PEs (all layers narrower than the
    crossbar): such cases are left out (and counted in the header)."""
    n = NETWORKS[net]
    return sum(int((i / xbar) * (o / xbar)) for i, o in zip(n["in_ch"], n["out_ch"])) > 0


def run_case(ela, net: str, xbar: int, ppt: int, T: int, clock: float, device: str) -> dict:
    n = NETWORKS[net]
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        tiles = ela.pe_tile_count(n["in_ch"], n["out_ch"], n["out_dim"], KERNEL, xbar, ppt)
        area = ela.compute_area(n["in_ch"], n["in_dim"], n["out_ch"], n["out_dim"], xbar, KERNEL, ppt, tiles, device)
        energy = ela.compute_energy(n["in_ch"], n["in_dim"], n["out_ch"], n["out_dim"], xbar, KERNEL, tiles, device, T)
        ela.latency_gen(n["in_ch"], n["out_ch"], n["out_dim"], KERNEL, xbar, ppt, 26 * (1000 / clock), T)
    out = buf.getvalue()
    pes = float(re.search(r"No\. of PEs ([0-9.]+)", out).group(1))
    latency = float(re.search(r"Final Latency ([0-9.eE+-]+) ns", out).group(1))
    return {"network": net, "xbar": xbar, "pe_per_tile": ppt, "timesteps": T, "clock_mhz": clock, "device": device,
            "pes": pes, "tiles": float(tiles), "energy_pj": float(sum(energy)),
            "energy_pj_by_layer": [float(e) for e in energy],
            "area_um2": float(area[3]), "area_um2_parts": {"neuron_mem": float(area[0]), "pe_and_shift_add": float(area[1]),
                                                           "digital": float(area[2])},
            "latency_ns": latency}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--ela", required=True, help="path of SpikeSim's ela_spikesim.py")
    ap.add_argument("--commit", required=True, help="SpikeSim commit of that file (recorded)")
    ap.add_argument("--out", default=str(Path(__file__).resolve().parent / "ela_goldens.json"))
    ap.add_argument("--samples", type=int, default=240)
    ap.add_argument("--seed", type=int, default=15)
    a = ap.parse_args(argv)
    ela = load_ela(Path(a.ela))
    grid = list(itertools.product(NETWORKS, XBARS, PE_PER_TILE, TIMESTEPS, CLOCKS_MHZ, DEVICES))
    rng = random.Random(a.seed)
    cases = [("vgg9", 64, 8, 5, 250, "rram")] + rng.sample(grid, a.samples)
    # every crossbar size, PEs-per-tile value, network and device at least once with the rest at the default
    cases += [("vgg9", x, 8, 5, 250, "rram") for x in XBARS] + [("vgg9", 64, p, 5, 250, "rram") for p in PE_PER_TILE]
    cases += [(n, 64, 8, 5, 250, d) for n in NETWORKS for d in DEVICES]
    cases = list(dict.fromkeys(cases))
    hang = [c for c in cases if not latency_terminates(c[0], c[1])]
    cases = [c for c in cases if latency_terminates(c[0], c[1])]
    doc = {"header": {"generator": "tools/spikesim_golden/make_golden.py", "reference": "Intelligent-Computing-Lab-Yale/SpikeSim "
                      "SNN_train_infer_quantization_ela/ela_spikesim.py", "commit": a.commit, "kernel": KERNEL,
                      "pe_cycle_clocks": 26, "seed": a.seed, "networks": NETWORKS,
                      "left_out_latency_gen_never_ends": len(hang)},
           "cases": [run_case(ela, *c) for c in cases]}
    Path(a.out).write_text(json.dumps(doc, indent=0) + "\n")
    print(f"wrote {a.out}: {len(doc['cases'])} cases")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
