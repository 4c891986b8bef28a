"""The import graph of the source tree (archsim/ and workloads/), from the source text (ast),
without importing anything: nodes are modules, an edge a -> b says module a imports module b.
``top_level=True`` keeps only imports that run when the module loads (not those inside
functions or under ``if TYPE_CHECKING:``)."""
from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx

PACKAGES = ("archsim", "workloads")


def module_names(root: Path) -> dict[str, Path]:
    out = {}
    for pkg in PACKAGES:
        for path in sorted((root / pkg).rglob("*.py")):
            parts = list(path.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            out[".".join(parts)] = path
    return out


def _is_type_checking(node: ast.If) -> bool:
    return ast.unparse(node.test) in ("TYPE_CHECKING", "typing.TYPE_CHECKING")


def _imports(tree: ast.Module, top_level: bool):
    """(module, names) of each import statement, relative imports resolved by the caller."""
    def visit(nodes, nested: bool):
        for node in nodes:
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                yield node, nested
            elif isinstance(node, ast.If) and _is_type_checking(node):
                yield from visit(node.orelse, nested)     # the body never runs
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                if not top_level:
                    yield from visit(ast.iter_child_nodes(node), True)
            else:
                yield from visit(ast.iter_child_nodes(node), nested)
    yield from visit(tree.body, False)


def import_graph(root: Path, *, top_level: bool = True) -> nx.DiGraph:
    modules = module_names(root)
    graph = nx.DiGraph()
    graph.add_nodes_from(modules)
    for name, path in modules.items():
        tree = ast.parse(path.read_text(), filename=str(path))
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node, _ in _imports(tree, top_level):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            else:
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")
                    anchor = anchor[:len(anchor) - (node.level - 1)]
                    base = ".".join([*anchor, base] if base else anchor)
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names]
            for target in targets:
                while target and target not in modules:      # `import a.b.c` of a non-module name
                    target = target.rpartition(".")[0]
                if target and target != name:
                    graph.add_edge(name, target)
    return graph


def cycles(graph: nx.DiGraph, prefix: str = "") -> list[list[str]]:
    """Each strongly connected group of modules (under ``prefix``) that import one another."""
    sub = graph.subgraph([n for n in graph if n.startswith(prefix)])
    return sorted(sorted(c) for c in nx.strongly_connected_components(sub) if len(c) > 1)


if __name__ == "__main__":
    import sys
    root = Path(__file__).resolve().parents[2]
    for top in (True, False):
        print("top-level imports only" if top else "all imports (functions included)")
        for group in cycles(import_graph(root, top_level=top), sys.argv[1] if len(sys.argv) > 1 else ""):
            print("  " + " <-> ".join(group))
