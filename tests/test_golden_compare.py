"""The golden comparison of exported traces (tests.helpers.golden_mismatches) can fail."""
from tests.helpers import MEASURED_DENSITY_ABS, golden_mismatches


def test_golden_mismatches_margin_and_exact_fields():
    golden = {"ops": [{"id": "c1", "macs": 10, "density": 0.5, "scale": 0.25, "sha": "ab"}]}
    near = {"ops": [{"id": "c1", "macs": 10, "density": 0.5 + MEASURED_DENSITY_ABS / 2, "scale": 0.25, "sha": "ab"}]}
    assert golden_mismatches(near, golden) == []
    for field, value in (("density", 0.5 + 2 * MEASURED_DENSITY_ABS), ("macs", 11), ("scale", 0.2500001),
                         ("sha", "ac"), ("id", "c2")):
        bad = {"ops": [{**golden["ops"][0], field: value}]}
        assert len(golden_mismatches(bad, golden)) == 1, field
    assert golden_mismatches({"ops": []}, golden) and golden_mismatches({"ops": [{}]}, golden)
