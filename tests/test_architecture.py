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


# Modules outside ``mock_server/storage/`` that still import SQLAlchemy, each with the reason; the
# list only shrinks. The webhook package's outbox and delivery SQL is moving to storage/ (issue #16),
# ``datasets`` loads care-synth datasets (its own rework), and ``consent`` keeps the per-request
# consent read (``ConsentService.latest``) until the read-path rework moves it.
SQLALCHEMY_NOT_YET_MOVED = {
    "mock_server/consent.py",
    "mock_server/datasets.py",
    "mock_server/webhooks/claims.py",
    "mock_server/webhooks/dispatcher.py",
    "mock_server/webhooks/locking.py",
    "mock_server/webhooks/outbox.py",
    "mock_server/webhooks/store.py",
}


def sqlalchemy_imports(path: Path) -> list[int]:
    """Lines where a module imports SQLAlchemy, in any spelling (inside functions too)."""
    lines = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        if any(name.split(".")[0] == "sqlalchemy" for name in names):
            lines.append(node.lineno)
    return sorted(lines)


def test_only_storage_imports_sqlalchemy() -> None:
    """SQL lives in ``mock_server/storage/``: its repositories are the one data layer, so no other
    module of the sandbox imports SQLAlchemy (they hold a ``storage.Connection`` and pass it on)."""
    importers = {
        path.relative_to(ROOT).as_posix(): sqlalchemy_imports(path)
        for path in sorted((ROOT / "mock_server").rglob("*.py"))
        if not path.relative_to(ROOT).as_posix().startswith("mock_server/storage/")
    }
    importers = {module: lines for module, lines in importers.items() if lines}
    unexpected = [
        f"{module}:{line}"
        for module, lines in importers.items()
        if module not in SQLALCHEMY_NOT_YET_MOVED
        for line in lines
    ]
    assert unexpected == [], "SQLAlchemy imported outside mock_server/storage/:\n" + "\n".join(unexpected)
    moved = sorted(SQLALCHEMY_NOT_YET_MOVED - set(importers))
    assert moved == [], f"no longer import SQLAlchemy; take them off SQLALCHEMY_NOT_YET_MOVED: {moved}"


def test_the_sqlalchemy_walk_sees_every_spelling(tmp_path: Path) -> None:
    """The rule above can fail: each way of importing SQLAlchemy is found."""
    module = tmp_path / "m.py"
    module.write_text(
        "import sqlalchemy\nimport sqlalchemy.exc as e\nfrom sqlalchemy import text\n"
        "def f():\n    from sqlalchemy.orm import Session\n"
        "import sqlalchemy_utils\nfrom mock_server.storage import Connection\n",
        encoding="utf-8",
    )
    assert sqlalchemy_imports(module) == [1, 2, 3, 5]


# Modules that still open units of work with the compatibility spellings ``storage.begin()`` /
# ``storage.connect()``, which join an enclosing unit silently; the list only shrinks.
SILENT_JOINERS = {
    "mock_server/consent.py",  # ConsentService.require, the per-request consent read (read path)
    "mock_server/gateway/dispatch.py",
    "mock_server/handlers/fhir.py",
    "mock_server/handlers/patients.py",
    "mock_server/handlers/sandbox.py",
    "mock_server/handlers/vitals.py",
    "mock_server/handlers/webhooks.py",
    "mock_server/reports/inputs.py",
    "mock_server/sandbox_work.py",
}


def silent_joins(path: Path) -> list[int]:
    """Lines calling ``<…>storage.begin()``/``.connect()`` or ``<…>db.begin()``/``.connect()``."""
    lines = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        if node.func.attr not in {"begin", "connect"}:
            continue
        owner = node.func.value
        name = (
            owner.attr
            if isinstance(owner, ast.Attribute)
            else owner.id
            if isinstance(owner, ast.Name)
            else ""
        )
        if name in {"storage", "db"}:
            lines.append(node.lineno)
    return sorted(lines)


def test_units_of_work_are_named_where_they_join() -> None:
    """Outside storage, a unit of work is opened by name: ``unit_of_work()`` (joins), ``transaction()``
    (never joins) or ``read()``; the silent spellings stay only in the modules listed above."""
    found = {
        path.relative_to(ROOT).as_posix(): silent_joins(path)
        for path in sorted((ROOT / "mock_server").rglob("*.py"))
        if not path.relative_to(ROOT).as_posix().startswith("mock_server/storage/")
    }
    found = {module: lines for module, lines in found.items() if lines}
    unexpected = [f"{m}:{line}" for m, lines in found.items() if m not in SILENT_JOINERS for line in lines]
    assert unexpected == [], "storage.begin()/connect() outside the allow-list:\n" + "\n".join(unexpected)
    moved = sorted(SILENT_JOINERS - set(found))
    assert moved == [], f"no longer join silently; take them off SILENT_JOINERS: {moved}"


def test_the_silent_join_walk_sees_them(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text(
        "with storage.begin() as c: pass\n"
        "with self.db.connect() as c: pass\n"
        "with req.services.storage.begin() as c: pass\n"
        "with storage.unit_of_work() as c: pass\n"
        "with storage.engine.begin() as c: pass\n",
        encoding="utf-8",
    )
    assert silent_joins(module) == [1, 2, 3]
