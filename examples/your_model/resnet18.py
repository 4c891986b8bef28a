"""A torchvision model as a user would bring it: `build()` returns the network (random weights,
architecture only; nothing is downloaded). Traced by the main job with
`archsim-workloads trace examples/your_model/resnet18.py:build --input "randn(1,3,224,224)" ...`
in the torchvision environment (docs/workloads.md, "Tracing any model")."""
import torch
import torchvision


def build():
    torch.manual_seed(0)
    return torchvision.models.resnet18()
