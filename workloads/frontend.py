"""Trained model -> trace: the header that says what is real, then the graph capture with our
models' rules (:mod:`workloads.model_export`)."""
from __future__ import annotations

import dataclasses

import torch

from archsim.trace.schema import Provenance
from workloads import registry
from workloads.model_export import export_model
from workloads.train import Trained, load_data

DATA_NOTES = {
    "fashion-mnist": "Fashion-MNIST (Debian package dataset-fashion-mnist), 28x28 grey zero-padded "
                     "to {s}x{s} and repeated over {c} channel(s)",
    "digits": "scikit-learn digits, 8x8 grey upsampled to {s}x{s} by pixel repetition, {c} channel(s)",
    "fashion-mnist-clips": "clips of 4 frames {s}x{s}x{c}: a real Fashion-MNIST image (28x28) moving across a "
                           "black frame with a seeded random velocity (real images, synthetic motion; "
                           "workloads/clips.py)",
}


def describe_training(trained: Trained) -> str:
    c = trained.config
    if c.finetune_parent:
        parent = registry.get(c.model).starts_from
        text = (f"a variant of the trained {parent} (checkpoint {c.starts_from}): its weights run at T={c.timesteps}, "
                f"its pruning mask moved to {100 * c.target_sparsity:g} % of the prunable weights (grown by "
                f"gradient magnitude, or pruned by magnitude), then fine-tuned here on {c.dataset} "
                f"train[0:{c.train_size}], {c.dense_epochs} epoch(s), batch {c.batch_size}, Adam lr {c.lr:g} "
                "cosine, mask held" + ("; first and last layer kept dense" if c.skip_first_last else ""))
        return text
    text = (f"trained here: {c.dataset} train[0:{c.train_size}], {c.dense_epochs} dense epoch(s), "
            f"batch {c.batch_size}, Adam lr {c.lr:g} cosine")
    if c.prune_rounds:
        text += (f"; lottery-ticket global magnitude pruning to {100 * c.target_sparsity:g} % of the "
                 f"prunable weights in {c.prune_rounds} round(s), rewinding to step {c.rewind_step}, "
                 f"{c.retrain_epochs} retraining epoch(s) per round"
                 + (f" ({c.final_retrain_epochs} in the last)" if c.final_retrain_epochs is not None else "")
                 + ("; first and last layer kept dense" if c.skip_first_last else ""))
    if trained.strong is not None:
        text += (f"; strong mode (neurons firing once in T silenced) fine-tuned "
                 f"{trained.strong.epochs} epoch(s)")
    return text


def export_trained(trained: Trained, start: int = 0, batch: int = 1, weight_bits: int | None = 8):
    """Trace of ``trained`` run on test images ``[start, start + batch)``."""
    c = trained.config
    entry = registry.get(c.model)
    if batch < 1 or start < 0:
        raise ValueError(f"need batch >= 1 and start >= 0, got batch {batch}, start {start}")
    x, y = load_data(dataclasses.replace(c, test_size=start + batch), "test")
    x, y = x[start:start + batch], y[start:start + batch]
    if len(x) < batch:
        raise ValueError(f"the {c.dataset} test split has no images [{start}:{start + batch}]")
    model = trained.model
    reseed = lambda: setattr(model, "rate_generator", torch.Generator().manual_seed(c.seed))  # noqa: E731
    reseed()                  # rate encoding: the prediction and the trace see the same spikes
    with torch.no_grad():
        model.eval()
        pred = model(x).argmax(1)
    reseed()
    spiking = entry.kind == "snn"
    name = c.model + ("-strong" if trained.strong is not None else "")
    enc = (f"{c.encoding} encoding over T={c.timesteps}" if spiking else "ANN input")
    metrics = {k: float(v) for k, v in trained.metrics.items()}
    metrics["test_images"] = float(c.test_size)
    metrics["exported_correct"] = float((pred == y).float().mean())
    config = {"train": dataclasses.asdict(c), "checkpoint_key": c.key(),
              "strong": dataclasses.asdict(trained.strong) if trained.strong else None,
              "labels": [int(v) for v in y], "predictions": [int(v) for v in pred]}
    return export_model(model, x, name=name, source=entry.source,
                  dataset=f"{c.dataset} test[{start}:{start + batch}]",
                  input_description=(DATA_NOTES[c.dataset].format(s=c.image_size, c=c.channels)
                                     + f"; {enc}; 8-bit pixels"),
                  seed=c.seed,
                  provenance=Provenance(weights="trained", inputs="real",
                                        notes=describe_training(trained)
                                        + f"; accuracy_top1 measured on {c.dataset} test[0:{c.test_size}]"),
                  metrics=metrics, config=config, weight_bits=weight_bits, **entry.export_options,
                  input_bits=8)
