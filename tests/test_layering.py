"""Imports point one way: muster → flows → the domain packages (DESIGN.md, Layout)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ["muster", "flows", "playbooks", "notifications", "responders", "incidents", "reports"]
# What each package may import from the project. `muster.errors` is the leaf error module every
# package shares; the rest of `muster` (the composition root) is imported by nobody.
ALLOWED = {
    "muster": {*PACKAGES, "muster.errors"},
    "flows": {"flows", "playbooks", "notifications", "responders", "incidents", "reports", "muster.errors"},
    "playbooks": {"playbooks", "incidents", "muster.errors"},
    "notifications": {"notifications", "muster.errors"},
    "responders": {"responders", "muster.errors"},
    "incidents": {"incidents", "muster.errors"},
    "reports": {"reports", "incidents", "muster.errors"},
}


def _project_imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        for name in names:
            top = name.split(".")[0]
            if top in PACKAGES:
                found.add("muster.errors" if name.startswith("muster.errors") else top)
    return found


@pytest.mark.parametrize("package", PACKAGES)
def test_imports_point_one_way(package: str) -> None:
    """A package imports only the packages below it, plus the leaf error module."""
    bad = {
        f"{path.relative_to(ROOT)} imports {name}"
        for path in (ROOT / package).rglob("*.py")
        for name in _project_imports(path)
        if name not in ALLOWED[package]
    }
    assert not bad, sorted(bad)


def test_other_packages_never_import_private_modules() -> None:
    """Nothing imports another package's private module (`pkg._x`), only its public surface."""
    bad = []
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                    parts = node.module.split(".")
                    if parts[0] != package and any(p.startswith("_") for p in parts[1:]):
                        bad.append(f"{path.relative_to(ROOT)}: {node.module}")
    assert not bad, bad
