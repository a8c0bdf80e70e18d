"""The package's import graph, read from the source (imports inside functions too): no cycle,
and no layer reaching up (the models never import the analysis, the training or the runs)."""
import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "gluoncnn"


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in PACKAGE.rglob("*.py")}


def _imports(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The gluoncnn modules ``name`` imports: ``from P import x`` is module ``P.x`` when that is
    a module, else ``P``."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([node.module] if node.module else []))
            for alias in node.names:
                target = f"{base}.{alias.name}"
                found.add(target if target in modules else base)
    return {m for m in found if m in modules and m != name}


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: _imports(name, path, modules) for name, path in modules.items()}


def _cycle(graph):
    """One import cycle as a list of modules, or None."""
    state, stack = {}, []

    def visit(node):
        state[node] = "open"
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == "open":
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        state[node] = "done"
        stack.pop()
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def test_no_import_cycle():
    cycle = _cycle(_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_the_models_import_nothing_above_them():
    above = ("gluoncnn.analysis", "gluoncnn.train", "gluoncnn.runs", "gluoncnn.cli",
             "gluoncnn.course", "gluoncnn.compress")
    for name, imported in _graph().items():
        if name.startswith("gluoncnn.models"):
            assert not [m for m in imported if m.startswith(above)], (name, imported)


def test_the_config_is_plain_python():
    """The command line builds its parser from the config before MXNet loads."""
    graph = _graph()
    assert graph["gluoncnn.config"] <= {"gluoncnn.errors", "gluoncnn.utils"}
