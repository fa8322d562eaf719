"""Tenant fairness benchmark: one workspace's heavy work vs another workspace's latency (issue 13).

Targets (issue 13, DESIGN.md "Second round"): while workspace B advances its clock 365 days and then
resets, workspace A's reads keep p99 ≤ 50 ms and ``/healthz`` p99 ≤ 20 ms; with 40 hanging webhook
endpoints in B, A's check-in → delivery p99 ≤ 100 ms. One run against one ``care-sandbox serve``
(SQLite, dispatcher in the server, as a developer runs it) measures three phases with the same
open-loop load from A:

* ``quiet``    A alone: ``GET /v1/patients/{id}/pain-entries?per_page=50`` at ``--read-rate``,
               ``GET /healthz`` at ``--health-rate``, check-ins at ``--checkin-rate`` (each check-in's
               ``pain_entry.created`` delivery timed at a receiver process);
* ``heavy``    the same, while B runs ``POST /v1/sandbox/clock/advance {"days": 365}`` and then
               ``POST /v1/sandbox/reset`` (the phase lasts as long as B's work);
* ``hanging``  the same, after B registered 40 endpoints that accept the connection and never answer
               (each attempt holds a dispatcher slot until the 15 s timeout) and queued deliveries to
               all of them.

Latency is from just before a request is sent to its response (reads, healthz), or to the moment the
receiver gets the signed delivery (CLOCK_MONOTONIC, shared by the processes). Open loop: a slow answer
never delays the next request, so stalls show up in the percentiles. Every figure is printed with its
ratio to the quiet baseline and to the target, and the load average of the machine.

    python bench/bench_tenants.py               # 15 s quiet, the heavy phase, 15 s hanging
    python bench/bench_tenants.py --quick       # 5 s phases, a 90-day advance (smoke)
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import secrets
import sys
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_webhooks import child, drain, free_port, percentile, receiver, stats, wait_for

TARGETS_P99_MS = {"read": 50.0, "healthz": 20.0, "delivery": 100.0}
HANGING_ENDPOINTS = 40
B_BACKLOG_CHECKINS = 25  # times 40 endpoints: 1,000 deliveries that each hang until the timeout


@dataclass
class Phase:
    """The latencies (ms) A saw in one phase, per kind of request."""

    name: str
    seconds: float = 0.0
    load: tuple[float, float, float] = (0.0, 0.0, 0.0)
    ms: dict[str, list[float]] = field(default_factory=lambda: {k: [] for k in TARGETS_P99_MS})
    errors: int = 0
    lost: int = 0
    note: str = ""

    def p(self, kind: str, q: float) -> float:
        return round(percentile(self.ms[kind], q), 2)

    def summary(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "seconds": round(self.seconds, 1),
            "load_average": self.load,
            "errors": self.errors,
            "lost_deliveries": self.lost,
            "note": self.note,
            **{
                kind: {
                    "n": len(v),
                    "p50_ms": self.p(kind, 50),
                    "p99_ms": self.p(kind, 99),
                    "max_ms": self.p(kind, 100),
                }
                for kind, v in self.ms.items()
            },
        }


def verdicts(quiet: Phase, loaded: list[Phase]) -> list[dict[str, Any]]:
    """Per loaded phase and kind: p99, its ratio to quiet, to the target, and whether it is met."""
    rows = []
    for phase in loaded:
        for kind, target in TARGETS_P99_MS.items():
            if not phase.ms[kind]:
                continue
            p99, base = phase.p(kind, 99), quiet.p(kind, 99)
            rows.append(
                {
                    "phase": phase.name,
                    "kind": kind,
                    "p99_ms": p99,
                    "quiet_p99_ms": base,
                    "vs_quiet": round(p99 / base, 2) if base else float("nan"),
                    "target_ms": target,
                    "vs_target": round(p99 / target, 2),
                    "met": p99 <= target,
                }
            )
    return rows


def format_report(quiet: Phase, loaded: list[Phase]) -> str:
    lines = [f"{'phase':<8} {'kind':<9} {'n':>6} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}  load average"]
    for phase in (quiet, *loaded):
        for kind in TARGETS_P99_MS:
            if phase.ms[kind]:
                lines.append(
                    f"{phase.name:<8} {kind:<9} {len(phase.ms[kind]):>6} {phase.p(kind, 50):>8} "
                    f"{phase.p(kind, 99):>8} {phase.p(kind, 100):>8}  {' '.join(f'{x:.2f}' for x in phase.load)}"
                )
        if phase.note:
            lines.append(f"         {phase.note}")
        if phase.errors or phase.lost:
            lines.append(f"         errors {phase.errors}, deliveries lost {phase.lost}")
    lines.append("")
    lines.append(f"{'phase':<8} {'kind':<9} {'p99 / quiet':>12} {'p99 / target':>13}  verdict")
    for row in verdicts(quiet, loaded):
        lines.append(
            f"{row['phase']:<8} {row['kind']:<9} {row['vs_quiet']:>11.2f}x {row['vs_target']:>12.2f}x  "
            f"{'MET' if row['met'] else 'MISSED'} (≤ {row['target_ms']:g} ms)"
        )
    return "\n".join(lines)


# --------------------------------------------------------------------------- the hanging endpoints


@contextlib.contextmanager
def hanging_server() -> Iterator[str]:
    """Accepts connections, reads, never answers: a receiver that hangs until the client gives up."""
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    port: list[int] = []

    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            with contextlib.suppress(Exception):
                while await reader.read(65536):
                    pass
        finally:  # also when cancelled at shutdown: no transport may outlive the loop
            writer.close()
            with contextlib.suppress(BaseException):
                await writer.wait_closed()

    async def serve(stop: asyncio.Event) -> None:
        server = await asyncio.start_server(hold, "127.0.0.1", 0)
        port.append(server.sockets[0].getsockname()[1])
        ready.set()
        async with server:
            await stop.wait()
        pending = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        await asyncio.sleep(0.01)  # let the closed transports finish closing

    stop = asyncio.Event()
    thread = threading.Thread(target=lambda: loop.run_until_complete(serve(stop)), daemon=True)
    thread.start()
    ready.wait(10)
    try:
        yield f"http://127.0.0.1:{port[0]}"
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(timeout=10)
        loop.close()


# --------------------------------------------------------------------------- load from A


async def measure_a(
    server: str,
    key: str,
    patient: str,
    args: argparse.Namespace,
    phase: Phase,
    until: Callable[[], bool],
    sent: dict[str, float],
) -> None:
    """A's open-loop traffic until ``until()`` says stop (checked every 100 ms)."""
    import httpx

    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    async with httpx.AsyncClient(
        base_url=server, headers={"X-API-Key": key}, timeout=60, limits=limits
    ) as http:

        async def timed(kind: str, call: Callable[[], Awaitable[Any]]) -> None:
            t0 = time.monotonic()
            try:
                resp = await call()
                ok = resp.status_code < 300
            except httpx.HTTPError:
                ok = False
            if ok:
                phase.ms[kind].append((time.monotonic() - t0) * 1000)
            else:
                phase.errors += 1

        async def read(_: int) -> None:
            await timed(
                "read", lambda: http.get(f"/v1/patients/{patient}/pain-entries", params={"per_page": 50})
            )

        async def health(_: int) -> None:
            await timed("healthz", lambda: http.get("/healthz"))

        async def checkin(i: int) -> None:
            seq = f"{phase.name}{i}"
            body = {
                "pain_level": 1 + i % 10,
                "areas": [{"id": "lower_back", "max_intensity": 1 + i % 10}],
                "notes": f"bench:{seq}",
            }
            sent[seq] = time.monotonic()
            try:
                resp = await http.post(f"/v1/sandbox/patients/{patient}/pain-entries", json=body)
                if resp.status_code != 201:
                    raise httpx.HTTPError(str(resp.status_code))
            except httpx.HTTPError:
                sent.pop(seq, None)
                phase.errors += 1

        async def until_done(rate: float, fire: Callable[[int], Awaitable[None]]) -> None:
            i = 0
            started = time.monotonic()
            pending: set[asyncio.Task[None]] = set()
            while not until():
                target = started + i / rate
                while time.monotonic() < target:
                    await asyncio.sleep(min(0.1, max(target - time.monotonic(), 0)))
                    if until():
                        break
                task = asyncio.create_task(fire(i))
                pending.add(task)
                task.add_done_callback(pending.discard)
                i += 1
            if pending:
                await asyncio.gather(*pending)

        await asyncio.gather(
            until_done(args.read_rate, read),
            until_done(args.health_rate, health),
            until_done(args.checkin_rate, checkin),
        )


def run_phase(
    name: str,
    server: str,
    key: str,
    patient: str,
    args: argparse.Namespace,
    base: str,
    background: Callable[[], None] | None = None,
    seconds: float | None = None,
) -> Phase:
    """Drive A for ``seconds`` or, with ``background``, for as long as it runs (in a thread)."""
    phase = Phase(name)
    sent: dict[str, float] = {}
    done = threading.Event()
    failure: list[BaseException] = []

    def work() -> None:
        try:
            if background is not None:
                background()
            else:
                time.sleep(seconds or 0)
        except BaseException as exc:  # reported after the phase
            failure.append(exc)
        finally:
            done.set()

    worker = threading.Thread(target=work, daemon=True)
    started = time.monotonic()
    worker.start()
    asyncio.run(measure_a(server, key, patient, args, phase, done.is_set, sent))
    worker.join()
    phase.seconds = time.monotonic() - started
    phase.load = tuple(round(x, 2) for x in os.getloadavg())  # type: ignore[assignment]
    if failure:
        raise RuntimeError(f"phase {name}: workspace B's work failed: {failure[0]}") from failure[0]
    arrived = drain(base, "webhook", set(sent))
    phase.ms["delivery"] = [(arrived[k] - t0) * 1000 for k, t0 in sent.items() if k in arrived]
    phase.lost = len(set(sent) - set(arrived))
    return phase


# --------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=15.0, help="quiet and hanging phases (default 15)")
    parser.add_argument("--days", type=int, default=365, help="B's clock advance (default 365)")
    parser.add_argument(
        "--read-rate", type=float, default=10.0, help="A's page reads per second (default 10)"
    )
    parser.add_argument(
        "--health-rate", type=float, default=10.0, help="A's /healthz per second (default 10)"
    )
    parser.add_argument(
        "--checkin-rate", type=float, default=2.0, help="A's check-ins per second (default 2)"
    )
    parser.add_argument("--quick", action="store_true", help="5 s phases, a 90-day advance")
    parser.add_argument("--json", default=None, help="write the figures to this file")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args(argv)
    if args.quick:
        args.seconds, args.days = 5.0, 90
    import httpx

    from mock_server.bootstrap import create_workspace
    from mock_server.settings import Settings
    from mock_server.storage import Storage

    with tempfile.TemporaryDirectory(prefix="bench-tenants-") as name:
        tmp = Path(name)
        url = f"sqlite:///{tmp / 'tenants.sqlite3'}"
        storage = Storage.open(url)
        b = create_workspace(Settings(database_url=url), storage, "bench-b", tier="enterprise")
        storage.close()
        key_a = "p2c_test_bench_" + secrets.token_hex(12)
        port = free_port()
        server = f"http://127.0.0.1:{port}"
        env = {"CARE_SANDBOX_DEMO_API_KEY": key_a, "CARE_SANDBOX_DATABASE_URL": url}
        cmd = [sys.executable, "-m", "mock_server", "serve", "--port", str(port)]
        with receiver(tmp) as base, hanging_server() as hang, child(cmd, env=env, log=tmp / "server.log"):
            wait_for(f"{server}/healthz", timeout=300)
            with httpx.Client(base_url=server, headers={"X-API-Key": key_a}, timeout=60) as a:
                a.post(
                    "/v1/webhooks", json={"url": f"{base}/hooks", "events": ["pain_entry.created"]}
                ).raise_for_status()
                listed = a.get("/v1/patients", params={"status": "active", "per_page": 100}).json()["data"]
                patient = next(p["id"] for p in listed if "pain:read" in p["consent"]["scopes"])
            http_b = httpx.Client(base_url=server, headers={"X-API-Key": b.api_key}, timeout=600)
            heavy_note: dict[str, Any] = {}

            def advance_and_reset() -> None:
                t0 = time.monotonic()
                resp = http_b.post("/v1/sandbox/clock/advance", json={"days": args.days})
                resp.raise_for_status()
                t1 = time.monotonic()
                http_b.post("/v1/sandbox/reset").raise_for_status()
                heavy_note.update(
                    rows=sum(resp.json()["generated"].values()),
                    advance_s=t1 - t0,
                    reset_s=time.monotonic() - t1,
                )

            quiet = run_phase("quiet", server, key_a, patient, args, base, seconds=args.seconds)
            heavy = run_phase("heavy", server, key_a, patient, args, base, background=advance_and_reset)
            heavy.note = (
                f"B: {args.days}-day advance wrote {heavy_note['rows']:,} records in {heavy_note['advance_s']:.1f} s, "
                f"reset took {heavy_note['reset_s']:.1f} s"
            )
            for i in range(HANGING_ENDPOINTS):
                http_b.post(
                    "/v1/webhooks", json={"url": f"{hang}/dead/{i}", "events": ["pain_entry.created"]}
                ).raise_for_status()
            b_patient = next(
                p["id"]
                for p in http_b.get("/v1/patients", params={"status": "active"}).json()["data"]
                if "pain:read" in p["consent"]["scopes"]
            )
            for i in range(B_BACKLOG_CHECKINS):
                http_b.post(
                    f"/v1/sandbox/patients/{b_patient}/pain-entries",
                    json={
                        "pain_level": 5,
                        "areas": [{"id": "left_knee", "max_intensity": 5}],
                        "notes": f"b{i}",
                    },
                ).raise_for_status()
            time.sleep(1.0)  # the backlog is claimed and B's share of the slots is hanging
            hanging = run_phase("hanging", server, key_a, patient, args, base, seconds=args.seconds)
            hanging.note = (
                f"B: {HANGING_ENDPOINTS} endpoints that never answer, "
                f"{B_BACKLOG_CHECKINS * HANGING_ENDPOINTS:,} deliveries queued to them"
            )
            http_b.close()
            duplicates = sum(n - 1 for n in stats(base)["ids"].values() if n > 1)

    loaded = [heavy, hanging]
    print(
        f"A's load: {args.read_rate:g} reads/s, {args.health_rate:g} healthz/s, {args.checkin_rate:g} check-ins/s"
    )
    print(format_report(quiet, loaded))
    print(f"duplicate deliveries: {duplicates}")
    rows = verdicts(quiet, loaded)
    if args.json:
        Path(args.json).write_text(
            json.dumps({"phases": [p.summary() for p in (quiet, *loaded)], "verdicts": rows}, indent=2)
        )
    missed = [r for r in rows if not r["met"] and (r["phase"], r["kind"]) in REQUIRED]
    return 1 if args.strict and missed else 0


REQUIRED = {("heavy", "read"), ("heavy", "healthz"), ("hanging", "delivery")}
"""The three targets of issue 13; other cells are printed for context."""


if __name__ == "__main__":
    sys.exit(main())
