"""``archsim-workloads``: train, prune and export the frontends' models as archsim traces.

    archsim-workloads list
    archsim-workloads train loas-vgg16
    archsim-workloads export loas-vgg16 --timesteps 4 --dataset fashion-mnist -o vgg16.trace
    archsim-workloads export loas-vgg16 --strong-finetune 1 -o vgg16-strong.trace

Training runs once per configuration; the checkpoint is cached (``data/checkpoints/``, or
``--cache-dir``) and reused by every later export.
"""
from __future__ import annotations

import argparse
import sys


def _sets(items) -> dict:
    import yaml

    out = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"--set {item!r}: expected KEY=VALUE")
        out[key.strip()] = yaml.safe_load(value)
    return out


def _train_args(p) -> None:
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
    p.add_argument("--cache-dir", help="checkpoint cache (default: data/checkpoints)")
    p.add_argument("--retrain", action="store_true", help="ignore a cached checkpoint")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bars")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="archsim-workloads",
                                     description="Train, prune and export workload models as archsim traces.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    sub.add_parser("list", help="registered models and their schedules").set_defaults(func=run_list)
    t = sub.add_parser("train", help="train (or load from the cache) and print the metrics")
    _train_args(t)
    t.set_defaults(func=run_train)
    e = sub.add_parser("export", help="run the trained model on real test images and write a trace")
    _train_args(e)
    e.add_argument("-o", "--out", required=True, help="trace file to write")
    e.add_argument("--batch", type=int, default=1, help="test images per trace (default 1)")
    e.add_argument("--start", type=int, default=0, help="index of the first test image (default 0)")
    e.add_argument("--weight-bits", type=int, default=8,
                   help="weights stored as integers of this width per output channel (0: float32)")
    e.set_defaults(func=run_export)
    return parser


def _config(args):
    from workloads.train import StrongConfig, TrainConfig

    over = _sets(args.set)
    for key in ("timesteps", "dataset", "encoding"):
        if getattr(args, key) is not None:
            over[key] = getattr(args, key)
    cfg = TrainConfig.for_model(args.model, args.schedule, **over)
    strong = None
    if args.strong_finetune is not None:
        strong = StrongConfig(epochs=args.strong_finetune, images=args.strong_images)
    return cfg, strong


def run_list(args) -> int:
    from workloads.registry import MODELS

    for name, e in MODELS.items():
        print(f"{name:<16} {e.kind:<4} {e.description}  [schedules: {', '.join(e.schedules)}]")
    return 0


def run_train(args) -> int:
    from workloads.train import load_or_train

    cfg, strong = _config(args)
    trained = load_or_train(cfg, strong, args.cache_dir, progress=not args.quiet, retrain=args.retrain)
    print(f"{cfg.model}: checkpoint {trained.path}")
    for k, v in trained.metrics.items():
        print(f"  {k:<36} {v:.4f}")
    return 0


def run_export(args) -> int:
    from workloads.frontend import export_trained
    from workloads.train import load_or_train

    cfg, strong = _config(args)
    trained = load_or_train(cfg, strong, args.cache_dir, progress=not args.quiet, retrain=args.retrain)
    trace = export_trained(trained, start=args.start, batch=args.batch,
                           weight_bits=args.weight_bits or None, progress=not args.quiet)
    path = trace.save(args.out)
    m = trace.header.metrics
    print(f"wrote {path} ({len(trace.ops)} ops; {trace.header.dataset}; "
          f"test accuracy {100 * m['accuracy_top1']:.2f} %)")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
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
