"""Is a committed checkpoint still what the registry would train? (fresh / stale)"""
from __future__ import annotations

from workloads.train import StrongConfig, TrainConfig, entry_key


def _small_vit_key() -> str:
    from workloads.papers.vit.small_vit import SmallViTConfig, checkpoint_key
    return checkpoint_key(SmallViTConfig())


# models trained outside the registry's TrainConfig: name -> the key of today's default configuration
OTHER = {"small-vit": _small_vit_key}


def expected_key(prov: dict) -> str:
    """The key the current configuration gives the checkpoint's model and schedule."""
    if prov["name"] in OTHER:
        return OTHER[prov["name"]]()
    cfg = TrainConfig(**prov["config"])
    schedule = prov.get("schedule", "main")
    current = TrainConfig.for_model(cfg.model, schedule)
    strong = StrongConfig(**prov["strong"]) if prov.get("strong") else None
    return entry_key(current, strong)


def status(prov: dict) -> str:
    try:
        return "fresh" if expected_key(prov) == prov["key"] else "stale"
    except (KeyError, ValueError):     # the model left the registry, or its schedule did
        return "stale"
