"""From a sweep spec to the list of runs, checked before any of them starts.

``make_plan(spec)`` expands the design points, checks every swept key path against each base
hardware file and its model's parameter schema, drops the points that a constraint rejects,
validates every remaining point's hardware (so a type mismatch or an out-of-range value is an
error before anything runs), and loads every trace once. Each (design point, trace) pair gets a
``row_id`` computed from the resolved hardware, its energy tables, the trace's content and the
seed: the result store uses it to skip work already done.
"""
from __future__ import annotations

import ast
import difflib
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from archsim.config.expressions import ExpressionError, evaluate
from archsim.config.hardware import HardwareConfig, build_hardware, resolve_hardware
from archsim.config.yaml_loader import load_yaml
from archsim.energy.price import count_key
from archsim.errors import ArchsimError, ConfigError
from archsim.keypath import KeyPathError, get_path, iter_paths, walk
from archsim.sweep.spec import LoadedSpec, expand, load_spec
from archsim.sweep.worker import Task

MAX_ERROR_LINES = 10


class SpecError(ConfigError):
    """A problem of the sweep spec itself (not of one design point): stops the check at once."""


@dataclass
class DesignPoint:
    index: int                   # position among the points that pass the constraints
    base: int                    # index into the spec's hardware files
    values: dict[str, Any]       # swept key -> value
    hardware: str                # design name after the overrides
    architecture: str
    digest: str                  # of the resolved hardware and its energy tables
    count_key: str = ""          # of what the counts depend on (points sharing it differ only in prices)


@dataclass
class Member:
    """A trace of a family and the workload it was recorded at."""
    file: str                    # as written in the spec
    path: Path
    digest: str
    timesteps: int
    weight_sparsity: float | None


@dataclass
class TraceRef:
    file: str                    # as written in the spec (a family: its name)
    path: Path
    name: str
    digest: str                  # of the file's content (a family: of its members')
    members: list[Member] = field(default_factory=list)    # a family's traces; empty for one trace


@dataclass
class Plan:
    loaded: LoadedSpec
    keys: list[str]                          # swept keys, in spec order
    points: list[DesignPoint]
    traces: list[TraceRef]
    expanded: int                            # points before constraints
    rows: list[dict[str, Any]] = field(default_factory=list)   # one per (point, trace): spec columns
    tasks: list[Task] = field(default_factory=list)            # unique row_ids, grouped by count_key
    family_gaps: dict[str, list[dict]] = field(default_factory=dict)   # family -> workloads it has no member for

    @property
    def name(self) -> str:
        return self.loaded.spec.name

    @property
    def skipped(self) -> int:
        return self.expanded - len(self.points)

    def describe(self) -> str:
        s = self.loaded.spec
        text = (f"sweep '{s.name}': {len(self.points)} design points x {len(self.traces)} traces = "
                f"{len(self.rows)} runs")
        if self.skipped:
            text += f" ({self.skipped} of {self.expanded} points skipped by constraints)"
        # points that count the same: same counted design and the same workload (a workload axis changes the counts)
        counted = len({(p.count_key, json.dumps(workload_values(p.values), sort_keys=True)) for p in self.points})
        for family, gaps in self.family_gaps.items():
            text += (f"; trace family '{family}' has no member recorded at "
                     f"{', '.join(_workload_label(g) for g in gaps)}: those runs are not planned")
        if counted < len(self.points):
            text += (f"; {len(self.points) - counted} points differ from another only in prices: "
                     f"{counted} designs are simulated, the rest re-priced")
        return text


def make_plan(spec: str | Path | LoadedSpec, *, progress: bool = False) -> Plan:
    loaded = spec if isinstance(spec, LoadedSpec) else load_spec(spec)
    s = loaded.spec
    raw_points, located = expand(loaded)
    keys = list(located)
    bases = [_base_file(loaded, i, f) for i, f in enumerate(s.hardware_files)]
    for key, where in located.items():
        if key.startswith(WORKLOAD_PREFIX):
            check_workload_key(key, where)
            continue
        for i, base in enumerate(bases):
            check_key_path(base, key, where, loaded.spec.hardware_files[i])
    constraints = [Constraint(text, keys, loaded.where("constraints", i), i)
                   for i, text in enumerate(s.constraints)]

    points: list[DesignPoint] = []
    problems: list[str] = []
    n_bad = 0
    combos = [(b, values) for b in range(len(bases)) for values in raw_points]
    iterator = combos
    if progress and len(combos) >= 200:
        from tqdm.auto import tqdm
        iterator = tqdm(combos, desc="checking design points", unit="pt", leave=False)
    for b, values in iterator:
        label = _label(values, s.hardware_files[b] if len(bases) > 1 else None)
        try:
            check_workload_values(values, label, loaded.path)
            doc = resolve_hardware(bases[b], hardware_values(values))
            if not all(c.accepts(doc.data, label) for c in constraints):
                continue
            hw = build_hardware(doc)
        except SpecError:
            raise
        except ConfigError as exc:
            n_bad += 1
            if len(problems) < MAX_ERROR_LINES:
                problems += [f"{loaded.path}: design point {label}: {line}" for line in exc.problems]
            continue
        except ArchsimError as exc:
            n_bad += 1
            if len(problems) < MAX_ERROR_LINES:
                problems.append(f"{loaded.path}: design point {label}: {exc}")
            continue
        points.append(DesignPoint(index=len(points), base=b, values=values, hardware=hw.name,
                                  architecture=hw.config.architecture, digest=_hardware_digest(hw),
                                  count_key=count_key(hw)))
    if n_bad:
        more = f" (showing the first {len(problems)} problems)" if n_bad > MAX_ERROR_LINES else ""
        problems.append(f"{loaded.path}: {n_bad} of {len(combos)} design points are invalid{more}; fix the "
                        "sweep or skip them with a constraint")
        raise ConfigError(problems)
    if not points:
        where = loaded.where("constraints")
        raise ConfigError(f"{where}: constraints: they reject every one of the {len(combos)} design points, "
                          "so the sweep has nothing to run")

    traces = [_trace_ref(loaded, i, f) for i, f in enumerate(s.trace_files)]
    check_workloads_apply(points, traces)
    plan = Plan(loaded=loaded, keys=keys, points=points, traces=traces, expanded=len(combos))
    seen: set[str] = set()
    for p in points:
        workload = workload_values(p.values)
        for t in traces:
            file, path, digest, knobs = t.file, t.path, t.digest, workload
            if t.members:    # a family: the member recorded at this workload, run as it is
                member = select_member(t, workload)
                if member is None:
                    gaps = plan.family_gaps.setdefault(t.name, [])
                    if workload not in gaps:
                        gaps.append(workload)
                    continue
                file, path, digest, knobs = member.file, member.path, member.digest, {}
            row_id = _digest([p.digest, digest, s.seed] + ([workload] if workload else []) + _accuracy_key(s))[:20]
            plan.rows.append({"point": p.index, "trace": t.name, "hardware": p.hardware,
                              "architecture": p.architecture, "hardware_file": s.hardware_files[p.base],
                              "trace_file": file, **p.values, "row_id": row_id})
            if row_id not in seen:
                seen.add(row_id)
                plan.tasks.append(Task(row_id=row_id, hardware=str(bases[p.base]), overrides=hardware_values(p.values),
                                       trace=str(path), trace_digest=digest, seed=s.seed, workload=knobs,
                                       accuracy=s.accuracy.model_dump() if s.accuracy else None,
                                       count_key=p.count_key))
    for t in traces:
        if t.members and not any(r["trace"] == t.name for r in plan.rows):
            i = s.trace_files.index(next(f for f in s.trace_files if not isinstance(f, str) and f.family == t.name))
            have = ", ".join(_workload_label(_member_workload(m)) for m in t.members)
            raise ConfigError(f"{loaded.where('traces', i)}: traces: family '{t.name}' has no member at any design "
                              f"point's workload (its members: {have})")
    # points that differ only in prices next to each other, so that a worker counts once and re-prices
    first: dict[tuple[str, str, str], int] = {}
    for i, task in enumerate(plan.tasks):
        first.setdefault(_count_group(task), i)
    plan.tasks.sort(key=lambda task: first[_count_group(task)])
    return plan


def _count_group(task: Task) -> tuple[str, str, str]:
    """Tasks that count the same (same counts digest, trace and workload knobs): they differ only in prices."""
    return (task.count_key, task.trace_digest, json.dumps(task.workload, sort_keys=True))


def _accuracy_key(s) -> list:
    """An accuracy block changes what a row holds (and so its id); none keeps the old ids."""
    return [s.accuracy.model_dump(mode="json")] if s.accuracy is not None else []


# ----------------------------------------------------------------------------- workload axes

WORKLOAD_PREFIX = "workload."
WORKLOAD_KEYS = {"workload.timesteps": "an integer >= 1", "workload.weight_sparsity": "a fraction in [0, 1)"}


def hardware_values(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if not k.startswith(WORKLOAD_PREFIX)}


def workload_values(values: dict[str, Any]) -> dict[str, Any]:
    """The point's workload axes, without the prefix (``{timesteps: 8}``); null values left out
    (null: the trace as it is)."""
    return {k[len(WORKLOAD_PREFIX):]: v for k, v in values.items() if k.startswith(WORKLOAD_PREFIX) and v is not None}


def check_workload_key(key: str, where: str) -> None:
    if key not in WORKLOAD_KEYS:
        hint = difflib.get_close_matches(key, list(WORKLOAD_KEYS), n=1)
        extra = f" (did you mean '{hint[0]}'?)" if hint else ""
        raise SpecError(f"{where}: unknown workload axis '{key}'{extra}; workload axes: {', '.join(WORKLOAD_KEYS)} "
                        "(strong mode is the hardware key params.strong_silent; traces are listed in 'traces')")


def check_workload_values(values: dict[str, Any], label: str, path) -> None:
    for key, v in values.items():
        if not key.startswith(WORKLOAD_PREFIX) or v is None:
            continue
        ok = (isinstance(v, int) and not isinstance(v, bool) and v >= 1) if key == "workload.timesteps" else \
            (isinstance(v, (int, float)) and not isinstance(v, bool) and 0 <= v < 1)
        if not ok:
            raise ConfigError(f"{key}: expected {WORKLOAD_KEYS[key]} or null, got {v!r}")


def check_workloads_apply(points: list[DesignPoint], traces: list[TraceRef]) -> None:
    """Apply every distinct workload to every trace once, so that a trace that cannot express it
    (stored tensors of a fixed T or sparsity) fails before anything runs. A family's members are
    picked, not moved."""
    combos = {json.dumps(w, sort_keys=True): w for w in (workload_values(p.values) for p in points) if w}
    if not combos:
        return
    from archsim.generators.stats.knobs import apply_workload
    from archsim.trace.load import load_trace as load_any_trace
    for t in traces:
        if t.members:
            continue
        trace = load_any_trace(t.path)
        for w in combos.values():
            try:
                apply_workload(trace, **w)
            except ArchsimError as exc:
                raise ConfigError(f"traces: {t.file}: workload {w}: {exc}") from None


SPARSITY_MATCH = 0.005    # a family member matches a weight sparsity within this (absolute)


def select_member(family: TraceRef, workload: dict[str, Any]) -> Member | None:
    """The member of ``family`` recorded at ``workload``'s T and weight sparsity (an axis left out
    or null: the first member's value), or None. Weight sparsities match within SPARSITY_MATCH."""
    first = family.members[0]
    T = workload.get("timesteps", first.timesteps)
    ws = workload.get("weight_sparsity", first.weight_sparsity)
    return next((m for m in family.members if m.timesteps == T and _same_sparsity(m.weight_sparsity, ws)), None)


def _same_sparsity(a: float | None, b: float | None) -> bool:
    return (a is None and b is None) or (a is not None and b is not None and abs(a - b) <= SPARSITY_MATCH)


def _member_workload(m: Member) -> dict[str, Any]:
    return {"timesteps": m.timesteps, "weight_sparsity": None if m.weight_sparsity is None
            else round(m.weight_sparsity, 4)}


def _workload_label(w: dict[str, Any]) -> str:
    return "{" + ", ".join(f"{k}={v}" for k, v in w.items()) + "}" if w else "{the first member's}"


def _label(values: dict[str, Any], base: str | None) -> str:
    parts = ([f"hardware={base}"] if base else []) + [f"{k}={v!r}" for k, v in values.items()]
    return "{" + ", ".join(parts) + "}"


def _base_file(loaded: LoadedSpec, i: int, name: str) -> Path:
    path = (loaded.base / name).resolve()
    if not path.is_file():
        key = ("hardware", i) if isinstance(loaded.spec.hardware, list) else ("hardware",)
        raise ConfigError(f"{loaded.where(*key)}: hardware: file not found: {loaded.base / name}")
    return path


def _trace_ref(loaded: LoadedSpec, i: int, entry) -> TraceRef:
    from archsim.generators.stats.knobs import recorded_weight_sparsity
    from archsim.sweep.spec import TraceFamily
    from archsim.trace.load import load_trace as load_any_trace

    def load(name: str, key: tuple):
        path = (loaded.base / name).resolve()
        if not path.is_file():
            raise ConfigError(f"{loaded.where(*key)}: traces: file not found: {loaded.base / name}")
        trace = load_any_trace(path)   # validates it now, so that a bad trace fails before any point runs
        h = hashlib.sha256()
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
        return path, trace, h.hexdigest()

    key = ("traces", i) if isinstance(loaded.spec.traces, list) else ("traces",)
    if not isinstance(entry, TraceFamily):
        path, trace, digest = load(entry, key)
        return TraceRef(file=entry, path=path, name=trace.name, digest=digest)
    members: list[Member] = []
    for j, name in enumerate(entry.members):
        path, trace, digest = load(name, (*key, "members", j))
        m = Member(name, path, digest, trace.header.timesteps, recorded_weight_sparsity(trace))
        twin = next((o for o in members if o.timesteps == m.timesteps
                     and _same_sparsity(o.weight_sparsity, m.weight_sparsity)), None)
        if twin is not None:
            raise ConfigError(f"{loaded.where(*key, 'members', j)}: traces: family '{entry.family}': {name} and "
                              f"{twin.file} are both recorded at {_workload_label(_member_workload(m))}")
        members.append(m)
    digest = _digest([m.digest for m in members])
    return TraceRef(file=entry.family, path=members[0].path, name=entry.family, digest=digest, members=members)


def _digest(obj: Any) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()


def _hardware_digest(hw) -> str:
    from archsim import __version__
    tables = [t.model_dump(mode="json") for _, t in hw.table.files]
    key = {"hardware": hw.raw, "tables": tables, "archsim": __version__}
    if hw.parts:   # the engines of a hetero system live in their own files
        key["parts"] = {name: part.raw for name, part in hw.parts.items()}
    return _digest(key)


# ----------------------------------------------------------------------------- key paths

def check_key_path(base: Path, key: str, where: str, base_name: str) -> None:
    """``where``: ``file:line: sweep.grid.params.rows``, the start of an error message.

    A swept key must name a key of the base hardware file, a field of the hardware schema, a
    parameter of the file's model, or a variable of its energy tables (``energy.variables.X``).
    Otherwise the override would add a key that nothing reads."""
    from archsim.arch.registry import get_model_class

    data = load_yaml(base, resolve=False).data
    if not isinstance(data, dict):
        raise ConfigError(f"{base}: expected a mapping at the top level")
    parts = key.split(".")
    node, found = walk(data, key)
    if found == len(parts):
        return
    if found > 0 and not isinstance(node, (dict, list)):
        raise ConfigError(f"{where}: '{'.'.join(parts[:found])}' in {base_name} is a value "
                          f"({node!r}), not a mapping")

    schema_ok = len(parts) == 1 and parts[0] in HardwareConfig.model_fields
    model_fields: list[str] = []
    table_vars: list[str] = []
    try:
        model_cls = get_model_class(str(data.get("architecture")))
        model_fields = list(model_cls.Params.model_fields)
    except KeyError:
        model_cls = None
    if parts[0] == "params" and len(parts) >= 2 and parts[1] in model_fields:
        schema_ok = True
    tables = (data.get("energy") or {}).get("tables") if isinstance(data.get("energy"), dict) else None
    for t in tables or []:
        try:
            tdata = load_yaml(base.parent / str(t), resolve=False).data
            table_vars += list((tdata or {}).get("variables") or {})
        except ArchsimError:
            pass
    if parts[:2] == ["energy", "variables"] and len(parts) == 3 and parts[2] in table_vars:
        schema_ok = True
    if schema_ok:
        return

    known = set(iter_paths(data)) | set(HardwareConfig.model_fields)
    known |= {f"params.{f}" for f in model_fields} | {f"energy.variables.{v}" for v in table_vars}
    hint = difflib.get_close_matches(key, sorted(known), n=1)
    extra = f" (did you mean '{hint[0]}'?)" if hint else ""
    what = f"model '{model_cls.name}'" if model_cls is not None else "the hardware schema"
    raise ConfigError(f"{where}: no key '{key}' in {base_name} nor in the parameters of {what}{extra}")


# ----------------------------------------------------------------------------- constraints

class Constraint:
    """An expression over the point's hardware keys that must be true to keep the point.

    Names are dotted key paths of the resolved hardware (``params.rows``), the last part of a
    swept key when no other swept key ends the same way (``rows``), or top-level keys
    (``clock_mhz``). Arithmetic, comparisons, ``and/or/not``, ``a if c else b`` and the functions
    of hardware variables are allowed; nothing is passed to ``eval``."""

    def __init__(self, text: str, keys: list[str], where: str, index: int):
        self.text, self.where, self.index = text, where, index
        tails: dict[str, list[str]] = {}
        for k in keys:
            tails.setdefault(k.rsplit(".", 1)[-1], []).append(k)
        aliases = {t: ks[0] for t, ks in tails.items() if len(ks) == 1}
        try:
            tree = ast.parse(text.strip(), mode="eval")
        except SyntaxError:
            raise SpecError(f"{where}: constraints[{index}]: cannot parse {text!r}") from None
        self.paths: dict[str, str] = {}     # placeholder -> key path
        self.expr = ast.unparse(_KeyNames(aliases, self._placeholder).visit(tree))

    def _placeholder(self, path: str) -> ast.Name:
        name = f"_k{len(self.paths)}"
        self.paths[name] = path
        return ast.Name(id=name, ctx=ast.Load())

    def accepts(self, data: dict[str, Any], label: str) -> bool:
        names = {}
        for placeholder, path in self.paths.items():
            try:
                names[placeholder] = get_path(data, path)
            except KeyPathError:
                raise SpecError(f"{self.where}: constraints[{self.index}]: '{path}' in {self.text!r} is "
                                "not a key of the hardware (nor the last part of a swept key)") from None
        try:
            return bool(evaluate(self.expr, names))
        except ExpressionError as exc:
            raise SpecError(f"{self.where}: constraints[{self.index}]: {self.text!r} at design point "
                            f"{label}: {exc.reason}") from None


class _KeyNames(ast.NodeTransformer):
    """Replace each key path in an expression (``params.rows``, or a name: an alias or a
    top-level key) by a placeholder name that the whitelisted evaluator can look up."""

    def __init__(self, aliases: dict[str, str], placeholder):
        self.aliases, self.placeholder = aliases, placeholder

    def visit_Call(self, node: ast.Call) -> ast.AST:   # function names stay as they are
        node.args = [self.visit(a) for a in node.args]
        return node

    def visit_Attribute(self, node: ast.Attribute) -> ast.AST:
        dotted = _dotted(node)
        return self.placeholder(dotted) if dotted else self.generic_visit(node)

    def visit_Name(self, node: ast.Name) -> ast.AST:
        return self.placeholder(self.aliases.get(node.id, node.id))


def _dotted(node: ast.AST) -> str | None:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        return ".".join([node.id, *reversed(parts)])
    return None
