"""PostgreSQL workers benchmark: read throughput of ``care-sandbox serve --workers 1`` vs ``--workers 2``.

One run, on a throwaway PostgreSQL database created for it (and dropped afterwards):

1. creates ``bench_workers_<random>`` through the admin URL (``--database-url``), and in it one
   workspace with sandbox patients and a rate limit of 1,000,000,000 requests/hour, so the limiter
   counts every request (with 2 workers: in PostgreSQL, shared by both processes) but never answers 429;
2. starts ``care-sandbox serve --workers 1`` and ``--workers 2`` on that database (webhook dispatcher
   off, both left running; only one is under load at a time);
3. drives the same read mix at both with wrk (``-t1 -c16`` by default, a Lua script rotating through
   the list endpoints of one consented patient, 50 records a page): a warm-up each, then ``--rounds``
   alternating rounds (1, 2, 1, 2, ...) of ``--seconds``; reports medians over the rounds and the ratio
   ``2 workers / 1 worker`` req/s against the target (issue 8: ≥ 1.3x);
4. plots the latency distributions of both (wrk's percentiles printed by the script's ``done()``) to
   ``bench/results/workers_latency.png``.

The load generator (wrk) and PostgreSQL share the machine's cores with the server under test: on a
2-core machine the second worker competes with them, which is why the target is 1.3x rather than 2x.
Any non-2xx response or socket error makes the run invalid (exit 1).

    python bench/bench_workers.py                         # 3 rounds of 10 s per configuration
    python bench/bench_workers.py --quick                 # 1 round of 2 s (CI smoke); writes no plot
    python bench/bench_workers.py --database-url postgresql://postgres@127.0.0.1:5432/test
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import re
import resource
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
if str(BENCH_DIR) not in sys.path:  # run as a script, imported by the tests, or by run_all
    sys.path.insert(0, str(BENCH_DIR))

from bench_read_path import (  # noqa: E402
    PAGE_SIZE,
    ROOT,
    Result,
    care_sandbox_exe,
    free_port,
    get_json,
    parse_wrk,
    pick_patient,
    running,
    wait_http,
)

DEFAULT_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
DEFAULT_PLOT = BENCH_DIR / "results" / "workers_latency.png"
ENDPOINTS = ("pain-entries", "wellbeing", "gauges", "vitals", "timeline")
WORKER_COUNTS = (1, 2)
TARGET_RATIO = 1.3
RATE_LIMIT = 1_000_000_000  # requests/hour: counted, never reached (the column is a 32-bit INTEGER)
WORKSPACE = "bench-workers"
# percentiles the Lua done() prints; 100 is the maximum
PERCENTILES = (
    *range(1, 100),
    99.5,
    99.9,
    99.95,
    99.99,
    100,
)

LUA_MIX = """\
-- bench_workers: rotate through the read mix (paths given after `--`), one request each in turn;
-- at the end print wrk's latency percentiles (microseconds) for the plot.
local reqs = {}
local n = 0
local i = 0

function init(args)
  for _, path in ipairs(args) do
    n = n + 1
    reqs[n] = wrk.format("GET", path)
  end
  if n == 0 then error("no paths given after --") end
end

function request()
  i = i % n + 1
  return reqs[i]
end

function done(summary, latency, requests)
  for _, p in ipairs({PCT_LIST}) do
    io.write(string.format("@pct %g %d\\n", p, latency:percentile(p)))
  end
  io.write(string.format("@pct 100 %d\\n", latency.max))
end
"""


def lua_script() -> str:
    return LUA_MIX.replace("PCT_LIST", ", ".join(f"{p:g}" for p in PERCENTILES if p != 100))


# --------------------------------------------------------------------------- results


@dataclass
class Run:
    """One wrk run against one configuration."""

    workers: int
    round: int  # 0 = warm-up
    result: Result
    percentiles: list[tuple[float, float]]  # (percentile, ms), ascending
    cpu_seconds: dict[str, float] = field(default_factory=dict)  # server, postgres, wrk
    wall_seconds: float = 0.0


@dataclass
class Summary:
    """Medians over the measured rounds of one configuration."""

    workers: int
    rps: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    rounds_rps: list[float]
    requests: int
    non_2xx: int
    socket_errors: int
    cpu_share: dict[str, float]  # median share of all cores during a round (1.0 = every core busy)
    cpu_ms_per_request: dict[str, float]


def parse_percentiles(text: str) -> list[tuple[float, float]]:
    """The ``@pct <percentile> <microseconds>`` lines of the Lua ``done()`` as (percentile, ms)."""
    found = [(float(p), int(us) / 1000.0) for p, us in re.findall(r"^@pct ([\d.]+) (\d+)\s*$", text, re.M)]
    if not found:
        raise ValueError("no @pct lines in wrk output (was the Lua script's done() run?)")
    return sorted(found)


def summarize(runs: list[Run], cpus: int) -> Summary:
    measured = [r for r in runs if r.round > 0]
    if not measured:
        raise ValueError("no measured rounds")

    def med(values: list[float]) -> float:
        return float(statistics.median(values))

    def share(run: Run, part: str) -> float:
        return run.cpu_seconds.get(part, 0.0) / (run.wall_seconds * cpus) if run.wall_seconds else 0.0

    def per_request(run: Run, part: str) -> float:
        return 1000.0 * run.cpu_seconds.get(part, 0.0) / run.result.requests if run.result.requests else 0.0

    parts = sorted({p for r in measured for p in r.cpu_seconds})
    return Summary(
        workers=measured[0].workers,
        rps=med([r.result.rps for r in measured]),
        p50_ms=med([r.result.p50_ms for r in measured]),
        p90_ms=med([r.result.p90_ms or r.result.p50_ms for r in measured]),
        p99_ms=med([r.result.p99_ms for r in measured]),
        rounds_rps=[r.result.rps for r in measured],
        requests=sum(r.result.requests for r in measured),
        non_2xx=sum(r.result.non_2xx for r in runs),
        socket_errors=sum(r.result.socket_errors for r in runs),
        cpu_share={p: med([share(r, p) for r in measured]) for p in parts},
        cpu_ms_per_request={p: med([per_request(r, p) for r in measured]) for p in parts},
    )


@dataclass
class Verdict:
    ratio: float  # 2 workers / 1 worker req/s, from the medians
    round_ratios: list[float]  # the same, round by round
    p99_ratio: float
    passed: bool


def verdict(one: Summary, two: Summary, target: float = TARGET_RATIO) -> Verdict:
    ratio = two.rps / one.rps if one.rps else float("inf")
    return Verdict(
        ratio=ratio,
        round_ratios=[b / a for a, b in zip(one.rounds_rps, two.rounds_rps, strict=False) if a],
        p99_ratio=two.p99_ms / one.p99_ms if one.p99_ms else float("inf"),
        passed=ratio >= target,
    )


def format_summaries(summaries: list[Summary]) -> str:
    lines = [
        f"{'workers':>7} {'req/s':>8} {'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8} {'requests':>9} "
        f"{'non-2xx':>8}  per-round req/s"
    ]
    for s in summaries:
        lines.append(
            f"{s.workers:>7} {s.rps:>8.0f} {s.p50_ms:>8.2f} {s.p90_ms:>8.2f} {s.p99_ms:>8.2f} "
            f"{s.requests:>9} {s.non_2xx + s.socket_errors:>8}  "
            + " / ".join(f"{r:.0f}" for r in s.rounds_rps)
        )
    return "\n".join(lines)


def format_cpu(summaries: list[Summary], cpus: int) -> str:
    lines = [
        f"CPU during a round (median; share of all {cpus} cores, and CPU ms per request; other = every "
        "other process on the machine):"
    ]
    for s in summaries:
        parts = ", ".join(
            f"{part} {100 * s.cpu_share[part]:.0f}% ({s.cpu_ms_per_request[part]:.2f} ms)"
            for part in ("server", "postgres", "wrk", "other")
            if part in s.cpu_share
        )
        total = sum(s.cpu_share.values())
        lines.append(
            f"  {s.workers} worker{'s' if s.workers > 1 else ' '}: {parts}; all cores busy {100 * total:.0f}%"
        )
    return "\n".join(lines)


def format_verdict(v: Verdict, target: float = TARGET_RATIO) -> str:
    rounds = " / ".join(f"x{r:.2f}" for r in v.round_ratios)
    return (
        f"2 workers / 1 worker req/s x{v.ratio:.2f} (per round {rounds}); p99 x{v.p99_ratio:.2f}\n"
        f"workers target (≥ x{target:.1f}): {'PASS' if v.passed else 'MISS'}"
    )


# --------------------------------------------------------------------------- CPU accounting

_CLK_TCK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _stat(pid: int) -> tuple[int, float] | None:
    """(parent pid, CPU seconds) of a process from /proc, or None when it is gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = raw[raw.rindex(")") + 2 :].split()
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / _CLK_TCK


def process_tree_cpu(root: int) -> dict[int, float]:
    """CPU seconds of ``root`` and all its descendants (Linux /proc; empty elsewhere)."""
    parents: dict[int, int] = {}
    cpu: dict[int, float] = {}
    for entry in Path("/proc").iterdir() if Path("/proc/self/stat").exists() else []:
        if entry.name.isdigit() and (st := _stat(int(entry.name))) is not None:
            parents[int(entry.name)], cpu[int(entry.name)] = st
    tree = {root} if root in cpu else set()
    grew = True
    while grew:
        grew = False
        for pid, parent in parents.items():
            if parent in tree and pid not in tree:
                tree.add(pid)
                grew = True
    return {pid: cpu[pid] for pid in tree}


def pids_cpu(pids: list[int]) -> dict[int, float]:
    return {pid: st[1] for pid in pids if (st := _stat(pid)) is not None}


def cpu_delta(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU seconds spent between two snapshots (processes started in between count from zero)."""
    return sum(max(0.0, t - before.get(pid, 0.0)) for pid, t in after.items())


def machine_busy_cpu() -> float:
    """CPU seconds all cores spent busy since boot (/proc/stat; 0 where there is none)."""
    try:
        values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return 0.0
    idle = values[3] + (values[4] if len(values) > 4 else 0)  # idle + iowait
    return (sum(values[:8]) - idle) / _CLK_TCK


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


# --------------------------------------------------------------------------- PostgreSQL


def _psycopg_url(url: str) -> str:
    return re.sub(r"^postgresql\+\w+://", "postgresql://", url)


def database_url_for(admin_url: str, name: str) -> str:
    from sqlalchemy.engine import make_url

    url = make_url(_psycopg_url(admin_url)).set(database=name)
    return url.render_as_string(hide_password=False)


@contextlib.contextmanager
def throwaway_database(admin_url: str, prefix: str = "bench_workers") -> Iterator[tuple[str, Any]]:
    """Create ``<prefix>_<random>``; yield (its URL, an autocommit admin connection); drop it."""
    import psycopg

    name = f"{prefix}_{secrets.token_hex(4)}"
    admin = psycopg.connect(_psycopg_url(admin_url), autocommit=True, connect_timeout=5)
    try:
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield database_url_for(admin_url, name), admin
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        admin.close()


def backend_pids(admin: Any, database: str) -> list[int]:
    rows = admin.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s", (database,)).fetchall()
    return [int(row[0]) for row in rows]


def create_bench_workspace(database_url: str) -> str:
    """A workspace with sandbox patients and a limit that is counted but never reached; its API key.

    In-process with a given seed, so both configurations and every run read the same patients.
    """
    from mock_server.bootstrap import create_workspace
    from mock_server.settings import Settings
    from mock_server.storage import Storage

    settings = Settings(database_url=database_url)
    storage = Storage.open(database_url)
    try:
        made = create_workspace(
            settings, storage, WORKSPACE, tier="enterprise", rate_limit=RATE_LIMIT, seed=settings.seed
        )
    finally:
        storage.close()
    return str(made.api_key)


# --------------------------------------------------------------------------- load


def pick_mix_patient(base: str, key: str, endpoints: list[str]) -> tuple[str, list[tuple[str, int, int]]]:
    """A consented patient whose every endpoint of the mix answers 200 with a full page where it can
    (``pick_patient``'s choice when it qualifies); with (endpoint, records, bytes) of each answer."""
    patients, _ = get_json(f"{base}/v1/patients?per_page=100", key)
    first, _, _ = pick_patient(base, key)
    ids = [first, *(p["id"] for p in patients["data"] if p["id"] != first)]
    best: tuple[int, str, list[tuple[str, int, int]]] | None = None
    for patient_id in ids:
        sizes = []
        for endpoint in endpoints:
            try:
                page, raw = get_json(f"{base}/v1/patients/{patient_id}/{endpoint}?per_page={PAGE_SIZE}", key)
            except urllib.error.HTTPError:
                break
            sizes.append((endpoint, len(page["data"]), len(raw)))
        else:
            full = sum(n == PAGE_SIZE for _, n, _ in sizes)
            if full == len(endpoints):
                return patient_id, sizes
            if best is None or full > best[0]:
                best = (full, patient_id, sizes)
    if best is None:
        raise SystemExit(f"no patient answers 200 on every endpoint of the mix ({', '.join(endpoints)})")
    return best[1], best[2]


def run_wrk_mix(
    base: str,
    paths: list[str],
    key: str,
    script: Path,
    seconds: float,
    connections: int,
    threads: int,
    label: str,
) -> tuple[Result, list[tuple[float, float]]]:
    cmd = [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",
        "--latency",
        "-H",
        f"X-API-Key: {key}",
        "-s",
        str(script),
        base + paths[0],
        "--",
        *paths,
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"wrk failed ({proc.returncode}): {proc.stderr.strip()}")
    return parse_wrk(proc.stdout, label), parse_percentiles(proc.stdout)


class InvalidRun(RuntimeError):
    """A run had non-2xx responses or socket errors: its figures mean nothing."""


def check_valid(run: Run) -> None:
    r = run.result
    if r.non_2xx or r.socket_errors:
        what = "warm-up" if run.round == 0 else f"round {run.round}"
        raise InvalidRun(
            f"{run.workers} worker(s), {what}: {r.non_2xx} non-2xx responses and {r.socket_errors} socket "
            f"errors out of {r.requests} requests (429 = the rate limiter throttled the benchmark)"
        )


# --------------------------------------------------------------------------- plot


def plot(
    runs: dict[int, list[Run]], summaries: dict[int, Summary], v: Verdict, out: Path, caption: str
) -> None:
    """Latency distributions of every measured round: CDF (left) and percentile curve (right)."""
    import math

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    colors = {1: "#1f77b4", 2: "#d62728"}
    fig, (cdf_ax, pct_ax) = plt.subplots(1, 2, figsize=(12, 5), dpi=110)
    for workers, series in runs.items():
        s = summaries[workers]
        measured = [r for r in series if r.round > 0]
        median_run = sorted(measured, key=lambda r: r.result.rps)[(len(measured) - 1) // 2]
        for run in measured:
            bold = run is median_run
            label = (
                f"{workers} worker{'s' if workers > 1 else ''}: {s.rps:,.0f} req/s, "
                f"p50 {s.p50_ms:.1f} ms, p99 {s.p99_ms:.1f} ms (medians)"
                if bold
                else None
            )
            color = colors.get(workers, "gray")
            width, alpha = (2.0, 1.0) if bold else (0.8, 0.4)
            cdf_ax.plot(
                [m for _, m in run.percentiles],
                [p / 100.0 for p, _ in run.percentiles],
                label=label,
                color=color,
                lw=width,
                alpha=alpha,
            )
            tail = [(p, m) for p, m in run.percentiles if p < 100]
            pct_ax.plot(
                [-math.log10(1 - p / 100.0) for p, _ in tail],
                [m for _, m in tail],
                label=label,
                color=color,
                lw=width,
                alpha=alpha,
            )
    cdf_ax.set_xscale("log")
    cdf_ax.set_xlabel("latency (ms, log scale)")
    cdf_ax.set_ylabel("fraction of requests ≤ latency")
    cdf_ax.set_ylim(0, 1.0)
    cdf_ax.grid(True, which="both", alpha=0.3)
    cdf_ax.set_title("CDF")
    pct_ax.set_xticks([0, 1, 2, 3, 4], labels=["0%", "90%", "99%", "99.9%", "99.99%"])
    pct_ax.set_xlim(0, 4)
    pct_ax.set_yscale("log")
    pct_ax.set_xlabel("percentile")
    pct_ax.set_ylabel("latency (ms, log scale)")
    pct_ax.grid(True, which="both", alpha=0.3)
    pct_ax.set_title("percentile curve (thin lines: the other rounds)")
    for axis in (cdf_ax.xaxis, pct_ax.yaxis):  # 1, 2, 5, 10, 20, 50 ... ms, in plain numbers
        axis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
        axis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
        axis.set_minor_formatter(NullFormatter())
    for ax in (cdf_ax, pct_ax):
        ax.legend(loc="lower right", fontsize=9)
    fig.suptitle(
        f"care-sandbox read mix on PostgreSQL, serve --workers 1 vs 2: "
        f"x{v.ratio:.2f} req/s (target ≥ x{TARGET_RATIO:.1f})",
        fontsize=12,
    )
    fig.text(0.5, 0.01, caption, ha="center", fontsize=8.5, color="#444")
    fig.tight_layout(rect=(0, 0.04, 1, 0.95))
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out)
    plt.close(fig)


# --------------------------------------------------------------------------- main


def loadavg() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def wait_for_quiet(max_load: float, max_wait: float) -> None:
    deadline = time.monotonic() + max_wait
    while os.getloadavg()[0] > max_load and time.monotonic() < deadline:
        print(
            f"load average {loadavg()} > {max_load:g}: waiting 60 s for the machine to quiet down", flush=True
        )
        time.sleep(min(60.0, max(1.0, deadline - time.monotonic())))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--database-url",
        default=DEFAULT_ADMIN_URL,
        help=f"PostgreSQL admin URL; a throwaway database is created through it (default {DEFAULT_ADMIN_URL})",
    )
    parser.add_argument(
        "--seconds", type=float, default=None, help="per round and configuration (default 10)"
    )
    parser.add_argument("--rounds", type=int, default=None, help="alternating rounds (default 3; --quick 1)")
    parser.add_argument(
        "--quick", action="store_true", help="1 round of 2 s, 1 s warm-up; no plot unless --plot"
    )
    parser.add_argument("--connections", type=int, default=16, help="wrk connections (default 16)")
    parser.add_argument("--threads", type=int, default=1, help="wrk threads (default 1)")
    parser.add_argument(
        "--endpoints",
        default=",".join(ENDPOINTS),
        help=f"list endpoints of the patient in the mix, comma-separated (default {','.join(ENDPOINTS)})",
    )
    parser.add_argument(
        "--rate-limit-backend",
        choices=("auto", "database", "memory"),
        default="auto",
        help="CARE_SANDBOX_RATE_LIMIT_BACKEND of the servers (default auto: what serve does, i.e. database "
        "with 2 workers, memory with 1); other values are for diagnosis only",
    )
    parser.add_argument("--plot", type=Path, default=None, help=f"latency plot (default {DEFAULT_PLOT})")
    parser.add_argument("--no-plot", action="store_true", help="do not draw the plot")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures to this file")
    parser.add_argument("--strict", action="store_true", help="exit 1 when the 1.3x target is missed")
    parser.add_argument(
        "--max-load",
        type=float,
        default=None,
        help="first wait (up to 15 min) until the 1-minute load average is at most this",
    )
    args = parser.parse_args(argv)
    seconds = args.seconds if args.seconds is not None else (2.0 if args.quick else 10.0)
    rounds = args.rounds if args.rounds is not None else (1 if args.quick else 3)
    warmup = 1.0 if args.quick else 3.0
    plot_path = None if args.no_plot else (args.plot or (None if args.quick else DEFAULT_PLOT))
    endpoints = [e.strip() for e in args.endpoints.split(",") if e.strip()]
    cpus = os.cpu_count() or 1

    if shutil.which("wrk") is None:
        print("wrk not found (apt-get install -y wrk): this benchmark needs it for the Lua request mix.")
        return 1
    try:
        import psycopg

        psycopg.connect(_psycopg_url(args.database_url), connect_timeout=5).close()
    except Exception as exc:
        print(f"PostgreSQL not reachable at {args.database_url} ({exc}).")
        print("workers target: SKIPPED (no PostgreSQL; pass --database-url postgresql://…)")
        return 1 if args.strict else 0
    if args.max_load is not None:
        wait_for_quiet(args.max_load, 900)

    print(
        f"workers: GET the list endpoints {', '.join(endpoints)} of one consented patient (per_page="
        f"{PAGE_SIZE}) in turn · serve --workers 1 vs 2 on PostgreSQL · {rounds} alternating round(s) of "
        f"{seconds:g} s after a {warmup:g} s warm-up · wrk -t{args.threads} -c{args.connections} · rate limit "
        f"backend {args.rate_limit_backend}"
    )
    print(
        f"note: the load generator (wrk) and PostgreSQL run on the same {cpus} CPU cores as the server under "
        "test; they share them with it"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("CARE_SANDBOX_")}
    env["CARE_SANDBOX_RATE_LIMIT_BACKEND"] = args.rate_limit_backend
    env["CARE_SANDBOX_LOG_LEVEL"] = "warning"

    runs: dict[int, list[Run]] = {w: [] for w in WORKER_COUNTS}
    load_before = load_after = ""
    try:
        with (
            tempfile.TemporaryDirectory(prefix="care-bench-workers-") as tmp_name,
            throwaway_database(args.database_url) as (db_url, admin),
            contextlib.ExitStack() as stack,
        ):
            tmp = Path(tmp_name)
            db_name = db_url.rsplit("/", 1)[1].split("?", 1)[0]
            started = time.monotonic()
            key = create_bench_workspace(db_url)
            print(f"database {db_name}: workspace {WORKSPACE!r} seeded in {time.monotonic() - started:.1f} s")
            script = tmp / "mix.lua"
            script.write_text(lua_script())

            servers: dict[int, tuple[str, int]] = {}
            for workers in WORKER_COUNTS:
                port = free_port()
                cmd = [
                    care_sandbox_exe(),
                    "serve",
                    "--port",
                    str(port),
                    "--workers",
                    str(workers),
                    "--database-url",
                    db_url,
                    "--no-dispatcher",
                    "--no-demo",
                ]
                proc = stack.enter_context(running(cmd, tmp / f"serve-{workers}.log", cwd=ROOT, env=env))
                servers[workers] = (f"http://127.0.0.1:{port}", proc.pid)
                try:
                    wait_http(f"http://127.0.0.1:{port}/healthz", 120, proc=proc)
                except (RuntimeError, TimeoutError):
                    print((tmp / f"serve-{workers}.log").read_text(errors="replace")[-3000:])
                    raise

            base1 = servers[WORKER_COUNTS[0]][0]
            patient_id, sizes = pick_mix_patient(base1, key, endpoints)
            paths = [f"/v1/patients/{patient_id}/{e}?per_page={PAGE_SIZE}" for e in endpoints]
            print(f"patient {patient_id}: " + "; ".join(f"{e} {n} records {b:,} B" for e, n, b in sizes))

            def measure(workers: int, round_no: int, secs: float) -> Run:
                base, server_pid = servers[workers]
                before = process_tree_cpu(server_pid)
                pg_before = pids_cpu(backend_pids(admin, db_name))
                wrk_before = children_cpu()
                busy_before = machine_busy_cpu()
                began = time.monotonic()
                result, pcts = run_wrk_mix(
                    base, paths, key, script, secs, args.connections, args.threads, f"{workers}w"
                )
                wall = time.monotonic() - began
                cpu = {
                    "server": cpu_delta(before, process_tree_cpu(server_pid)),
                    "postgres": cpu_delta(pg_before, pids_cpu(backend_pids(admin, db_name))),
                    "wrk": children_cpu() - wrk_before,
                }
                busy = machine_busy_cpu() - busy_before
                cpu["other"] = max(0.0, busy - sum(cpu.values()))  # background load: other processes
                run = Run(workers, round_no, result, pcts, cpu, wall)
                check_valid(run)
                return run

            for workers in WORKER_COUNTS:  # warm-up: caches, pools, and both processes of --workers 2
                runs[workers].append(measure(workers, 0, warmup))
            load_before = loadavg()
            print(f"load average before measuring: {load_before}", flush=True)
            for round_no in range(1, rounds + 1):
                for workers in WORKER_COUNTS:  # alternating, so background load hits both alike
                    run = measure(workers, round_no, seconds)
                    runs[workers].append(run)
                    print(
                        f"  round {round_no}, {workers} worker(s): {run.result.rps:,.0f} req/s, "
                        f"p50 {run.result.p50_ms:.1f} ms, p99 {run.result.p99_ms:.1f} ms",
                        flush=True,
                    )
            load_after = loadavg()
            print(f"load average after measuring:  {load_after}")
            backends = len(backend_pids(admin, db_name))
            stack.close()  # stop the servers before the database is dropped
    except InvalidRun as exc:
        print(f"error: INVALID RUN: {exc}")
        return 1

    summaries = {w: summarize(runs[w], cpus) for w in WORKER_COUNTS}
    v = verdict(summaries[1], summaries[2])
    print()
    print(format_summaries(list(summaries.values())))
    print()
    print(format_cpu(list(summaries.values()), cpus))
    print(f"PostgreSQL connections open at the end (both servers): {backends}")
    busiest = max(s.cpu_share.get("other", 0.0) for s in summaries.values())
    if busiest > 0.10:
        print(
            f"warning: other processes used {100 * busiest:.0f}% of the cores during the rounds: the machine "
            "was not quiet, and the figures (the ratio too) are disturbed"
        )
    print()
    print(format_verdict(v))
    print(
        f"(load average {load_before} before and {load_after} after measuring; wrk and PostgreSQL share "
        f"the {cpus} cores with the server)"
    )

    date = dt.datetime.now(dt.UTC)
    if plot_path is not None:
        caption = (
            f"{date:%Y-%m-%d} · {rounds} alternating rounds of {seconds:g} s, wrk -t{args.threads} "
            f"-c{args.connections} · load average before {load_before} · wrk and PostgreSQL share the "
            f"{cpus} cores with the server"
        )
        plot(runs, summaries, v, plot_path, caption)
        print(f"plot: {plot_path}")
    if args.json is not None:
        args.json.write_text(
            json.dumps(
                {
                    "date": date.isoformat(timespec="seconds"),
                    "seconds": seconds,
                    "rounds": rounds,
                    "connections": args.connections,
                    "threads": args.threads,
                    "cpus": cpus,
                    "endpoints": endpoints,
                    "rate_limit_backend": args.rate_limit_backend,
                    "load_before": load_before,
                    "load_after": load_after,
                    "summaries": [asdict(s) for s in summaries.values()],
                    "verdict": asdict(v),
                    "runs": [
                        {**asdict(r.result), "workers": r.workers, "round": r.round, "cpu": r.cpu_seconds}
                        for series in runs.values()
                        for r in series
                    ],
                },
                indent=2,
            )
        )
    if args.strict and not v.passed:
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
