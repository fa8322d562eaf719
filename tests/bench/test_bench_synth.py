"""The dataset-load benchmark's SQLite anchors, on a small database built by the sandbox's own migrations."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import insert

from mock_server.storage import schema
from mock_server.storage.engine import build_engine
from tests.bench.loading import load_bench

bench = load_bench("bench_synth")


def _database(tmp_path: Path, rows: int) -> Path:
    path = tmp_path / "sandbox.db"
    engine = build_engine(f"sqlite:///{path}", pool_size=1)
    schema.metadata.create_all(engine, tables=[schema.records])
    values = [
        {
            "patient_ref": f"sp_{i % 7:03d}",
            "id": f"vt_{i:06d}",
            "series": ("vital", "gauge", "pain_entry")[i % 3],
            "at": f"2026-01-{1 + i % 28:02d}T{i % 24:02d}:00:00Z",
            "kind": None,
            "source": None,
            "body": "{}",
        }
        for i in range(rows)
    ]
    with engine.begin() as conn:
        conn.execute(insert(schema.records), values)
    engine.dispose()
    return path


def test_both_floors_store_every_row_and_leave_no_file_behind(tmp_path: Path) -> None:
    database = _database(tmp_path, 3_000)
    for layout in ("sandbox", "best"):
        per_record, rows = bench.sqlite_floor(database, layout=layout)
        assert rows == 3_000
        assert 0 < per_record < 0.01  # seconds of CPU a record: measured, and plausible
    assert not list(tmp_path.glob("floor-*"))
