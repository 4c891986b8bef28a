"""StableQ frontend (Data-scarce quantisation, arXiv 2312.05272): a ResNet-18 trained here on
Fashion-MNIST, post-training quantised to W4A4 and W2A4 (first and last layers 8-bit) with
calibration data of three kinds:

* ``real``: ``calib_images`` training images (a random, seeded subset);
* ``fewshot``: ``fewshot_per_class`` real training image(s) of each class (10 images by default);
* ``zeroshot``: ``calib_images`` synthetic images made from the FP network alone by batch-norm
  statistics inversion (:func:`workloads.papers.stableq.cnn.bn_statistics_inversion`). StableQ generates
  its images with a text-to-image diffusion model; none is available offline, so this simple
  generator stands in for it.

Weights are quantised per output channel (asymmetric), activations per tensor with calibrated
static ranges; the weight rounding is fitted layer by layer on the calibration images by
progressive rounding (``rtn``: round to nearest, for reference). Accuracy is measured on the
first ``test_size`` Fashion-MNIST test images. Results and the FP checkpoint are cached.

    archsim-workloads stableq run
    archsim-workloads stableq export -o reports/traces
"""
from __future__ import annotations

import argparse
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch

from workloads.determinism import pinned
from workloads.quant.progressive import ProgressiveConfig
from workloads.result_cache import cached, config_key, results_dir, stored_folder

CACHE_VERSION = 1


@dataclass(frozen=True)
class CnnTrainConfig:
    image_size: int = 32
    stem: str = "imagenet"
    train_size: int = 12000
    test_size: int = 2000
    epochs: int = 3
    batch_size: int = 128
    lr: float = 2e-3
    seed: int = 0
    threads: int = 2


@dataclass(frozen=True)
class StableQConfig:
    train: CnnTrainConfig = field(default_factory=CnnTrainConfig)
    formats: tuple[tuple[int, int], ...] = ((4, 4), (2, 4))     # (weight bits, activation bits)
    calibrations: tuple[str, ...] = ("real", "fewshot", "zeroshot")
    methods: tuple[str, ...] = ("progressive", "rtn")
    calib_images: int = 128
    fewshot_per_class: int = 1
    inversion_steps: int = 100
    progressive: ProgressiveConfig = field(default_factory=lambda: ProgressiveConfig(iters=20, batch_size=64))
    baseline_bits: tuple[int, int] = (8, 8)       # a W8A8 round-to-nearest model on real data, for reference
    trace_images: int = 1                         # test images in each exported trace (batch)
    seed: int = 0


def load_data(cfg: CnnTrainConfig) -> dict[str, torch.Tensor]:
    from workloads.data import load
    xtr, ytr = load("fashion-mnist", "train", size=cfg.image_size, channels=1)
    xte, yte = load("fashion-mnist", "test", size=cfg.image_size, channels=1, limit=cfg.test_size)
    xtr, xte = torch.as_tensor(xtr), torch.as_tensor(xte)
    mean, std = float(xtr[:cfg.train_size].mean()), float(xtr[:cfg.train_size].std())
    return {"x_train": (xtr - mean) / std, "y_train": torch.as_tensor(ytr).long(),
            "x_test": (xte - mean) / std, "y_test": torch.as_tensor(yte).long(), "mean": mean, "std": std}


def checkpoint_key(cfg: CnnTrainConfig) -> str:
    return config_key(cfg, CACHE_VERSION)


def train_fp(cfg: CnnTrainConfig, data: dict, progress: bool = True,
             device: str | torch.device | None = None) -> tuple[torch.nn.Module, dict]:
    """The FP ResNet-18, trained (Adam, one-cycle schedule) on the first ``train_size`` training
    images on ``device``, or loaded from the checkpoint store (workloads.checkpoints)."""
    from workloads import checkpoints
    from workloads.device import describe, resolve
    from workloads.models.resnet import resnet18
    from workloads.papers.stableq.cnn import accuracy
    from workloads.training import fit

    torch.set_num_threads(cfg.threads)
    model = resnet18(num_classes=10, in_channels=1, stem=cfg.stem)
    # no committed FP checkpoint: StableQ's measured numbers are committed as results instead
    stored = checkpoints.load("stableq-resnet18", checkpoint_key(cfg), committed=False)
    if stored is not None:
        model.load_state_dict(stored.blob["state"])
        return model.eval(), stored.blob["metrics"]
    dev = resolve(device)
    model.to(dev)
    torch.manual_seed(cfg.seed)
    t0 = time.perf_counter()
    with pinned(cfg.threads):
        fit(model, data["x_train"][:cfg.train_size], data["y_train"][:cfg.train_size], epochs=cfg.epochs,
            batch_size=cfg.batch_size, lr=cfg.lr, schedule="one-cycle", seed=cfg.seed,
            desc="ResNet-18 Fashion-MNIST", progress=progress)
        model.eval().cpu()
        metrics = {"accuracy_top1": accuracy(model, data["x_test"], data["y_test"]),
                   "train_time_s": time.perf_counter() - t0, "device": describe(dev)}
    checkpoints.save("stableq-resnet18", checkpoint_key(cfg),
                     {"state": model.state_dict(), "metrics": metrics, "config": asdict(cfg)})
    return model, metrics


def calibration_images(kind: str, cfg: StableQConfig, model: torch.nn.Module, data: dict,
                       progress: bool = True) -> tuple[torch.Tensor, str]:
    """(images, description) of one calibration kind."""
    from workloads.papers.stableq.cnn import bn_statistics_inversion

    g = torch.Generator().manual_seed(cfg.seed)
    pool_x = data["x_train"][cfg.train.train_size:]       # images the FP model was not trained on
    pool_y = data["y_train"][cfg.train.train_size:]
    if kind == "real":
        idx = torch.randperm(len(pool_x), generator=g)[:cfg.calib_images]
        return pool_x[idx], f"{cfg.calib_images} real training images"
    if kind == "fewshot":
        idx = torch.cat([(pool_y == c).nonzero().reshape(-1)[:cfg.fewshot_per_class] for c in range(10)])
        return pool_x[idx], f"{len(idx)} real training images ({cfg.fewshot_per_class} per class)"
    if kind == "zeroshot":
        shape = tuple(data["x_train"].shape[1:])
        x, _ = bn_statistics_inversion(model, cfg.calib_images, shape, steps=cfg.inversion_steps, seed=cfg.seed,
                                       progress=progress)
        return x, f"{cfg.calib_images} synthetic images (batch-norm statistics inversion, {cfg.inversion_steps} steps)"
    raise ValueError(f"calibration {kind!r}: expected real, fewshot or zeroshot")


def run(cfg: StableQConfig, progress: bool = True, keep_models: bool = False) -> dict:
    """FP accuracy, the W8A8 reference, then each (format, calibration, method): accuracy of the
    quantised network (a fixed thread count and deterministic algorithms throughout)."""
    torch.set_num_threads(cfg.train.threads)
    with pinned(cfg.train.threads):
        return _run(cfg, progress, keep_models)


def _run(cfg: StableQConfig, progress: bool, keep_models: bool) -> dict:
    from workloads.papers.stableq.cnn import accuracy, fold_batchnorm, quantize_cnn

    data = load_data(cfg.train)
    fp, fp_metrics = train_fp(cfg.train, data, progress)
    folded = fold_batchnorm(fp)
    out: dict = {"fp_accuracy": fp_metrics["accuracy_top1"], "fp_train_time_s": fp_metrics["train_time_s"],
                 "test_images": len(data["y_test"]), "runs": [], "models": {}}
    calib_sets = {}
    for kind in cfg.calibrations:
        t0 = time.perf_counter()
        x, desc = calibration_images(kind, cfg, fp, data, progress)
        calib_sets[kind] = (x, desc, time.perf_counter() - t0)
    plan = [(*cfg.baseline_bits, "real", "rtn")] if "real" in cfg.calibrations else []
    plan += [(w, a, kind, method) for w, a in cfg.formats for kind in cfg.calibrations for method in cfg.methods]
    for w_bits, a_bits, kind, method in plan:
        x, desc, t_gen = calib_sets[kind]
        t0 = time.perf_counter()
        q, stats = quantize_cnn(folded, x, w_bits, a_bits, method=method, cfg=cfg.progressive)
        acc = accuracy(q, data["x_test"], data["y_test"])
        label = f"w{w_bits}a{a_bits}-{kind}-{method}"
        out["runs"].append({"label": label, "weight_bits": w_bits, "act_bits": a_bits, "calibration": kind,
                            "calibration_description": desc, "method": method, "accuracy": acc,
                            "calibration_time_s": t_gen, "quantize_time_s": time.perf_counter() - t0,
                            "layer_mse_rtn": stats["mse_rtn"], "layer_mse_final": stats["mse_final"]})
        if keep_models:
            out["models"][label] = q
        if progress:
            print(f"{label:32s} accuracy {acc:.4f}", flush=True)
    out["trace_input"] = data["x_test"][:cfg.trace_images]
    return out


def trace_labels(cfg: StableQConfig) -> list[str]:
    """The quantised models exported as traces: the W8A8 reference and each format calibrated on
    real images with progressive rounding."""
    w, a = cfg.baseline_bits
    return [f"w{w}a{a}-real-rtn"] + [f"w{w}a{a}-real-progressive" for w, a in cfg.formats]


def traces_folder(cfg: StableQConfig) -> str:
    """The name of the folder (in the results cache) holding ``cfg``'s exported traces."""
    return f"stableq-traces-{config_key(cfg, CACHE_VERSION)}"


def trace_names(cfg: StableQConfig) -> list[str]:
    return [f"resnet18-fmnist-{label}.trace" for label in trace_labels(cfg)]


def export_traces(cfg: StableQConfig, out_dir: str | Path, refresh: bool = False, progress: bool = True) -> dict:
    """Run the experiment (or read its cached numbers) and write ``resnet18-fmnist-<label>.trace``
    for :func:`trace_labels` into ``out_dir``. The traces are cached beside the numbers (the
    quantised models are not), so the quantisation reruns only when the cache lacks a trace."""
    from archsim.fileio import atomic_path
    from archsim.trace.schema import Header, Provenance
    from workloads.papers.stableq.export import export_quantized_cnn

    out_dir = Path(out_dir)
    names = trace_names(cfg)
    stored = results_dir() / traces_folder(cfg)

    def publish(source: Path) -> None:
        for name in names:
            with atomic_path(out_dir / name) as tmp:
                shutil.copyfile(source / name, tmp)

    if not refresh:
        found = stored_folder(traces_folder(cfg), names)     # local cache, then the committed results
        if found is not None:
            publish(found)
            return measure(cfg, progress=progress)
        if all((out_dir / name).exists() for name in names):   # exported before the traces were cached
            return measure(cfg, progress=progress)
    paths = dict(zip(trace_labels(cfg), (stored / name for name in names)))

    holder: dict = {}

    def compute():
        r = run(cfg, progress, keep_models=True)
        holder.update(models=r.pop("models"), trace_input=r.pop("trace_input"))
        return r
    result = cached("stableq-resnet18", cfg, compute, version=CACHE_VERSION, refresh=True)
    by_label = {r["label"]: r for r in result["runs"]}
    for label, path in paths.items():
        r = by_label[label]
        # source: the label the committed traces carry (a name, not this module's path)
        header = Header(
            model=f"resnet18-fmnist-{label}", source="workloads.stableq (StableQ frontend, arXiv 2312.05272)",
            dataset=f"fashion-mnist test[0:{cfg.trace_images}] (1x{cfg.train.image_size}x{cfg.train.image_size})",
            input_description="normalised grey image, zero-padded 28 -> 32", seed=cfg.seed,
            provenance=Provenance(weights="trained", inputs="real", notes=(
                f"ResNet-18 trained here on Fashion-MNIST, post-training quantised to W{r['weight_bits']}A{r['act_bits']} "
                f"(first/last layers 8-bit) with {r['method']} rounding on {r['calibration_description']}; weights are "
                "the real integer codes")),
            metrics={"accuracy_top1": r["accuracy"], "fp_accuracy_top1": result["fp_accuracy"]},
            config={"weight_bits": r["weight_bits"], "act_bits": r["act_bits"], "calibration": r["calibration"],
                    "method": r["method"], "test_images": result["test_images"]})
        export_quantized_cnn(holder["models"][label], holder["trace_input"], header).save(path)
    publish(stored)
    return result


def cache_entry(cfg: StableQConfig = StableQConfig()) -> tuple[str, StableQConfig, int]:
    """``(experiment, configuration, version)`` under which :func:`measure` stores the result."""
    return "stableq-resnet18", cfg, CACHE_VERSION


def measure(cfg: StableQConfig = StableQConfig(), refresh: bool = False, progress: bool = True) -> dict:
    def compute():
        r = run(cfg, progress)
        r.pop("models")
        r.pop("trace_input")
        return r
    return cached("stableq-resnet18", cfg, compute, version=CACHE_VERSION, refresh=refresh)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="archsim-workloads stableq", description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("run")
    s.add_argument("--refresh", action="store_true")
    s = sub.add_parser("export")
    s.add_argument("-o", "--out", type=Path, required=True)
    s.add_argument("--refresh", action="store_true")
    args = p.parse_args(argv)
    if args.cmd == "export":
        r = export_traces(StableQConfig(), args.out, refresh=args.refresh)
    else:
        r = measure(refresh=args.refresh)
    print(f"FP ResNet-18: accuracy {r['fp_accuracy']:.4f} on {r['test_images']} test images")
    for run_ in r["runs"]:
        print(f"{run_['label']:32s} {run_['accuracy']:.4f}  ({run_['calibration_description']})")
    return 0
