"""Fuzzing the inputs: random mutations of the example hardware YAML, a trace (its manifest, a
tensor entry, the archive bytes), a layer list and a sweep spec. The property (issue 18): the
command exits 0 or 2; on 2 every stderr line is an ``archsim: error:`` line; never a traceback;
no file outside the output folder changes; it finishes within a time bound.

The default suite runs each target in this process (a few examples, seconds); ``-m slow`` runs
many more examples, each as a subprocess under the CPU and memory limits of harness.py.
"""
from __future__ import annotations

import contextlib
import io
import json
import os
import signal
import time
import zipfile
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.hardening.cases import HW, LAYERS, SPEC, TRACE, make_sandbox
from tests.hardening.harness import assert_bounded, run_cli, snapshot

IN_PROCESS_LIMIT_S = 30.0     # wall time of one in-process example (a shared, loaded machine)

NASTY_TEXT = ["9**9**9", "'x' * 10**9", "round(1e308*10)", "exp(1000)", "-'x'", "'x' < 1", "1/0",
              "${ARRAY} * 0", "${NOPE}", "${9**9**9}", "${'x' * 10**9}", "__import__('os')", "", " ", "🙂",
              "!include /etc/passwd", "../../../../etc/passwd", "/etc/passwd", "x" * 300, "[1,", "{a: 1}",
              ".inf", ".nan", "-1", "0", "1e309", "energy/example_45nm.yaml"]
scalars = st.one_of(
    st.none(), st.booleans(),
    st.integers(min_value=-2**70, max_value=2**70),
    st.sampled_from([0, 1, -1, 2**31, 10**12, 10**30]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(NASTY_TEXT),
    st.text(max_size=12),
)
values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                        st.dictionaries(st.text(max_size=6), inner, max_size=3)),
                      max_leaves=6)


def key_paths(data, prefix=()):
    out = [prefix] if prefix else []
    if isinstance(data, dict):
        for k, v in data.items():
            out += key_paths(v, prefix + (k,))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            out += key_paths(v, prefix + (i,))
    return out


@st.composite
def mutated(draw, data):
    """``data`` with 1-3 mutations: a value replaced, a key removed, or an unknown key added."""
    import copy
    data = copy.deepcopy(data)
    for _ in range(draw(st.integers(1, 3))):
        paths = key_paths(data)
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent = data
        for part in path[:-1]:
            parent = parent[part]
        action = draw(st.sampled_from(["replace", "replace", "delete", "add"]))
        if action == "replace":
            parent[path[-1]] = draw(values)
        elif action == "delete":
            del parent[path[-1]]
        elif isinstance(parent, dict):
            parent[draw(st.text(min_size=1, max_size=8))] = draw(values)
    return data


def dump(data) -> str:
    text = yaml.safe_dump(data, allow_unicode=True, sort_keys=False)
    return text.replace("'!include /etc/passwd'", "!include /etc/passwd")   # the tag, not a string


# ----------------------------------------------------------------------------- running

class _Timeout(Exception):
    pass


def run_in_process(args: list[str], box: Path) -> tuple[int, str]:
    """``archsim ARGS`` in this process with ``box`` as the current folder; (exit code, stderr).
    Anything but ArchsimError escaping main() is a traceback: the test fails on it."""
    import os

    from archsim.cli import main

    def alarm(signum, frame):
        raise _Timeout
    old_cwd, old = os.getcwd(), signal.signal(signal.SIGALRM, alarm)
    err = io.StringIO()
    os.chdir(box)
    signal.alarm(int(IN_PROCESS_LIMIT_S))
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            try:
                code = main(args)
            except SystemExit as exc:          # argparse
                code = exc.code if isinstance(exc.code, int) else 2
    except _Timeout:
        pytest.fail(f"archsim {' '.join(args)}: still running after {IN_PROCESS_LIMIT_S} s")
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)
        os.chdir(old_cwd)
    return code, err.getvalue()


def check(args: list[str], box: Path, subprocess_run: bool) -> None:
    if subprocess_run:
        o = run_cli(args, box)
        assert o.code in (0, 2), o.describe()
        assert "Traceback" not in o.stderr, o.describe()
        if o.code == 2:
            assert o.lines and all(l.startswith("archsim: error: ") for l in o.lines), o.describe()
        assert_bounded(o)
        return
    before = snapshot(box, {box / "out"})
    t0 = time.monotonic()
    code, stderr = run_in_process(args, box)
    lines = [l for l in stderr.splitlines() if l.strip()]
    assert code in (0, 2), stderr
    if code == 2:
        assert lines and all(l.startswith("archsim: error: ") for l in lines), stderr
    assert time.monotonic() - t0 < IN_PROCESS_LIMIT_S
    after = snapshot(box, {box / "out"})
    assert before == after, sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))


@pytest.fixture(scope="module")
def pristine(tmp_path_factory):
    return make_sandbox(tmp_path_factory.mktemp("fuzz") / "box")


def fresh(pristine: Path, tmp: Path) -> Path:
    import shutil
    import tempfile
    box = Path(tempfile.mkdtemp(dir=tmp)) / "box"
    shutil.copytree(pristine, box)
    return box


# ARCHSIM_FUZZ_EXAMPLES=N runs N random (not derandomized) in-process examples per target instead
FUZZ_EXAMPLES = int(os.environ.get("ARCHSIM_FUZZ_EXAMPLES", "0"))
FAST = settings(max_examples=FUZZ_EXAMPLES or 6, deadline=None, derandomize=not FUZZ_EXAMPLES, database=None,
                suppress_health_check=list(HealthCheck))
SLOW = settings(max_examples=int(os.environ.get("ARCHSIM_FUZZ_SLOW_EXAMPLES", "60")), deadline=None, database=None,
                suppress_health_check=list(HealthCheck))
MODES = [pytest.param(False, id="in-process"),
         pytest.param(True, id="subprocess", marks=pytest.mark.slow)]


def _settings(subprocess_run):
    return SLOW if subprocess_run else FAST


# ----------------------------------------------------------------------------- targets

HW_DATA = yaml.safe_load((Path(__file__).resolve().parents[2] / "hw_configs/mac_array_example.yaml").read_text())
LAYER_DATA = yaml.safe_load((Path(__file__).resolve().parents[2] / "examples/tiny_snn.yaml").read_text())
SPEC_DATA = {"name": "s", "hardware": HW, "traces": [LAYERS], "sweep": {"grid": {"params.rows": [4, 8]}},
             "constraints": ["rows * cols <= 4096"]}


@pytest.mark.parametrize("subprocess_run", MODES)
def test_fuzz_hardware_yaml(pristine, tmp_path, subprocess_run):
    @_settings(subprocess_run)
    @given(data=mutated(HW_DATA), command=st.sampled_from(["validate", "simulate"]))
    def run(data, command):
        box = fresh(pristine, tmp_path)
        (box / HW).write_text(dump(data))
        args = ["validate", HW] if command == "validate" else \
            ["simulate", "--hw", HW, "--trace", LAYERS, "-o", "out", "--quiet"]
        check(args, box, subprocess_run)
    run()


@pytest.mark.parametrize("subprocess_run", MODES)
def test_fuzz_layer_list(pristine, tmp_path, subprocess_run):
    @_settings(subprocess_run)
    @given(data=mutated(LAYER_DATA))
    def run(data):
        box = fresh(pristine, tmp_path)
        (box / LAYERS).write_text(dump(data))
        check(["trace", "convert", LAYERS, "-o", "out/t.trace"], box, subprocess_run)
    run()


@pytest.mark.parametrize("subprocess_run", MODES)
def test_fuzz_sweep_spec(pristine, tmp_path, subprocess_run):
    @_settings(subprocess_run)
    @given(data=mutated(SPEC_DATA), constraint=st.sampled_from(NASTY_TEXT + ["rows * 2 > 0", "params.rows > 1"]))
    def run(data, constraint):
        box = fresh(pristine, tmp_path)
        if isinstance(data, dict) and isinstance(data.get("constraints"), list):
            data["constraints"].append(constraint)
        (box / SPEC).write_text(dump(data))
        check(["sweep", SPEC, "-o", "out", "--dry-run", "--quiet"], box, subprocess_run)
    run()


def _trace_items(box: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(box / TRACE) as zf:
        return {n: zf.read(n) for n in zf.namelist()}


@pytest.mark.parametrize("subprocess_run", MODES)
def test_fuzz_trace(pristine, tmp_path, subprocess_run):
    items = _trace_items(pristine)
    manifest = json.loads(items["manifest.json"])
    tensor = next(n for n in items if n.startswith("tensors/"))

    @_settings(subprocess_run)
    @given(kind=st.sampled_from(["manifest", "tensor", "archive"]), data=mutated(manifest),
           blob=st.binary(max_size=256), cut=st.integers(0, 4000), flip=st.integers(0, 4000),
           command=st.sampled_from(["validate", "simulate", "info"]))
    def run(kind, data, blob, cut, flip, command):
        box = fresh(pristine, tmp_path)
        new = dict(items)
        if kind == "manifest":
            new["manifest.json"] = json.dumps(data, allow_nan=True).encode()
        elif kind == "tensor":
            new[tensor] = items[tensor][:cut % (len(items[tensor]) + 1)] + blob
        if kind != "archive":
            with zipfile.ZipFile(box / TRACE, "w", compression=zipfile.ZIP_DEFLATED) as zf:
                for n, b in new.items():
                    zf.writestr(n, b)
        else:                                  # truncate or flip a byte of the archive itself
            raw = bytearray((box / TRACE).read_bytes())
            raw[flip % len(raw)] ^= 0xFF
            (box / TRACE).write_bytes(bytes(raw[:max(1, len(raw) - cut % len(raw))]) if cut % 2 else bytes(raw))
        args = {"validate": ["validate", TRACE], "info": ["trace", "info", TRACE],
                "simulate": ["simulate", "--hw", HW, "--trace", TRACE, "-o", "out", "--quiet"]}[command]
        check(args, box, subprocess_run)
    run()
