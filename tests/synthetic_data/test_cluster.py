"""`--scheduler`: a run on a Dask LocalCluster equals the local run byte for byte — with 2 workers, with a
worker killed mid-run, with a task that fails once — and a task that keeps failing stops the run."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import fsspec
import pytest
from click.testing import CliRunner
from distributed import LocalCluster

from synthetic_data import cluster as cluster_mod
from synthetic_data.cli import main
from synthetic_data.cluster import ClusterError, run_on_cluster
from synthetic_data.exporters import parquet
from synthetic_data.runner import RunSpec, run


def _spec(fmt: str, patients: int = 60) -> RunSpec:
    return RunSpec(
        patients=patients,
        days=14,
        seed=21,
        start=date(2026, 2, 1),
        out_dir=Path("."),
        format=fmt,
        messiness=0.5,
    )


def _local(tmp_path: Path, fmt: str, patients: int = 60) -> dict[str, bytes]:
    out = tmp_path / f"local-{fmt}"
    spec = _spec(fmt, patients)
    run(RunSpec(**{**spec.__dict__, "out_dir": out}), workers=1)
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


def _files(url: str) -> dict[str, bytes]:
    fs, root = fsspec.core.url_to_fs(url)
    return {
        path[len(root.rstrip("/")) + 1 :]: fs.cat_file(path)
        for path in sorted(fs.find(root))
        if not path.endswith("/")
    }


@pytest.fixture(scope="module")
def threads_cluster() -> Iterator[LocalCluster]:
    # In-process workers talk over Dask's inproc transport: no socket at all.
    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=False, dashboard_address="127.0.0.1:0"
    ) as local:
        yield local


@pytest.mark.parametrize("fmt", ["ndjson", "csv"])
def test_two_workers_give_the_local_bytes(tmp_path: Path, threads_cluster: LocalCluster, fmt: str) -> None:
    url = f"memory://care-synth-{fmt}"
    progress: list[int] = []
    result = run_on_cluster(_spec(fmt), threads_cluster.scheduler_address, url, on_progress=progress.append)
    assert sum(progress) == 60 and len(progress) > 1  # progress per task, every patient once
    assert result.counts["patients"] == 60
    assert _files(url) == _local(tmp_path, fmt)


def test_parquet_parts_are_written_by_the_tasks(
    tmp_path: Path, threads_cluster: LocalCluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(parquet, "PART_PATIENTS", 16)  # 4 parts; threads share the patched module
    url = "memory://care-synth-parquet"
    run_on_cluster(_spec("parquet"), threads_cluster.scheduler_address, url)
    files = _files(url)
    assert "vitals/part-000000048.parquet" in files
    assert files == _local(tmp_path, "parquet")


def test_a_failed_task_is_retried(
    tmp_path: Path, threads_cluster: LocalCluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    real, failed = cluster_mod.run_block, set()

    def flaky(job: Any, spill_dir: str | None = None) -> Any:
        if job[1] not in failed:  # every block fails on its first attempt
            failed.add(job[1])
            raise RuntimeError("worker hiccup")
        return real(job, spill_dir)

    monkeypatch.setattr(cluster_mod, "run_block", flaky)
    url = "memory://care-synth-retried"
    retried: list[str] = []
    run_on_cluster(
        _spec("ndjson"), threads_cluster.scheduler_address, url, retries=1, on_retry=retried.append
    )
    assert len(failed) > 1
    assert _files(url) == _local(tmp_path, "ndjson")
    deadline = time.monotonic() + 10  # events travel through the scheduler, a moment behind results
    while len(retried) < len(failed) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(retried) == len(failed)  # every retry was reported
    assert all("started again (attempt 2" in message for message in retried)


def test_a_task_that_keeps_failing_stops_the_run_naming_it(
    threads_cluster: LocalCluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(job: Any, spill_dir: str | None = None) -> Any:
        raise RuntimeError(f"no room for patient {job[1]}")

    monkeypatch.setattr(cluster_mod, "run_block", broken)
    with pytest.raises(ClusterError, match=r"task for patients \[0, \d+\) failed after 2 retries.*no room"):
        run_on_cluster(_spec("ndjson"), threads_cluster.scheduler_address, "memory://broken", retries=2)


def test_a_worker_killed_mid_run_loses_nothing(tmp_path: Path) -> None:
    """Real worker processes; one is SIGKILLed after the first block: Dask reschedules its tasks."""
    out = tmp_path / "killed"
    killed: list[int] = []
    with LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        dashboard_address="127.0.0.1:0",
        host="127.0.0.1",
    ) as local:
        pids = [nanny.process.process.pid for nanny in local.workers.values()]  # type: ignore[attr-defined]

        def kill_once(_n: int) -> None:
            if not killed:
                os.kill(pids[0], signal.SIGKILL)
                killed.append(pids[0])

        result = run_on_cluster(
            _spec("ndjson", patients=120), local.scheduler_address, out.as_uri(), on_progress=kill_once
        )
    assert killed and result.counts["patients"] == 120
    got = {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}
    assert got == _local(tmp_path, "ndjson", patients=120)


def test_parquet_parts_the_client_cannot_see_stop_the_run(tmp_path: Path) -> None:
    """memory:// is one process's memory: with worker processes the parts land in the workers' memory,
    out of the client's reach, so the run must fail saying so instead of reporting a dataset."""
    url = "memory://care-synth-unshared"
    with LocalCluster(
        n_workers=1, threads_per_worker=1, processes=True, dashboard_address="127.0.0.1:0", host="127.0.0.1"
    ) as local:
        with pytest.raises(ClusterError, match=r"not visible .*memory://care-synth-unshared.*shared"):
            run_on_cluster(_spec("parquet", patients=8), local.scheduler_address, url)
    assert "manifest.json" not in _files(url)


def test_cli_scheduler_and_url(threads_cluster: LocalCluster, tmp_path: Path) -> None:
    url = (tmp_path / "cli-run").as_uri()  # file://…: what a shared file system looks like
    result = CliRunner().invoke(
        main,
        ["generate", "--patients", "8", "--days", "5", "--scheduler", threads_cluster.scheduler_address,
         "--out", url],
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert "cli-run" in result.stderr and "patients/min" in result.stderr
    assert (tmp_path / "cli-run" / "manifest.json").is_file()


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--out", "memory://x"], "needs --scheduler"),
        (
            ["--scheduler", "tcp://127.0.0.1:9", "--format", "sqlite"],
            "--scheduler writes ndjson, csv, parquet",
        ),
    ],
)
def test_cli_misuse_is_one_line(args: list[str], needle: str) -> None:
    result = CliRunner().invoke(main, ["generate", "--patients", "2", "--days", "1", *args])
    assert result.exit_code != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0], result.stderr


def test_a_lost_scheduler_is_said_not_blamed_on_retries(tmp_path: Path) -> None:
    """The scheduler went away mid-run: every future is cancelled; no retry happened, so the error says
    the connection was lost instead of "failed after 3 retries"."""
    from distributed.client import FutureCancelledError

    class Lost:
        def result(self) -> None:
            raise FutureCancelledError("care-synth-21-000000000", "scheduler-connection-lost")

    class Client:
        def submit(self, *args: Any, **kwargs: Any) -> Lost:
            return Lost()

    spec = _spec("parquet")
    sink = cluster_mod._UrlSink(spec, (tmp_path / "out").as_uri())
    with pytest.raises(ClusterError) as raised:
        cluster_mod._run_blocks(Client(), spec, [(0, 30), (30, 60)], "", sink, 2, 3, None)
    message = str(raised.value)
    assert "lost the connection to the Dask scheduler" in message and "scheduler-connection-lost" in message
    assert "retries" not in message and "[0, 30)" in message
