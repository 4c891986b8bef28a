"""A test-only accuracy evaluator: a deterministic function of the crossbar settings that
records every call (so tests can count evaluations), and the tiny imc design it runs on."""
from __future__ import annotations

import json
import os
from pathlib import Path

CALLS_ENV = "ARCHSIM_TEST_ACCURACY_CALLS"
EVALUATOR = ("fake", "tests.sweep.fake_accuracy:evaluate")


def evaluate(model, dataset, images, seed, spec, options):
    """Accuracy falls as the ADC loses bits; seeds spread it by 0.01."""
    path = os.environ.get(CALLS_ENV)
    if path:
        with open(path, "a") as f:
            f.write(json.dumps({"adc_bits": spec.adc_bits, "seed": seed, "rows": spec.rows}) + "\n")
    return min(1.0, 0.5 + 0.05 * spec.adc_bits + 0.01 * seed - 0.001 * spec.rows / 8)


def calls(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def register(monkeypatch, calls_file: Path) -> None:
    from archsim.sweep import accuracy
    monkeypatch.setitem(accuracy.BUILTIN, *EVALUATOR)
    monkeypatch.setenv(CALLS_ENV, str(calls_file))
