"""The general ViT (prefix prompts, visible attention products) and the one-stage / two-stage
prompt-based continual learner."""
import pytest

torch = pytest.importorskip("torch")
torch.set_num_threads(1)

from workloads.models.vit import ViT, ViTConfig  # noqa: E402
from workloads.papers.pcl.study import PromptedViT, PromptPool, task_classes  # noqa: E402

CFG = ViTConfig(image_size=8, patch_size=4, in_channels=1, num_classes=10, dim=16, depth=3, heads=2, mlp_dim=32)


def _x(n=3, seed=0):
    return torch.randn(n, 1, 8, 8, generator=torch.Generator().manual_seed(seed))


def test_vit_prefix_prompts_extend_keys():
    torch.manual_seed(0)
    vit = ViT(CFG).eval()
    shapes = []
    vit.blocks[1].attn.qk.register_forward_hook(lambda m, a, o: shapes.append(tuple(o.shape)))
    ref = vit(_x())
    pk = torch.zeros(3, 4, 16)
    out = vit(_x(), prompts=lambda i, t: (pk, pk) if i == 1 else None)
    assert shapes == [(3, 2, 5, 5), (3, 2, 5, 9)]          # 5 tokens attend to 4 + 5 keys
    assert not torch.allclose(out, ref)                      # zero keys still take softmax mass
    # a prompt function that returns None leaves the network unchanged
    assert torch.allclose(vit(_x(), prompts=lambda i, t: None), ref)


def test_prompt_pool_composition_and_freezing():
    pool = PromptPool(layers=(0, 1), pool=4, length=4, dim=16, tasks=2, seed=0)
    q = torch.randn(5, 16, generator=torch.Generator().manual_seed(1))
    pk, pv, alpha = pool.compose(1, q)
    assert pk.shape == (5, 2, 16) and pv.shape == (5, 2, 16) and alpha.shape == (5, 2)   # task 0: 2 components
    # alpha is the cosine of q*A with K
    a, k = pool.attn[1, :2], pool.keys[1, :2]
    ref = torch.nn.functional.cosine_similarity((q[:, None] * a[None]), k[None], dim=-1)
    assert torch.allclose(alpha, ref, atol=1e-6)
    pool.set_task(1)
    _, _, alpha = pool.compose(0, q)
    assert alpha.shape == (5, 4)
    alpha.sum().backward()
    assert float(pool.keys.grad[0, :2].abs().sum()) == 0 and float(pool.keys.grad[0, 2:].abs().sum()) > 0


def test_one_stage_runs_one_pass_two_stage_two():
    torch.manual_seed(0)
    vit = ViT(CFG).eval()
    calls = []
    vit.patch_embed.register_forward_hook(lambda m, a, o: calls.append(1))
    seen_q = {}
    for mode in ("one_stage", "two_stage"):
        pool = PromptPool(layers=(0, 2), pool=4, length=4, dim=16, tasks=2)
        model = PromptedViT(vit, pool, 10, mode).eval()
        orig = pool.compose
        pool.compose = lambda layer, q, orig=orig, mode=mode: (seen_q.setdefault((mode, layer), q), orig(layer, q))[1]
        calls.clear()
        with torch.no_grad():
            model(_x())
        assert len(calls) == (1 if mode == "one_stage" else 2)
    with torch.no_grad():
        ref_q = vit.features(_x())
        tokens0 = vit.embed(_x())
    assert torch.allclose(seen_q[("two_stage", 0)], ref_q) and torch.allclose(seen_q[("two_stage", 2)], ref_q)
    assert torch.allclose(seen_q[("one_stage", 0)], tokens0[:, 0])       # layer 0: the embedded class token


def test_query_pool_loss_and_frozen_backbone():
    torch.manual_seed(0)
    vit = ViT(CFG)
    pool = PromptPool(layers=(0, 1), pool=4, length=4, dim=16, tasks=2)
    model = PromptedViT(vit, pool, 10, "one_stage")
    loss = torch.nn.functional.cross_entropy(model(_x()), torch.tensor([0, 1, 0]))
    qr = model.query_pool_loss(_x())
    (loss + qr).backward()
    assert float(qr.detach()) > 0 and all(p.grad is None for p in vit.parameters())
    assert pool.prompts.grad is not None and model.classifier.weight.grad is not None
    with pytest.raises(ValueError, match="mode"):
        PromptedViT(vit, pool, 10, "zero_stage")
    assert task_classes(2, 5) == [4, 5]


def test_a_trained_backbone_deep_copies():
    """PCL copies the pretrained backbone for every mode: after a training step no module may
    keep a tensor of the forward pass (a TReX reuse source's head outputs once stayed on the
    encoder, which broke the copy on a cold main job and held the last batch in memory)."""
    import copy

    import torch

    from workloads.models.vit import ViT, ViTConfig
    vit = ViT(ViTConfig(image_size=8, patch_size=4, in_channels=1, num_classes=4, dim=16, depth=3, heads=2,
                        mlp_dim=32, reuse={2: 1}))
    vit(torch.randn(2, 1, 8, 8)).sum().backward()
    twin = copy.deepcopy(vit)
    x = torch.randn(3, 1, 8, 8)
    assert torch.equal(twin(x), vit(x))
