"""rules/ reads as one module per rule family: no import circle inside it (counting the
imports inside functions too), every module a size a reader can hold, and each rule
family's two halves (a frame at a time, a whole recording at once) in its own file."""

from __future__ import annotations

import ast
from pathlib import Path

RULES = Path(__file__).resolve().parents[1] / "rules"
MAX_LINES = 450


def _imports(path: Path) -> set[str]:
    """The rules modules that ``path`` imports, anywhere in the file."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.ImportFrom):
            if node.level == 1 and node.module:
                found.add(node.module.split(".")[0])
            elif node.level == 1:
                found.update(alias.name for alias in node.names)
            elif node.level == 0 and node.module == "rules":
                found.add("__init__")  # the package itself, from inside it
            elif node.level == 0 and node.module and node.module.startswith("rules."):
                found.add(node.module.split(".")[1])
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("rules."):
                    found.add(alias.name.split(".")[1])
    return found


def test_no_import_circle_inside_rules():
    modules = {p.stem: _imports(p) for p in RULES.glob("*.py") if p.stem != "__init__"}
    for imports in modules.values():
        imports.discard("__init__")
    state: dict[str, str] = {}
    circles = []

    def visit(module: str, path: list[str]) -> None:
        state[module] = "open"
        for other in sorted(modules.get(module, ())):
            if state.get(other) == "open":
                circles.append(" -> ".join([*path[path.index(other) :], other]))
            elif other not in state:
                visit(other, [*path, other])
        state[module] = "done"

    for module in sorted(modules):
        if module not in state:
            visit(module, [module])
    assert circles == []
    assert not any("__init__" in _imports(p) for p in RULES.glob("*.py"))


def test_every_rules_module_is_under_the_size_limit():
    sizes = {p.name: len(p.read_text().splitlines()) for p in RULES.glob("*.py")}
    assert {name: n for name, n in sizes.items() if n > MAX_LINES} == {}


def test_each_rule_family_holds_both_halves_in_one_module():
    from rules import RULES as DEFINED

    for rule in DEFINED:
        halves = {rule.incremental.__module__, rule.batch.__module__}
        assert len(halves) == 1, (rule.rule, halves)
        assert halves.pop().rsplit(".", 1)[-1] in {
            "delta_p",
            "flow",
            "pressures",
            "hemolysis",
            "sweep",
            "gases",
            "chatter",
            "resistance_trend",
            "data_stale",
        }
