"""The package layout of DESIGN.md section 1 holds in the code.

- Packages import only in the allowed direction, and other packages only through their
  public surface (``from rules import X``, never ``from rules.batch import X``).
- Inside ``monitor/`` the rooms import only in their own allowed direction.
- No import circle anywhere: not between packages, not inside one.
- No module is past 450 lines.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("adapters", "rules", "monitor")
#: What each package may import from the project and from third parties.
ALLOWED_PROJECT = {
    "adapters": {"adapters"},
    "rules": {"adapters", "rules"},
    "monitor": {"adapters", "rules", "monitor"},
}
FORBIDDEN_THIRD_PARTY = {
    "adapters": {"dash", "plotly", "flask", "sqlite3"},
    "rules": {"dash", "plotly", "flask", "sqlite3", "serial", "threading"},
}
#: The rooms of monitor/ and the other rooms each may import.
MONITOR_ROOMS = {
    "store": set(),
    "present": set(),
    "runtime": {"store"},
    "reports": {"store", "present"},
    "bus": {"runtime", "store"},
    "hl7": {"runtime", "store"},
    "central": {"bus", "runtime"},
    "web": {"runtime", "store", "present", "reports", "central"},
    "cli": {"runtime", "store", "present", "reports", "web", "bus", "central", "hl7"},
}
MAX_LINES = 450


def modules() -> dict[str, Path]:
    """Every module of the project's packages by dotted name (``rules.batch``)."""
    out = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            out[".".join(parts)] = path
    return out


def imports(name: str, path: Path) -> list[tuple[str, int]]:
    """The project modules (dotted, absolute) ``name`` imports at module level, with lines.

    Imports inside functions count too: a late import is still an arrow. A ``from X
    import y`` where ``X.y`` is a module counts as importing ``X.y``.
    """
    tree = ast.parse(path.read_text(), filename=str(path))
    is_package = path.name == "__init__.py"
    known = modules()
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".")
                base = base[: len(base) - node.level + (1 if is_package else 0)]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            submodules = [f"{module}.{a.name}" for a in node.names if f"{module}.{a.name}" in known]
            if len(submodules) < len(node.names):
                out.append((module, node.lineno))  # a name from the module itself
            out += [(sub, node.lineno) for sub in submodules]
    return [(m, line) for m, line in out if m.split(".")[0] in PACKAGES]


def test_packages_import_only_in_the_allowed_direction():
    offences = []
    for name, path in modules().items():
        package = name.split(".")[0]
        tree = ast.parse(path.read_text())
        roots = {
            alias.name.split(".")[0]
            for node in ast.walk(tree)
            if isinstance(node, ast.Import)
            for alias in node.names
        }
        roots |= {
            n.module.split(".")[0]
            for n in ast.walk(tree)
            if isinstance(n, ast.ImportFrom) and n.level == 0 and n.module
        }
        for other in (set(PACKAGES) & roots) - ALLOWED_PROJECT[package]:
            offences.append(f"{name} imports {other}")
        for lib in FORBIDDEN_THIRD_PARTY.get(package, set()) & roots:
            offences.append(f"{name} imports {lib}")
    assert offences == []


def test_other_packages_are_imported_through_their_public_surface():
    offences = []
    for name, path in modules().items():
        package = name.split(".")[0]
        for module, line in imports(name, path):
            other = module.split(".")[0]
            if other != package and module != other:
                offences.append(f"{path.relative_to(ROOT)}:{line} imports {module}")
    assert offences == []


def test_monitor_rooms_import_only_in_their_allowed_direction():
    offences = []
    for name, path in modules().items():
        parts = name.split(".")
        if parts[0] != "monitor" or len(parts) < 2:
            continue
        room = parts[1]
        allowed = MONITOR_ROOMS[room] | {room}
        for module, line in imports(name, path):
            target = module.split(".")
            if target[0] != "monitor" or len(target) < 2:
                continue
            if target[1] not in allowed:
                offences.append(f"{path.relative_to(ROOT)}:{line} imports {module}")
            elif target[1] != room and len(target) > 2:
                offences.append(
                    f"{path.relative_to(ROOT)}:{line} imports {module}, not monitor.{target[1]}"
                )
    assert offences == []


def import_cycles() -> list[list[str]]:
    """Every import circle among the project's modules (a package counts as its __init__)."""
    graph = {name: set() for name in modules()}
    for name, path in modules().items():
        for module, _line in imports(name, path):
            while module and module not in graph:
                module = module.rpartition(".")[0]
            if module and module != name:
                graph[name].add(module)
    cycles, state = [], {}

    def visit(node: str, stack: list[str]) -> None:
        state[node] = "open"
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == "open":
                cycles.append([*stack[stack.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt, stack)
        stack.pop()
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node, [])
    return cycles


def test_there_is_no_import_circle():
    # inside a package, modules import each other by module, never through the package's
    # own __init__ (which imports them for the public surface: that would be a circle)
    assert import_cycles() == []


def test_no_module_is_past_the_line_limit():
    paths = [
        *modules().values(),
        *(ROOT / "tests").glob("*.py"),
        *(ROOT / "benchmarks").glob("*.py"),
    ]
    lines = {str(path.relative_to(ROOT)): len(path.read_text().splitlines()) for path in paths}
    assert {name: n for name, n in lines.items() if n > MAX_LINES} == {}
