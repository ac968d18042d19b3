"""Layers point one way, and each concept has one home (read from the source, imports included)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import loopml

SOURCE = Path(loopml.__file__).parent

# package -> packages it must never import, even lazily inside a function
FORBIDDEN = {
    "data": ("monitoring", "serving", "automation", "pipeline"),
    "predictions": ("serving", "monitoring", "automation", "pipeline"),
    "monitoring": ("serving", "automation"),
    "metrics": ("pipeline", "monitoring", "serving", "automation", "registry"),
}


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def _modules(package: str) -> list[Path]:
    folder = SOURCE / package
    return sorted(folder.rglob("*.py")) if folder.is_dir() else [SOURCE / f"{package}.py"]


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_lower_layers_never_import_higher_ones(package):
    wrong = [
        f"{path.relative_to(SOURCE)} imports {name}"
        for path in _modules(package)
        for name in sorted(_imports(path))
        if any(name.startswith(f"loopml.{upper}") for upper in FORBIDDEN[package])
    ]
    assert wrong == []


def test_the_log_column_prefix_is_spelled_in_one_module():
    found = sorted(
        str(path.relative_to(SOURCE))
        for path in SOURCE.rglob("*.py")
        if '"input."' in path.read_text()
    )
    assert found == ["predictions/schema.py"]


def test_monitoring_knows_nothing_of_the_closed_loop():
    """Monitors kept by a policy are "external" to monitoring; rollouts are automation's word."""
    assert [p.name for p in _modules("monitoring") if "rollout" in p.read_text().lower()] == []
