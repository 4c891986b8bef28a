"""A small SNN toolkit: LIF neurons with surrogate gradients in multi-step form, input encodings
and the :class:`~workloads.snn.network.SpikingNet` base the SNN frontends build on."""
from workloads.snn.neuron import LIF, set_drop_single_spike, set_timesteps, spiking_modules
from workloads.ops import Add, MatMul
from workloads.snn.network import SpikingNet

__all__ = ["LIF", "Add", "MatMul", "SpikingNet", "set_timesteps", "set_drop_single_spike", "spiking_modules"]
