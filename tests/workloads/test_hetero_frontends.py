"""The main-job export step of the trained STAtten / TT-SNN / ReSpike: the work metrics counted from
a trace, header updates, the registry entries and the clip data set's bad input."""
import pytest

from archsim.trace.schema import Role
from tests.helpers import builder
from workloads import registry
from workloads.data import load
from workloads.hetero_frontends import with_header, work_metrics


def small_trace():
    b = builder(T=4)
    b.add("linear", "x.g1", tokens=2, in_features=3, out_features=5, timesteps=4, tags={"branch": "snn"},
          operands=[b.operand("input", Role.spike, shape=[2, 3]),
                    b.operand("weight", Role.static_weight, shape=[5, 3])])
    b.add("linear", "f.cross.to_k", tokens=7, in_features=4, out_features=2, timesteps=1,
          tags={"branch": "fusion", "part": "cross"},
          operands=[b.operand("input", Role.activation, shape=[7, 4], bits=8, timesteps=1),
                    b.operand("weight", Role.static_weight, shape=[2, 4])])
    b.add("matmul", "a.kv.c0", batch=2, M=3, K=4, N=3, timesteps=2, tags={"chunk": 0, "chunk_size": 2},
          operands=[b.operand("a", Role.spike, shape=[2, 3, 4], timesteps=2),
                    b.operand("b", Role.spike, shape=[2, 4, 3], timesteps=2)])
    return b.build()


def test_work_metrics_by_hand():
    """g1: 2 tokens x 3 x 5 x T 4 = 120; to_k: 7 x 4 x 2 x 1 = 56; kv: 2 x 3 x 4 x 3 x 2 = 144."""
    m = work_metrics(small_trace())
    assert m == {"macs": 320.0, "attention_macs": 144.0, "macs_snn": 120.0, "macs_fusion": 56.0,
                 "macs_g1": 120.0, "macs_cross_kv": 56.0}


def test_with_header_merges_metrics():
    tr = small_trace()
    tr = with_header(with_header(tr, metrics={"a": 1.0}), model="renamed", metrics={"b": 2.0})
    assert tr.header.model == "renamed" and tr.header.metrics == {"a": 1.0, "b": 2.0}
    assert [o.id for o in tr.ops] == ["x.g1", "f.cross.to_k", "a.kv.c0"]


@pytest.mark.parametrize("name", ["statten-fmnist", "ttsnn-r18-fmnist", "ttsnn-r18-fmnist-htt",
                                  "respike-fmnist-clips"])
def test_registered_with_a_main_schedule(name):
    e = registry.get(name)
    assert e.kind == "snn" and "main" in e.schedules and e.schedules["main"]["prune_rounds"] == 0


def test_clips_are_grey():
    with pytest.raises(ValueError, match="channels must be 1"):
        load("fashion-mnist-clips", "test", channels=3, limit=2)
    x, y = load("fashion-mnist-clips", "test", size=40, limit=2)
    assert x.shape == (2, 4, 1, 40, 40) and y.shape == (2,)


def test_chunk_must_divide_the_timesteps():
    import torch
    from workloads.papers.statten.model import statten

    m = statten(timesteps=4, image_size=16, dim=16, layers=1, heads=2, chunk_size=3)
    with pytest.raises(ValueError, match="multiple of chunk_size"):
        m(torch.rand(1, 1, 16, 16))
