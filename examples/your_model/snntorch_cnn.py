"""A small convolutional SNN written in snnTorch the way its tutorials write one: the loop over
T = 4 timesteps inside `forward`, Leaky neurons, spikes recorded at the output. `build()` returns
it with random weights (seeded); the main job traces it on a real Fashion-MNIST test image."""
import snntorch as snn
import torch
from torch import nn

T = 4


class ConvSNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1, self.lif1 = nn.Conv2d(1, 16, 5, padding=2), snn.Leaky(beta=0.9, threshold=0.5)
        self.conv2, self.lif2 = nn.Conv2d(16, 32, 5, padding=2), snn.Leaky(beta=0.9, threshold=0.5)
        self.fc, self.lif3 = nn.Linear(32 * 8 * 8, 10), snn.Leaky(beta=0.9, threshold=0.5)

    def forward(self, x):
        mem1, mem2, mem3 = self.lif1.reset_mem(), self.lif2.reset_mem(), self.lif3.reset_mem()
        spikes = []
        for _ in range(T):
            s1, mem1 = self.lif1(torch.max_pool2d(self.conv1(x), 2), mem1)
            s2, mem2 = self.lif2(torch.max_pool2d(self.conv2(s1), 2), mem2)
            s3, mem3 = self.lif3(self.fc(s2.flatten(1)), mem3)
            spikes.append(s3)
        return torch.stack(spikes).sum(0)


def build():
    torch.manual_seed(0)
    return ConvSNN()
