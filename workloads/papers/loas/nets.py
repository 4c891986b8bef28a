"""The three LoAS (MICRO 2024) workloads: spiking AlexNet, VGG16-bn and ResNet19 for 32x32x3
inputs, with the layer shapes of the authors' models (RuokaiYin/LoAS, ``archs/cifarsvhn``, read
for the shapes; see ``shared/research/workloads.md`` 2.9). Every neuron is the LoAS LIF: tau 4/3
(membrane keeps 0.25 per step), threshold 1, hard reset to 0, arctangent surrogate, detached reset.

Shapes per timestep (M = output positions, K = C_in*kh*kw):

* AlexNet: conv 3->64 s2 (16x16), pool -> 8x8, conv 64->192, conv 192->384, 384->256, 256->256
  (all 8x8), pool -> 4x4, adaptive avg-pool 2x2, fc 1024->10. As in the authors' code, conv3
  reads the second LIF's output directly (their second max-pool's result is unused), so conv3-5
  run at 8x8; the unused pool is not built here.
* VGG16-bn: 13 conv3x3 (64,64,M,128,128,M,256x3,M,512x3,M,512x3,M) each with BN and LIF, fc 512->10.
* ResNet19: conv 3->64 + BN + LIF at 32x32; basic blocks 3 x 128 (16x16), 3 x 256 (8x8),
  2 x 512 (4x4), the first of each stage strided with a 1x1 conv + BN shortcut; global avg-pool,
  fc 512->256, fc 256->10. (The authors declare a LIF between the two fc layers but their forward
  skips it; so does this one: with it, the averaged spikes into fc1 were too weak to make that
  LIF fire and the network did not learn in our short schedule. Neither fc layer enters the
  LoAS statistics.)
"""
from __future__ import annotations

from collections import OrderedDict

from torch import nn

from workloads.ops import Add
from workloads.snn.network import SpikingNet
from workloads.snn.neuron import LIF


def lif(**kw) -> LIF:
    return LIF(**kw)


def loas_alexnet(num_classes: int = 10, timesteps: int = 4, encoding: str = "direct",
                 in_channels: int = 3, image_size: int = 32, **lif_kw) -> SpikingNet:
    L = lambda: lif(**lif_kw)  # noqa: E731
    body = nn.Sequential(OrderedDict([
        ("conv1", nn.Conv2d(in_channels, 64, 3, stride=2, padding=1)), ("lif1", L()),
        ("pool1", nn.MaxPool2d(2)),
        ("conv2", nn.Conv2d(64, 192, 3, padding=1)), ("lif2", L()),
        ("conv3", nn.Conv2d(192, 384, 3, padding=1)), ("lif3", L()),
        ("conv4", nn.Conv2d(384, 256, 3, padding=1)), ("lif4", L()),
        ("conv5", nn.Conv2d(256, 256, 3, padding=1)), ("lif5", L()),
        ("pool3", nn.MaxPool2d(2)),
        ("avgpool", nn.AdaptiveAvgPool2d((2, 2))),
        ("flatten", nn.Flatten()),
        ("fc1", nn.Linear(256 * 2 * 2, num_classes)),
    ]))
    # Kaiming-normal (fan-in) initialisation. The authors draw N(0, 0.1), which leaves most
    # neurons of this BN-free network silent at the start; with our short CPU schedule it reached
    # 30 % test accuracy after 1,000 Fashion-MNIST images against 62 % with this one.
    for m in body.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
            nn.init.zeros_(m.bias)
    return SpikingNet(body, timesteps=timesteps, encoding=encoding, num_classes=num_classes,
                      in_channels=in_channels)


VGG16_CFG = (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M")


def loas_vgg16(num_classes: int = 10, timesteps: int = 4, encoding: str = "direct",
               in_channels: int = 3, image_size: int = 32, cfg=VGG16_CFG, **lif_kw) -> SpikingNet:
    layers: list[tuple[str, nn.Module]] = []
    c, i, p = in_channels, 0, 0
    for v in cfg:
        if v == "M":
            p += 1
            layers.append((f"pool{p}", nn.MaxPool2d(2)))
            continue
        i += 1
        layers += [(f"conv{i}", nn.Conv2d(c, v, 3, padding=1)), (f"bn{i}", nn.BatchNorm2d(v)),
                   (f"lif{i}", lif(**lif_kw))]
        c = v
    spatial = image_size // 2 ** p
    layers += [("flatten", nn.Flatten()), ("fc", nn.Linear(c * spatial * spatial, num_classes))]
    body = nn.Sequential(OrderedDict(layers))
    for m in body.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, 0.0, 0.01)
            nn.init.zeros_(m.bias)
    return SpikingNet(body, timesteps=timesteps, encoding=encoding, num_classes=num_classes,
                      in_channels=in_channels)


class BasicBlock(nn.Module):
    """conv3x3-BN-LIF, conv3x3-BN, + shortcut (identity, or 1x1 conv + BN when the shape
    changes), LIF."""

    def __init__(self, c_in: int, c_out: int, stride: int = 1, **lif_kw):
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.lif1 = lif(**lif_kw)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.shortcut = nn.Sequential()
        if stride != 1 or c_in != c_out:
            self.shortcut = nn.Sequential(OrderedDict([
                ("conv", nn.Conv2d(c_in, c_out, 1, stride=stride, bias=False)),
                ("bn", nn.BatchNorm2d(c_out))]))
        self.add = Add()
        self.lif2 = lif(**lif_kw)

    def forward(self, x):
        out = self.lif1(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.lif2(self.add(out, self.shortcut(x)))


class ResNetBody(nn.Module):
    def __init__(self, blocks=(3, 3, 2), widths=(128, 256, 512), num_classes: int = 10,
                 in_channels: int = 3, **lif_kw):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, 64, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.lif1 = lif(**lif_kw)
        c = 64
        for s, (n, w) in enumerate(zip(blocks, widths), start=1):
            stage = []
            for b in range(n):
                stage.append(BasicBlock(c, w, stride=2 if b == 0 else 1, **lif_kw))
                c = w
            setattr(self, f"layer{s}", nn.Sequential(*stage))
        self.n_stages = len(blocks)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.flatten = nn.Flatten()
        self.fc1 = nn.Linear(c, 256)
        self.fc2 = nn.Linear(256, num_classes)

    def forward(self, x):
        x = self.lif1(self.bn1(self.conv1(x)))
        for s in range(1, self.n_stages + 1):
            x = getattr(self, f"layer{s}")(x)
        x = self.flatten(self.avgpool(x))
        return self.fc2(self.fc1(x))


def loas_resnet19(num_classes: int = 10, timesteps: int = 4, encoding: str = "direct",
                  in_channels: int = 3, image_size: int = 32, **lif_kw) -> SpikingNet:
    body = ResNetBody(num_classes=num_classes, in_channels=in_channels, **lif_kw)
    return SpikingNet(body, timesteps=timesteps, encoding=encoding, num_classes=num_classes,
                      in_channels=in_channels)
