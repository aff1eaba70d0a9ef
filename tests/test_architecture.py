"""The package import direction of DESIGN.md section 1 holds in the code."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
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


def imported_roots(path: Path) -> set[str]:
    roots = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots


def test_packages_import_only_in_the_allowed_direction():
    offences = []
    for package, allowed in ALLOWED_PROJECT.items():
        for path in (ROOT / package).rglob("*.py"):
            roots = imported_roots(path)
            for other in ({"adapters", "rules", "monitor"} & roots) - allowed:
                offences.append(f"{path.relative_to(ROOT)} imports {other}")
            for lib in FORBIDDEN_THIRD_PARTY.get(package, set()) & roots:
                offences.append(f"{path.relative_to(ROOT)} imports {lib}")
    assert offences == []
