"""Accuracy claims over seeds: an experiment repeated with several seeds, each accuracy reported as
mean and spread, and each comparison the papers' claims rest on (TT-SNN's schedules against the
baseline, StableQ's progressive rounding against round-to-nearest) as per-seed differences with a
verdict that follows the numbers.

    archsim-workloads seeds -o reports/out [--only ttsnn stableq] [--seeds 0 1 2] [--stored-only]

writes ``OUT/seeds/<study>.json`` (and its Markdown twin), which ``reports/hetero_trained.yaml``
and ``reports/stableq.yaml`` show (``tables:``). A seed changes everything random in the experiment:

* ``ttsnn``: the baseline's training seed and, from that baseline, the seed of each TT schedule's
  fine-tuning (the registry models at ``seed=s``; seed 0 is the main job's committed checkpoints);
* ``stableq``: the FP ResNet-18's training seed and the draw of the real calibration images (the
  main job's configuration at seed 0; other seeds run its formats with real calibration only).

Accuracies are measured the same way for every seed: on the whole configured test split, TT-SNN on
the stored (float16-packed) weights as committed checkpoints are. Verdict of a comparison A - B:
``A > B`` (or ``A < B``) when the difference has that sign on every seed *and* its mean is more
than twice its standard error; otherwise ``not resolved``. Results are cached by configuration
(:mod:`workloads.result_cache`); the main job's are committed (``archsim-workloads results``).
"""
from __future__ import annotations

import argparse
import dataclasses
import math
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from workloads.result_cache import cached, file_name, find

CACHE_VERSION = 1
DEFAULT_SEEDS = (0, 1, 2)


@dataclass(frozen=True)
class SeedStudyConfig:
    study: str
    seeds: tuple[int, ...]
    runs: tuple[str, ...]      # the configuration key of each seed's experiment (stale when one changes)


@dataclass(frozen=True)
class Study:
    title: str
    seed_meaning: str
    comparisons: tuple[tuple[str, str], ...]     # (A, B): A - B per seed
    run_keys: Callable[[int], str]               # seed -> the configuration key of that seed's run
    measure: Callable[[int, bool], dict[str, float]]   # (seed, progress) -> {label: accuracy}


# --- TT-SNN: the registry's baseline and its three TT schedules ---------------------------------

def _tt_models() -> list[str]:
    from workloads.hetero_frontends import TRACES
    return list(TRACES["ttsnn"])


def _tt_label(model: str) -> str:
    return model.removeprefix("ttsnn-r18-fmnist").lstrip("-") or "baseline"


def _tt_keys(seed: int) -> str:
    from workloads.train import TrainConfig
    return ",".join(TrainConfig.for_model(m, "main", seed=seed).key() for m in _tt_models())


def _tt_measure(seed: int, progress: bool) -> dict[str, float]:
    from workloads.train import TrainConfig, load_or_train, stored_accuracy

    out = {}
    for m in _tt_models():
        trained = load_or_train(TrainConfig.for_model(m, "main", seed=seed), progress=progress)
        out[_tt_label(m)] = stored_accuracy(trained)
    return out


# --- StableQ: FP ResNet-18 and its W4A4 / W2A4 formats, progressive vs round-to-nearest ------------

def _sq_config(seed: int):
    from workloads.papers.stableq.study import StableQConfig

    main = StableQConfig()
    if seed == main.seed == main.train.seed:
        return main               # the main job's run (all calibration kinds): its result is shared
    return dataclasses.replace(main, seed=seed, train=dataclasses.replace(main.train, seed=seed),
                               calibrations=("real",))


def _sq_keys(seed: int) -> str:
    from workloads.result_cache import config_key
    from workloads.papers.stableq.study import CACHE_VERSION as SQ_VERSION
    return config_key(_sq_config(seed), SQ_VERSION)


def _sq_measure(seed: int, progress: bool) -> dict[str, float]:
    from workloads.papers.stableq import study as stableq

    cfg = _sq_config(seed)
    result = stableq.measure(cfg, progress=progress)
    out = {"fp": result["fp_accuracy"]}
    for r in result["runs"]:
        if r["calibration"] == "real":
            out[f"w{r['weight_bits']}a{r['act_bits']}-{r['method']}"] = r["accuracy"]
    return out


def _sq_comparisons() -> tuple[tuple[str, str], ...]:
    from workloads.papers.stableq.study import StableQConfig
    return tuple((f"w{w}a{a}-progressive", f"w{w}a{a}-rtn") for w, a in StableQConfig().formats)


STUDIES: dict[str, Callable[[], Study]] = {
    "ttsnn": lambda: Study(
        "TT-SNN (Fashion-MNIST): test accuracy of the baseline and the three TT schedules over training seeds",
        "training seed of the baseline and of each schedule's fine-tuning",
        (("stt", "baseline"), ("ptt", "stt"), ("htt", "stt")), _tt_keys, _tt_measure),
    "stableq": lambda: Study(
        "StableQ (ResNet-18, Fashion-MNIST, real calibration): test accuracy over seeds",
        "training seed of the FP network and draw of the calibration images",
        _sq_comparisons(), _sq_keys, _sq_measure),
}


def config(study: str, seeds: tuple[int, ...] = DEFAULT_SEEDS) -> SeedStudyConfig:
    if study not in STUDIES:
        raise KeyError(f"seed study {study!r}: expected one of {', '.join(STUDIES)}")
    if len(set(seeds)) < 3:
        raise ValueError(f"seed study {study!r}: a spread needs at least 3 distinct seeds, got {list(seeds)}")
    s = STUDIES[study]()
    return SeedStudyConfig(study, tuple(seeds), tuple(s.run_keys(seed) for seed in seeds))


def cache_entry(study: str, seeds: tuple[int, ...] = DEFAULT_SEEDS):
    """``(experiment, configuration, version)`` under which :func:`measure` stores the result."""
    return f"seeds-{study}", config(study, seeds), CACHE_VERSION


def summary(values: list[float]) -> dict:
    n = len(values)
    mean = sum(values) / n
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1)) if n > 1 else float("nan")
    return {"values": values, "mean": mean, "sd": sd, "min": min(values), "max": max(values), "n": n}


def verdict(diffs: list[float], a: str, b: str) -> str:
    """``A > B`` / ``A < B`` when every seed agrees in sign and the mean exceeds twice its standard
    error; else ``not resolved``."""
    s = summary(diffs)
    se = s["sd"] / math.sqrt(s["n"])
    if all(d > 0 for d in diffs) and s["mean"] > 2 * se:
        return f"{a} > {b}"
    if all(d < 0 for d in diffs) and -s["mean"] > 2 * se:
        return f"{a} < {b}"
    return "not resolved"


def aggregate(study: Study, per_seed: dict[int, dict[str, float]]) -> dict:
    seeds = sorted(per_seed)
    labels = [k for k in per_seed[seeds[0]]]
    missing = [(s, k) for s in seeds for k in labels if k not in per_seed[s]]
    if missing:
        raise ValueError(f"seed study: seed {missing[0][0]} has no accuracy for {missing[0][1]!r}")
    acc = {k: summary([per_seed[s][k] for s in seeds]) for k in labels}
    comps = []
    for a, b in study.comparisons:
        diffs = [per_seed[s][a] - per_seed[s][b] for s in seeds]
        comps.append({"a": a, "b": b, **summary(diffs), "verdict": verdict(diffs, a, b)})
    return {"title": study.title, "seed_meaning": study.seed_meaning, "seeds": seeds,
            "accuracy": acc, "comparisons": comps}


def measure(study: str, seeds: tuple[int, ...] = DEFAULT_SEEDS, refresh: bool = False,
            progress: bool = True) -> dict:
    experiment, cfg, version = cache_entry(study, seeds)
    s = STUDIES[study]()

    def compute() -> dict:
        return aggregate(s, {seed: s.measure(seed, progress) for seed in cfg.seeds})
    return cached(experiment, cfg, compute, version=version, refresh=refresh)


def _pct(x: float) -> str:
    return f"{100 * x:.2f}"


def tables(result: dict) -> list[dict]:
    seeds = result["seeds"]
    acc_rows = [[k, *(_pct(v) for v in a["values"]), _pct(a["mean"]), _pct(a["sd"])]
                for k, a in result["accuracy"].items()]
    cmp_rows = [[f"{c['a']} - {c['b']}", *(_pct(v) for v in c["values"]), _pct(c["mean"]), _pct(c["sd"]),
                 c["verdict"]] for c in result["comparisons"]]
    seed_cols = [f"seed {s} (%)" for s in seeds]
    return [
        {"title": result["title"], "columns": ["model", *seed_cols, "mean (%)", "sd (points)"], "rows": acc_rows,
         "notes": f"A seed sets the {result['seed_meaning']}; sd is the sample standard deviation over "
                  f"{len(seeds)} seeds."},
        {"title": "Differences per seed (percentage points) and what they support",
         "columns": ["A - B", *seed_cols, "mean", "sd", "verdict"], "rows": cmp_rows,
         "notes": "Verdict: a direction only when every seed agrees in sign and the mean difference exceeds "
                  "twice its standard error (sd / sqrt(seeds)); otherwise not resolved."},
    ]


def main(argv=None) -> int:
    from workloads.papers.vit.studies import write_tables

    p = argparse.ArgumentParser(prog="archsim-workloads seeds", description=__doc__.split("\n\n")[0])
    p.add_argument("-o", "--out", type=Path, required=True, help="output folder (writes OUT/seeds/<study>.json)")
    p.add_argument("--only", nargs="+", choices=sorted(STUDIES), help="these studies alone (default: all)")
    p.add_argument("--seeds", nargs="+", type=int, default=list(DEFAULT_SEEDS), help="at least 3 (default 0 1 2)")
    p.add_argument("--refresh", action="store_true", help="recompute instead of reading the result caches")
    p.add_argument("--stored-only", action="store_true",
                   help="read a stored result (local cache or results/) and never compute one: a study without "
                        "one gets a table saying so (the main job: a study costs hours on a CPU)")
    p.add_argument("-q", "--quiet", action="store_true")
    from workloads.device import add_argument, set_default
    add_argument(p)
    args = p.parse_args(argv)
    set_default(args.device)
    for study in args.only or list(STUDIES):
        try:
            config(study, tuple(args.seeds))
        except ValueError as exc:
            p.error(f"--seeds: {exc}")
        path = args.out / "seeds" / f"{study}.json"
        if args.stored_only and not args.refresh and find(file_name(*cache_entry(study, tuple(args.seeds)))) is None:
            how = f"archsim-workloads results --commit --only 'seeds {study}'"
            print(f"warning: seeds {study}: no stored result for this configuration; not computed "
                  f"(--stored-only). Compute and commit it with `{how}`.", file=sys.stderr)
            write_tables(path, [{"title": STUDIES[study]().title, "columns": ["status"],
                                 "rows": [["not computed: no stored result for the current configuration"]],
                                 "notes": f"Compute it with `{how}` (trains every seed; hours on a CPU)."}])
            continue
        result = measure(study, tuple(args.seeds), refresh=args.refresh, progress=not args.quiet)
        write_tables(path, tables(result), {"result": result})
        for c in result["comparisons"]:
            print(f"{study}: {c['a']} - {c['b']}: {100 * c['mean']:+.2f} +- {100 * c['sd']:.2f} points -> {c['verdict']}")
        print(f"{study}: wrote {path}")
    return 0
