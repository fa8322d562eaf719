"""Read-path benchmark: the sandbox vs Stoplight Prism 5.16 (static) vs a plain Starlette ceiling.

One run measures three servers answering the same request,
``GET /v1/patients/{id}/pain-entries?per_page=50`` with ``X-API-Key``, one after the other, with the same
load generator, connections and duration:

* ``sandbox``   care-sandbox on SQLite: 50 entries read from storage, request and response validated;
* ``prism``     ``prism mock`` (static mode) on a temp copy of openapi.yaml whose only 200 example of
                ``pain_entries.search`` is the page the sandbox just served (so both send the same body);
* ``ceiling``   plain Starlette under the same uvicorn (uvloop + httptools) returning those bytes
                pre-serialized: the Python ceiling.

The figures are reported as ratios; the target (issue 16, raising DESIGN.md's 2x) is sandbox req/s ≥ 3x
Prism's with p99 at most half of Prism's. The load generator shares the machine's cores with the server under test.

    python bench/bench_read_path.py               # 10 s per server
    python bench/bench_read_path.py --quick       # 2 s per server (CI smoke); Prism skipped without npx
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import math
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "openapi.yaml"
OPERATION_PATH = "/v1/patients/{patient_id}/pain-entries"
PAGE_SIZE = 50
PRISM_PACKAGE = "@stoplight/prism-cli@5.16"
# a local install (``npm install --prefix .cache/prism @stoplight/prism-cli@5.16``) is used before npx,
# which would fetch the package on every machine that lacks it in npm's cache
LOCAL_PRISM = ROOT / ".cache" / "prism" / "node_modules" / ".bin" / "prism"
TARGET_RPS_RATIO = 3.0  # sandbox req/s ≥ 3x Prism's (issue 16)
TARGET_P99_RATIO = 0.5  # sandbox p99 ≤ half of Prism's
TARGET_LOG_COST = 0.05  # the request log costs ≤ 5 % of read throughput
BENCH_RATE_LIMIT = 1_000_000_000  # requests/hour of the benchmark's workspace: counted, never refused

# --------------------------------------------------------------------------- results and parsing


@dataclass
class Result:
    server: str
    rps: float
    p50_ms: float
    p99_ms: float
    p75_ms: float | None = None
    p90_ms: float | None = None
    requests: int = 0
    non_2xx: int = 0
    socket_errors: int = 0
    body_bytes: int = 0
    generator: str = "wrk"
    note: str = ""
    cpu_us: float | None = None  # the server's CPU time (all its processes and threads) per request
    cpu_leader_us: float | None = None  # of that, the server process itself (not the log's writer)


_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}


def _to_ms(value: str, unit: str) -> float:
    return float(value) * _UNITS_MS[unit]


def parse_wrk(text: str, server: str) -> Result:
    """Parse the output of ``wrk --latency`` into a Result (raises ValueError when it cannot)."""
    rps_match = re.search(r"^Requests/sec:\s+([\d.]+)", text, re.M)
    if rps_match is None:
        raise ValueError("no 'Requests/sec:' line in wrk output")
    percentiles: dict[int, float] = {}
    for pct, value, unit in re.findall(r"^\s+(50|75|90|99)%\s+([\d.]+)(us|ms|s|m|h)\s*$", text, re.M):
        percentiles[int(pct)] = _to_ms(value, unit)
    if 50 not in percentiles or 99 not in percentiles:
        raise ValueError("no latency distribution in wrk output (was --latency passed?)")
    total = re.search(r"^\s+(\d+) requests in", text, re.M)
    non_2xx = re.search(r"^\s+Non-2xx or 3xx responses:\s+(\d+)", text, re.M)
    socket = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)",
        text,
    )
    return Result(
        server=server,
        rps=float(rps_match.group(1)),
        p50_ms=percentiles[50],
        p75_ms=percentiles.get(75),
        p90_ms=percentiles.get(90),
        p99_ms=percentiles[99],
        requests=int(total.group(1)) if total else 0,
        non_2xx=int(non_2xx.group(1)) if non_2xx else 0,
        socket_errors=sum(int(g) for g in socket.groups()) if socket else 0,
    )


def percentile(sorted_values: list[float], pct: float) -> float:
    """Nearest-rank percentile of an ascending list."""
    if not sorted_values:
        return float("nan")
    rank = max(1, min(len(sorted_values), math.ceil(pct / 100.0 * len(sorted_values))))
    return sorted_values[rank - 1]


@dataclass
class Comparison:
    rps_ratio: float  # sandbox / prism
    p50_ratio: float  # sandbox / prism (lower is better)
    p99_ratio: float  # sandbox / prism (lower is better)
    rps_ok: bool
    p99_ok: bool
    valid: bool  # no non-2xx responses or socket errors on either side
    problems: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return self.rps_ok and self.p99_ok and self.valid


def compare(
    sandbox: Result, prism: Result, target: float = TARGET_RPS_RATIO, p99_target: float = TARGET_P99_RATIO
) -> Comparison:
    problems = [
        f"{r.server}: {r.non_2xx} non-2xx responses, {r.socket_errors} socket errors"
        for r in (sandbox, prism)
        if r.non_2xx or r.socket_errors
    ]
    return Comparison(
        rps_ratio=sandbox.rps / prism.rps if prism.rps else float("inf"),
        p50_ratio=sandbox.p50_ms / prism.p50_ms if prism.p50_ms else float("inf"),
        p99_ratio=sandbox.p99_ms / prism.p99_ms if prism.p99_ms else float("inf"),
        rps_ok=sandbox.rps >= target * prism.rps,
        p99_ok=sandbox.p99_ms <= p99_target * prism.p99_ms,
        valid=not problems,
        problems=problems,
    )


def format_table(results: list[Result]) -> str:
    lines = [
        f"{'server':<13} {'req/s':>9} {'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8} {'CPU µs/req':>10} "
        f"{'requests':>9} {'non-2xx':>8} {'body B':>7}"
    ]
    for r in results:
        p90 = f"{r.p90_ms:.2f}" if r.p90_ms is not None else "-"
        cpu = f"{r.cpu_us:.0f}" if r.cpu_us is not None else "-"
        lines.append(
            f"{r.server:<13} {r.rps:>9.0f} {r.p50_ms:>8.2f} {p90:>8} {r.p99_ms:>8.2f} {cpu:>10} "
            f"{r.requests:>9} {r.non_2xx + r.socket_errors:>8} {r.body_bytes:>7}"
            + (f"  ({r.note})" if r.note else "")
        )
    return "\n".join(lines)


def format_comparison(
    cmp: Comparison, target: float = TARGET_RPS_RATIO, p99_target: float = TARGET_P99_RATIO
) -> str:
    verdict = "PASS" if cmp.passed else "FAIL"
    lines = [
        f"sandbox/prism  req/s x{cmp.rps_ratio:.2f} (target ≥ x{target:.1f}: {'ok' if cmp.rps_ok else 'no'})  "
        f"p50 x{cmp.p50_ratio:.2f}  p99 x{cmp.p99_ratio:.2f} "
        f"(target ≤ x{p99_target:.2f}: {'ok' if cmp.p99_ok else 'no'})",
        f"read-path target: {verdict}",
    ]
    lines += [f"  invalid run: {p}" for p in cmp.problems]
    return "\n".join(lines)


def request_log_cost(on: list[Result], off: list[Result]) -> float:
    """The request log's share of read throughput: 1 - (log on / log off), the median of the rounds'
    pairs (the two run back to back, so a round's ratio is what background load moves least)."""
    ratios = [a.rps / b.rps for a, b in zip(on, off, strict=True) if b.rps]
    return 1.0 - statistics.median(ratios) if ratios else float("nan")


def log_cpu_split(on: list[Result], off: list[Result]) -> str:
    """Where the log's CPU goes, medians over the rounds: the server process's CPU per request with
    the log on and off (what the event loop pays), and the log's writer process per request (what
    competes with it for a core). Steadier than req/s on a shared machine, which moves ±10-20 %."""
    leader_on = [r.cpu_leader_us for r in on if r.cpu_leader_us is not None]
    leader_off = [r.cpu_leader_us for r in off if r.cpu_leader_us is not None]
    writer = [r.cpu_us - r.cpu_leader_us for r in on if r.cpu_us is not None and r.cpu_leader_us is not None]
    if not leader_on or not leader_off:
        return "request log CPU: not measured"
    a, b = statistics.median(leader_on), statistics.median(leader_off)
    return (
        f"request log CPU per request: server process {a:.0f} µs with the log, {b:.0f} µs without "
        f"({(a / b - 1) * 100:+.1f} %); writer process {statistics.median(writer):.0f} µs"
    )


def format_log_cost(cost: float, target: float = TARGET_LOG_COST) -> str:
    verdict = "ok" if cost <= target else "no"
    return f"request log cost: {cost * 100:+.1f} % of req/s (target ≤ {target * 100:.0f} %: {verdict})"


# --------------------------------------------------------------------------- servers


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_http(
    url: str,
    timeout: float,
    headers: dict[str, str] | None = None,
    proc: subprocess.Popen[bytes] | None = None,
) -> None:
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited with code {proc.returncode} before answering {url}")
        try:
            req = urllib.request.Request(url, headers=headers or {})
            with urllib.request.urlopen(req, timeout=2) as resp:
                if resp.status < 500:
                    return
        except urllib.error.HTTPError as exc:  # a 4xx still means "up"
            if exc.code < 500:
                return
            last = exc
        except OSError as exc:
            last = exc
        time.sleep(0.2)
    raise TimeoutError(f"{url} not ready after {timeout:.0f} s ({last})")


def get_json(url: str, key: str) -> tuple[dict, bytes]:  # type: ignore[type-arg]
    req = urllib.request.Request(url, headers={"X-API-Key": key, "Accept": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        body = resp.read()
    return json.loads(body), body


@contextlib.contextmanager
def running(
    cmd: list[str], log: Path, cwd: Path | None = None, env: dict[str, str] | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("wb") as out:
        proc = subprocess.Popen(
            cmd, stdout=out, stderr=subprocess.STDOUT, cwd=cwd, env=env, start_new_session=True
        )
    try:
        yield proc
    finally:
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, 15)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, 9)
                proc.wait()


def group_cpu(pgid: int) -> tuple[float, float]:
    """User + system CPU of every live process in a process group (each server runs in its own), and
    of its leader alone: the server process, whose event loop is what the request log must not slow
    (the rest is the log's writer process and any helpers)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = leader = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[2]) == pgid:  # fields after the command: state, ppid, pgrp, …, utime (12), stime (13)
            used = int(fields[11]) + int(fields[12])
            total += used
            if stat.parent.name == str(pgid):
                leader += used
    return total / tick, leader / tick


def log_not_stored(base: str) -> int | None:
    """The sandbox's count of requests its log did not keep (``GET /metrics``); None if unreadable."""
    try:
        with urllib.request.urlopen(f"{base}/metrics", timeout=10) as resp:
            text = resp.read().decode()
    except (OSError, urllib.error.URLError):
        return None
    found = re.search(r"^care_sandbox_request_log_not_stored_total (\S+)$", text, re.MULTILINE)
    return int(float(found.group(1))) if found else None


def bench_workspace(database_url: str) -> str:
    """A workspace on a new database whose rate limit the benchmark cannot exhaust; its API key.

    Why not the demo key: its 100,000 requests/hour would answer 429 within a few rounds at the
    sandbox's rate. The limiter still counts every request, as for any key.
    """
    from mock_server.bootstrap import create_workspace
    from mock_server.settings import Settings
    from mock_server.storage import Storage

    settings = Settings(database_url=database_url)
    storage = Storage.open(database_url)
    try:
        made = create_workspace(settings, storage, "bench", tier="enterprise", rate_limit=BENCH_RATE_LIMIT)
    finally:
        storage.close()
    return str(made.api_key)


def prism_command() -> list[str] | None:
    """Prism 5.16: the local install under ``.cache/prism`` if there is one, else through npx."""
    if LOCAL_PRISM.exists() and shutil.which("node"):
        return [str(LOCAL_PRISM)]
    npx = shutil.which("npx")
    return [npx, "--yes", PRISM_PACKAGE] if npx else None


def care_sandbox_exe() -> str:
    local = Path(sys.executable).parent / "care-sandbox"
    if local.exists():
        return str(local)
    found = shutil.which("care-sandbox")
    if found is None:
        raise SystemExit("care-sandbox is not installed (run `make venv`)")
    return found


def pick_patient(base: str, key: str) -> tuple[str, dict, bytes]:  # type: ignore[type-arg]
    """A consented patient with pain:read whose default pain-entries page is full (50 entries)."""
    patients, _ = get_json(f"{base}/v1/patients?per_page=100", key)
    for patient in patients["data"]:
        consent = patient.get("consent") or {}
        if consent.get("status") != "active" or "pain:read" not in consent.get("scopes", []):
            continue
        page, raw = get_json(f"{base}/v1/patients/{patient['id']}/pain-entries?per_page={PAGE_SIZE}", key)
        if len(page["data"]) == PAGE_SIZE:
            return patient["id"], page, raw
    raise SystemExit(f"no consented patient with pain:read has a {PAGE_SIZE}-entry page")


def write_prism_spec(page: dict, directory: Path) -> Path:  # type: ignore[type-arg]
    """A copy of openapi.yaml whose 200 of pain_entries.search has the captured page as its only example."""
    import yaml

    spec = yaml.safe_load(SPEC.read_text())
    operation = spec["paths"][OPERATION_PATH]["get"]
    assert operation["operationId"] == "pain_entries.search", operation["operationId"]
    content = operation["responses"]["200"]["content"]["application/json"]
    content.pop("example", None)
    content["examples"] = {"captured": {"summary": "a 50-entry page from the sandbox", "value": page}}
    out = directory / "openapi.yaml"
    out.write_text(yaml.safe_dump(spec, sort_keys=False, allow_unicode=True))
    return out


CEILING_APP = """
import sys
from pathlib import Path

import uvicorn
from starlette.applications import Starlette
from starlette.responses import Response
from starlette.routing import Route

BODY = Path(sys.argv[2]).read_bytes()


async def page(request):
    return Response(BODY, media_type="application/json")


app = Starlette(routes=[Route("/v1/patients/{patient_id}/pain-entries", page)])
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", loop="uvloop",
            http="httptools", access_log=False)
"""


# --------------------------------------------------------------------------- load generators


def run_wrk(url: str, key: str, seconds: float, connections: int, threads: int, server: str) -> Result:
    cmd = [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",
        "--latency",
        "-H",
        f"X-API-Key: {key}",
        url,
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"wrk failed ({proc.returncode}): {proc.stderr.strip()}")
    return parse_wrk(proc.stdout, server)


async def _python_load(url: str, key: str, seconds: float, connections: int) -> tuple[list[float], int, int]:
    import httpx

    latencies: list[float] = []
    bad = 0
    errors = 0
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    async with httpx.AsyncClient(headers={"X-API-Key": key}, limits=limits, timeout=10) as client:
        deadline = time.perf_counter() + seconds

        async def worker() -> None:
            nonlocal bad, errors
            while time.perf_counter() < deadline:
                start = time.perf_counter()
                try:
                    resp = await client.get(url)
                except httpx.HTTPError:
                    errors += 1
                    continue
                latencies.append((time.perf_counter() - start) * 1000.0)
                if not 200 <= resp.status_code < 400:
                    bad += 1

        await asyncio.gather(*(worker() for _ in range(connections)))
    return latencies, bad, errors


def run_python_load(url: str, key: str, seconds: float, connections: int, server: str) -> Result:
    started = time.perf_counter()
    latencies, bad, errors = asyncio.run(_python_load(url, key, seconds, connections))
    elapsed = time.perf_counter() - started
    latencies.sort()
    return Result(
        server=server,
        rps=len(latencies) / elapsed,
        p50_ms=percentile(latencies, 50),
        p75_ms=percentile(latencies, 75),
        p90_ms=percentile(latencies, 90),
        p99_ms=percentile(latencies, 99),
        requests=len(latencies),
        non_2xx=bad,
        socket_errors=errors,
        generator="python-httpx",
    )


def ensure_wrk(allow_install: bool) -> bool:
    if shutil.which("wrk"):
        return True
    print("wrk not found: it is the load generator this benchmark is meant to use (apt-get install -y wrk).")
    if allow_install and os.geteuid() == 0 and shutil.which("apt-get"):
        print("trying `apt-get install -y wrk` …")
        subprocess.run(["apt-get", "install", "-y", "-q", "wrk"], capture_output=True, check=False)
        if shutil.which("wrk"):
            return True
    print(
        "falling back to the Python asyncio+httpx load generator: it is much weaker than wrk and competes "
        "for the same CPU as the server under test, so absolute figures are low; compare ratios only."
    )
    return False


# --------------------------------------------------------------------------- main


def measure(
    args: argparse.Namespace,
    name: str,
    url: str,
    key: str,
    use_wrk: bool,
    body_bytes: int,
    warm: bool,
    pgid: int | None = None,
) -> Result:
    warmup = 1.0 if args.quick else 3.0
    if use_wrk:
        if warm:
            run_wrk(url, key, warmup, args.connections, args.threads, name)
        before = group_cpu(pgid) if pgid else None
        result = run_wrk(url, key, args.seconds, args.connections, args.threads, name)
    else:
        if warm:
            run_python_load(url, key, warmup, args.connections, name)
        before = group_cpu(pgid) if pgid else None
        result = run_python_load(url, key, args.seconds, args.connections, name)
    if pgid and before is not None and result.requests:
        total, leader = group_cpu(pgid)
        result.cpu_us = (total - before[0]) / result.requests * 1e6
        result.cpu_leader_us = (leader - before[1]) / result.requests * 1e6
    result.body_bytes = body_bytes
    return result


def median_round(rounds: list[Result]) -> Result:
    """The round with the median req/s (its latencies come with it); notes the spread across rounds."""
    ordered = sorted(rounds, key=lambda r: r.rps)
    chosen = ordered[(len(ordered) - 1) // 2]
    if len(rounds) > 1:
        chosen.note = f"median of {len(rounds)} rounds, req/s " + "/".join(f"{r.rps:.0f}" for r in rounds)
        chosen.non_2xx = sum(r.non_2xx for r in rounds)
        chosen.socket_errors = sum(r.socket_errors for r in rounds)
    return chosen


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=None, help="measurement per server (default 10)")
    parser.add_argument("--quick", action="store_true", help="2 s per server; skip Prism if npx is missing")
    parser.add_argument("--connections", type=int, default=16, help="concurrent connections (default 16)")
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="interleaved rounds of --seconds per server; the median round is reported (default 1)",
    )
    parser.add_argument(
        "--no-log-cost",
        action="store_true",
        help="skip the second sandbox with the request log off (by default its cost is measured, alternating)",
    )
    parser.add_argument("--threads", type=int, default=1, help="wrk threads (default 1)")
    parser.add_argument("--no-prism", action="store_true", help="do not run Prism")
    parser.add_argument("--no-install", action="store_true", help="never try to apt-get install wrk")
    parser.add_argument("--json", type=Path, default=None, help="also write the results to this file")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args(argv)
    if args.seconds is None:
        args.seconds = 2.0 if args.quick else 10.0

    use_wrk = ensure_wrk(allow_install=not args.no_install)
    prism_cmd = prism_command()
    run_prism = not args.no_prism and prism_cmd is not None
    if not args.no_prism and prism_cmd is None:
        print("npx not found: Prism skipped (install Node.js ≥ 20 to compare against Prism).")

    print(
        f"read path: GET {OPERATION_PATH}?per_page={PAGE_SIZE} · {args.seconds:g} s per server after warm-up · "
        f"{args.connections} connections · load generator "
        f"{'wrk -t' + str(args.threads) if use_wrk else 'python-httpx'} · {os.cpu_count()} CPUs shared by "
        "the load generator and the server under test"
    )
    results: list[Result] = []
    with tempfile.TemporaryDirectory(prefix="care-bench-") as tmp_name, contextlib.ExitStack() as stack:
        tmp = Path(tmp_name)
        database_url = f"sqlite:///{tmp / 'bench.sqlite3'}"
        key = bench_workspace(database_url)

        # 1. the sandbox as `care-sandbox serve` runs it (request log on), and the same with it off
        def start_sandbox(name: str, env: dict[str, str]) -> tuple[str, int]:
            port = free_port()
            command = [care_sandbox_exe(), "serve", "--port", str(port), "--database-url", database_url]
            proc = stack.enter_context(
                running(
                    [*command, "--no-dispatcher"],
                    tmp / f"{name}.log",
                    cwd=ROOT,
                    env={**os.environ, **env},
                )
            )
            base = f"http://127.0.0.1:{port}"
            try:
                wait_http(f"{base}/healthz", 120, proc=proc)
            except (RuntimeError, TimeoutError):
                print((tmp / f"{name}.log").read_text(errors="replace")[-3000:])
                raise
            return base, proc.pid

        sandbox_base, sandbox_pid = start_sandbox("sandbox", {})
        nolog: tuple[str, int] | None = None
        if not args.no_log_cost:
            nolog = start_sandbox("sandbox-nolog", {"CARE_SANDBOX_REQUEST_LOG": "false"})
        patient_id, page, raw = pick_patient(sandbox_base, key)
        path = OPERATION_PATH.format(patient_id=patient_id) + f"?per_page={PAGE_SIZE}"
        print(f"patient {patient_id}: {len(page['data'])} entries, {len(raw)} bytes per response body")

        # 2. the Starlette ceiling, serving the captured bytes
        body_file = tmp / "page.json"
        body_file.write_bytes(raw)
        (tmp / "ceiling.py").write_text(CEILING_APP)
        ceiling_port = free_port()
        ceiling = stack.enter_context(
            running(
                [sys.executable, str(tmp / "ceiling.py"), str(ceiling_port), str(body_file)],
                tmp / "ceiling.log",
            )
        )
        wait_http(f"http://127.0.0.1:{ceiling_port}{path}", 30, proc=ceiling)

        # 3. Prism (static mode) on a copy of the contract whose only example is the captured page
        prism_base = None
        prism_bytes = 0
        if run_prism:
            assert prism_cmd is not None
            prism_dir = Path(tempfile.mkdtemp(prefix="care-bench-prism-"))
            stack.callback(shutil.rmtree, prism_dir, True)
            spec = write_prism_spec(page, tmp)
            prism_port = free_port()
            prism = stack.enter_context(
                running(
                    [
                        *prism_cmd,
                        "mock",
                        "-h",
                        "127.0.0.1",
                        "-p",
                        str(prism_port),
                        str(spec),
                    ],
                    tmp / "prism.log",
                    cwd=prism_dir,
                )
            )
            prism_base = f"http://127.0.0.1:{prism_port}"
            try:
                wait_http(f"{prism_base}{path}", 300, headers={"X-API-Key": key}, proc=prism)
                prism_page, prism_raw = get_json(f"{prism_base}{path}", key)
                prism_bytes = len(prism_raw)
                if prism_page != page:
                    print("warning: Prism's body differs from the captured page")
            except (RuntimeError, TimeoutError) as exc:
                print(f"Prism did not start ({exc}); skipped. Log tail:")
                print((tmp / "prism.log").read_text(errors="replace")[-2000:])
                prism_base = None

        targets = [
            ("sandbox", sandbox_base, len(raw), sandbox_pid),
            ("ceiling", f"http://127.0.0.1:{ceiling_port}", len(raw), ceiling.pid),
        ]
        if nolog is not None:
            targets.insert(1, ("sandbox-nolog", nolog[0], len(raw), nolog[1]))
        if prism_base is not None:
            targets.insert(-1, ("prism", prism_base, prism_bytes, prism.pid))
        print(f"load average before measuring: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        rounds: dict[str, list[Result]] = {name: [] for name, _, _, _ in targets}
        for i in range(args.rounds):
            order = list(targets)
            if nolog is not None and i % 2:  # log on/off alternate which goes first: drift hits both alike
                order[0], order[1] = order[1], order[0]
            for name, base, size, pgid in order:  # interleaved, so background load hits every server alike
                rounds[name].append(
                    measure(args, name, base + path, key, use_wrk, size, warm=i == 0, pgid=pgid)
                )
        results = [median_round(rounds[name]) for name, _, _, _ in targets]
        not_stored = log_not_stored(sandbox_base)  # before the servers stop
        print(f"load average after measuring:  {' '.join(f'{x:.2f}' for x in os.getloadavg())}")

    print()
    print(format_table(results))
    print()
    by_name = {r.server: r for r in results}
    sandbox_r, ceiling_r = by_name["sandbox"], by_name["ceiling"]
    print(
        f"sandbox/ceiling req/s x{sandbox_r.rps / ceiling_r.rps:.2f}  "
        f"p99 x{sandbox_r.p99_ms / ceiling_r.p99_ms:.2f}"
    )
    cmp = None
    if "prism" in by_name:
        cmp = compare(sandbox_r, by_name["prism"])
        print(format_comparison(cmp))
    else:
        print("read-path target: SKIPPED (no Prism in this run)")
    log_cost = None
    if "sandbox-nolog" in by_name:
        log_cost = request_log_cost(rounds["sandbox"], rounds["sandbox-nolog"])
        print(format_log_cost(log_cost))
        print(log_cpu_split(rounds["sandbox"], rounds["sandbox-nolog"]))
        served = sum(r.requests for r in rounds["sandbox"])
        print(
            f"request log kept up: {not_stored} of the {served:,} measured requests not stored"
            + ("" if not_stored == 0 else " (a cost bought by dropping entries does not count)")
        )
    if not use_wrk:
        print("note: Python load generator; figures are far below what wrk measures.")

    if args.json is not None:
        args.json.write_text(
            json.dumps(
                {
                    "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                    "seconds": args.seconds,
                    "connections": args.connections,
                    "cpus": os.cpu_count(),
                    "results": [asdict(r) for r in results],
                    "comparison": asdict(cmp) if cmp else None,
                    "request_log_cost": log_cost,
                    "request_log_not_stored": not_stored,
                },
                indent=2,
            )
        )
    bad = [r for r in results if r.non_2xx or r.socket_errors]
    if bad:
        print("error: some responses were not 2xx; the run is invalid")
        return 1
    if args.strict and cmp is not None and not cmp.passed:
        return 1
    if args.strict and log_cost is not None and (log_cost > TARGET_LOG_COST or not_stored != 0):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
