"""Another workspace's heavy sandbox controls never hold this workspace's requests (issue 13).

Before: handlers ran on the event loop, so workspace B's ``clock/advance {"days": 365}`` held every
request — ``/healthz`` included — for 3-4 s. Now sync handlers run on a bounded thread pool and the
advance commits in chunks; this test drives B's 365-day advance and reset over HTTP while A reads,
and bounds A's worst latency far below the advance's duration. (``bench/bench_tenants.py``
measures the real figures against a quiet baseline.)
"""

from __future__ import annotations

import threading
import time

import httpx

from tests.fixtures.sandbox import RunningSandbox


def _timed(client: httpx.Client, path: str) -> float:
    started = time.perf_counter()
    resp = client.get(path)
    assert resp.status_code == 200, resp.text
    return time.perf_counter() - started


def test_a_365_day_advance_and_reset_in_b_do_not_hold_a(sandbox_factory) -> None:  # type: ignore[no-untyped-def]
    box: RunningSandbox = sandbox_factory()
    heavy: dict[str, float] = {}

    def advance_and_reset() -> None:
        with box.client(box.second_api_key) as b:
            started = time.perf_counter()
            resp = b.post("/v1/sandbox/clock/advance", json={"days": 365}, timeout=300)
            assert resp.status_code == 200, resp.text
            heavy["generated"] = sum(resp.json()["generated"].values())
            assert b.post("/v1/sandbox/reset", timeout=300).status_code == 200
            heavy["seconds"] = time.perf_counter() - started

    with box.client() as a, httpx.Client(base_url=box.base_url) as anonymous:
        patient = a.get("/v1/patients").json()["data"][0]["id"]
        worker = threading.Thread(target=advance_and_reset)
        worker.start()
        reads, health = [], []
        while worker.is_alive():
            reads.append(_timed(a, f"/v1/patients/{patient}/pain-entries?per_page=50"))
            health.append(_timed(anonymous, "/healthz"))
        worker.join()
    assert heavy["generated"] > 50_000  # a real 365-day advance of 25 patients
    assert len(reads) >= 10
    # on the loop, every request during those seconds would have waited for all of them
    bound = min(1.0, heavy["seconds"] / 4)
    assert max(health) < bound, (max(health), heavy)
    assert sorted(reads)[int(len(reads) * 0.99) - 1] < bound, (max(reads), heavy)
