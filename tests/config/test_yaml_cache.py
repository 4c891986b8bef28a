"""The memoized YAML load sees every change of the file or of a file it extends or includes,
even one that keeps the size (compared against: the values written)."""
from archsim.config.yaml_loader import load_yaml_unresolved


def test_cache_follows_the_files(tmp_path):
    base = tmp_path / "base.yaml"
    top = tmp_path / "top.yaml"
    inc = tmp_path / "inc.yaml"
    base.write_text("a: 1\nb: {c: 2}\n")
    inc.write_text("7\n")
    top.write_text("extends: base.yaml\nd: !include inc.yaml\n")
    first = load_yaml_unresolved(top)
    assert first.data == {"a": 1, "b": {"c": 2}, "d": 7}
    first.data["b"]["c"] = 99                         # a copy: changing it changes nothing stored
    assert load_yaml_unresolved(top).data["b"]["c"] == 2
    base.write_text("a: 3\nb: {c: 2}\n")              # same size, other bytes
    assert load_yaml_unresolved(top).data["a"] == 3
    inc.write_text("8\n")
    assert load_yaml_unresolved(top).data["d"] == 8


def test_cached_errors_name_the_file_as_given(tmp_path, monkeypatch):
    (tmp_path / "a.yaml").write_text("x: 1\n")
    monkeypatch.chdir(tmp_path)
    relative = load_yaml_unresolved("a.yaml")
    absolute = load_yaml_unresolved(tmp_path / "a.yaml")
    assert relative.where[("x",)] == "a.yaml:1"
    assert absolute.where[("x",)] == f"{tmp_path / 'a.yaml'}:1"
