"""A dataset's record series as rows for the ``records`` table, checked against the contract on the way.

Reading, parsing and validating a record costs about twice what SQLite's insert of it does, and both
are single-threaded, so a large load reads in a second process while the loading one inserts
(:func:`rows_in_process`, through a bounded queue: memory stays a few chunks whatever the dataset
size). Small loads read in the loading process (:func:`rows_inline`), where a process start would
cost more than it saves. Both paths run the very same checks, so a bad row fails the same way,
named by file and row.

The reader is a spawned process, never a forked one: the loading process may have Arrow's and the
CLI's threads running, and a fork copies their locks in whatever state they are.
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import signal
import traceback
from collections.abc import Generator, Iterator
from multiprocessing.process import BaseProcess
from multiprocessing.queues import Queue
from pathlib import Path
from typing import Any

import jsonschema_rs

from mock_server.storage import records as records_mod
from synthetic_data.dataset import DatasetError
from synthetic_data.dataset_records import Located, iter_records

# dataset series -> (stored series name, contract schema)
SERIES: dict[str, tuple[str, str]] = {
    "pain_entries": ("pain_entry", "PainEntry"),
    "wellbeing": ("wellbeing", "WellbeingCheckin"),
    "gauges": ("gauge", "Gauge"),
    "vitals": ("vital", "VitalReading"),
}
CHUNK_ROWS = 5_000
QUEUE_CHUNKS = 8  # chunks in flight between the reader and the inserter (~3 MB each at most)
READER_POLL_SECONDS = 1.0  # how often a waiting inserter checks that the reader is still alive

_NO_PATIENT = object()  # before the first row: equal to no patient_id, not even a missing one

Refs = dict[str, tuple[str, str]]  # dataset patient_id -> (patient ref, anonymized id)


class DatasetLoadError(ValueError):
    """The dataset cannot be loaded; the message names the file and row (nothing was written)."""


def problem(validator: jsonschema_rs.Draft202012Validator, instance: Any) -> str | None:
    """The first contract violation of `instance`, or None (the fast path: `is_valid`)."""
    if validator.is_valid(instance):
        return None
    for error in validator.iter_errors(instance):
        path = "/".join(str(p) for p in error.instance_path) or "(record)"
        return f"{path}: {error.message}"
    return "does not match the contract"  # pragma: no cover - is_valid and iter_errors agree


def fail(located: Located, message: str) -> DatasetLoadError:
    return DatasetLoadError(f"{located.where}: {message}")


def compile_validators(schemas: dict[str, Any]) -> dict[str, jsonschema_rs.Draft202012Validator]:
    """Validators for contract schemas (refs inlined), by name. The schemas are plain data, so the
    reader process gets them pickled and never parses the contract itself."""
    return {
        name: jsonschema_rs.Draft202012Validator(schema, validate_formats=True)
        for name, schema in schemas.items()
    }


def validated_chunks(
    directory: Path,
    fmt: str,
    series: str,
    validator: jsonschema_rs.Draft202012Validator,
    refs: Refs,
    chunk_rows: int = CHUNK_ROWS,
) -> Iterator[list[records_mod.BulkRow]]:
    """One series' rows in chunks of up to ``CHUNK_ROWS``, each record checked on the way.

    Ids are checked for uniqueness within each patient's run of rows (files are in patient order),
    which keeps memory bounded; the table's primary key still refuses any duplicate the check misses.
    Raises DatasetLoadError at the first problem, with the file and row.
    """
    name, schema = SERIES[series]
    shape = records_mod.bulk_shaper(name)
    is_valid = validator.is_valid
    gauges = series == "gauges"
    chunk: list[records_mod.BulkRow] = []
    append = chunk.append
    current: object = _NO_PATIENT
    ref = anon = ""
    ids: set[str] = set()
    try:
        for located in iter_records(directory, series, fmt):
            record = located.record
            pid = record.pop("patient_id", None)
            if pid != current:  # a new patient's run of rows
                target = refs.get(pid) if isinstance(pid, str) else None
                if target is None:
                    raise fail(located, f"patient_id: {pid!r} is not in the patients file")
                current, ids, (ref, anon) = pid, set(), target
            record_id = record.get("id")
            if record_id in ids:
                raise fail(located, f"id: {record_id} appears twice for patient {pid}")
            ids.add(str(record_id))
            if gauges:  # the partner-facing id, where the API puts it (after `id`)
                record = {"id": record_id, "patient_id": anon, **record}
            if not is_valid(record):
                raise fail(located, f"as a {schema}, {problem(validator, record)}")
            append(shape(ref, record))
            if len(chunk) >= chunk_rows:
                yield chunk
                chunk = []
                append = chunk.append
    except DatasetError as exc:  # an unreadable row: already located
        raise DatasetLoadError(str(exc)) from None
    if chunk:
        yield chunk


Chunks = Generator[tuple[str, list[records_mod.BulkRow]], None, None]
"""``(series, rows)`` for every series in order; closing it early stops any reading still going on."""


def manifest_records(manifest: dict[str, Any] | None) -> int | None:
    """How many records of the loaded series a dataset's manifest says it holds (None: it does not
    say). Used to choose how to read it and to size a progress bar, never to check anything."""
    counts = (manifest or {}).get("counts")
    if not isinstance(counts, dict):
        return None
    found = [v for k, v in counts.items() if k in SERIES and isinstance(v, int)]
    return sum(found) if found else None


def rows_inline(
    directory: Path, fmt: str, refs: Refs, schemas: dict[str, Any], chunk_rows: int = CHUNK_ROWS
) -> Chunks:
    """Every series' rows, read and checked in this process (see :func:`validated_chunks`)."""
    validators = compile_validators(schemas)
    for series, (_, schema) in SERIES.items():
        for chunk in validated_chunks(directory, fmt, series, validators[schema], refs, chunk_rows):
            yield series, chunk


def _read_all(
    out: Queue[tuple[Any, ...]],
    directory: str,
    fmt: str,
    refs: Refs,
    schemas: dict[str, Any],
    chunk_rows: int,
) -> None:
    """The reader process: every series' chunks onto ``out`` in order, then ``("done",)``; a dataset
    problem as ``("refused", message)``, anything else as ``("failed", traceback)``.

    Ctrl-C reaches the whole process group: the loading process handles it and stops the reader, so
    the reader ignores it. A reader whose loading process died (killed, or the machine's OOM killer)
    would wait on the full queue for ever: it checks every ``READER_POLL_SECONDS`` and leaves."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    parent = os.getppid()
    try:
        for series, chunk in rows_inline(Path(directory), fmt, refs, schemas, chunk_rows):
            _send(out, ("rows", series, chunk), parent)
        _send(out, ("done",), parent)
    except _Orphaned:
        out.cancel_join_thread()  # exit without flushing into a pipe nobody reads
    except DatasetLoadError as exc:
        _last_word(out, ("refused", str(exc)), parent)
    except Exception:  # reported to the loading process, which rolls back and says so
        _last_word(out, ("failed", traceback.format_exc(limit=8)), parent)


def _last_word(out: Queue[tuple[Any, ...]], message: tuple[Any, ...], parent: int) -> None:
    try:
        _send(out, message, parent)
    except _Orphaned:
        out.cancel_join_thread()


class _Orphaned(Exception):
    """The loading process is gone: nobody will read what the reader has."""


def _send(out: Queue[tuple[Any, ...]], message: tuple[Any, ...], parent: int) -> None:
    while True:
        try:
            out.put(message, timeout=READER_POLL_SECONDS)
            return
        except queue.Full:
            if os.getppid() != parent:  # re-parented: the loading process died
                raise _Orphaned from None


def rows_in_process(
    directory: Path, fmt: str, refs: Refs, schemas: dict[str, Any], chunk_rows: int = CHUNK_ROWS
) -> Chunks:
    """What :func:`rows_inline` gives, read and checked by a reader process (see module doc).

    Raises DatasetLoadError for a dataset problem (or a reader that died); closing the iterator early
    (the inserting side failed) stops the reader. Like any spawned process, the reader imports the
    caller's main module again: a script that loads a large dataset needs the usual
    ``if __name__ == "__main__":`` guard (the CLI has it)."""
    context = multiprocessing.get_context("spawn")
    out: Queue[tuple[Any, ...]] = context.Queue(maxsize=QUEUE_CHUNKS)
    reader: BaseProcess = context.Process(
        target=_read_all,
        args=(out, str(directory), fmt, refs, schemas, chunk_rows),
        name="care-dataset-reader",
        daemon=True,
    )
    reader.start()
    try:
        while True:
            try:
                message = out.get(timeout=READER_POLL_SECONDS)
            except queue.Empty:
                if not reader.is_alive():
                    raise DatasetLoadError(
                        f"{directory}: the dataset reader process stopped (exit code {reader.exitcode})"
                    ) from None
                continue
            kind = message[0]
            if kind == "rows":
                yield message[1], message[2]
            elif kind == "done":
                return
            elif kind == "refused":
                raise DatasetLoadError(message[1])
            else:
                raise DatasetLoadError(f"{directory}: the dataset reader failed:\n{message[1]}")
    finally:
        if reader.is_alive():
            reader.terminate()  # blocked on a full queue nobody reads any more, or still reading
        reader.join(5)
        out.close()
        out.cancel_join_thread()  # what the dead reader left in the pipe is not ours to flush
