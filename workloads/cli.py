"""``archsim-workloads``: train, prune and export the frontends' models as archsim traces.

    archsim-workloads list
    archsim-workloads train loas-vgg16 [--device auto|cpu|cuda]
    archsim-workloads train --all --commit           # (re)build the committed checkpoints
    archsim-workloads checkpoints                     # committed checkpoints: provenance, fresh or stale
    archsim-workloads export loas-vgg16 --timesteps 4 --dataset fashion-mnist -o vgg16.trace
    archsim-workloads export loas-vgg16 --strong-finetune 1 -o vgg16-strong.trace
    archsim-workloads trace my_model.py:build --input "randn(1,3,32,32)" -o my.trace

The papers' studies and the main job's PyTorch steps are subcommands too, each handing its
arguments to its module's ``main`` (``archsim-workloads COMMAND --help`` shows them):

    archsim-workloads quant -o reports/traces [--only stableq llm pcl]       # StableQ, TesseraQ, PCL traces
    archsim-workloads hetero -o reports/traces [--only statten ttsnn respike] # STAtten, TT-SNN, ReSpike traces
    archsim-workloads vit-studies -o reports/out                              # small ViT: TReX, ClipFormer
    archsim-workloads stableq run | export -o reports/traces
    archsim-workloads tesseraq run --bits 2 3 4 | export -o traces/
    archsim-workloads pcl                                                      # continual learning alone
    archsim-workloads seeds -o reports/out [--only ttsnn stableq]            # accuracy over seeds
    archsim-workloads results [--commit [--refresh]]                           # committed results (results/)

Training runs once per configuration: a model comes from the local cache (``data/checkpoints/``,
or ``--cache-dir``), else from the project's committed checkpoints (``checkpoints/``), else it is
trained (``--device``) and cached. ``--retrain`` ignores both.
"""
from __future__ import annotations

import argparse
import importlib
import sys
from functools import partial

# subcommands that hand their arguments to a module's main(argv): name -> (module, help)
DELEGATED = {
    "quant": ("workloads.quant_frontends", "main job step: StableQ, TesseraQ (SmolLM2) and PCL traces and figures"),
    "hetero": ("workloads.hetero_frontends", "main job step: STAtten, TT-SNN and ReSpike trained and traced"),
    "vit-studies": ("workloads.papers.vit.studies", "main job step: the small ViT, TReX's search, ClipFormer's tables"),
    "stableq": ("workloads.papers.stableq.study", "StableQ: data-scarce quantisation of a ResNet-18 (run, export)"),
    "tesseraq": ("workloads.papers.tesseraq.study",
                 "TesseraQ: SmolLM2-135M quantised, perplexity and traces (run, export)"),
    "pcl": ("workloads.papers.pcl.study", "prompt-based continual learning, one- vs two-stage, on Fashion-MNIST"),
    "seeds": ("workloads.seed_spread", "main job step: accuracy claims over seeds (TT-SNN, StableQ), mean and spread"),
    "results": ("workloads.committed_results", "the main job's committed experiment results (results/): list, --commit"),
}


def _sets(items) -> dict:
    import yaml

    out = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"--set {item!r}: expected KEY=VALUE")
        out[key.strip()] = yaml.safe_load(value)
    return out


def _train_args(p, optional_model: bool = False) -> None:
    if optional_model:
        p.add_argument("model", nargs="?", help="model name (see `archsim-workloads list`); or --all")
    else:
        p.add_argument("model", help="model name (see `archsim-workloads list`)")
    p.add_argument("--schedule", default="main", help="named training schedule of the model (default: main)")
    p.add_argument("--timesteps", type=int, help="T (default: the schedule's, 4 for the LoAS models)")
    p.add_argument("--dataset", choices=("fashion-mnist", "digits"), help="training and test data")
    p.add_argument("--encoding", choices=("direct", "rate"), help="input encoding of an SNN")
    p.add_argument("--set", action="append", metavar="KEY=VALUE",
                   help="override a training setting (train_size, dense_epochs, prune_rounds, "
                        "target_sparsity, retrain_epochs, lr, seed, ...)")
    p.add_argument("--strong-finetune", type=int, metavar="EPOCHS",
                   help="LoAS strong mode: silence neurons firing once in T and fine-tune EPOCHS epochs")
    p.add_argument("--strong-images", type=int, metavar="N", help="training images used by the strong fine-tune")
    p.add_argument("--strong", action="store_true",
                   help="LoAS strong mode with the registry's fine-tune for this model (the main job's)")
    p.add_argument("--cache-dir", help="checkpoint cache (default: data/checkpoints)")
    p.add_argument("--retrain", action="store_true", help="ignore cached and committed checkpoints: train again")
    from workloads.device import add_argument
    add_argument(p)
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bars")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="archsim-workloads",
                                     description="Train, prune and export workload models as archsim traces.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    sub.add_parser("list", help="registered models and their schedules").set_defaults(func=run_list)
    t = sub.add_parser("train", help="train (or load from the cache) and print the metrics")
    _train_args(t, optional_model=True)
    t.add_argument("--all", action="store_true",
                   help="every registered model's schedule (and the main job's strong-mode fine-tunes)")
    t.add_argument("--commit", action="store_true",
                   help="store the result among the committed checkpoints (checkpoints/), with provenance")
    t.set_defaults(func=run_train)
    c = sub.add_parser("checkpoints", help="committed checkpoints: accuracy, size, provenance, fresh or stale")
    c.set_defaults(func=run_checkpoints)
    e = sub.add_parser("export", help="run the trained model on real test images and write a trace")
    _train_args(e)
    e.add_argument("-o", "--out", required=True, help="trace file to write")
    e.add_argument("--batch", type=int, default=1, help="test images per trace (default 1)")
    e.add_argument("--start", type=int, default=0, help="index of the first test image (default 0)")
    e.add_argument("--weight-bits", type=int, default=8,
                   help="weights stored as integers of this width per output channel (0: float32)")
    e.set_defaults(func=run_export)
    tr = sub.add_parser("trace", help="trace your own model: FILE.py:FUNCTION returning an nn.Module",
                        description="Run your model once on an input and write its trace (every aten op that "
                                    "computes; spiking neurons of snnTorch, SpikingJelly, Norse and ours as lif ops).")
    tr.add_argument("target", metavar="FILE.py:FUNCTION", help="a Python file and the function that builds the model")
    tr.add_argument("--input", required=True, metavar="SPEC",
                    help='input: randn(1,3,32,32) / rand(...) / zeros(...) / ones(...), or a .npy / .pt tensor file')
    tr.add_argument("--timesteps", type=int, help="T of a spiking network (default: model.timesteps or 1)")
    tr.add_argument("-o", "--out", required=True, help="trace file to write")
    tr.add_argument("--name", help="model name in the trace header (default: the function's name)")
    tr.add_argument("--checkpoint", metavar="PT", help="state dict to load into the model (weights: pretrained)")
    tr.add_argument("--weights", choices=("trained", "pretrained", "random_init"),
                    help="provenance of the weights (default: pretrained with --checkpoint, else random_init)")
    tr.add_argument("--dataset", choices=("fashion-mnist", "digits"),
                    help="run on real test images of this data set, sized like --input (inputs: real)")
    tr.add_argument("--start", type=int, default=0, help="first test image with --dataset (default 0)")
    tr.add_argument("--seed", type=int, default=0, help="seed of randn/rand inputs (default 0)")
    tr.add_argument("--weight-bits", type=int, default=8,
                    help="weights stored as integers of this width per output channel (0: float32)")
    tr.set_defaults(func=run_trace)
    for name, (module, text) in DELEGATED.items():   # listed here; main() hands them their arguments
        sub.add_parser(name, help=text, add_help=False)
    return parser


def _config(args):
    from workloads.train import StrongConfig, TrainConfig

    over = _sets(args.set)
    for key in ("timesteps", "dataset", "encoding"):
        if getattr(args, key) is not None:
            over[key] = getattr(args, key)
    cfg = TrainConfig.for_model(args.model, args.schedule, **over)
    strong = None
    if args.strong:
        from workloads.registry import get

        if args.strong_finetune is not None or args.strong_images is not None:
            raise ValueError("--strong takes the registry's fine-tune: give it without --strong-finetune/--strong-images")
        if get(args.model).strong is None:
            raise ValueError(f"--strong: model {args.model!r} has no strong-mode fine-tune in the registry")
        strong = StrongConfig(**get(args.model).strong)
    elif args.strong_finetune is not None:
        strong = StrongConfig(epochs=args.strong_finetune, images=args.strong_images)
    return cfg, strong


def run_list(args) -> int:
    from workloads.registry import MODELS

    for name, e in MODELS.items():
        print(f"{name:<16} {e.kind:<4} {e.description}  [schedules: {', '.join(e.schedules)}]")
    return 0


def _all_configs(args):
    """(config, strong) of every registered model's schedule, parents before children."""
    from workloads.registry import MODELS
    from workloads.train import StrongConfig, TrainConfig

    if args.model or args.set or args.strong_finetune is not None or args.strong:
        raise ValueError("train --all takes no model, --set or --strong-finetune (it trains the registry's schedules)")
    out = []
    for name, entry in MODELS.items():
        if args.schedule not in entry.schedules:
            continue
        cfg = TrainConfig.for_model(name, args.schedule)
        out.append((cfg, None))
        if entry.strong is not None and args.schedule == "main":
            out.append((cfg, StrongConfig(**entry.strong)))
    return out


def _command(cfg, strong, schedule: str) -> str:
    text = f"archsim-workloads train {cfg.model} --schedule {schedule}"
    if strong is not None:
        text += f" --strong-finetune {strong.epochs}" + (f" --strong-images {strong.images}" if strong.images else "")
    return text + " --retrain --commit"


def run_train(args) -> int:
    import time

    from workloads.device import set_default
    from workloads.train import commit_checkpoint, load_or_train

    set_default(args.device)
    if args.all:
        jobs = _all_configs(args)
    elif args.model:
        jobs = [_config(args)]
    else:
        raise ValueError("train: name a model or pass --all")
    if args.all and args.commit and args.schedule == "main":
        from workloads.papers.vit import small_vit

        if args.retrain:
            small_vit.load_or_train(small_vit.SmallViTConfig(), refresh=True, progress=not args.quiet)
        print(f"small-vit: committed {small_vit.commit(progress=not args.quiet)}")
    for cfg, strong in jobs:
        t0 = time.perf_counter()
        trained = load_or_train(cfg, strong, args.cache_dir, progress=not args.quiet, retrain=args.retrain,
                                device=args.device)
        where = trained.path or "the committed checkpoints"
        print(f"{cfg.model}{' (strong)' if strong else ''}: {where} ({time.perf_counter() - t0:.0f} s)")
        for k, v in trained.metrics.items():
            if isinstance(v, (int, float)):
                print(f"  {k:<36} {v:.4f}")
        if args.commit:
            path = commit_checkpoint(trained, _command(cfg, strong, args.schedule), schedule=args.schedule,
                                     device=args.device)
            print(f"  committed {path}")
    return 0


def run_checkpoints(args) -> int:
    from workloads import checkpoints
    from workloads.checkpoint_status import status

    rows = checkpoints.entries()
    if not rows:
        print(f"no committed checkpoints in {checkpoints.committed_dir()}")
        return 0
    for prov in rows:
        acc = prov["metrics"].get("accuracy_top1")
        print(f"{prov['name']:<28} {status(prov):<6} acc {100 * acc:6.2f} %  {prov['bytes'] / 1e6:6.2f} MB  "
              f"{prov['device']:<10} {prov['wall_time_s']:>7.0f} s  {prov['command']}")
    return 0


def run_export(args) -> int:
    from workloads.device import set_default
    from workloads.frontend import export_trained
    from workloads.train import load_or_train

    set_default(args.device)
    cfg, strong = _config(args)
    trained = load_or_train(cfg, strong, args.cache_dir, progress=not args.quiet, retrain=args.retrain)
    trace = export_trained(trained, start=args.start, batch=args.batch,
                           weight_bits=args.weight_bits or None)
    path = trace.save(args.out)
    m = trace.header.metrics
    print(f"wrote {path} ({len(trace.ops)} ops; {trace.header.dataset}; "
          f"test accuracy {100 * m['accuracy_top1']:.2f} %)")
    return 0


def run_trace(args) -> int:
    import warnings

    import workloads
    from workloads.capture import inputs

    x, desc, provenance_in = inputs.parse_input(args.input, seed=args.seed)
    model = inputs.build_model(args.target)
    notes = [f"model built by {args.target}"]
    weights = args.weights or ("pretrained" if args.checkpoint else "random_init")
    if args.checkpoint:
        inputs.load_checkpoint(model, args.checkpoint)
        notes.append(f"weights loaded from {args.checkpoint}")
    elif weights != "random_init":
        notes.append(f"weights declared {weights} by the user (--weights)")
    dataset = ""
    if args.dataset:
        x, dataset = inputs.dataset_batch(args.dataset, args.start, int(x.shape[0]), x)
        desc, provenance_in = f"{dataset}, 8-bit pixels scaled to [0, 1]", "real"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        trace = workloads.trace(model, x, timesteps=args.timesteps, name=args.name or args.target.rpartition(":")[2],
                                weights=weights, inputs=provenance_in, notes="; ".join(notes), dataset=dataset,
                                input_description=desc, seed=args.seed, weight_bits=args.weight_bits or None,
                                config={"target": args.target, "input": args.input})
    for w in caught:
        print(f"archsim-workloads: warning: {w.message}", file=sys.stderr)
    path = trace.save(args.out)
    from archsim.trace.summary import unmodelled_line

    macs = sum(op.macs * op.timesteps for op in trace.ops)
    print(f"wrote {path} ({len(trace.ops)} ops, {macs / 1e6:.3f} M MACs, T={trace.header.timesteps}; "
          f"weights {weights}, inputs {provenance_in})")
    print(unmodelled_line(trace))
    return 0


def run_delegated(name: str, argv: list[str]) -> int:
    """``archsim-workloads NAME ARGS...``: the module's own ``main(ARGS)`` parses and runs."""
    return int(importlib.import_module(DELEGATED[name][0]).main(argv) or 0)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv and argv[0] in DELEGATED:
        run = partial(run_delegated, argv[0], argv[1:])
    else:
        args = build_parser().parse_args(argv)
        run = partial(args.func, args)
    try:
        return int(run() or 0)
    except (KeyError, ValueError) as exc:
        msg = exc.args[0] if isinstance(exc, KeyError) and exc.args else str(exc)
        print(f"archsim-workloads: error: {msg}", file=sys.stderr)
        return 2
    except Exception as exc:   # data set missing, bad trace path...
        from archsim.errors import ArchsimError
        from workloads.data import DatasetUnavailable

        if isinstance(exc, (ArchsimError, DatasetUnavailable, OSError)):
            print(f"archsim-workloads: error: {exc}", file=sys.stderr)
            return 2
        raise
    except KeyboardInterrupt:
        print("archsim-workloads: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
