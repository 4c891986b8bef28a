"""Safe YAML loading that remembers where every key came from.

``load_yaml(path)`` returns a :class:`Document`: the data (plain dicts, lists and scalars) and a
map from key path to ``file:line`` used in error messages. It supports

* ``!include other.yaml``: the included file's data replaces the tagged value;
* ``extends: base.yaml`` at the top of a mapping document: the base is loaded first and this
  file's keys are merged over it (mappings merge recursively, everything else is replaced);
* ``variables:`` (see :mod:`archsim.config.expressions`), substituted into ``${...}`` values.

Duplicate keys are errors. Only ``yaml.SafeLoader`` constructs values, so no tag can run code.

Files named by ``!include``, ``extends:`` and ``energy.tables`` are confined
(:func:`resolve_reference`): they must lie inside the folder tree of the file being loaded, a
folder of the ``ARCHSIM_PATH`` search path (``os.pathsep``-separated; a relative name not found
beside the file is looked up there), or archsim's own ``hw_configs/`` (the shipped designs and
energy tables). An absolute path or a ``..`` that leaves those folders is refused, unless the
environment sets ``ARCHSIM_ALLOW_ANY_PATH=1``. Errors name the file and key, never the contents.
"""
from __future__ import annotations

import functools
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from archsim.config.expressions import ExpressionError, VariableError, resolve_variables, substitute
from archsim.errors import ConfigError

KeyPath = tuple[Any, ...]

SEARCH_PATH_ENV = "ARCHSIM_PATH"
ALLOW_ANY_PATH_ENV = "ARCHSIM_ALLOW_ANY_PATH"
MAX_YAML_BYTES = 16 << 20          # a configuration file larger than this is refused


def search_path() -> list[Path]:
    """The folders of ``ARCHSIM_PATH``."""
    return [Path(p).expanduser().resolve() for p in os.environ.get(SEARCH_PATH_ENV, "").split(os.pathsep) if p]


def shipped_configs() -> Path:
    import archsim
    return Path(archsim.__file__).resolve().parents[1] / "hw_configs"


def allowed_roots(top_file: Path) -> tuple[Path, ...]:
    """Where files referenced from ``top_file`` (and from what it includes) may lie."""
    return tuple(dict.fromkeys([Path(top_file).resolve().parent, *search_path(), shipped_configs()]))


def _inside(path: Path, roots: tuple[Path, ...]) -> bool:
    return any(path == r or r in path.parents for r in roots)


def resolve_reference(name: Any, including: Path, roots: tuple[Path, ...] | None, where: str,
                      what: str = "file") -> Path:
    """The path of a file named ``name`` in ``including`` (``!include``, ``extends``, an energy
    table): beside ``including``, else in an ``ARCHSIM_PATH`` folder; refused (ConfigError
    starting with ``where``) when missing or outside ``roots`` (see the module docstring)."""
    if not isinstance(name, (str, os.PathLike)) or not str(name).strip():
        raise ConfigError(f"{where}: expected a file name, got {type(name).__name__}")
    roots = roots if roots is not None else allowed_roots(including)
    raw = Path(str(name)).expanduser()
    candidates = [raw] if raw.is_absolute() else [including.parent / raw, *(d / raw for d in search_path())]
    allow_any = os.environ.get(ALLOW_ANY_PATH_ENV, "") not in ("", "0")
    outside = None
    for cand in candidates:
        try:
            real = cand.resolve()
        except (OSError, RuntimeError):
            continue
        if not allow_any and not _inside(real, roots):
            outside = outside or cand
            continue
        if cand.exists():
            return cand
    if outside is not None:
        raise ConfigError(f"{where}: {name} is outside the allowed folders (the folder of "
                          f"{Path(including).name}, {SEARCH_PATH_ENV}, archsim's hw_configs); add its "
                          f"folder to {SEARCH_PATH_ENV} or set {ALLOW_ANY_PATH_ENV}=1")
    raise ConfigError(f"{where}: {what} not found: {candidates[0]}")


@dataclass
class Document:
    """Loaded YAML data plus where each key path was written (``"file:line"``)."""

    data: Any
    path: Path
    where: dict[KeyPath, str] = field(default_factory=dict)

    def locate(self, key_path: KeyPath) -> str:
        """The ``file:line`` of the deepest known prefix of ``key_path``."""
        for n in range(len(key_path), -1, -1):
            hit = self.where.get(tuple(key_path[:n]))
            if hit:
                return hit
        return str(self.path)


def format_key_path(key_path: KeyPath) -> str:
    out = ""
    for part in key_path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "<top>"


def load_yaml(path: str | Path, *, resolve: bool = True, _seen: tuple[Path, ...] = (),
              _roots: tuple[Path, ...] | None = None) -> Document:
    """Load ``path`` (a YAML file) with includes, ``extends`` and, if ``resolve``, variables.
    Files it names must lie inside ``path``'s folder tree or the search path (see above)."""
    path = Path(path)
    if not path.exists():
        raise ConfigError(f"{path}: file not found")
    if not path.is_file():
        raise ConfigError(f"{path}: not a file")
    real = path.resolve()
    roots = _roots if _roots is not None else allowed_roots(path)
    if real in _seen:
        chain = " -> ".join(str(p) for p in (*_seen, real))
        raise ConfigError(f"{path}: include/extends cycle: {chain}")
    try:
        size = path.stat().st_size
        if size > MAX_YAML_BYTES:
            raise ConfigError(f"{path}: file of {size} bytes is larger than the limit for a YAML "
                              f"configuration ({MAX_YAML_BYTES} bytes)")
        text = path.read_text()
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: cannot read: not UTF-8 text") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or type(exc).__name__}") from None
    try:
        node = _compose(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"{path}{line}: malformed YAML: {problem}") from exc
    doc = Document(data=None, path=path)
    builder = _Builder(doc, (*_seen, real), roots)
    doc.data = {} if node is None else builder.build(node, ())
    if isinstance(doc.data, dict) and "extends" in doc.data:
        doc = _apply_extends(doc, (*_seen, real), roots)
    if resolve:
        resolve_document(doc)
    return doc


_UNRESOLVED: dict[tuple[str, str], tuple[tuple, Document]] = {}   # (path as given, cwd) -> stamps, doc


def load_yaml_unresolved(path: str | Path) -> Document:
    """``load_yaml(path, resolve=False)``, memoized while neither the file nor any file it
    includes or extends changes (their bytes are compared); returns a copy the caller may
    change. A sweep loads the same hardware file and tables for every design point, and building
    the data from the parsed nodes dominates that load."""
    import os

    real = Path(path).resolve()
    key = (str(path), os.getcwd())      # error messages name the file as the caller gave it
    hit = _UNRESOLVED.get(key)
    if hit is not None:
        stamps, doc = hit
        try:
            if all(_stamp(f) == s for f, s in stamps):
                return Document(data=_copy_data(doc.data), path=Path(path), where=dict(doc.where))
        except OSError:
            pass
    doc = _self_contained_copy(path)
    if doc is None:
        doc = load_yaml(path, resolve=False)
        _remember_self_contained(doc)
    files = {real, *(Path(f).resolve() for f in {w.rsplit(":", 1)[0] for w in doc.where.values()})}
    if len(_UNRESOLVED) >= 64:
        _UNRESOLVED.pop(next(iter(_UNRESOLVED)))
    _UNRESOLVED[key] = (tuple((f, _stamp(f)) for f in sorted(files) if os.path.exists(f)),
                         Document(data=_copy_data(doc.data), path=doc.path, where=dict(doc.where)))
    return doc


# blake2b of a file's bytes -> (data, key path -> line) of a file that includes and extends nothing:
# a batch of imported designs holds one copy of the same energy table per design folder
_BY_CONTENT: dict[bytes, tuple[Any, dict[KeyPath, str]]] = {}


def _self_contained_copy(path: str | Path) -> Document | None:
    """The document of ``path`` built from a file of the same bytes seen before, if that file
    included and extended nothing (its data and lines hold whatever its folder)."""
    try:
        hit = _BY_CONTENT.get(_stamp(Path(path)))
    except OSError:
        return None
    if hit is None:
        return None
    data, lines = hit
    path = Path(path)
    return Document(data=_copy_data(data), path=path, where={k: f"{path}:{line}" for k, line in lines.items()})


def _remember_self_contained(doc: Document) -> None:
    prefix = f"{doc.path}:"
    lines = {k: w[len(prefix):] for k, w in doc.where.items() if w.startswith(prefix)}
    if len(lines) != len(doc.where) or not all(line.isdigit() for line in lines.values()):
        return                                # it names other files (includes, extends)
    if len(_BY_CONTENT) >= 64:
        _BY_CONTENT.pop(next(iter(_BY_CONTENT)))
    _BY_CONTENT[_stamp(doc.path)] = (_copy_data(doc.data), lines)


def _copy_data(value: Any) -> Any:
    """A copy of YAML data: new mappings and lists, the (immutable) scalars shared."""
    if isinstance(value, dict):
        return {k: _copy_data(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy_data(v) for v in value]
    if isinstance(value, set):
        return set(value)
    return value


def _stamp(path: Path) -> bytes:
    import hashlib
    return hashlib.blake2b(path.read_bytes(), digest_size=16).digest()


@functools.lru_cache(maxsize=256)
def _compose(text: str) -> yaml.Node | None:
    """Parse YAML text into nodes, memoized by the text itself (never stale): a sweep loads the
    same hardware file and tables for every design point, and parsing dominates that load.
    The nodes are only read afterwards.

    libyaml's parser (``CSafeLoader``, where PyYAML has it) builds the same nodes, with the same
    line marks and tags (the tags are resolved by PyYAML's Python resolver in both), several times
    faster; text it refuses is parsed again by the Python parser, whose error messages are the
    ones documented."""
    if _CSafeLoader is not None:
        try:
            return yaml.compose(text, Loader=_CSafeLoader)
        except yaml.YAMLError:
            pass
    return yaml.compose(text, Loader=yaml.SafeLoader)


_CSafeLoader = getattr(yaml, "CSafeLoader", None)


class _Builder:
    def __init__(self, doc: Document, seen: tuple[Path, ...], roots: tuple[Path, ...]):
        self.doc, self.seen, self.roots = doc, seen, roots
        self.constructor = yaml.SafeLoader("")

    def build(self, node: yaml.Node, key_path: KeyPath) -> Any:
        self.doc.where[key_path] = f"{self.doc.path}:{node.start_mark.line + 1}"
        if node.tag == "!include":
            if not isinstance(node, yaml.ScalarNode):
                raise ConfigError(f"{self.doc.where[key_path]}: {format_key_path(key_path)}: "
                                  "!include takes a file name")
            target = resolve_reference(node.value, self.doc.path, self.roots,
                                       f"{self.doc.where[key_path]}: {format_key_path(key_path)}",
                                       "included file")
            inc = load_yaml(target, resolve=False, _seen=self.seen, _roots=self.roots)
            for sub, loc in inc.where.items():
                self.doc.where[key_path + sub] = loc
            return inc.data
        if isinstance(node, yaml.MappingNode):
            out: dict[Any, Any] = {}
            for key_node, value_node in node.value:
                key = self.constructor.construct_object(key_node, deep=True)
                if key == "<<":
                    raise ConfigError(f"{self.doc.path}:{key_node.start_mark.line + 1}: YAML merge keys "
                                      "('<<') are not supported; use 'extends:' or '!include'")
                if key in out:
                    raise ConfigError(f"{self.doc.path}:{key_node.start_mark.line + 1}: "
                                      f"{format_key_path(key_path + (key,))}: duplicate key")
                out[key] = self.build(value_node, key_path + (key,))
            return out
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, key_path + (i,)) for i, item in enumerate(node.value)]
        try:
            return self.constructor.construct_object(node, deep=True)
        except yaml.YAMLError as exc:
            raise ConfigError(f"{self.doc.where[key_path]}: {format_key_path(key_path)}: {exc}") from exc


def deep_merge(base: Any, over: Any) -> Any:
    """Mappings merge key by key (recursively); any other value in ``over`` replaces ``base``."""
    if isinstance(base, dict) and isinstance(over, dict):
        out = dict(base)
        for key, value in over.items():
            out[key] = deep_merge(base[key], value) if key in base else value
        return out
    return over


def _apply_extends(doc: Document, seen: tuple[Path, ...], roots: tuple[Path, ...]) -> Document:
    data = dict(doc.data)
    base_name = data.pop("extends")
    if not isinstance(base_name, str):
        raise ConfigError(f"{doc.locate(('extends',))}: extends: expected a file name, got "
                          f"{type(base_name).__name__}")
    base_path = resolve_reference(base_name, doc.path, roots, f"{doc.locate(('extends',))}: extends", "base file")
    base = load_yaml(base_path, resolve=False, _seen=seen, _roots=roots)
    where = dict(base.where)
    where.update({k: v for k, v in doc.where.items() if k != ("extends",)})
    return Document(data=deep_merge(base.data, data), path=doc.path, where=where)


def resolve_document(doc: Document, overrides: dict[str, Any] | None = None) -> None:
    """Evaluate ``variables:`` (with ``overrides`` replacing entries) and substitute ``${...}``
    everywhere else in the document, in place."""
    if not isinstance(doc.data, dict):
        return
    raw_vars = doc.data.get("variables") or {}
    if not isinstance(raw_vars, dict):
        raise ConfigError(f"{doc.locate(('variables',))}: variables: expected a mapping, "
                          f"got {type(raw_vars).__name__}")
    raw_vars = {**raw_vars, **(overrides or {})}
    try:
        names = resolve_variables(raw_vars)
    except VariableError as exc:
        key_path = ("variables", exc.key)
        raise ConfigError(f"{doc.locate(key_path)}: {format_key_path(key_path)}: {exc}") from None
    except ExpressionError as exc:
        raise ConfigError(f"{doc.locate(('variables',))}: variables: {exc}") from None
    if "variables" in doc.data or overrides:
        doc.data["variables"] = names

    def walk(value: Any, key_path: KeyPath) -> Any:
        if isinstance(value, dict):
            return {k: (v if key_path == () and k == "variables" else walk(v, key_path + (k,)))
                    for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v, key_path + (i,)) for i, v in enumerate(value)]
        try:
            return substitute(value, names)
        except ExpressionError as exc:
            raise ConfigError(f"{doc.locate(key_path)}: {format_key_path(key_path)}: {exc}") from None

    doc.data = walk(doc.data, ())
