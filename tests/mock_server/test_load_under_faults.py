"""Load under faults: the hosted topology keeps every write exactly once and delivers every event.

``care-sandbox serve --workers 2`` and two ``care-sandbox worker`` processes share one PostgreSQL (a
private cluster, see ``tests/fixtures/pg_cluster.py``). Several clients send a bounded mix of reads
and keyed check-ins (each with its own ``Idempotency-Key`` and a unique ``logged_at``), retrying
what a real client retries: connection errors, 503 and 409 "in progress" — always with the same key.
While they run, driven by their progress rather than by the clock:

1. one webhook worker is SIGKILLed and started again,
2. one server worker is SIGKILLed (uvicorn's supervisor starts a new one),
3. PostgreSQL is restarted.

Afterwards every check-in is stored exactly once, with exactly one ``pain_entry.created`` event, and
every event reached the (healthy, signature-checking) receiver. Webhooks are at-least-once by
standard: a delivery the killed worker had sent but not yet recorded is sent again, with the same
``webhook-id``, once its lease lapses. The test therefore allows a repeat only for deliveries first
received just before that kill, and checks that a receiver deduplicating on ``webhook-id`` (as
Standard Webhooks asks) processed every event exactly once.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson
import sqlalchemy
from standardwebhooks import Webhook

from tests.fixtures.fleet import WEBHOOK_TIMEOUT, Fleet, cli, fleet_env, running_fleet
from tests.fixtures.pg_cluster import private_cluster
from tests.mock_server.webhooks.helpers import wait_until
from tests.mock_server.webhooks.receiver import Receiver, running_receiver

CLIENTS = 4
WRITES_PER_CLIENT = 60
READS_PER_WRITE = 1
PACE_SECONDS = 0.03  # per client between operations, so the faults land in the middle of the traffic
OP_DEADLINE = 60.0  # one operation may retry this long before the test fails


@dataclass
class Tally:
    lock: threading.Lock = field(default_factory=threading.Lock)
    done: int = 0
    retried: Counter[str] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)

    def note(self, what: str) -> None:
        with self.lock:
            self.retried[what] += 1


def _call(client: httpx.Client, tally: Tally, method: str, path: str, **kwargs: Any) -> httpx.Response:
    """Send until a definite answer, retrying what an integrator's client retries (same key)."""
    deadline = time.monotonic() + OP_DEADLINE
    while True:
        try:
            resp = client.request(method, path, **kwargs)
        except httpx.TransportError as exc:
            tally.note(f"transport:{type(exc).__name__}")
        else:
            retryable = resp.status_code in {502, 503} or (
                resp.status_code == 409 and "in progress" in resp.json()["error"]["message"]
            )
            if not retryable:
                return resp
            tally.note(str(resp.status_code))
        if time.monotonic() > deadline:
            raise AssertionError(f"{method} {path} got no definite answer in {OP_DEADLINE:.0f} s")
        time.sleep(0.1)


@dataclass
class Write:
    key: str
    patient: str
    logged_at: str
    status: int = 0
    entry_id: str = ""


def _client_run(base_url: str, api_key: str, patients: list[str], writes: list[Write], tally: Tally) -> None:
    with httpx.Client(base_url=base_url, headers={"X-API-Key": api_key}, timeout=15) as client:
        try:
            for n, write in enumerate(writes):
                body = {
                    "pain_level": n % 11,
                    "areas": [{"id": "lower_back", "max_intensity": n % 11}],
                    "qualities": ["aching"],
                    "logged_at": write.logged_at,
                }
                resp = _call(
                    client,
                    tally,
                    "POST",
                    f"/v1/sandbox/patients/{write.patient}/pain-entries",
                    json=body,
                    headers={"Idempotency-Key": write.key},
                )
                write.status = resp.status_code
                if resp.status_code == 201:
                    write.entry_id = resp.json()["id"]
                for r in range(READS_PER_WRITE):
                    patient = patients[(n + r) % len(patients)]
                    read = _call(
                        client, tally, "GET", f"/v1/patients/{patient}/pain-entries", params={"per_page": 5}
                    )
                    if read.status_code != 200:
                        tally.failures.append(f"read {read.status_code}: {read.text[:200]}")
                with tally.lock:
                    tally.done += 1
                time.sleep(PACE_SECONDS)
        except Exception as exc:  # reported by the test, not lost in a thread
            tally.failures.append(repr(exc))


def _race_migrations(database_url: str) -> None:
    """Two ``migrate`` at once on the empty database, as two hosts booting together would: the
    advisory lock lets exactly one apply the migrations and the other find the schema up to date."""
    racing = [
        subprocess.Popen(
            cli("migrate", "--database-url", database_url),
            env=fleet_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for _ in range(2)
    ]
    outputs = []
    for proc in racing:
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err.decode()
        outputs.append(out.decode())
    assert sorted("applied" in out for out in outputs) == [False, True], outputs


def _setup_workspace(fleet: Fleet, receiver: Receiver) -> tuple[str, list[str], str]:
    api_key = fleet.create_workspace()
    with httpx.Client(base_url=fleet.base_url, headers={"X-API-Key": api_key}, timeout=15) as client:
        listed = client.get("/v1/patients", params={"status": "active", "per_page": 100})
        assert listed.status_code == 200, listed.text
        patients = [p["id"] for p in listed.json()["data"]]
        assert len(patients) >= 2, "the seeded workspace has too few consented patients"
        endpoint = client.post("/v1/webhooks", json={"url": receiver.url, "events": ["pain_entry.created"]})
        assert endpoint.status_code == 201, endpoint.text
    return api_key, patients, endpoint.json()["secret"]


def test_writes_exactly_once_and_events_delivered_through_kills_and_a_database_restart(
    tmp_path: Path,
) -> None:
    with private_cluster() as cluster, running_receiver() as receiver:
        _race_migrations(cluster.url)
        with running_fleet(cluster.url, tmp_path) as fleet:
            api_key, patients, secret = _setup_workspace(fleet, receiver)
            base = datetime(2026, 1, 1, tzinfo=UTC)
            plans = [
                [
                    Write(
                        key=f"faults-{c}-{n}-{secrets.token_hex(4)}",
                        patient=patients[(c + n) % len(patients)],
                        logged_at=(base + timedelta(minutes=c * 10_000 + n)).strftime("%Y-%m-%dT%H:%M:%SZ"),
                    )
                    for n in range(WRITES_PER_CLIENT)
                ]
                for c in range(CLIENTS)
            ]
            tally = Tally()
            threads = [
                threading.Thread(
                    target=_client_run, args=(fleet.base_url, api_key, patients, plan, tally), daemon=True
                )
                for plan in plans
            ]
            for thread in threads:
                thread.start()
            total = CLIENTS * WRITES_PER_CLIENT

            def progressed(share: float) -> Callable[[], bool]:
                return lambda: tally.done >= share * total or bool(tally.failures)

            wait_until(progressed(0.2), 120, "a fifth of the traffic")
            victim = fleet.workers[0]
            victim.send_signal(signal.SIGKILL)
            victim.wait()
            killed_at = time.monotonic()
            fleet.start_worker()

            wait_until(progressed(0.4), 120, "two fifths of the traffic")
            server_workers = fleet.server_workers()
            assert len(server_workers) == 2, server_workers
            os.kill(server_workers[0], signal.SIGKILL)

            wait_until(progressed(0.6), 120, "three fifths of the traffic")
            cluster.restart()

            for thread in threads:
                thread.join(timeout=300)
            assert not tally.failures, tally.failures[:5]
            assert all(not thread.is_alive() for thread in threads)
            wait_until(
                lambda: len(fleet.server_workers()) == 2, 30, "uvicorn to replace the killed server worker"
            )

            writes = [w for plan in plans for w in plan]
            assert all(w.status == 201 and w.entry_id for w in writes), Counter(w.status for w in writes)

            engine = sqlalchemy.create_engine(
                cluster.url.replace("postgresql://", "postgresql+psycopg://", 1)
            )
            try:
                with engine.connect() as conn:
                    stored = Counter(
                        row.id
                        for row in conn.execute(
                            sqlalchemy.text("SELECT id FROM records WHERE series = 'pain_entry'")
                        )
                    )
                    at_counts = Counter(
                        row.at
                        for row in conn.execute(
                            sqlalchemy.text(
                                "SELECT at FROM records WHERE series = 'pain_entry' AND at >= '2026-01-01'"
                            )
                        )
                    )
                    events = conn.execute(
                        sqlalchemy.text("SELECT id, payload FROM events WHERE type = 'pain_entry.created'")
                    ).all()

                # every write exactly once: by the id the client got back and by its unique logged_at
                for write in writes:
                    assert stored[write.entry_id] == 1, write
                    assert at_counts[write.logged_at] == 1, write
                event_entries = Counter(orjson.loads(e.payload)["data"]["id"] for e in events)
                assert all(event_entries[w.entry_id] == 1 for w in writes), "a check-in lacks its one event"
                event_ids = {e.id for e in events}

                def settled() -> bool:
                    with engine.connect() as conn:
                        open_ = conn.execute(
                            sqlalchemy.text("SELECT count(*) FROM deliveries WHERE status <> 'succeeded'")
                        ).scalar_one()
                    return int(open_) == 0 and event_ids <= receiver.ids()

                wait_until(settled, 120, "every delivery to succeed")
            finally:
                engine.dispose()

            verifier = Webhook(secret)
            seen: dict[str, list[float]] = {}
            for got in receiver.requests:
                verifier.verify(got.body, got.headers)  # every request is genuinely signed
                seen.setdefault(got.headers["webhook-id"], []).append(got.at)
            assert set(seen) == event_ids  # every event delivered, and nothing else
            repeated = {event: times for event, times in seen.items() if len(times) > 1}
            for event, times in repeated.items():
                # only what the killed worker had in flight may come again, after its lease lapsed
                assert killed_at - 1.0 <= times[0] <= killed_at, (event, times, killed_at)
                assert times[1] >= killed_at + 2 * WEBHOOK_TIMEOUT, (event, times, killed_at)
            processed = {event for event in seen}  # a receiver deduplicating on webhook-id
            assert len(processed) == len(writes)

            # the faults really bit: clients saw failures and retried through them
            assert sum(tally.retried.values()) > 0, "no fault reached a client"
            print(
                f"\n{len(writes)} writes exactly once; {len(event_ids)} events delivered, {len(repeated)} re-sent "
                f"after the worker kill; client retries: {dict(tally.retried)}"
            )
