"""The package's import graph: no cycles, and the serving client never reaches server code.

The graph is read from the source with `ast`, without importing anything.
An edge A -> B is any `import` or `from ... import` in A that names module
B of `tf_cbam_style` (`from pkg import name` counts as an edge to
`pkg.name` when that is a module, else to `pkg`). Both module-level imports
and the lazy ones inside functions count: a lazy import hides a cycle from
Python at import time but not from a reader, and today's lazy import is
tomorrow's module-level one. Parent packages that Python runs implicitly
(`import a.b.c` runs `a/__init__` and `a/b/__init__`) are not edges, and
neither are the `importlib` strings of the packages' lazy `__getattr__`
tables (they are attributes, not imports).
"""

import ast
import collections
import pathlib

PACKAGE = pathlib.Path(__file__).resolve().parent.parent / "tf_cbam_style"


def _modules():
    modules = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        modules[".".join(parts)] = path
    return modules


def import_graph():
    """`{module: {imported module: "module level" | "lazy"}}` of `tf_cbam_style`."""
    modules = _modules()

    def resolve(name):
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    graph = {name: {} for name in modules}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]

        def visit(node, lazy, name=name, package=package):
            for child in ast.iter_child_nodes(node):
                inner = lazy or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
                targets = []
                if isinstance(child, ast.Import):
                    targets = [alias.name for alias in child.names]
                elif isinstance(child, ast.ImportFrom):
                    base = child.module or ""
                    if child.level:
                        parts = package.split(".")[: len(package.split(".")) - child.level + 1]
                        base = ".".join(parts + ([base] if base else []))
                    targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base
                               for a in child.names]
                for target in targets:
                    target = resolve(target) if target.split(".")[0] == "tf_cbam_style" else None
                    if target and target != name and graph[name].get(target) != "module level":
                        graph[name][target] = "lazy" if inner else "module level"
                visit(child, inner)

        visit(ast.parse(path.read_text(encoding="utf-8")), False)
    return graph


def find_cycles(graph):
    """The strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on_stack, cycles = {}, {}, [], set(), []

    def connect(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in graph[node]:
            if other not in index:
                connect(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                other = stack.pop()
                on_stack.discard(other)
                component.append(other)
                if other == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for node in graph:
        if node not in index:
            connect(node)
    return cycles


def _reachable(graph, start):
    seen, todo = set(), collections.deque([start])
    while todo:
        node = todo.popleft()
        for other in graph[node]:
            if other not in seen:
                seen.add(other)
                todo.append(other)
    return seen


def test_the_checker_finds_a_cycle():
    graph = {"a": {"b": "lazy"}, "b": {"c": "module level"}, "c": {"a": "module level"}, "d": {"a": "lazy"}}
    assert find_cycles(graph) == [["a", "b", "c"]]


def test_the_graph_sees_lazy_and_relative_imports():
    graph = import_graph()
    assert len(graph) > 50
    assert graph["tf_cbam_style.cli.stylize"]["tf_cbam_style.cli.common"] == "module level"
    assert graph["tf_cbam_style.cli.stylize"]["tf_cbam_style.api"] == "lazy"


def test_no_import_cycle_in_the_package():
    graph = import_graph()
    cycles = find_cycles(graph)
    described = [
        " ; ".join(f"{a} -> {b} ({graph[a][b]})" for a in cycle for b in graph[a] if b in cycle)
        for cycle in cycles
    ]
    assert not cycles, described


def test_serving_client_never_reaches_server_or_command_line_code():
    graph = import_graph()
    client = [name for name in graph if name.startswith("tf_cbam_style.serving.client")]
    for name in client + ["tf_cbam_style.serving.contract", "tf_cbam_style.serving.codec"]:
        reached = _reachable(graph, name)
        server = sorted(m for m in reached if m.startswith(("tf_cbam_style.serving.standin",
                                                             "tf_cbam_style.cli")))
        assert not server, (name, server)
