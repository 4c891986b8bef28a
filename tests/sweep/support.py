"""Test-only pieces for sweep tests: a MAC array model that can be slowed down (to kill a
sweep half-way deterministically) or made to fail at one design point, and spec writers."""
from __future__ import annotations

import os
import time
from pathlib import Path

import pydantic

from archsim.arch.mac_array import MacArrayModel, MacArrayParams

REPO = Path(__file__).resolve().parents[2]
TEST_MODEL = ("slow_mac_array", "tests.sweep.support:SlowMacArray")
DELAY_ENV = "ARCHSIM_TEST_SWEEP_DELAY_S"


class SlowParams(MacArrayParams):
    fail_rows: int | None = pydantic.Field(default=None, description="raise when rows equals this")


class SlowMacArray(MacArrayModel):
    """mac_array, plus: sleeps $ARCHSIM_TEST_SWEEP_DELAY_S seconds per design point, and raises
    at ``rows == fail_rows``. The numbers are mac_array's."""

    name = "slow_mac_array"
    description = "test only: mac_array with a delay and a failure switch"
    Params = SlowParams

    def prepare(self, trace, ctx) -> None:
        if self.params.fail_rows is not None and self.params.rows == self.params.fail_rows:
            raise RuntimeError(f"test failure at rows={self.params.rows}")
        time.sleep(float(os.environ.get(DELAY_ENV, "0")))


def register(monkeypatch) -> None:
    from archsim.arch import registry
    monkeypatch.setitem(registry.BUILTIN, *TEST_MODEL)


def write_slow_hardware(path: Path, **params) -> Path:
    p = {"rows": 16, "cols": 16, "vector_lanes": 16, "sram_kib": 256, "dram_bandwidth_gbps": 25.6, **params}
    lines = [f"  {k}: {v}" for k, v in p.items()]
    path.write_text("architecture: slow_mac_array\nname: slow-mac-array\nclock_mhz: 500\n"
                    f"energy: {{tables: ['{REPO / 'hw_configs/energy/example_45nm.yaml'}']}}\n"
                    "params:\n" + "\n".join(lines) + "\n")
    return path


def write_spec(path: Path, hardware, traces, sweep: str, extra: str = "", name: str = "test-sweep") -> Path:
    hw = hardware if isinstance(hardware, list) else [hardware]
    tr = traces if isinstance(traces, list) else [traces]
    path.write_text(f"name: {name}\nhardware: [{', '.join(repr(str(h)) for h in hw)}]\n"
                    f"traces: [{', '.join(repr(str(t)) for t in tr)}]\nsweep:\n{sweep}\n{extra}")
    return path
