"""The ``crossbar`` accuracy evaluator of sweeps (:mod:`archsim.sweep.accuracy`): a trained model
run on the design point's crossbars through :func:`workloads.noise.convert`.

    evaluate("small-vit", "fashion-mnist", images=200, seed=0, spec=CrossbarSpec(...), options={})

Models: ``small-vit`` (:mod:`workloads.papers.vit.small_vit`, trained on Fashion-MNIST and cached), or any
name of :mod:`workloads.registry` (its ``schedule`` option, default ``main``, picks the cached
checkpoint of :func:`workloads.train.load_or_train`; the dataset must be the one it was trained
on). Options:

* ``kinds``: module kinds on crossbars (default ``[linear, conv2d, matmul]``: every weight layer
  and, for the ViT, the run-time K^T/V products written per image);
* ``skip``: module names kept digital (default none);
* ``batch``: images per forward (default 50).

The model, its test images and the converted copies are cached per process, so a worker that
evaluates many points loads the checkpoint once. Accuracy is a fraction of the first ``images``
test images.
"""
from __future__ import annotations

import copy
from typing import Any

import torch

_MODELS: dict[tuple, tuple] = {}
KNOWN_OPTIONS = {"kinds", "skip", "batch", "schedule"}


def _small_vit(dataset: str):
    from workloads.papers.vit.small_vit import SmallViTConfig, fashion_mnist, load_or_train

    if dataset != "fashion-mnist":
        raise ValueError(f"accuracy.dataset: small-vit is trained on fashion-mnist, not {dataset!r}")
    cfg = SmallViTConfig()
    model, _ = load_or_train(cfg, progress=False)
    data = fashion_mnist(cfg)
    return model, data["x_test"], data["y_test"]


def _registry(name: str, dataset: str, schedule: str):
    from workloads import registry
    from workloads.train import TrainConfig, load_data, load_or_train

    try:
        registry.get(name)
    except KeyError as exc:
        raise ValueError(f"accuracy.model: {exc.args[0]} (or small-vit)") from None
    cfg = TrainConfig.for_model(name, schedule)
    if cfg.dataset != dataset:
        raise ValueError(f"accuracy.dataset: {name} ({schedule}) is trained on {cfg.dataset}, not {dataset!r}")
    trained = load_or_train(cfg, progress=False)
    x, y = load_data(cfg, "test")
    return trained.model, x, y


def load_model(name: str, dataset: str, schedule: str = "main"):
    key = (name, dataset, schedule)
    if key not in _MODELS:
        _MODELS.clear()                       # one model per worker process at a time (memory)
        _MODELS[key] = _small_vit(dataset) if name == "small-vit" else _registry(name, dataset, schedule)
    return _MODELS[key]


@torch.no_grad()
def evaluate(model: str, dataset: str, images: int, seed: int, spec, options: dict[str, Any]) -> float:
    from workloads.noise import convert

    unknown = set(options) - KNOWN_OPTIONS
    if unknown:
        raise ValueError(f"accuracy.options: unknown option(s) {sorted(unknown)}; known: {sorted(KNOWN_OPTIONS)}")
    net, x, y = load_model(model, dataset, options.get("schedule", "main"))
    if images > len(x):
        raise ValueError(f"accuracy.images: {images} requested, the {dataset} test set loaded has {len(x)}")
    noisy = copy.deepcopy(net).eval()
    replaced = convert(noisy, spec, seed=seed, kinds=tuple(options.get("kinds", ("linear", "conv2d", "matmul"))),
                       skip=tuple(options.get("skip", ())))
    if not replaced:
        raise ValueError(f"accuracy: no module of {model} runs on the crossbars (kinds {options.get('kinds')})")
    batch = int(options.get("batch", 50))
    correct = 0
    for i in range(0, images, batch):
        j = min(images, i + batch)
        correct += int((noisy(x[i:j]).argmax(1) == y[i:j]).sum())
    return correct / images
