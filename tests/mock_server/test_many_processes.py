"""What must hold when several server processes share one PostgreSQL: shared state stays one state.

``care-sandbox serve --workers 2`` on a private cluster (so connection counts are the sandbox's
alone). Each client opens its own connections, so the kernel spreads requests over both workers.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from mock_server.settings import Settings
from tests.fixtures.fleet import Fleet, running_fleet
from tests.fixtures.pg_cluster import PrivateCluster, private_cluster

SERVER_WORKERS = 2


@pytest.fixture(scope="module")
def cluster() -> Iterator[PrivateCluster]:
    with private_cluster() as made:
        yield made


@pytest.fixture(scope="module")
def fleet(cluster: PrivateCluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fleet]:
    logs = tmp_path_factory.mktemp("fleet")
    with running_fleet(cluster.url, logs, server_workers=SERVER_WORKERS, webhook_workers=0) as running:
        yield running


def _parallel(count: int, call: Callable[[int], Any]) -> list[Any]:
    results: list[Any] = [None] * count

    def run(i: int) -> None:
        try:
            results[i] = call(i)
        except Exception as exc:  # surfaced by the caller's assertions
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results


def _fresh(fleet: Fleet, api_key: str) -> httpx.Client:
    return httpx.Client(base_url=fleet.base_url, headers={"X-API-Key": api_key}, timeout=60)


def test_test_clock_advances_from_both_workers_all_count(fleet: Fleet) -> None:
    """Six concurrent one-day advances move the clock six days: no lost update, no day made twice."""
    api_key = fleet.create_workspace()

    def advance(_: int) -> httpx.Response:
        with _fresh(fleet, api_key) as client:
            return client.post("/v1/sandbox/clock/advance", json={"days": 1})

    answers = _parallel(6, advance)
    assert all(isinstance(a, httpx.Response) and a.status_code == 200 for a in answers), answers
    with _fresh(fleet, api_key) as client:
        clock = client.get("/v1/sandbox/clock").json()
        assert clock["offset_seconds"] == 6 * 86_400
        offsets = sorted(a.json()["offset_seconds"] for a in answers)
        assert offsets == [d * 86_400 for d in range(1, 7)]  # each saw its own step on top of the others'
        patient = client.get("/v1/patients", params={"status": "active"}).json()["data"][0]["id"]
        entries = client.get(f"/v1/patients/{patient}/pain-entries", params={"per_page": 100}).json()["data"]
    # generated ids are per patient and day: a day generated twice would have collided on the primary
    # key and answered 500 above
    assert entries and len({e["id"] for e in entries}) == len(entries)


def test_connections_stay_within_the_configured_pool_bound(fleet: Fleet, cluster: PrivateCluster) -> None:
    """Under a burst from 24 clients, the server holds at most workers × (pool + 2 overflow + the request
    log writer's one)."""
    api_key = fleet.create_workspace()
    with _fresh(fleet, api_key) as client:
        patient = client.get("/v1/patients", params={"status": "active"}).json()["data"][0]["id"]
    bound = SERVER_WORKERS * (Settings().db_pool_size + 2 + 1)
    peak = 0
    stop = threading.Event()

    def sample() -> None:
        nonlocal peak
        with psycopg.connect(cluster.url, autocommit=True) as conn:
            while not stop.is_set():
                row = conn.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend' "
                    "AND pid <> pg_backend_pid()"
                ).fetchone()
                peak = max(peak, int(row[0]) if row else 0)
                time.sleep(0.02)

    sampler = threading.Thread(target=sample)
    sampler.start()

    def burst(_: int) -> list[int]:
        with _fresh(fleet, api_key) as client:
            return [
                client.get(f"/v1/patients/{patient}/pain-entries", params={"per_page": 50}).status_code
                for _ in range(15)
            ]

    try:
        statuses = _parallel(24, burst)
    finally:
        stop.set()
        sampler.join()
    assert all(isinstance(s, list) and set(s) == {200} for s in statuses), statuses
    assert 0 < peak <= bound, f"{peak} connections, bound {bound}"


def test_sigterm_drains_requests_in_flight(cluster: PrivateCluster, tmp_path: Path) -> None:
    """A graceful stop finishes what it accepted (slow PDF reports here), then exits 0."""
    with running_fleet(cluster.url, tmp_path, server_workers=SERVER_WORKERS, webhook_workers=0) as own:
        api_key = own.create_workspace()
        with _fresh(own, api_key) as client:
            patients = client.get("/v1/patients", params={"status": "active", "per_page": 100}).json()["data"]
        patient = next(p["id"] for p in patients if "reports:read" in p["consent"]["scopes"])
        started = threading.Event()
        began = [0]

        def report(i: int) -> httpx.Response:
            with _fresh(own, api_key) as client:
                began[0] += 1
                if began[0] == 8:
                    started.set()
                return client.get(f"/v1/patients/{patient}/reports/pdf", params={"lang": ["en", "de"][i % 2]})

        results: list[Any] = []
        runner = threading.Thread(target=lambda: results.extend(_parallel(8, report)))
        runner.start()
        started.wait(10)
        time.sleep(0.3)  # the requests are in the workers now, rendering
        assert own.server is not None
        own.server.send_signal(signal.SIGTERM)
        runner.join(timeout=120)
        code = own.server.wait(timeout=60)
    assert all(isinstance(r, httpx.Response) for r in results), results
    assert [r.status_code for r in results] == [200] * 8
    assert all(r.content.startswith(b"%PDF") for r in results)
    assert code == 0


def test_rate_limit_is_one_limit_across_workers(fleet: Fleet) -> None:
    """1,000 requests at a 300/h key through both workers: one shared count, not 300 per process.

    Windows are fixed hours, so a run that crosses the top of the hour meets two windows (a CI run once
    admitted 553 that way); each answer says its window in ``X-RateLimit-Reset`` and each window is
    judged on its own.
    """
    from mock_server.middleware.rate_limit import FLUSH_HITS

    limit = 300
    api_key = fleet.create_workspace(rate_limit=limit)

    def hammer(_: int) -> list[tuple[int, str | None, str]]:
        answers = []
        for _ in range(125):
            with _fresh(fleet, api_key) as client:  # a new connection each time: either worker answers
                resp = client.get("/v1/patients", params={"per_page": 1})
            answers.append(
                (resp.status_code, resp.headers.get("Retry-After"), resp.headers["X-RateLimit-Reset"])
            )
        return answers

    results = _parallel(8, hammer)
    answers = [a for r in results for a in r]
    assert len(answers) == 1000, results
    assert {status for status, _, _ in answers} <= {200, 429}, answers
    windows = sorted({reset for _, _, reset in answers})
    assert len(windows) <= 2, windows
    overshoot = (FLUSH_HITS - 1) * SERVER_WORKERS  # the documented batching bound; a limit per process
    # would have let up to 2 × 300 through
    for window in windows:
        statuses = [status for status, _, reset in answers if reset == window]
        accepted = statuses.count(200)
        assert accepted <= limit + overshoot, (window, accepted)
        if 429 in statuses:
            assert accepted >= limit, (window, accepted)  # nothing refused before the limit
    refused = [after for status, after, _ in answers if status == 429]
    assert refused, "1,000 requests at a 300/h limit and none refused"
    assert all(after is not None and int(after) > 0 for after in refused)
    logs = "".join(path.read_text(errors="replace") for path in fleet.logs.glob("serve-*.log"))
    assert "rate limit not counted" not in logs  # no request slipped through the fail-open path
