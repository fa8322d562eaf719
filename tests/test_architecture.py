"""The import rules of ARCHITECTURE.md, held by an AST walk so the map cannot rot.

Why an AST walk and not importing: it sees imports inside functions and under ``TYPE_CHECKING`` too,
and needs no side effects of importing the packages.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("mock_server", "synthetic_data", "conformance")

# package -> the other first-party packages it may import
ALLOWED = {
    "synthetic_data": set(),
    "mock_server": {"synthetic_data"},
    "conformance": set(),
}


def imported_packages(path: Path) -> set[tuple[str, int]]:
    """First-party top-level packages a module imports, with the line of each import."""
    found: set[tuple[str, int]] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        for name in names:
            top = name.split(".")[0]
            if top in PACKAGES:
                found.add((top, node.lineno))
    return found


@pytest.mark.parametrize("package", PACKAGES)
def test_packages_import_only_what_the_map_allows(package: str) -> None:
    violations = [
        f"{path.relative_to(ROOT)}:{line} imports {other}"
        for path in sorted((ROOT / package).rglob("*.py"))
        for other, line in sorted(imported_packages(path))
        if other != package and other not in ALLOWED[package]
    ]
    assert violations == [], "imports ARCHITECTURE.md forbids:\n" + "\n".join(violations)


def test_the_walk_sees_imports_it_must_judge(tmp_path: Path) -> None:
    """The rule above can fail: a module importing across packages is found, in every spelling."""
    module = tmp_path / "m.py"
    module.write_text(
        "import mock_server.app\n"
        "from conformance import spec\n"
        "def f():\n    from synthetic_data.vocab import AREAS\n"
        "from .sibling import x\n",
        encoding="utf-8",
    )
    assert {name for name, _ in imported_packages(module)} == {"mock_server", "conformance", "synthetic_data"}


# settings.py reads it by design; the other two hand settings (``Settings.to_env()``) to child processes.
ENVIRONMENT_READERS = {"mock_server/settings.py", "mock_server/cli.py", "mock_server/webhooks/sidecar.py"}


def test_only_settings_reads_the_environment() -> None:
    """One settings object: no other module of the sandbox reads ``os.environ`` (or ``os.getenv``)."""
    readers = []
    for path in sorted((ROOT / "mock_server").rglob("*.py")):
        if path.relative_to(ROOT).as_posix() in ENVIRONMENT_READERS:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and node.attr in {"environ", "getenv"}
                and isinstance(node.value, ast.Name)
                and node.value.id == "os"
            ):
                readers.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert readers == [], "modules reading the environment outside settings.py:\n" + "\n".join(readers)
