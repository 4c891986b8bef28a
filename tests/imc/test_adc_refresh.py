"""ADC resolution against column sums, ADC pricing tied to params.adc.bits, and the amortised
drift refresh: against hand derivations on the tiny design of test_cost."""
import pytest

from archsim.arch.imc.adc import required_bits
from archsim.engine import simulate
from archsim.errors import ConfigError
from tests.imc.test_cost import hw, linear_trace  # noqa: F401  (fixture)


def test_required_bits_by_hand():
    # 64 rows of 2-bit cells, bit-serial: sums up to 64 x 3 = 192 -> 8 bits
    assert required_bits(64, 2, 1) == 8
    assert required_bits(256, 2, 1) == 10
    assert required_bits(1, 1, 1) == 1
    assert required_bits(64, 4, 1) == 10        # 64 x 15 = 960


def test_unresolved_conversions_and_summary(hw):  # noqa: F811
    """32 rows x 3 levels (2-bit cells) = 96 -> 7 bits; the 4-bit ADC lacks 3, so all 2880
    conversions are unresolved; with 7 bits none are."""
    r4 = simulate(linear_trace(), hw())
    assert r4["adc_required_bits"] == 7 and r4["adc_bits_short"] == 3
    assert r4["metrics"]["adc_unresolved_conversions"] == 2880
    assert r4.ops.iloc[0]["adc_required_bits"] == 7
    r7 = simulate(linear_trace(), hw(**{"variables.ADC": 7}))
    assert r7["adc_bits_short"] == 0 and r7["metrics"]["adc_unresolved_conversions"] == 0


def test_adc_bits_that_the_table_does_not_price_is_an_error(hw):  # noqa: F811
    with pytest.raises(ConfigError, match="params.adc.bits is 8 but energy table table.yaml prices a 4-bit ADC"):
        hw(**{"params.adc.bits": 8})


def test_presets_price_their_adc_bits():
    """Sweeping variables.ADC_BITS changes ADC energy and area on every crossbar preset (SpikeSim's
    through the Walden scaling: 2x per bit); params.adc.bits alone is refused."""
    from pathlib import Path

    from archsim.config.hardware import load_hardware
    repo = Path(__file__).resolve().parents[2]
    for name in ("spikesim_rram_65nm", "clipformer_rram_32nm", "trex_fefet_32nm"):
        path = repo / "hw_configs" / f"{name}.yaml"
        lo, hi = (load_hardware(path, overrides={"variables.ADC_BITS": b}) for b in (4, 6))
        assert hi.table.action("adc", "convert").energy_pj > lo.table.action("adc", "convert").energy_pj
        assert hi.table.area_um2("adc").value > lo.table.area_um2("adc").value
        with pytest.raises(ConfigError, match="params.adc.bits"):
            load_hardware(path, overrides={"params.adc.bits": 7})
    spk = [load_hardware(repo / "hw_configs/spikesim_rram_65nm.yaml", overrides={"variables.ADC_BITS": b})
           for b in (4, 5)]
    assert spk[1].table.action("adc", "convert").energy_pj == pytest.approx(2 * 2.03084)


def test_refresh_amortised_by_hand(hw):  # noqa: F811
    """One refresh writes the 100 x 40 = 4000 static cells with 1 + 1 pulses (10 pJ) and 1
    verify read per written row (rows 100 x 3 column blocks = 300, 3 pJ): 80,900 pJ; it takes
    ceil(12 / 3) waves x ceil(32 / 4) steps x (2 x 5 + 1 x 2) = 384 cycles. The inference takes
    180 cycles at 100 MHz = 1.8 us; with a 1 ms interval it carries 1.8e-3 of a refresh."""
    base = simulate(linear_trace(), hw())
    r = simulate(linear_trace(), hw(**{"params.write.refresh_interval_s": 1e-3}))
    share = 1.8e-6 / 1e-3
    assert r["refresh_share"] == pytest.approx(share)
    assert r["refresh_energy_j"] == pytest.approx(80900e-12)
    assert r["refresh_latency_s"] == pytest.approx(384 / 100e6)
    assert r["energy_j"] - base["energy_j"] == pytest.approx(share * 80900e-12)
    assert r["energy_j_by_component"]["refresh"] == pytest.approx(share * 80900e-12)
    assert r["cycles"] == pytest.approx(180 + share * 384)
    assert r["edap_j_s_mm2"] > base["edap_j_s_mm2"]
    assert "refresh_share" not in base.summary


def test_refresh_is_priced_again_on_repricing(hw):  # noqa: F811
    """The refresh is counted with the result (pulses, verify reads, share) and priced by the
    tables: re-pricing under the same tables gives the same energy, refresh included (compared
    against: the simulation)."""
    from archsim.energy.price import reprice

    r = simulate(linear_trace(), hw(**{"params.write.refresh_interval_s": 1e-3}))
    again = reprice(r, hw(**{"params.write.refresh_interval_s": 1e-3}))
    assert r["energy_j_by_component"]["refresh"] > 0
    assert again["energy_j"] == pytest.approx(r["energy_j"], rel=1e-12)
    assert again["energy_j_by_component"]["refresh"] == pytest.approx(r["energy_j_by_component"]["refresh"])
