"""``make revision m="…"``: autogenerate the next Alembic revision from ``schema.py``.

Builds a throw-away SQLite database at the current head, lets Alembic compare it with the models and
writes ``versions/NNNN_<slug>.py``. Review the result (autogenerate misses renames and data moves)
and test it on both backends: ``tests/mock_server/storage/test_migrations.py`` does.
"""

from __future__ import annotations

import re
import sys
import tempfile
from pathlib import Path

from alembic import command
from alembic.script import ScriptDirectory

from mock_server.storage.engine import build_engine
from mock_server.storage.migrations import alembic_config, migrate


def main(message: str) -> Path:
    if not message.strip():
        raise SystemExit('say what the revision does: make revision m="add x to y"')
    with tempfile.TemporaryDirectory() as scratch:
        engine = build_engine(f"sqlite:///{Path(scratch) / 'head.sqlite3'}")
        migrate(engine)
        with engine.connect() as conn:
            config = alembic_config(conn)
            count = len(list(ScriptDirectory.from_config(config).walk_revisions()))
            slug = re.sub(r"[^a-z0-9]+", "_", message.lower()).strip("_")[:40]
            rev_id = f"{count + 1:04d}_{slug}"
            config.set_main_option("file_template", "%%(rev)s")
            command.revision(config, message=message, autogenerate=True, rev_id=rev_id)
            conn.commit()
        engine.dispose()
    path = Path(__file__).resolve().parent / "versions" / f"{rev_id}.py"
    print(f"wrote {path}; review it, then run tests/mock_server/storage/test_migrations.py")
    return path


if __name__ == "__main__":
    main(" ".join(sys.argv[1:]))
