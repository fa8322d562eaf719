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


def imported_modules(path: Path) -> set[tuple[str, int]]:
    """Dotted names a module imports (``from a.b import c`` gives ``a.b`` and ``a.b.c``), with lines."""
    found: set[tuple[str, int]] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update((alias.name, node.lineno) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add((node.module, node.lineno))
            found.update((f"{node.module}.{alias.name}", node.lineno) for alias in node.names)
    return found


def _within(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


def imported_packages(path: Path) -> set[tuple[str, int]]:
    """First-party top-level packages a module imports, with the line of each import."""
    return {
        (name.split(".")[0], line) for name, line in imported_modules(path) if name.split(".")[0] in PACKAGES
    }


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
# list only shrinks (it is empty: every module holds a ``storage.Connection`` and passes it on).
SQLALCHEMY_NOT_YET_MOVED: set[str] = set()


def sqlalchemy_imports(path: Path) -> list[int]:
    """Lines where a module imports SQLAlchemy, in any spelling (inside functions too)."""
    return sorted({line for name, line in imported_modules(path) if _within(name, "sqlalchemy")})


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


# -- webhooks: the server's delivery package and the integrator's tools ------------------------------

TOOLS = "mock_server.webhook_tools"
DELIVERY = "mock_server.webhooks"
# what the tools may take from the server: the wire format, nothing that runs the server
TOOLS_MAY_USE = {
    "mock_server.webhooks.signing",
    "mock_server.webhooks.event_types",
    "mock_server.timeutil",
    "mock_server.scopes",  # the contract's scope names, a constant (the trigger grants them)
}


def _module_file(name: str) -> Path | None:
    base = ROOT / name.replace(".", "/")
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def first_party_closure(start: Path) -> set[str]:
    """Every first-party module importing ``start`` loads, following imports transitively."""
    seen: set[str] = set()
    todo = [start]
    while todo:
        for name, _line in imported_modules(todo.pop()):
            if name.split(".")[0] not in PACKAGES:
                continue
            parts = name.split(".")
            for depth in range(1, len(parts) + 1):  # importing a.b.c runs a/__init__ and a/b/__init__ too
                prefix = ".".join(parts[:depth])
                module = _module_file(prefix)
                if prefix in seen or module is None:  # ``from pkg import function``: not a module
                    continue
                seen.add(prefix)
                todo.append(module)
    return seen


def test_delivery_never_imports_the_integrators_tools() -> None:
    """The server delivers webhooks without the tools; only the CLI entry point attaches them."""
    offenders = [
        f"{path.relative_to(ROOT)}:{line} imports {name}"
        for path in sorted((ROOT / "mock_server").rglob("*.py"))
        if not _within(".".join(path.relative_to(ROOT).with_suffix("").parts), TOOLS)
        and path.relative_to(ROOT).as_posix() != "mock_server/cli.py"
        for name, line in sorted(imported_modules(path))
        if _within(name, TOOLS)
    ]
    assert offenders == [], "only mock_server/cli.py may import the webhook tools:\n" + "\n".join(offenders)


def test_tools_use_only_the_wire_format_of_the_server() -> None:
    """The tools talk to a sandbox over HTTP like a partner's code: of the server they may use only
    the pure wire-format modules (signing, event types), never storage, the dispatcher or a handler."""
    offenders = [
        f"{path.relative_to(ROOT)}:{line} imports {name}"
        for path in sorted((ROOT / "mock_server" / "webhook_tools").rglob("*.py"))
        for name, line in sorted(imported_modules(path))
        if _within(name, "mock_server")
        and not _within(name, TOOLS)
        and not any(_within(name, allowed) for allowed in TOOLS_MAY_USE)
        and name != "mock_server"
    ]
    assert offenders == [], "the webhook tools import the server's internals:\n" + "\n".join(offenders)


def test_tools_load_no_storage_even_indirectly() -> None:
    """Also transitively: importing the tools must not load the database layer (or SQLAlchemy)."""
    loaded = set()
    for path in sorted((ROOT / "mock_server" / "webhook_tools").rglob("*.py")):
        loaded |= first_party_closure(path)
    assert not [m for m in loaded if _within(m, "mock_server.storage")], sorted(loaded)
    sql = [
        m
        for m in sorted(loaded)
        if (file := _module_file(m)) is not None
        and any(_within(name, "sqlalchemy") for name, _ in imported_modules(file))
    ]
    assert sql == [], f"the webhook tools load modules that import SQLAlchemy: {sql}"


def test_the_webhook_rules_can_fail(tmp_path: Path) -> None:
    """The walks above see what they must: a from-import of a module, and a transitive load."""
    module = tmp_path / "m.py"
    module.write_text(
        "from mock_server.webhooks import outbox\nimport sqlalchemy.exc\nfrom sqlalchemy import Connection, select\n",
        encoding="utf-8",
    )
    names = {name for name, _ in imported_modules(module)}
    assert {"mock_server.webhooks.outbox", "sqlalchemy.exc"} <= names
    assert any(_within(m, "mock_server.storage") for m in first_party_closure(module))


# No module opens a unit of work with the old spellings ``storage.begin()`` / ``storage.connect()``, which
# joined an enclosing unit silently; ``Storage`` no longer has them, and this walk keeps them from coming
# back under another receiver's name.


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
    """A unit of work is opened by name everywhere, storage included: ``unit_of_work()`` (joins),
    ``transaction()`` (never joins) or ``read()``."""
    found = {
        f"{path.relative_to(ROOT).as_posix()}:{line}"
        for path in sorted((ROOT / "mock_server").rglob("*.py"))
        for line in silent_joins(path)
    }
    assert sorted(found) == [], "storage.begin()/connect(): say unit_of_work(), transaction() or read()"


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


MAX_FUNCTION_LINES = 80

# path:function -> why it may be longer than MAX_FUNCTION_LINES. Shrink this list; never grow it
# without a reason a reviewer accepts.
LONG_FUNCTIONS_ALLOWED = {
    # a migration is history: revisions are never edited once released (ARCHITECTURE.md, storage)
    "mock_server/storage/migrations/versions/0001_baseline.py:upgrade": "released revision, frozen",
}


def long_functions(path: Path, limit: int = MAX_FUNCTION_LINES) -> dict[str, int]:
    """Functions (and methods) of a module longer than ``limit`` lines, with their length."""
    found: dict[str, int] = {}
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.end_lineno is not None:
            size = node.end_lineno - node.lineno + 1
            if size > limit:
                found[node.name] = size
    return found


def test_functions_are_short_enough_to_read() -> None:
    """A function over 80 lines hides its steps: break it into named steps or a table.

    Why a test: the long ones (the kit's ``run``, ``create_app``) grew a few lines per change, each
    change reasonable on its own.
    """
    too_long = {
        f"{path.relative_to(ROOT).as_posix()}:{name}": size
        for package in PACKAGES
        for path in sorted((ROOT / package).rglob("*.py"))
        for name, size in long_functions(path).items()
    }
    unjustified = {where: size for where, size in too_long.items() if where not in LONG_FUNCTIONS_ALLOWED}
    assert unjustified == {}, f"functions over {MAX_FUNCTION_LINES} lines: {unjustified}"
    stale = sorted(set(LONG_FUNCTIONS_ALLOWED) - set(too_long))
    assert stale == [], f"allowed long functions that are short now (drop them from the list): {stale}"


def test_the_length_rule_sees_long_functions(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    body = "".join(f"        x{i} = {i}\n" for i in range(MAX_FUNCTION_LINES))
    module.write_text(
        f"def short():\n    pass\n\nclass C:\n    async def long(self):\n{body}", encoding="utf-8"
    )
    assert long_functions(module) == {"long": MAX_FUNCTION_LINES + 1}
