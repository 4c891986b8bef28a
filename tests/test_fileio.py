"""Atomic writes: ordinary permissions, nothing left behind on failure, old content replaced."""
import os

import pytest

from archsim.fileio import OUTPUT_MARKER, atomic_dir, atomic_path, atomic_write_text


@pytest.fixture
def umask_022():
    old = os.umask(0o022)
    yield
    os.umask(old)


def test_file_has_umask_mode_and_replaces(tmp_path, umask_022):
    target = tmp_path / "sub" / "a.txt"
    atomic_write_text(target, "one")
    atomic_write_text(target, "two")
    assert target.read_text() == "two"
    assert target.stat().st_mode & 0o777 == 0o644
    assert os.listdir(target.parent) == ["a.txt"]


def test_failed_file_write_leaves_old_content_and_no_temporary(tmp_path):
    target = tmp_path / "a.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("disk full")
    assert target.read_text() == "old"
    assert os.listdir(tmp_path) == ["a.txt"]


def test_dir_appears_whole_or_not_at_all(tmp_path, umask_022):
    out = tmp_path / "result"
    with atomic_dir(out) as d:
        (d / "x").write_text("1")
    assert out.stat().st_mode & 0o777 == 0o755
    with pytest.raises(ValueError):
        with atomic_dir(out) as d:
            (d / "y").write_text("2")
            raise ValueError
    assert sorted(os.listdir(tmp_path)) == ["result"] and sorted(os.listdir(out)) == [OUTPUT_MARKER, "x"]
    with atomic_dir(out) as d:
        (d / "z").write_text("3")
    assert sorted(os.listdir(out)) == [OUTPUT_MARKER, "z"] and sorted(os.listdir(tmp_path)) == ["result"]
