"""Versioned schema migrations (Alembic), applied once whatever the number of processes starting at once.

Revisions live in ``versions/``; the first, ``0001_baseline``, is the schema as release 0.1.0 created it.
A schema change is a new revision (``make revision m="what"`` autogenerates one from ``schema.py``;
review it), never an edit of an old one — sandbox databases hold integrators' work.

Databases made before Alembic (release 0.1.0 and earlier: ``create_all`` plus a ``schema_version``
row) have the baseline's tables but no ``alembic_version``; they are stamped at the baseline and then
upgraded like any other, so nothing in them is recreated or lost.

Concurrency, as before Alembic: the whole upgrade runs in one transaction that first takes a lock — a
transaction-level advisory lock on PostgreSQL, ``BEGIN IMMEDIATE`` (the database's write lock) on
SQLite — so of several processes booting together one applies the revisions and the others wait, then
find the schema at head.

A start on a database already at head does not import Alembic (~0.3 s of imports, issue #16): the
head is read from the revision files' names (``new_revision`` writes ``versions/NNNN_<slug>.py`` with
the file's stem as revision id, in a line) and compared with the database's ``alembic_version`` row.
Anything else — a different row, no row, two files with the top number, a name off the pattern —
goes through Alembic as before, which stays the authority.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, inspect, text
from sqlalchemy.exc import DBAPIError

if TYPE_CHECKING:
    from alembic.config import Config

_LOCK_KEY = 7_201_911  # arbitrary, constant: the advisory lock id for migrations
BASELINE = "0001_baseline"
SCRIPT_LOCATION = Path(__file__).resolve().parent
_PRE_ALEMBIC_MARKERS = frozenset({"schema_version", "workspaces", "api_keys"})


def alembic_config(conn: Connection | None = None) -> Config:
    """An Alembic config without an ini file: the scripts are package data, the connection is ours."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(SCRIPT_LOCATION))
    if conn is not None:
        config.attributes["connection"] = conn
    return config


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None, "the migrations directory has no revision"
    return head


def current_revision(conn: Connection) -> str | None:
    """The revision the database is at (None: empty, or made before Alembic)."""
    from alembic.runtime.migration import MigrationContext

    return MigrationContext.configure(conn).get_current_revision()


def _lock(conn: Connection) -> None:
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK_KEY})
    else:
        # pysqlite opens transactions lazily (only before DML), so DDL would otherwise run unlocked
        # and two processes would both create the tables; take SQLite's write lock explicitly.
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def _revisions_between(start: str | None, end: str) -> list[str]:
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(alembic_config())
    walked = [rev.revision for rev in script.iterate_revisions(end, start or "base")]
    return list(reversed(walked))


_REVISION_FILE = re.compile(r"^(\d{4})_[a-z0-9_]+$")


def named_head() -> str | None:
    """The head by the naming rule of ``new_revision``: the one revision file with the highest number.

    None when the rule does not settle it (no files, or two files share the top number, as after a
    merge of two branches that each added a revision): then only Alembic may say.
    """
    numbered = [
        (int(match.group(1)), path.stem)
        for path in (SCRIPT_LOCATION / "versions").glob("*.py")
        if (match := _REVISION_FILE.match(path.stem))
    ]
    if not numbered:
        return None
    top = max(number for number, _ in numbered)
    stems = [stem for number, stem in numbered if number == top]
    return stems[0] if len(stems) == 1 else None


def _at_named_head(engine: Engine) -> bool:
    """Whether the database's ``alembic_version`` is exactly the named head (read without locking: a
    committed row at head means a schema at head; anything else takes the locked path)."""
    head = named_head()
    if head is None:
        return False
    try:
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT version_num FROM alembic_version")).all()
    except DBAPIError:  # no such table: a new database, or one made before Alembic
        return False
    return [row[0] for row in rows] == [head]


def migrate(engine: Engine) -> list[str]:
    """Bring the database to the head revision; returns the revisions applied by this call."""
    if _at_named_head(engine):
        return []
    from alembic import command

    with engine.connect() as conn:
        _lock(conn)  # the first statement also opens the one transaction everything below runs in
        config = alembic_config(conn)
        before = current_revision(conn)
        if before is None and set(inspect(conn).get_table_names()) >= _PRE_ALEMBIC_MARKERS:
            command.stamp(config, BASELINE)  # made by release 0.1.0's create_all: already at baseline
            before = BASELINE
        head = head_revision()
        applied = [] if before == head else _revisions_between(before, head)
        if applied:
            command.upgrade(config, "head")
        conn.commit()
    return applied
