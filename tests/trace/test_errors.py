"""Bad trace files give one clear line naming the file and the problem."""
import json
import zipfile

import pytest

from archsim.errors import TraceError
from archsim.trace.io import load_trace
from tests.helpers import builder, random_spikes
from archsim.trace.schema import Role


@pytest.fixture
def good(tmp_path, rng):
    b = builder(T=2)
    x = b.operand("input", Role.spike, data=random_spikes(rng, 2, (1, 4)))
    b.add("linear", "fc", operands=[x], tokens=1, in_features=4, out_features=3)
    return b.build().save(tmp_path / "good.trace")


def rewrite_manifest(src, dst, edit):
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for item in zin.namelist():
            data = zin.read(item)
            if item == "manifest.json":
                manifest = json.loads(data)
                edit(manifest)
                data = json.dumps(manifest).encode()
            zout.writestr(item, data)
    return dst


def test_missing_file(tmp_path):
    with pytest.raises(TraceError, match=r"nope.trace: file not found"):
        load_trace(tmp_path / "nope.trace")


def test_not_a_trace(tmp_path):
    p = tmp_path / "x.trace"
    p.write_text("hello")
    with pytest.raises(TraceError, match=r"x.trace: not an archsim trace"):
        load_trace(p)


def test_truncated(tmp_path, good):
    data = good.read_bytes()
    p = tmp_path / "cut.trace"
    p.write_bytes(data[: len(data) // 2])
    with pytest.raises(TraceError, match=r"cut.trace: .*truncated"):
        load_trace(p)


def test_zip_without_manifest(tmp_path):
    p = tmp_path / "z.trace"
    with zipfile.ZipFile(p, "w") as zf:
        zf.writestr("other.txt", "x")
    with pytest.raises(TraceError, match="no manifest.json"):
        load_trace(p)


def test_newer_schema(tmp_path, good):
    p = rewrite_manifest(good, tmp_path / "v2.trace", lambda m: m.update(schema_version=2))
    with pytest.raises(TraceError, match=r"v2.trace: schema_version 2 is newer than this archsim supports \(1\)"):
        load_trace(p)


def test_shape_disagrees_with_loop_bounds(tmp_path, good):
    def edit(m):
        m["ops"][0]["in_features"] = 5
    p = rewrite_manifest(good, tmp_path / "bad.trace", edit)
    with pytest.raises(TraceError, match=r"bad.trace: ops\[0\] \(fc\): .*disagrees with the loop bounds"):
        load_trace(p)


def test_unknown_key_and_kind(tmp_path, good):
    p = rewrite_manifest(good, tmp_path / "k.trace", lambda m: m["ops"][0].update(colour="red"))
    with pytest.raises(TraceError, match=r"ops\[0\] \(fc\).colour: unknown key"):
        load_trace(p)
    p = rewrite_manifest(good, tmp_path / "kind.trace", lambda m: m["ops"][0].update(kind="conv3d"))
    with pytest.raises(TraceError, match=r"kind.trace: ops\[0\] \(fc\)"):
        load_trace(p)


def test_missing_tensor_in_archive(tmp_path, good):
    p = tmp_path / "notensor.trace"
    with zipfile.ZipFile(good) as zin, zipfile.ZipFile(p, "w") as zout:
        for item in zin.namelist():
            if not item.startswith("tensors/"):
                zout.writestr(item, zin.read(item))
    with pytest.raises(TraceError, match="listed in the manifest but not in the archive"):
        load_trace(p)


def test_corrupt_tensor(tmp_path, good):
    p = tmp_path / "corrupt.trace"
    with zipfile.ZipFile(good) as zin, zipfile.ZipFile(p, "w") as zout:
        for item in zin.namelist():
            zout.writestr(item, b"garbage" if item.startswith("tensors/") else zin.read(item))
    trace = load_trace(p)
    with pytest.raises(TraceError, match=r"corrupt.trace: tensors\..*cannot read the stored array"):
        trace.check_tensors()


def test_topological_order(tmp_path, good):
    p = rewrite_manifest(good, tmp_path / "order.trace", lambda m: m["ops"][0].update(inputs=["later"]))
    with pytest.raises(TraceError, match="input 'later' is not an earlier op"):
        load_trace(p)


def test_builder_rejects_inconsistent_shapes():
    b = builder()
    x = b.operand("input", Role.activation, shape=[1, 3, 8, 8])
    with pytest.raises(TraceError, match=r"op c: .*disagrees with the loop bounds"):
        b.add("conv2d", "c", operands=[x], in_channels=4, out_channels=2, in_h=8, in_w=8, kernel_h=3, kernel_w=3)
