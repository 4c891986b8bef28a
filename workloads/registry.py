"""Model name -> how to build it, what it is, and its training schedules.

Frontends add an entry to :data:`MODELS`; the CLI (``archsim-workloads``), the trainer and the
exporter look models up here. ``schedules`` are named overrides of
:class:`workloads.train.TrainConfig` (``main``: the main job's schedule; ``quick``: a smoke run).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable


@dataclass(frozen=True)
class ModelEntry:
    name: str
    build: Callable[..., Any]            # build(num_classes=, timesteps=, encoding=, in_channels=) -> nn.Module
    kind: str                            # "snn" or "ann"
    source: str                          # paper / frontend
    description: str
    schedules: dict[str, dict[str, Any]] = field(default_factory=dict)
    export_options: dict[str, Any] = field(default_factory=dict)   # extra arguments of model_export.export_model
    starts_from: str | None = None       # the model whose trained "main" checkpoint this one is built from
    strong: dict[str, Any] | None = None  # the main job's strong-mode fine-tune (StrongConfig fields), if any


def _build(module: str, name: str, **fixed):
    """A builder that imports ``module`` (torch) only when a model is built, then calls ``name``."""
    def build(**kw):
        import importlib
        return getattr(importlib.import_module(module), name)(**fixed, **kw)
    return build


def _loas(name):
    return _build("workloads.papers.loas.nets", name)


def _tiny(name):
    return _build("workloads.models.tiny", name)


_LOAS = "LoAS (MICRO 2024), Yin et al., arXiv 2407.14073"

MODELS: dict[str, ModelEntry] = {}


def register(entry: ModelEntry) -> None:
    if entry.name in MODELS:
        raise ValueError(f"model {entry.name!r} is already registered")
    MODELS[entry.name] = entry


def get(name: str) -> ModelEntry:
    try:
        return MODELS[name]
    except KeyError:
        raise KeyError(f"unknown model {name!r}; known: {', '.join(sorted(MODELS))}") from None


# Main-job schedules: the whole Fashion-MNIST training set (60,000 images, random crops and flips),
# Adam with a cosine learning rate per phase, learning-rate rewinding between pruning rounds
# (Renda et al., ICLR 2020: the weights stay, the schedule restarts), ~98 % weight sparsity, the
# whole test set. They were trained once on a GPU (tools/gpu_train.py chose each network's number of
# epochs to fit a 10-minute GPU lease from measured step times) and are committed in checkpoints/
# with their provenance; `archsim-workloads train --all --retrain --commit` rebuilds them. The
# strong-mode fine-tune runs one epoch over the same training set.
_MAIN = dict(train_size=60000, test_size=10000, batch_size=256, lr=2e-3, rewind="lr", augment="crop-flip",
             retrain_epochs=1, eval_dense=True)
_STRONG = dict(epochs=1)                    # the main job's strong mode (setup.sh: export --strong)
_QUICK = dict(train_size=256, test_size=128, dense_epochs=1, prune_rounds=1, retrain_epochs=1,
              batch_size=32, lr=2e-3, rewind="lr")
# LoAS schedules: (dense epochs, pruning rounds, final round's epochs); the GPU run's choice
_LOAS_MAIN = {"loas-alexnet": (10, 4, 4), "loas-vgg16": (5, 3, 2), "loas-resnet19": (6, 3, 3)}


def _loas_main(name: str) -> dict:
    dense, rounds, final = _LOAS_MAIN[name]
    return dict(_MAIN, dense_epochs=dense, prune_rounds=rounds, final_retrain_epochs=final)


register(ModelEntry(
    "loas-alexnet", _loas("loas_alexnet"), "snn", _LOAS,
    "spiking AlexNet, 5 conv + fc, 2.26 M weights, 32x32x3 input",
    schedules={"main": _loas_main("loas-alexnet"), "quick": _QUICK}, strong=_STRONG))
register(ModelEntry(
    "loas-vgg16", _loas("loas_vgg16"), "snn", _LOAS,
    "spiking VGG16-bn, 13 conv + fc, 14.73 M weights, 32x32x3 input",
    schedules={"main": _loas_main("loas-vgg16"), "quick": _QUICK}, strong=_STRONG))
register(ModelEntry(
    "loas-resnet19", _loas("loas_resnet19"), "snn", _LOAS,
    "spiking ResNet19, 19 conv (incl. 3 1x1 shortcuts) + 2 fc, 12.63 M weights, 32x32x3 input",
    schedules={"main": _loas_main("loas-resnet19"), "quick": _QUICK}, strong=_STRONG))
# LoAS's scaling studies (timesteps, weight sparsity) on real VGG16s: variants of the trained
# loas-vgg16 (98 %, T = 4), each the parent's weights at its T with the parent's mask moved to its
# sparsity (grown by gradient magnitude, RigL's criterion), fine-tuned 64 steps on 4,096 training
# images with the mask held. Short schedules sized for a CPU (docs/workloads.md says what that buys).
_LOAS_VARIANT = dict(_MAIN, train_size=4096, test_size=2000, batch_size=64, lr=5e-4, dense_epochs=1,
                     prune_rounds=0, eval_dense=False, finetune_parent=True, target_sparsity=0.98)
LOAS_VGG16_VARIANTS = {f"loas-vgg16-t{t}": dict(timesteps=t) for t in (6, 8)}
LOAS_VGG16_VARIANTS.update({f"loas-vgg16-ws{round(s * 100)}": dict(target_sparsity=s) for s in (0.25, 0.5, 0.75, 0.9)})
for _name, _knobs in LOAS_VGG16_VARIANTS.items():
    register(ModelEntry(
        _name, _loas("loas_vgg16"), "snn", _LOAS,
        f"loas-vgg16 at T = {_knobs.get('timesteps', 4)}, "
        f"{round(100 * _knobs.get('target_sparsity', 0.98))} % weight sparsity: the trained parent's weights, "
        "its mask moved to that sparsity, fine-tuned with the mask held",
        schedules={"main": dict(_LOAS_VARIANT, **_knobs)}, starts_from="loas-vgg16"))


register(ModelEntry(
    "tiny-snn", _tiny("tiny_snn"), "snn", "archsim test model",
    "2 conv + fc spiking net for tests and examples (any input size divisible by 4)",
    schedules={"main": dict(dataset="digits", image_size=16, channels=1, train_size=1347,
                            test_size=450, dense_epochs=3, prune_rounds=2, retrain_epochs=2,
                            target_sparsity=0.8, lr=3e-3)}))
register(ModelEntry(
    "tiny-cnn", _tiny("tiny_cnn"), "ann", "archsim test model",
    "2 conv + fc ReLU CNN (an ANN) for tests and examples",
    schedules={"main": dict(dataset="digits", image_size=16, channels=1, train_size=1347,
                            test_size=450, dense_epochs=3, prune_rounds=0, lr=3e-3, timesteps=1)}))


# --- STAtten, TT-SNN, ReSpike (docs/workloads/statten.md, ttsnn.md, respike.md) --------------------

_STATTEN_DATA = dict(dataset="fashion-mnist", image_size=32, channels=1, prune_rounds=0, batch_size=64, lr=2e-3)
register(ModelEntry(
    "statten-fmnist", _build("workloads.papers.statten.model", "statten"), "snn",
    "STAtten (Lee et al., CVPR 2025, arXiv 2409.19764) on the Spike-driven Transformer",
    "spiking transformer with spatial-temporal attention: 2 blocks x D 64, 4 heads, 64 tokens, T=4, chunk 2, "
    "32x32x1 input",
    schedules={"main": dict(_STATTEN_DATA, train_size=2000, test_size=1000, dense_epochs=2),
               "quick": dict(_STATTEN_DATA, train_size=256, test_size=128, dense_epochs=1)}))


_TT = "TT-SNN (Lee et al., DATE 2024, arXiv 2401.08001)"
_TT_DATA = dict(dataset="fashion-mnist", image_size=32, channels=1, train_size=3000, test_size=1000, prune_rounds=0,
                batch_size=64)
register(ModelEntry(
    "ttsnn-r18-fmnist", _build("workloads.papers.ttsnn.model", "build", schedule="baseline"), "snn", _TT,
    "spiking ResNet-18 layout (MS-ResNet), widths 16-128, T=4, 32x32x1 input: the TT-SNN baseline",
    schedules={"main": dict(_TT_DATA, dense_epochs=2, lr=2e-3)}, export_options=dict(activation_bits=8)))
for _s in ("stt", "ptt", "htt"):
    register(ModelEntry(
        f"ttsnn-r18-fmnist-{_s}", _build("workloads.papers.ttsnn.model", "build", schedule=_s), "snn", _TT,
        f"the baseline's 3x3 convs as TT cores (EVBMF ranks >= C/4, TT-SVD init), {_s.upper()} schedule, "
        "fine-tuned",
        schedules={"main": dict(_TT_DATA, train_size=2000, dense_epochs=1, lr=1e-3)},
        export_options=dict(activation_bits=8), starts_from="ttsnn-r18-fmnist"))

register(ModelEntry(
    "respike-fmnist-clips", _build("workloads.papers.respike.model", "respike"), "snn",
    "ReSpike (Xiao et al., arXiv 2409.01564), hybrid ANN-SNN",
    "bottleneck-ResNet ANN on the key frame + spiking ResNet on 3 residual frames + 4 cross-attention fusions, "
    "clips of 4 frames 40x40x1 (moving Fashion-MNIST)",
    schedules={"main": dict(dataset="fashion-mnist-clips", image_size=40, channels=1, timesteps=3, train_size=2000,
                            test_size=1000, dense_epochs=2, prune_rounds=0, batch_size=64, lr=2e-3)},
    # the ANN and fusion layers run on an int8 systolic array: their activations are described as 8-bit
    export_options=dict(activation_bits=8)))


# --- Spikformer (the LoAS paper's transformer scaling point; docs/workloads/spikformer.md) --------
_SPIKFORMER_DATA = dict(dataset="fashion-mnist", image_size=32, channels=1, batch_size=64, lr=2e-3, rewind="lr")
register(ModelEntry(
    "spikformer-fmnist", _build("workloads.papers.spikformer.model", "spikformer"), "snn",
    "Spikformer (Zhou et al., ICLR 2023, arXiv 2209.15425), the transformer layer of LoAS (MICRO 2024)",
    "Spikformer-style spiking transformer: SPS stem, 1 block x D 128 (spiking self-attention on Q/K/V "
    "spikes, 8 heads; MLP 128 -> 512 -> 128), 64 tokens, T=4, 32x32x1 input; pruned to 90 %",
    schedules={"main": dict(_SPIKFORMER_DATA, train_size=1500, test_size=1000, dense_epochs=2, prune_rounds=2,
                            retrain_epochs=1, target_sparsity=0.9, eval_dense=False),
               "quick": dict(_SPIKFORMER_DATA, train_size=256, test_size=128, dense_epochs=1, prune_rounds=1,
                             retrain_epochs=1, target_sparsity=0.8)}))
