"""Webhook latency benchmark: a patient's check-in → the signed delivery arriving at a receiver.

Target (DESIGN.md "Performance targets"): p99 ≤ 50 ms on loopback at 200 events/s sustained, with zero
events lost. One run measures, at the same rate and for the same duration:

* ``webhook``  open-loop check-ins (``POST /v1/sandbox/patients/{id}/pain-entries``) against
               ``care-sandbox serve`` (SQLite, dispatcher in the server process); latency is from just
               before the check-in request is sent to the moment the receiver process gets the signed
               ``pain_entry.created`` POST (its ``notes`` carry the sequence number). Printed with it:
               the check-in's own latency until its 201 (``api_*``) and the delivery's share after the
               201 (``after_201_*``; the event is committed before the 201 is sent);
* ``anchor``   a POST of a webhook-sized body from this process to the same receiver through
               ``httpx`` on the dispatcher's transport: the floor any delivery pays on this machine
               (one-way, measured the same way).

``--mode direct`` replaces the HTTP check-in with ``emit_event`` + ``wake()`` from this process (a
``Dispatcher`` started here, which like ``serve``'s delivers from a child process): the delivery
pipeline alone, without the API in front.

Processes: server, receiver (uvicorn + uvloop + httptools) and this load generator share the machine's
cores. Times come from CLOCK_MONOTONIC, which all processes share. Results are printed as ratios to
the target and to the anchor; ``--json FILE`` writes them.

    python bench/bench_webhooks.py                      # 200 events/s for 30 s, then the anchor
    python bench/bench_webhooks.py --quick              # 5 s each (smoke)
    python bench/bench_webhooks.py --mode direct --rate 500 --seconds 10
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
TARGET_P99_MS = 50.0
DRAIN_SECONDS = 30.0

# --------------------------------------------------------------------------- the receiver process


def receiver_main(port_file: str) -> None:
    """A minimal ASGI receiver that timestamps every POST; ``GET /stats`` returns what it saw."""
    import uvicorn

    webhook: dict[str, float] = {}
    anchor: dict[str, float] = {}
    ids: dict[str, int] = {}

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        body = b""
        more = True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        arrived = time.monotonic()
        headers = dict(scope["headers"])
        if scope["method"] == "GET":
            payload = json.dumps({"webhook": webhook, "anchor": anchor, "ids": ids}).encode()
        else:
            payload = b"ok"
            seq = headers.get(b"x-bench-seq")
            if seq is not None:
                anchor.setdefault(seq.decode(), arrived)
            else:
                msg_id = headers.get(b"webhook-id", b"").decode()
                ids[msg_id] = ids.get(msg_id, 0) + 1
                notes = json.loads(body)["data"].get("notes") or ""
                if notes.startswith("bench:"):
                    webhook.setdefault(notes[6:], arrived)
        await send(
            {"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]}
        )
        await send({"type": "http.response.body", "body": payload})

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    Path(port_file).write_text(str(sock.getsockname()[1]))
    config = uvicorn.Config(app, log_level="warning", loop="uvloop", http="httptools", lifespan="off")
    uvicorn.Server(config).run(sockets=[sock])


# --------------------------------------------------------------------------- helpers


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(url: str, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), urllib.request.urlopen(url, timeout=2) as resp:
            if resp.status < 500:
                return
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not come up within {timeout:.0f} s")


@contextlib.contextmanager
def child(
    cmd: list[str], env: dict[str, str] | None = None, log: Path | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    out = log.open("ab") if log else subprocess.DEVNULL
    proc = subprocess.Popen(
        cmd, cwd=ROOT, env={**os.environ, **(env or {})}, stdout=out, stderr=subprocess.STDOUT
    )
    try:
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if log:
            out.close()  # type: ignore[union-attr]


@contextlib.contextmanager
def receiver(tmp: Path) -> Iterator[str]:
    port_file = tmp / "receiver.port"
    with child([sys.executable, __file__, "--receiver", str(port_file)], log=tmp / "receiver.log"):
        deadline = time.monotonic() + 30
        while not port_file.exists() or not port_file.read_text():
            if time.monotonic() > deadline:
                raise RuntimeError("receiver did not start")
            time.sleep(0.05)
        base = f"http://127.0.0.1:{port_file.read_text()}"
        wait_for(f"{base}/stats")
        yield base


def stats(base: str) -> dict[str, Any]:
    with urllib.request.urlopen(f"{base}/stats", timeout=30) as resp:
        loaded: dict[str, Any] = json.loads(resp.read())
        return loaded


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


@dataclass
class Series:
    name: str
    sent: int
    received: int
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    achieved_rate: float

    @classmethod
    def of(cls, name: str, sent: dict[str, float], arrived: dict[str, float], elapsed: float) -> Series:
        latencies = [(arrived[k] - t0) * 1000 for k, t0 in sent.items() if k in arrived]
        return cls(
            name,
            len(sent),
            len(latencies),
            round(percentile(latencies, 50), 2),
            round(percentile(latencies, 90), 2),
            round(percentile(latencies, 99), 2),
            round(max(latencies, default=float("nan")), 2),
            round(len(sent) / elapsed, 1) if elapsed else 0.0,
        )


async def open_loop(rate: float, seconds: float, fire: Any) -> float:
    """Call ``fire(i)`` (a coroutine) at a fixed rate, never waiting for earlier calls: open loop."""
    started = time.monotonic()
    tasks: set[asyncio.Task[None]] = set()
    total = int(rate * seconds)
    for i in range(total):
        delay = started + i / rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        task = asyncio.create_task(fire(i))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    if tasks:
        await asyncio.gather(*tasks)
    return time.monotonic() - started


async def anchor_phase(
    base: str, rate: float, seconds: float, body: bytes
) -> tuple[dict[str, float], list[float]]:
    import httpx

    from mock_server.webhooks.transport import LeanTransport

    sent: dict[str, float] = {}
    round_trips: list[float] = []
    async with httpx.AsyncClient(transport=LeanTransport(max_idle_per_origin=64), timeout=30) as client:

        async def fire(i: int) -> None:
            seq = f"a{i}"
            t0 = time.monotonic()
            sent[seq] = t0
            with contextlib.suppress(httpx.HTTPError):
                await client.post(
                    f"{base}/anchor",
                    content=body,
                    headers={"x-bench-seq": seq, "content-type": "application/json"},
                )
            round_trips.append((time.monotonic() - t0) * 1000)

        await open_loop(rate, min(seconds, 2.0), fire)  # warm-up
        sent.clear()
        round_trips.clear()
        await open_loop(rate, seconds, fire)
    return sent, round_trips


def drain(base: str, key: str, expected: set[str]) -> dict[str, float]:
    deadline = time.monotonic() + DRAIN_SECONDS
    while True:
        arrived: dict[str, float] = stats(base)[key]
        if expected <= set(arrived) or time.monotonic() > deadline:
            return arrived
        time.sleep(0.2)


# --------------------------------------------------------------------------- api mode


def run_api(args: argparse.Namespace, tmp: Path, base: str) -> tuple[Series, list[float], dict[str, Any]]:
    import httpx

    from mock_server.webhooks.transport import LeanTransport

    port = free_port()
    api_key = "p2c_test_bench_" + secrets.token_hex(12)
    env = {
        "CARE_SANDBOX_DEMO_API_KEY": api_key,
        "CARE_SANDBOX_DATABASE_URL": args.database_url or f"sqlite:///{tmp / 'bench.sqlite3'}",
    }
    cmd = [sys.executable, "-m", "mock_server", "serve", "--port", str(port)]
    server = f"http://127.0.0.1:{port}"
    with child(cmd, env=env, log=tmp / "server.log"):
        try:
            wait_for(f"{server}/healthz", timeout=300)
        except RuntimeError:
            print((tmp / "server.log").read_text()[-3000:], file=sys.stderr)
            raise
        with httpx.Client(base_url=server, headers={"X-API-Key": api_key}, timeout=30) as client:
            resp = client.post(
                "/v1/webhooks", json={"url": f"{base}/hooks", "events": ["pain_entry.created"]}
            )
            resp.raise_for_status()
            patients = client.get("/v1/patients", params={"status": "active", "per_page": 100}).json()["data"]
            patient = next(p["id"] for p in patients if "pain:read" in p["consent"]["scopes"])

        sent: dict[str, float] = {}
        answered: dict[str, float] = {}
        api_ms: list[float] = []
        errors: list[int] = []

        async def main() -> float:
            async with httpx.AsyncClient(
                base_url=server,
                headers={"X-API-Key": api_key},
                transport=LeanTransport(max_idle_per_origin=64),
                timeout=30,
            ) as http:

                async def fire(i: int) -> None:
                    seq = str(i)
                    body = {
                        "pain_level": 1 + i % 10,
                        "areas": [{"id": "lower_back", "max_intensity": 1 + i % 10}],
                        "qualities": ["aching"],
                        "overall_wellbeing": 3.0,
                        "notes": f"bench:{seq}",
                    }
                    t0 = time.monotonic()
                    sent[seq] = t0
                    try:
                        resp = await http.post(f"/v1/sandbox/patients/{patient}/pain-entries", json=body)
                    except httpx.HTTPError:
                        resp = None
                    answered[seq] = time.monotonic()
                    api_ms.append((answered[seq] - t0) * 1000)
                    if resp is None or resp.status_code != 201:  # no check-in, so no event to expect
                        errors.append(0 if resp is None else resp.status_code)
                        sent.pop(seq, None)

                await open_loop(args.rate, min(args.seconds, 2.0), lambda i: fire(i - 10**7))  # warm-up
                sent.clear()
                answered.clear()
                api_ms.clear()
                return await open_loop(args.rate, args.seconds, fire)

        elapsed = asyncio.run(main())
        arrived = drain(base, "webhook", set(sent))
        # the dispatcher's share: from the API's 201 (the event is committed by then) to the receiver
        after = [(arrived[k] - t) * 1000 for k, t in answered.items() if k in arrived]
        extra = {
            "api_p50_ms": round(percentile(api_ms, 50), 2),
            "api_p99_ms": round(percentile(api_ms, 99), 2),
            "api_errors": len(errors),
            "after_201_p50_ms": round(percentile(after, 50), 2),
            "after_201_p99_ms": round(percentile(after, 99), 2),
        }
        return Series.of("webhook", sent, arrived, elapsed), api_ms, extra


# --------------------------------------------------------------------------- direct mode


def run_direct(args: argparse.Namespace, tmp: Path, base: str) -> tuple[Series, list[float], dict[str, Any]]:
    import orjson

    from mock_server.secretbox import SecretBox
    from mock_server.settings import Settings
    from mock_server.storage import Storage, schema
    from mock_server.timeutil import iso, utcnow
    from mock_server.webhooks import subscriptions
    from mock_server.webhooks.dispatcher import Dispatcher
    from mock_server.webhooks.outbox import emit_event

    url = args.database_url or f"sqlite:///{tmp / 'direct.sqlite3'}"
    settings = Settings(database_url=url)
    storage = Storage.open(url)
    workspace = f"ws_bench_{secrets.token_hex(4)}"
    with storage.engine.begin() as conn:
        conn.execute(
            schema.workspaces.insert().values(
                id=workspace,
                name=workspace,
                tier="enterprise",
                rate_limit_per_hour=None,
                scopes="[]",
                seed=1,
                clock_offset_seconds=0.0,
                salt="bench",
                created_at=iso(utcnow()),
            )
        )
        subscriptions.create_endpoint(
            conn,
            workspace_id=workspace,
            url=f"{base}/hooks",
            events=["pain_entry.created"],
            description="bench",
            box=SecretBox.from_settings(settings.secrets_key, settings.secrets_key_file),
        )
    dispatcher = Dispatcher(storage, settings)
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()
    thread = threading.Thread(target=lambda: loop.run_until_complete(dispatcher.run(stop)), daemon=True)
    thread.start()
    sent: dict[str, float] = {}
    commit_ms: list[float] = []

    def emit(seq: str) -> None:
        entry: dict[str, Any] = {
            "id": f"pe_{secrets.token_hex(8)}",
            "pain_level": 5,
            "areas": [{"id": "lower_back", "max_intensity": 5}],
            "qualities": ["aching"],
            "overall_wellbeing": 3.0,
            "vitals": None,
            "notes": f"bench:{seq}",
            "logged_at": iso(utcnow()),
        }
        t0 = time.monotonic()
        sent[seq] = t0
        with storage.engine.begin() as conn:
            conn.execute(
                schema.records.insert().values(
                    patient_ref="bench",
                    id=entry["id"],
                    series="pain_entry",
                    at=entry["logged_at"],
                    kind=None,
                    source=None,
                    body=orjson.dumps(entry).decode(),
                )
            )
            emit_event(
                conn,
                workspace_id=workspace,
                event_type="pain_entry.created",
                patient_id="p2c_anon_bench00",
                data=entry,
                timestamp=entry["logged_at"],
            )
        commit_ms.append((time.monotonic() - t0) * 1000)
        dispatcher.wake()

    def phase(seconds: float, prefix: str) -> float:
        started = time.monotonic()
        for i in range(int(args.rate * seconds)):
            delay = started + i / args.rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            emit(f"{prefix}{i}")
        return time.monotonic() - started

    try:
        phase(min(args.seconds, 2.0), "w")
        sent.clear()
        commit_ms.clear()
        elapsed = phase(args.seconds, "")
        arrived = drain(base, "webhook", set(sent))
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(timeout=30)
        storage.close()
    extra = {
        "commit_p50_ms": round(percentile(commit_ms, 50), 2),
        "commit_p99_ms": round(percentile(commit_ms, 99), 2),
    }
    return Series.of("webhook", sent, arrived, elapsed), commit_ms, extra


# --------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--mode", choices=["api", "direct"], default="api")
    parser.add_argument("--rate", type=float, default=200.0, help="events per second (default 200)")
    parser.add_argument("--seconds", type=float, default=30.0, help="measured seconds per phase (default 30)")
    parser.add_argument("--quick", action="store_true", help="5 s per phase")
    parser.add_argument(
        "--database-url",
        default=None,
        help="default: a temp SQLite file; a postgresql:// server URL gets a throwaway database on it",
    )
    parser.add_argument("--json", default=None, help="write the figures to this file")
    parser.add_argument(
        "--strict", action="store_true", help="exit 1 when the target is missed or events are lost"
    )
    parser.add_argument("--receiver", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.receiver:
        receiver_main(args.receiver)
        return 0
    if args.quick:
        args.seconds = 5.0

    with contextlib.ExitStack() as stack:
        if args.database_url and args.database_url.startswith("postgresql"):
            from bench_workers import throwaway_database  # a fresh database: no stale demo workspace

            args.database_url, _admin = stack.enter_context(
                throwaway_database(args.database_url, prefix="bench_webhooks")
            )
        return _measure(args)


def _measure(args: argparse.Namespace) -> int:
    with tempfile.TemporaryDirectory(prefix="bench-webhooks-") as name:
        tmp = Path(name)
        with receiver(tmp) as base:
            run = run_api if args.mode == "api" else run_direct
            webhook, _, extra = run(args, tmp, base)
            duplicates = sum(n - 1 for n in stats(base)["ids"].values() if n > 1)
            body = b'{"id":"evt_' + b"0" * 24 + b'","event":"pain_entry.created","data":' + b"x" * 420 + b"}"
            anchor_sent, round_trips = asyncio.run(anchor_phase(base, args.rate, args.seconds, body))
            anchor = Series.of("anchor", anchor_sent, drain(base, "anchor", set(anchor_sent)), args.seconds)

    lost = webhook.sent - webhook.received
    print(
        f"mode {args.mode}: {args.rate:g} events/s for {args.seconds:g} s "
        f"(achieved {webhook.achieved_rate:g}/s), {webhook.sent} events"
    )
    print(f"{'series':<9} {'sent':>6} {'recv':>6} {'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8} {'max ms':>8}")
    for s in (webhook, anchor):
        print(
            f"{s.name:<9} {s.sent:>6} {s.received:>6} {s.p50_ms:>8} {s.p90_ms:>8} {s.p99_ms:>8} {s.max_ms:>8}"
        )
    print(
        f"anchor round trip (POST → response): p50 {percentile(round_trips, 50):.2f} ms, "
        f"p99 {percentile(round_trips, 99):.2f} ms"
    )
    for key, value in extra.items():
        print(f"{key}: {value}")
    ratio_target = webhook.p99_ms / TARGET_P99_MS
    print(f"lost: {lost}   duplicates: {duplicates}")
    print(
        f"p99 vs target ({TARGET_P99_MS:g} ms): {ratio_target:.2f}x  -> {'MET' if ratio_target <= 1 else 'MISSED'}"
    )
    print(
        f"webhook vs anchor: p50 {webhook.p50_ms / anchor.p50_ms:.1f}x, p99 {webhook.p99_ms / anchor.p99_ms:.1f}x"
    )
    if args.json:
        Path(args.json).write_text(
            json.dumps(
                {
                    "mode": args.mode,
                    "rate": args.rate,
                    "seconds": args.seconds,
                    "webhook": asdict(webhook),
                    "anchor": asdict(anchor),
                    "lost": lost,
                    "duplicates": duplicates,
                    "target_p99_ms": TARGET_P99_MS,
                    "p99_vs_target": round(ratio_target, 3),
                    **extra,
                },
                indent=2,
            )
        )
    if args.strict and (lost or ratio_target > 1):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
