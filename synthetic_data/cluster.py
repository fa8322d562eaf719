"""`care-synth generate --scheduler ADDRESS`: the run's blocks as tasks on a Dask distributed cluster.

Dask is the engine (an optional extra, `care-sandbox[dask]`); this module only maps a run onto it:

- one task per block (`runner.run_block`, the same function local workers run), submitted through a
  sliding window so the client never holds more than a few blocks whatever the dataset size;
- Parquet parts are written by the task itself, straight to the output URL (any fsspec URL: `s3://`,
  `gs://`, `file://`, `memory://`), so on a real cluster the data never passes through the client;
  line formats (NDJSON, CSV) come back as bytes and the client appends them in patient order;
- a task that raises is retried (`retries`), and one whose worker dies is rescheduled by Dask
  (`distributed.scheduler.allowed-failures`); a task that still fails stops the run with an error that
  names its patient range — a block is never silently dropped;
- the bytes equal a local run's: a patient's records depend only on (seed, index) and the writer
  keeps patient order, whatever the number of workers or where a task ran.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from concurrent.futures import CancelledError
from dataclasses import replace
from pathlib import Path
from typing import Any

import orjson

from synthetic_data.exporters.base import Block
from synthetic_data.exporters.csvfiles import FILE_NAMES as CSV_FILES
from synthetic_data.exporters.csvfiles import header_bytes
from synthetic_data.exporters.ndjson import FILE_NAMES as NDJSON_FILES
from synthetic_data.runner import MANIFEST, RunResult, RunSpec, manifest, plan_blocks, run_block
from synthetic_data.vocab import SERIES

CLUSTER_FORMATS = ("ndjson", "csv", "parquet")
EVENT_TOPIC = "care-synth-task-started"
DEFAULT_RETRIES = 3
IN_FLIGHT_PER_WORKER = 4


class ClusterError(Exception):
    """The run could not finish on the cluster (the message names the task and the remote error)."""


def _fsspec() -> Any:
    try:
        import fsspec
    except ImportError:  # pragma: no cover - the extra is installed in tests
        raise ClusterError("--scheduler needs Dask: pip install 'care-sandbox[dask]'") from None
    return fsspec


def _join(url: str, name: str) -> str:
    return url.rstrip("/") + "/" + name


def remote_block(spec: RunSpec, lo: int, hi: int, out_url: str) -> Block:
    """The task: generate patients [lo, hi); Parquet parts go straight to `out_url`, line formats
    return their bytes (the client appends them in order). Returns counts (and sizes of parts)."""
    _announce(lo, hi)
    block = run_block((spec, lo, hi))
    if spec.format == "parquet":
        fs, root = _fsspec().core.url_to_fs(out_url)
        sizes = {}
        for name, data in block.files.items():
            path = _join(root, name)
            fs.makedirs(path.rsplit("/", 1)[0], exist_ok=True)
            with fs.open(path, "wb") as handle:  # a retry rewrites the whole part
                handle.write(data)
            sizes[name] = len(data)
        block.files = {}
        block.spilled = {}
        block.written = sizes
    return block


def _announce(lo: int, hi: int) -> None:
    """Tell the client a task (re)started and where: a second start of a block is a retry, which the
    CLI reports instead of letting it pass unseen."""
    from distributed import get_worker

    try:
        worker = get_worker()
    except ValueError:  # not on a worker (called directly)
        return
    worker.log_event(EVENT_TOPIC, {"lo": lo, "hi": hi, "worker": str(worker.address)})


class _UrlSink:
    """The client's half: truncates and appends line files, or tracks the parts tasks wrote."""

    def __init__(self, spec: RunSpec, out_url: str) -> None:
        self._url = out_url
        self._fs, self._root = _fsspec().core.url_to_fs(out_url)
        self._fs.makedirs(self._root, exist_ok=True)
        self._format = spec.format
        self._sizes: dict[str, int] = {}
        self._handles: dict[str, Any] = {}
        if spec.format == "parquet":
            self._remove_stale_parts(spec)
            return
        names = list((NDJSON_FILES if spec.format == "ndjson" else CSV_FILES).values())
        preamble = header_bytes() if spec.format == "csv" and spec.shard[0] == 1 else {}
        for name in names:
            handle = self._fs.open(_join(self._root, name), "wb")
            handle.write(preamble.get(name, b""))
            self._handles[name] = handle

    def _remove_stale_parts(self, spec: RunSpec) -> None:
        indices, last = spec.indices(), spec.shard[0] == spec.shard[1]
        for series in SERIES:
            for path in self._fs.glob(_join(self._root, f"{series}/part-*.parquet")):
                first = path.rsplit("/part-", 1)[1].removesuffix(".parquet")
                if first.isdigit() and (int(first) in indices or (last and int(first) >= indices.start)):
                    self._fs.rm(path)

    def write(self, block: Block) -> None:
        for name, data in block.files.items():
            if data:
                self._handles[name].write(data)
        for name, size in block.written.items():
            self._check_visible(name, size)
        self._sizes.update(block.written)

    def _check_visible(self, name: str, size: int) -> None:
        """A part a task wrote must be where the client reads it: on storage that is not shared (the
        memory:// of one process, a worker's own disk) it is not, and the dataset would be lost."""
        try:
            seen = self._fs.size(_join(self._root, name))
        except FileNotFoundError:
            seen = None
        if seen != size:
            raise ClusterError(
                f"{name} written by a worker is not visible at {self._url} from this machine: --out "
                "must be storage shared by the client and every worker (s3://, gcs://, a shared file "
                "system); memory:// is one process's memory and works only with in-process workers"
            )

    def close(self) -> dict[str, int]:
        for name, handle in self._handles.items():
            handle.close()
            self._sizes[name] = self._fs.size(_join(self._root, name))
        return dict(sorted(self._sizes.items())) if self._format == "parquet" else self._sizes

    def write_manifest(self, data: bytes) -> None:
        with self._fs.open(_join(self._root, MANIFEST), "wb") as handle:
            handle.write(data)


def run_on_cluster(
    spec: RunSpec,
    scheduler: Any,
    out_url: str,
    *,
    retries: int = DEFAULT_RETRIES,
    on_start: Callable[[], None] | None = None,
    on_progress: Callable[[int], None] | None = None,
    on_retry: Callable[[str], None] | None = None,
) -> RunResult:
    """Generate `spec` on the Dask cluster at `scheduler` (an address, or a cluster object) into
    `out_url`; the same files, byte for byte, as `runner.run` writes locally.

    `on_retry(message)` is called when a block starts again (after an error or a lost worker)."""
    if spec.format not in CLUSTER_FORMATS:
        raise ClusterError(
            f"--scheduler writes {', '.join(CLUSTER_FORMATS)}; {spec.format} is built by one process"
        )
    _fsspec()
    from distributed import Client

    started = time.perf_counter()
    spec = replace(spec, out_dir=Path("."))  # the URL is the destination; workers never see the path
    try:
        client = Client(scheduler, set_as_default=False)  # type: ignore[no-untyped-call]
    except (OSError, TimeoutError, ValueError) as exc:
        raise ClusterError(f"cannot reach the Dask scheduler at {scheduler}: {exc}") from None
    client_log = logging.getLogger("distributed.client")
    level = client_log.level  # raised by _run_blocks when the scheduler is lost, restored here
    try:
        with client:
            client.subscribe_topic(EVENT_TOPIC, _RetryReporter(on_retry))  # type: ignore[no-untyped-call]
            workers = max(1, len(client.scheduler_info().get("workers", {})))
            blocks = plan_blocks(spec.indices(), workers, spec.format)
            sink = _UrlSink(spec, out_url)
            if on_start is not None:
                on_start()
            counts = _run_blocks(
                client, spec, blocks, out_url, sink, IN_FLIGHT_PER_WORKER * workers, retries, on_progress
            )
            files = sink.close()
            meta = manifest(spec) | {"counts": counts, "files": files}
            sink.write_manifest(orjson.dumps(meta, option=orjson.OPT_INDENT_2) + b"\n")
    finally:
        client_log.setLevel(level)
    return RunResult(counts, files, time.perf_counter() - started, patients=len(spec.indices()))


class _RetryReporter:
    """Counts the start events of each block's task; a second start is a retry, told to `on_retry`."""

    def __init__(self, on_retry: Callable[[str], None] | None) -> None:
        self.on_retry = on_retry
        self.starts: dict[int, int] = {}

    def __call__(self, event: tuple[float, dict[str, Any]]) -> None:
        msg = event[1]
        starts = self.starts
        starts[msg["lo"]] = starts.get(msg["lo"], 0) + 1
        if starts[msg["lo"]] > 1 and self.on_retry is not None:
            self.on_retry(
                f"task for patients [{msg['lo']}, {msg['hi']}) started again "
                f"(attempt {starts[msg['lo']]}, on {msg['worker']})"
            )


def _run_blocks(
    client: Any,
    spec: RunSpec,
    blocks: list[tuple[int, int]],
    out_url: str,
    sink: _UrlSink,
    window: int,
    retries: int,
    on_progress: Callable[[int], None] | None,
) -> dict[str, int]:
    """Run the blocks with at most `window` in flight, writing each result in block order as soon as
    it is there (and releasing it); returns the record counts per series."""
    counts = dict.fromkeys(SERIES, 0)
    submitted: list[Any] = []

    def submit() -> None:
        if len(submitted) < len(blocks):
            lo, hi = blocks[len(submitted)]
            submitted.append(
                client.submit(
                    remote_block,
                    spec,
                    lo,
                    hi,
                    out_url,
                    key=f"care-synth-{spec.seed}-{lo:09d}-{hi:09d}",
                    retries=retries,
                    pure=False,
                )
            )

    for _ in range(window):
        submit()
    for done, (lo, hi) in enumerate(blocks):
        try:
            block: Block = submitted[done].result()
        except CancelledError as error:  # not the task's failure: the scheduler went away (or cancelled it)
            # distributed.client logs its cancelled reconnect as a traceback when the client closes
            logging.getLogger("distributed.client").setLevel(logging.CRITICAL)
            raise ClusterError(
                f"lost the connection to the Dask scheduler while the task for patients [{lo}, {hi}) ran "
                f"({str(error).splitlines()[0]}); the output is incomplete: run it again"
            ) from None
        except Exception as error:  # the remote error, re-raised here once retries are spent
            raise ClusterError(
                f"task for patients [{lo}, {hi}) failed after {retries} retries on the cluster: "
                f"{type(error).__name__}: {error}"
            ) from None
        submitted[done] = None  # release the result as soon as it is written
        sink.write(block)
        for name, value in block.counts.items():
            counts[name] += value
        if on_progress is not None:
            on_progress(hi - lo)
        submit()
    return counts
