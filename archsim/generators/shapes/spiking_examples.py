"""The shape-only traces of STAtten, TT-SNN and ReSpike kept in ``examples/`` for the report
recipes, and the functions that make them (a test checks the files match)::

    python -m archsim.generators.shapes.spiking_examples examples/
"""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import Callable

from archsim.trace.io import Trace
from archsim.generators.shapes import respike, statten, ttsnn


def _examples() -> dict[str, Callable[[], Trace]]:
    out: dict[str, Callable[[], Trace]] = {}
    for c in (1, 2, 4):
        out[f"statten/cifar10_2_256_c{c}.trace"] = lambda c=c: statten.preset_trace("cifar10_2_256", chunk_size=c)
    out["statten/cifar10_2_256_sdt.trace"] = lambda: statten.preset_trace("cifar10_2_256", attention="sdt")
    for name in ("cifar10_2_512", "imagenet_8_512", "imagenet_8_768"):
        out[f"statten/{name}.trace"] = lambda name=name: statten.preset_trace(name)
    for net, preset in (("resnet18", "resnet18_cifar10"), ("resnet34", "resnet34_ncaltech101")):
        for schedule in ttsnn.SCHEDULES:
            out[f"ttsnn/{net}_{schedule}.trace"] = lambda p=preset, s=schedule: ttsnn.preset_trace(p, s)
    out["respike/group_stride4.trace"] = lambda: respike.respike_trace(stride=4)
    out["respike/group_stride4_kv_reuse.trace"] = lambda: respike.respike_trace(stride=4, kv_reuse=True)
    out["respike/ann_only_stride4.trace"] = lambda: respike.ann_only_trace(stride=4)
    return out


EXAMPLES = _examples()


def write_examples(root: str | Path) -> list[Path]:
    root = Path(root)
    paths = []
    for rel, make in EXAMPLES.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        paths.append(make().save(path))
    return paths


def main(argv=None) -> int:
    from archsim.cli.common import say_wrote

    p = argparse.ArgumentParser(description="write the STAtten / TT-SNN / ReSpike shape-only example traces")
    p.add_argument("root", type=Path, help="folder to write into (examples/)")
    args = p.parse_args(argv)
    for path in write_examples(args.root):
        say_wrote(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
