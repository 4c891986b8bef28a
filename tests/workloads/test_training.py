"""The one trainer (workloads/training.py): its settings are checked, the masks hold, a snapshot is
the state after that many steps, and a fractional epoch count ends with a partial epoch. (That
each caller gets its old weights bit for bit is test_trainer_goldens.py.)"""
import pytest

torch = pytest.importorskip("torch")

from workloads.training import fit  # noqa: E402


def _data(n=40, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, 6, generator=g), torch.randint(0, 3, (n,), generator=g)


def _model():
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(6, 8), torch.nn.ReLU(), torch.nn.Linear(8, 3))


@pytest.mark.parametrize("kw, match", [
    ({"optimizer": "sgd"}, "optimizer"), ({"schedule": "step"}, "schedule"), ({"augment": "mixup"}, "augment"),
    ({"generator": torch.Generator()}, "exactly one"), ({"masks": {}}, "masks and masked"),
    ({"epochs": 0}, "epochs > 0"),
])
def test_bad_settings_are_errors(kw, match):
    x, y = _data()
    args = {"epochs": 1, "batch_size": 8, "lr": 1e-2, "seed": 0, "progress": False, **kw}
    with pytest.raises(ValueError, match=match):
        fit(_model(), x, y, **args)


def test_masks_hold_and_snapshot_is_the_state_after_that_step():
    x, y = _data()
    model = _model()
    w = model[0].weight
    mask = (torch.arange(w.numel()).reshape(w.shape) % 2 == 0)
    with torch.no_grad():
        w.mul_(mask)
    seen = []                       # the weights each step starts from

    def loss(m, xb, yb):
        seen.append(m[0].weight.detach().clone())
        logits = m(xb)
        return torch.nn.functional.cross_entropy(logits, yb), logits

    run = fit(model, x, y, epochs=2, batch_size=8, lr=1e-2, schedule="cosine", masks={"w": mask}, masked={"w": w},
              loss=loss, seed=3, snapshot_at=3, progress=False)
    w = w.detach()
    assert float(w[~mask].abs().sum()) == 0 and float(w[mask].abs().sum()) > 0
    assert [n for _, n in run.epochs] == [40, 40] and len(seen) == 10
    assert torch.equal(run.snapshot["0.weight"], seen[3])       # step 4 starts from the state after step 3
    assert not torch.equal(seen[3], seen[2]) and not torch.equal(seen[3], seen[4])
    assert float(run.snapshot["0.weight"][~mask].abs().sum()) == 0


def test_fractional_epochs_end_with_a_partial_epoch():
    x, y = _data()
    run = fit(_model(), x, y, epochs=1.5, batch_size=8, lr=1e-2, optimizer="adamw", weight_decay=0.01,
              schedule="one-cycle", pct_start=0.2, seed=0, progress=False)
    assert [n for _, n in run.epochs] == [40, 24]          # 5 steps, then 3 of the next epoch's 5
    assert 0 <= run.last_epoch_accuracy <= 1 and 0 <= run.accuracy <= 1


def test_a_generator_carries_on_between_runs():
    x, y = _data()
    g = torch.Generator().manual_seed(5)
    a, b = _model(), _model()
    fit(a, x, y, epochs=1, batch_size=8, lr=1e-2, generator=g, progress=False)
    fit(b, x, y, epochs=1, batch_size=8, lr=1e-2, generator=g, progress=False)
    assert not torch.equal(a[0].weight, b[0].weight)          # the second run drew another order
