"""The committed shape-only example traces match the code that makes them."""
import pytest

from archsim.trace.io import load_trace
from archsim.generators.shapes.examples import examples


@pytest.mark.parametrize("name", sorted(examples()))
def test_committed_trace_is_current(repo, name):
    path = repo / "examples" / "shapes" / name
    assert path.exists(), f"{path} missing: python -m archsim.generators.shapes.examples examples/shapes"
    assert load_trace(path).manifest == examples()[name]().manifest, \
        f"{path} is stale: python -m archsim.generators.shapes.examples examples/shapes"
