"""The two halves of a dataset format: `Encoder` (in workers) and `Sink` (in the parent).

A block is a run of consecutive patients. `Encoder.encode` turns one block into a `Block` — file
contents as bytes, or table rows — and `Sink.write` appends blocks to the output in block order. The
parent never re-orders records, so concatenating shards' files reproduces the unsharded files.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from synthetic_data.generate import PatientSeries
from synthetic_data.patients import PatientProfile
from synthetic_data.vocab import SERIES


@dataclass
class Block:
    """A block's output and per-series counts.

    `files` maps an output file name to the bytes to append; a worker process may instead *spill*
    them to temporary files (`spilled`: name -> path) so that the parent copies them in the kernel
    rather than receiving gigabytes through a pipe. `rows` maps a table to rows (SQLite).
    """

    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(SERIES, 0))
    files: dict[str, bytes] = field(default_factory=dict)
    spilled: dict[str, str] = field(default_factory=dict)
    rows: dict[str, list[tuple[Any, ...]]] = field(default_factory=dict)
    bytes_written: int = 0  # by the worker itself (formats with one file per patient)
    written: dict[str, int] = field(default_factory=dict)  # files a remote task wrote: name -> bytes

    def spill(self, directory: Path, tag: str) -> None:
        """Move `files` into `directory/<tag>.<name>` files (called in the worker)."""
        for name, data in self.files.items():
            if data:
                path = directory / f"{tag}.{name.replace('/', '~')}"  # parts live in folders
                path.write_bytes(data)
                self.spilled[name] = str(path)
        self.files = {}

    def count(self, series: PatientSeries) -> None:
        counts = self.counts
        counts["patients"] += 1
        counts["pain_entries"] += series.n_pain_entries
        counts["wellbeing"] += series.n_wellbeing
        counts["gauges"] += series.n_gauges
        counts["vitals"] += series.n_vitals
        counts["flares"] += len(series.flares)


class Encoder(Protocol):
    def encode(self, patients: Iterable[tuple[PatientProfile, PatientSeries]], out_dir: Path) -> Block:
        """Encode a block of patients (runs in a worker process)."""
        ...


class Sink(Protocol):
    def write(self, block: Block) -> None:
        """Append one block (runs in the parent, in block order)."""
        ...

    def close(self) -> dict[str, int]:
        """Finish the output; return bytes per output file (relative name)."""
        ...
