"""Global magnitude pruning: exact counts, largest weights kept, nested masks, target reached."""
import numpy as np
import pytest
import torch

from workloads import prune as P
from workloads.papers.loas.nets import loas_alexnet


def test_schedule_hits_target_exactly():
    """1000 weights to 98 % in 4 rounds: keep 1000 * 0.02^(r/4) = 376.1, 141.4, 53.2, 20."""
    assert [P.kept_after_round(1000, 0.98, r, 4) for r in range(5)] == [1000, 376, 141, 53, 20]
    with pytest.raises(ValueError):
        P.kept_after_round(10, 1.0, 1, 1)


def test_global_masks_keep_the_largest_survivors(rng):
    params = {"a": torch.tensor(rng.normal(size=(6, 5))), "b": torch.tensor(rng.normal(size=(40,)) * 0.1)}
    masks = P.full_masks(params)
    allw = np.concatenate([p.abs().flatten().numpy() for p in params.values()])
    for keep in (150, 70, 12, 3):
        new = P.global_magnitude_masks(params, masks, min(keep, 70))
        k = min(keep, 70)
        assert sum(int(m.sum()) for m in new.values()) == k
        assert all(bool((n <= o).all()) for n, o in zip(new.values(), masks.values()))   # nested
        kept = np.concatenate([p.abs().flatten().numpy()[m.flatten().numpy()] for p, m in zip(params.values(), new.values())])
        assert kept.min() >= np.sort(allw)[::-1][k - 1]                                   # the k largest
        masks = new


def test_prune_model_to_loas_sparsity():
    """AlexNet's prunable layers (conv2-conv5) to 98 % in 3 rounds, masks applied."""
    torch.manual_seed(0)
    model = loas_alexnet()
    params = P.prunable(model)
    assert list(params) == ["body.conv2.weight", "body.conv3.weight", "body.conv4.weight", "body.conv5.weight"]
    total = sum(p.numel() for p in params.values())
    masks = P.full_masks(params)
    for r in range(1, 4):
        masks = P.global_magnitude_masks(params, masks, P.kept_after_round(total, 0.98, r, 3))
    P.apply_masks(params, masks)
    assert P.sparsity(params.values()) == pytest.approx(1 - round(total * 0.02) / total, abs=1e-12)
    assert P.sparsity(params.values()) == pytest.approx(0.98, abs=1e-6)
    # first and last layer untouched
    assert P.sparsity([model.body.conv1.weight, model.body.fc1.weight]) == 0.0
