"""The shape of app/: no import cycle between domains, no router importing another router.

Read from the source (ast), so imports inside functions count as much as those at the top: a
cycle hidden in a function is still a cycle, only a later one.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

APP = Path(__file__).resolve().parents[1] / "app"


def module_name(path: Path) -> str:
    """app/leaderboard/service.py -> app.leaderboard.service (a package: its folder's name)."""
    parts = list(path.relative_to(APP.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported(path: Path, package: str) -> Iterator[tuple[str, int]]:
    """Every app module (or name in one) the file of `package` imports, anywhere in it (in
    functions too), with its line."""
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from the file's package, up level - 1
                up = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*up, *([base] if base else [])])
            names = [base, *(f"{base}.{alias.name}" for alias in node.names)]
        else:
            continue
        for name in names:
            if name == "app" or name.startswith("app."):
                yield name, node.lineno


def imports() -> dict[str, list[tuple[str, int]]]:
    """Every module of app/ with what it imports."""
    found = {}
    for path in sorted(APP.rglob("*.py")):
        package = module_name(path if path.name == "__init__.py" else path.parent)
        found[module_name(path)] = list(imported(path, package))
    return found


def domain(module: str) -> str:
    """app.submissions.pipeline -> app.submissions; app.main -> app.main."""
    return ".".join(module.split(".")[:2])


def domain_graph(found: dict[str, list[tuple[str, int]]]) -> dict[str, dict[str, str]]:
    """Domain -> the domains it imports, each with one import that shows it."""
    graph: dict[str, dict[str, str]] = defaultdict(dict)
    for module, names in found.items():
        for name, line in names:
            source, target = domain(module), domain(name)
            if source != target and target != "app":
                graph[source].setdefault(target, f"{module}:{line} imports {name}")
    return graph


def cycles(graph: dict[str, dict[str, str]]) -> list[list[str]]:
    """The strongly connected groups of more than one domain (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    groups: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in graph.get(node, {}):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for node in sorted(set(graph) | {t for targets in graph.values() for t in targets}):
        if node not in index:
            visit(node)
    return groups


def is_router(module: str) -> bool:
    """router.py, or a domain's other routers (settings_router.py and the like)."""
    last = module.rsplit(".", 1)[-1]
    return last == "router" or last.endswith("_router")


def test_no_import_cycle_between_domains() -> None:
    """Arrows between domains point one way: each cycle is named with the imports that make
    it, so the reader knows which one to move."""
    graph = domain_graph(imports())
    found = cycles(graph)
    report = []
    for group in found:
        report.append(" <-> ".join(group))
        report.extend(f"    {graph[a][b]}" for a in group for b in group if b in graph.get(a, {}))
    assert not found, "import cycles between domains:\n" + "\n".join(report)


def test_no_router_imports_another_router() -> None:
    """A router uses services and dependencies; what two routers share belongs in one of
    those."""
    found = imports()
    routers = {m for m in found if is_router(m)}
    bad = sorted(
        f"{module}:{line} imports {name}"
        for module in routers
        for name, line in found[module]
        for target in (name, name.rsplit(".", 1)[0])
        if target in routers and target != module
    )
    assert not bad, "routers importing routers:\n" + "\n".join(dict.fromkeys(bad))


def test_the_check_finds_a_cycle_and_a_function_level_import(tmp_path: Path) -> None:
    """The graph reads imports inside functions, and a cycle is reported with both domains."""
    source = tmp_path / "m.py"
    source.write_text("def f():\n    from app.leaderboard import service\n")
    names = [name for name, _ in imported(source, "app")]
    assert "app.leaderboard.service" in names
    graph = {"app.a": {"app.b": "x"}, "app.b": {"app.c": "y"}, "app.c": {"app.a": "z"}}
    assert cycles(graph) == [["app.a", "app.b", "app.c"]]
    assert cycles({"app.a": {"app.b": "x"}}) == []


OPENS_SESSIONS = {"committing", "session_scope", "sessions", "sessionmaker", "Session"}


def test_no_router_opens_a_session() -> None:
    """The request owns the transaction: routers use the request's session (SessionDep), and
    work that needs a session of its own (a cache made in the background, a long poll's
    fresh read) lives in a service, which routers call."""
    opened = []
    for path in sorted(APP.rglob("*.py")):
        module = module_name(path)
        if not is_router(module):
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
            if name in OPENS_SESSIONS or name == "session_factory":
                opened.append(f"{module}:{node.lineno} calls {name}()")
    assert not opened, "routers opening sessions:\n" + "\n".join(opened)
