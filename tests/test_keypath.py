"""The one dotted-key walker (archsim.keypath) on hand-written nested data (compared against:
the values written in the test)."""
import pytest

from archsim.keypath import KeyPathError, flatten, get_path, has_path, iter_paths, set_path, walk

DATA = {"params": {"rows": 4, "engines": {"snn": {"copies": 2}}}, "layers": [{"bits": 8}, {"bits": 4}]}


def test_get_walks_mappings_and_lists():
    assert get_path(DATA, "params.rows") == 4
    assert get_path(DATA, "params.engines.snn.copies") == 2
    assert get_path(DATA, "layers.1.bits") == 4
    assert has_path(DATA, "layers.0") and not has_path(DATA, "layers.2")


def test_missing_and_value_in_the_way():
    with pytest.raises(KeyPathError) as exc:
        get_path(DATA, "params.cols")
    assert exc.value.found == 1 and str(exc.value) == "no key 'cols' under 'params'"
    with pytest.raises(KeyPathError) as exc:
        get_path(DATA, "params.rows.x")
    assert str(exc.value) == "'params.rows' is a value (4), not a mapping"
    assert walk(DATA, "nothing.here") == (DATA, 0)


def test_set_creates_mappings_and_indexes_lists():
    data = {"a": 1, "l": [0, 1]}
    set_path(data, "b.c.d", 5)
    set_path(data, "a.x", 2)          # a value in the way becomes a mapping
    set_path(data, "l.1", 9)
    assert data == {"a": {"x": 2}, "b": {"c": {"d": 5}}, "l": [0, 9]}


def test_iter_and_flatten():
    assert list(iter_paths({"a": {"b": 1}, "l": [3]})) == ["a", "a.b", "l", "l.0"]
    assert flatten({"params": {"n_pe": 8, "x": {}}, "clock_mhz": 5}) == {"params.n_pe": 8, "params.x": {}, "clock_mhz": 5}
