"""A dataset's rows read in a second process equal the rows read inline, chunk for chunk; a bad row is
named the same way; a reader that dies or is abandoned is reported or stopped, never waited on."""

from __future__ import annotations

import multiprocessing
import os
import signal
import time
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from mock_server.dataset_rows import (
    SERIES,
    DatasetLoadError,
    compile_validators,
    rows_in_process,
    validated_chunks,
)
from mock_server.datasets import contract_schemas
from mock_server.settings import Settings
from synthetic_data.dataset_records import iter_records
from tests.fixtures.datasets import make_datasets

PATIENTS = 4
DAYS = 12


@pytest.fixture(scope="module")
def datasets(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return make_datasets(
        tmp_path_factory.mktemp("rows"), patients=PATIENTS, days=DAYS, seed=5, start=date(2026, 3, 1)
    )


@pytest.fixture(scope="module")
def schemas() -> dict[str, Any]:
    return contract_schemas(Settings().spec_path)


def _refs(directory: Path, fmt: str) -> dict[str, tuple[str, str]]:
    ids = [located.record["patient_id"] for located in iter_records(directory, "patients", fmt)]
    return {pid: (f"sp_ref{n:03d}", f"p2c_anon_{n:016x}") for n, pid in enumerate(ids)}


def _inline(directory: Path, fmt: str, refs: Any, schemas: dict[str, Any], chunk_rows: int) -> list[Any]:
    validators = compile_validators(schemas)
    return [
        (series, chunk)
        for series, (_, schema) in SERIES.items()
        for chunk in validated_chunks(directory, fmt, series, validators[schema], refs, chunk_rows)
    ]


@pytest.mark.parametrize("fmt", ["ndjson", "parquet", "sqlite"])
def test_the_reader_process_gives_the_inline_rows(
    datasets: dict[str, Path], schemas: dict[str, Any], fmt: str
) -> None:
    refs = _refs(datasets[fmt], fmt)
    inline = _inline(datasets[fmt], fmt, refs, schemas, 37)
    assert sum(len(chunk) for _, chunk in inline) > 300  # every series, in several chunks each
    assert len(inline) > 2 * len(SERIES)
    assert {series for series, _ in inline} == set(SERIES)
    assert list(rows_in_process(datasets[fmt], fmt, refs, schemas, chunk_rows=37)) == inline


def test_a_bad_row_is_named_by_the_reader_process(
    datasets: dict[str, Path], schemas: dict[str, Any], tmp_path: Path
) -> None:
    bad = tmp_path / "bad"
    bad.mkdir()
    for source in datasets["ndjson"].iterdir():
        data = source.read_bytes()
        if source.name == "vitals.ndjson":
            lines = data.splitlines(keepends=True)
            lines[41] = lines[41].replace(b'"source":"', b'"source":"not-a-', 1)
            data = b"".join(lines)
        (bad / source.name).write_bytes(data)
    refs = _refs(bad, "ndjson")
    with pytest.raises(
        DatasetLoadError, match=r"^vitals\.ndjson row 42: as a VitalReading, source"
    ) as inline:
        _inline(bad, "ndjson", refs, schemas, 50)
    with pytest.raises(DatasetLoadError) as in_process:
        list(rows_in_process(bad, "ndjson", refs, schemas, chunk_rows=50))
    assert str(in_process.value) == str(inline.value)


def test_an_unknown_patient_is_named_by_the_reader_process(
    datasets: dict[str, Path], schemas: dict[str, Any]
) -> None:
    refs = _refs(datasets["parquet"], "parquet")
    refs.pop(sorted(refs)[-1])  # the last patient is not in the patients file any more
    with pytest.raises(DatasetLoadError, match=r"pain_entries/part-000000000\.parquet row \d+: patient_id"):
        list(rows_in_process(datasets["parquet"], "parquet", refs, schemas))


def _reader() -> multiprocessing.process.BaseProcess:
    readers = [p for p in multiprocessing.active_children() if p.name == "care-dataset-reader"]
    assert len(readers) == 1, readers
    return readers[0]


def test_a_reader_that_dies_is_reported(datasets: dict[str, Path], schemas: dict[str, Any]) -> None:
    refs = _refs(datasets["ndjson"], "ndjson")
    rows = rows_in_process(datasets["ndjson"], "ndjson", refs, schemas, chunk_rows=5)
    next(rows)  # the reader runs, and soon blocks on the full queue
    reader = _reader()
    assert reader.pid is not None
    os.kill(reader.pid, signal.SIGKILL)
    with pytest.raises(DatasetLoadError, match=r"reader process stopped \(exit code -9\)"):
        for _ in rows:  # what it queued before it died still arrives; then the death is reported
            pass
    assert not [p for p in multiprocessing.active_children() if p.name == "care-dataset-reader"]


def test_an_abandoned_reader_is_stopped(datasets: dict[str, Path], schemas: dict[str, Any]) -> None:
    """The inserting side failed (a full disk, a duplicate key): closing the rows stops the reader,
    which would otherwise wait on a full queue for ever."""
    refs = _refs(datasets["ndjson"], "ndjson")
    rows = rows_in_process(datasets["ndjson"], "ndjson", refs, schemas, chunk_rows=5)
    next(rows)
    reader = _reader()
    started = time.monotonic()
    rows.close()
    assert not reader.is_alive()
    assert time.monotonic() - started < 5


ORPHAN_SCRIPT = """
import sys
from pathlib import Path
from mock_server.dataset_rows import rows_in_process
from mock_server.datasets import contract_schemas
from mock_server.settings import Settings
from synthetic_data.dataset_records import iter_records

if __name__ == "__main__":
    directory = Path(sys.argv[1])
    ids = [l.record["patient_id"] for l in iter_records(directory, "patients", "ndjson")]
    refs = {pid: (f"sp_ref{n:03d}", f"p2c_anon_{n:016x}") for n, pid in enumerate(ids)}
    rows = rows_in_process(directory, "ndjson", refs, contract_schemas(Settings().spec_path), chunk_rows=5)
    next(rows)
    import multiprocessing
    print(multiprocessing.active_children()[0].pid, flush=True)
    input()  # killed while waiting here, with the reader blocked on the full queue
"""


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads process states from /proc")
def test_a_reader_whose_loader_was_killed_leaves(datasets: dict[str, Path], tmp_path: Path) -> None:
    """SIGKILL (or the OOM killer) gives the loading process no chance to stop its reader: the reader
    notices it was orphaned and exits instead of waiting on the queue for ever."""
    import subprocess
    import sys

    script = tmp_path / "loader.py"
    script.write_text(ORPHAN_SCRIPT)
    with subprocess.Popen(
        [sys.executable, str(script), str(datasets["ndjson"])],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
    ) as loader:
        try:
            assert loader.stdout is not None
            reader_pid = int(loader.stdout.readline())
            assert _alive(reader_pid)
            loader.kill()
            loader.wait(10)
            deadline = time.monotonic() + 15
            while _alive(reader_pid) and time.monotonic() < deadline:
                time.sleep(0.2)
            assert not _alive(reader_pid), "the orphaned reader is still running"
        finally:
            if loader.poll() is None:
                loader.kill()
