"""Generate a whole dataset: plan shards and blocks, fan blocks out to workers, write them in order.

Determinism and streaming, by construction:

- patient `i` depends only on (seed, i) and the run's arguments — never on the worker, block or shard
  that makes it — so the output is byte-identical for any `--workers`;
- `--shard i/N` takes the contiguous patient range [(i-1)·P/N, i·P/N), so shard files concatenate
  (in shard order) to exactly the unsharded files;
- blocks are written in index order by the parent as they complete, with at most `4 * workers`
  blocks in flight: memory stays bounded by a few blocks whatever the dataset size.
"""

from __future__ import annotations

import gc
import importlib.metadata
import math
import multiprocessing
import os
import platform
import random
import sqlite3
import tempfile
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from multiprocessing.pool import AsyncResult
from pathlib import Path
from typing import Any

import orjson

from synthetic_data import __version__
from synthetic_data.conditions import CATALOGUE
from synthetic_data.exporters.base import Block, Encoder, Sink
from synthetic_data.exporters.csvfiles import CsvEncoder, csv_sink
from synthetic_data.exporters.fhir_bundles import FhirEncoder, fhir_sink
from synthetic_data.exporters.ndjson import NdjsonEncoder, ndjson_sink
from synthetic_data.exporters.parquet import ParquetEncoder, parquet_sink, part_bounds
from synthetic_data.exporters.sqlite import SqliteEncoder, sqlite_sink
from synthetic_data.generate import PatientSeries, generate_days
from synthetic_data.patients import PatientProfile, make_profile
from synthetic_data.seeding import patient_seed
from synthetic_data.vocab import SERIES

FORMATS = ("ndjson", "csv", "fhir", "sqlite", "parquet")
MANIFEST = "manifest.json"
MAX_BLOCK = 25
SPILL_ROOM = 1 << 30  # free bytes /dev/shm needs to be used for in-flight blocks
IN_FLIGHT_PER_WORKER = 4  # queued blocks per worker: no worker idles while the parent waits for one


@dataclass(frozen=True)
class RunSpec:
    """Everything that determines a dataset's content (workers and progress do not)."""

    patients: int
    days: int
    seed: int
    start: date
    out_dir: Path
    format: str = "ndjson"
    messiness: float = 0.3
    conditions: tuple[str, ...] | None = None
    shard: tuple[int, int] = (1, 1)  # (i, N), 1-based

    def indices(self) -> range:
        """The patient indices of this shard."""
        i, n = self.shard
        return range((i - 1) * self.patients // n, i * self.patients // n)


@dataclass
class RunResult:
    counts: dict[str, int]
    files: dict[str, int]  # bytes per output file
    seconds: float
    patients: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def total_bytes(self) -> int:
        return sum(self.files.values())


def choose_condition(seed: int, index: int, allowed: tuple[str, ...]) -> str:
    """A condition from `allowed` for patient `index`, weighted by the catalogue's prevalence."""
    rnd = random.Random(f"{patient_seed(seed, index)}/condition-choice")
    return rnd.choices(allowed, weights=[CATALOGUE[c].prevalence for c in allowed])[0]


def profile_for(spec: RunSpec, index: int) -> PatientProfile:
    condition = choose_condition(spec.seed, index, spec.conditions) if spec.conditions else None
    return make_profile(spec.seed, index, condition=condition)


def _encoder(fmt: str) -> Encoder:
    encoders: dict[str, Callable[[], Encoder]] = {
        "ndjson": NdjsonEncoder,
        "csv": CsvEncoder,
        "fhir": FhirEncoder,
        "sqlite": SqliteEncoder,
        "parquet": ParquetEncoder,
    }
    return encoders[fmt]()


def _sink(spec: RunSpec) -> Sink:
    first = spec.shard[0] == 1
    if spec.format == "ndjson":
        return ndjson_sink(spec.out_dir, first_shard=first)
    if spec.format == "csv":
        return csv_sink(spec.out_dir, first_shard=first)
    if spec.format == "fhir":
        return fhir_sink(spec.out_dir, first_shard=first)
    if spec.format == "parquet":
        return parquet_sink(spec.out_dir, spec.indices(), last_shard=spec.shard[0] == spec.shard[1])
    return sqlite_sink(spec.out_dir, first_shard=first, metadata=manifest(spec))


def run_block(job: tuple[RunSpec, int, int], spill_dir: str | None = None) -> Block:
    """Generate and encode patients [lo, hi) (the unit of work a worker process runs).

    With `spill_dir`, file contents are written there and only their paths travel back to the parent.
    """
    spec, lo, hi = job
    # Parquet and NDJSON take every series but flares as columns (no dict per record)
    columnar = spec.format in ("parquet", "ndjson")

    def patients() -> Iterator[tuple[PatientProfile, PatientSeries]]:
        for index in range(lo, hi):
            profile = profile_for(spec, index)
            series = generate_days(
                profile,
                spec.start,
                0,
                spec.days,
                spec.messiness,
                vitals_as_columns=columnar,
                pain_as_columns=columnar,
                gauges_as_columns=columnar,
                wellbeing_as_columns=columnar,
            )
            yield profile, series

    # Records are trees of dicts and lists without cycles: the cyclic collector only burns time
    # re-scanning the block as it grows (~20 % of the run), so it is paused while a block is built.
    collecting = gc.isenabled()
    gc.disable()
    try:
        block = _encoder(spec.format).encode(patients(), spec.out_dir)
    finally:
        if collecting:
            gc.enable()
    if spill_dir is not None:
        block.spill(Path(spill_dir), f"{lo:09d}")
    return block


def _spill_root(out_dir: Path) -> Path:
    """Where workers leave finished blocks for the parent: RAM (/dev/shm) when there is one, so the
    blocks never reach the disk (they are deleted once appended); else the output directory."""
    shm = Path("/dev/shm")
    try:
        stats = os.statvfs(shm)
    except OSError:
        return out_dir
    roomy = stats.f_bavail * stats.f_frsize >= SPILL_ROOM  # Docker's default /dev/shm is only 64 MB
    return shm if roomy and os.access(shm, os.W_OK) else out_dir


def plan_blocks(indices: range, workers: int, fmt: str = "ndjson") -> list[tuple[int, int]]:
    """Consecutive index ranges: small enough to balance workers and report progress, at most 25.

    Parquet's unit is the part (a fixed patient range, see exporters/parquet.py): one block each.
    """
    if fmt == "parquet":
        return part_bounds(indices)
    size = max(1, min(MAX_BLOCK, math.ceil(len(indices) / max(1, workers * 16))))
    return [(lo, min(lo + size, indices.stop)) for lo in range(indices.start, indices.stop, size)]


OUTPUT_SHAPING_LIBRARIES = ("faker", "numpy", "orjson", "tzdata")
"""Distributions whose version changes the bytes: Faker's locale data and providers, NumPy's random
streams (Generator/bit-generator algorithms), orjson's float and string encoding, and the IANA time
zone data (when installed from PyPI; else the system's). The same seed gives byte-identical output
only when these, Python and SQLite are the same versions — i.e. for the same lock file."""


def library_versions() -> dict[str, str]:
    """The versions of everything that shapes the output, as recorded in every manifest."""
    versions = {
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,  # the sqlite exporter's file format and page layout
    }
    for name in OUTPUT_SHAPING_LIBRARIES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = "not installed (system data)" if name == "tzdata" else "not installed"
    return versions


def manifest(spec: RunSpec) -> dict[str, Any]:
    """What the dataset is (no timings or worker counts: identical runs give identical manifests).

    ``libraries`` says what the byte-identical promise depends on: the same seed and arguments with
    the same library versions give the same bytes; other versions may not (see README).
    """
    lo, hi = spec.indices().start, spec.indices().stop
    return {
        "generator": "care-synth",
        "version": __version__,
        "libraries": library_versions(),
        "seed": spec.seed,
        "patients": spec.patients,
        "days": spec.days,
        "start": spec.start.isoformat(),
        "format": spec.format,
        "messiness": spec.messiness,
        "conditions": list(spec.conditions) if spec.conditions else None,
        "shard": f"{spec.shard[0]}/{spec.shard[1]}",
        "patient_indices": [lo, hi],
    }


def run(
    spec: RunSpec,
    *,
    workers: int = 1,
    on_start: Callable[[], None] | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> RunResult:
    """Generate the dataset `spec` describes into `spec.out_dir`; return counts, sizes and time.

    `on_start` runs once the worker processes exist (start progress-display threads there, never
    before: workers are forked); `on_progress(n)` after each block of `n` patients is written.
    """
    started = time.perf_counter()
    blocks = plan_blocks(spec.indices(), workers, spec.format)
    counts = dict.fromkeys(SERIES, 0)

    def absorb(block: Block, size: int) -> None:
        sink.write(block)
        for name, value in block.counts.items():
            counts[name] += value
        if on_progress is not None:
            on_progress(size)

    if workers <= 1 or len(blocks) <= 1:
        sink = _sink(spec)
        if on_start is not None:
            on_start()
        for lo, hi in blocks:
            absorb(run_block((spec, lo, hi)), hi - lo)
    else:
        # Fork the workers before any thread (a progress display) exists in this process.
        context = multiprocessing.get_context(
            "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
        )
        spec.out_dir.mkdir(parents=True, exist_ok=True)
        with (
            context.Pool(workers) as pool,
            tempfile.TemporaryDirectory(dir=_spill_root(spec.out_dir), prefix="care-synth-") as parts,
        ):
            sink = _sink(spec)
            if on_start is not None:
                on_start()
            jobs = iter(blocks)
            pending: deque[tuple[AsyncResult[Block], int]] = deque()

            def submit() -> None:
                job = next(jobs, None)
                if job is not None:
                    pending.append((pool.apply_async(run_block, ((spec, *job), parts)), job[1] - job[0]))

            for _ in range(IN_FLIGHT_PER_WORKER * workers):
                submit()
            while pending:
                result, size = pending.popleft()
                block = result.get()
                submit()
                absorb(block, size)
    files = sink.close()
    meta = manifest(spec) | {"counts": counts, "files": files}
    (spec.out_dir / MANIFEST).write_bytes(orjson.dumps(meta, option=orjson.OPT_INDENT_2) + b"\n")
    return RunResult(counts, files, time.perf_counter() - started, patients=len(spec.indices()))
