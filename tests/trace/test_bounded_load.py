"""Trace loading is bounded and validate catches what simulate would trip on (invariants: the
archive's declared sizes, the manifest's shapes and the operands must agree; nothing is read
beyond the limits)."""
import io
import json
import zipfile

import numpy as np
import pytest

from archsim.errors import TraceError
from archsim.trace.io import MANIFEST, load_trace
from archsim.trace.schema import Role
from tests.helpers import builder


def small_trace(tmp_path, weight=None):
    b = builder(T=1)
    weight = np.ones((4, 8), dtype=np.float32) if weight is None else weight
    w = b.operand("weight", Role.static_weight, data=weight, bits=16)
    x = b.operand("input", Role.activation, shape=[1, 8], bits=8)
    b.add("linear", "fc", operands=[x, w], tokens=1, in_features=8, out_features=4)
    return b.build().save(tmp_path / "t.trace")


def rewrite(path, manifest=None, entries=None):
    """Copy the archive with a changed manifest and/or changed entries (name -> bytes)."""
    with zipfile.ZipFile(path) as zf:
        items = {n: zf.read(n) for n in zf.namelist()}
    if manifest is not None:
        data = json.loads(items[MANIFEST])
        manifest(data)
        items[MANIFEST] = json.dumps(data).encode()
    items.update(entries or {})
    out = path.with_name("bad.trace")
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for n, b in items.items():
            zf.writestr(n, b)
    return out


def npy(arr):
    buf = io.BytesIO()
    np.save(buf, arr, allow_pickle=False)
    return buf.getvalue()


def test_zip_bomb_tensor_refused_before_reading(tmp_path):
    path = small_trace(tmp_path)
    key = next(iter(json.loads(zipfile.ZipFile(path).read(MANIFEST))["tensors"]))
    bomb = rewrite(path, entries={f"tensors/{key}.npy": npy(np.zeros((64, 1 << 20), np.float32))})  # 256 MiB
    assert bomb.stat().st_size < 2 << 20
    with pytest.raises(TraceError, match="more than the manifest"):
        load_trace(bomb)                      # from the archive's directory, before any tensor is read


def test_total_size_and_manifest_caps(tmp_path, monkeypatch):
    path = small_trace(tmp_path)
    monkeypatch.setenv("ARCHSIM_MAX_TRACE_BYTES", "100")
    with pytest.raises(TraceError, match="ARCHSIM_MAX_TRACE_BYTES"):
        load_trace(path)
    monkeypatch.delenv("ARCHSIM_MAX_TRACE_BYTES")
    import archsim.trace.io as tio
    monkeypatch.setattr(tio, "MAX_MANIFEST_BYTES", 50)
    with pytest.raises(TraceError, match="manifest.json expands"):
        load_trace(path)


@pytest.mark.parametrize("bad, needle", [(np.nan, "NaN or infinite"), (np.inf, "NaN or infinite")])
def test_non_finite_tensor_names_the_operand(tmp_path, bad, needle):
    w = np.ones((4, 8), dtype=np.float32)
    w[1, 2] = bad
    trace = load_trace(small_trace(tmp_path, w))
    with pytest.raises(TraceError) as info:
        trace.check_tensors()
    assert needle in str(info.value) and "fc.weight" in str(info.value)


def set_weight_shape(data):
    for o in data["ops"][0]["operands"]:
        if o["name"] == "weight":
            data["tensors"][o["tensor"]]["shape"] = [2, 16]


@pytest.mark.parametrize("change, needle", [
    (set_weight_shape, "operand 'weight': stored tensor"),
    (lambda d: d.update(schema_version=0), "schema_version 0"),
    (lambda d: d.update(schema_version=-1), "schema_version -1"),
    (lambda d: d.update(schema_version=True), "schema_version"),
    (lambda d: d.update(ops=[], tensors={}), "no operations"),
    (lambda d: [t.update(dtype="object") for t in d["tensors"].values()], "object"),
])
def test_manifest_cross_checks(tmp_path, change, needle):
    bad = rewrite(small_trace(tmp_path), manifest=change)
    with pytest.raises(TraceError) as info:
        load_trace(bad)
    assert needle in str(info.value) and "\n" not in str(info.value)
