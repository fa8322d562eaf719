"""Start-up benchmark (issue #16): how soon ``care-sandbox serve`` answers, against Prism on the same contract.

Each round, one after the other (never concurrently, they share the machine's cores):

* ``prism``          Stoplight Prism 5.16 (``prism mock``, static mode) on ``openapi.yaml``: from spawn
                     to its first HTTP answer (any status: Prism has no ``/healthz`` of its own)
* ``first start``    ``care-sandbox serve --port 0`` on a new SQLite database (the default: demo
                     workspace seeded, webhook dispatcher on): from spawn to ``GET /healthz`` 200
* ``restart``        the same command on that database again (demo workspace already there)

The sandbox runs as users run it: the ``care-sandbox`` console script next to this Python, with its
contract cache in a cache directory of this run (``XDG_CACHE_HOME``), so the first round's first start
is a cold cache and later rounds are warm, as on a CI runner that keeps ``~/.cache``; ``--cold-cache``
gives every sandbox start an empty cache. Python may write bytecode (``PYTHONDONTWRITEBYTECODE`` is
removed from the children's environment, as on a user's machine), and one untimed start warms it.

Targets: a restart answers no later than Prism starts (ratio ≤ 1.0, medians of the same run); a first
start within 2.5 s. The machine may be shared: the load average is printed with the figures.

    python bench/bench_startup.py                 # 5 rounds
    python bench/bench_startup.py --quick         # 2 rounds
    python bench/bench_startup.py --rounds 1 --no-prism
    python bench/bench_startup.py --source /tmp/old-checkout   # python -m mock_server.cli from there
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "openapi.yaml"
PRISM_PACKAGE = "@stoplight/prism-cli@5.16"
LOCAL_PRISM = ROOT / ".cache" / "prism" / "node_modules" / ".bin" / "prism"
FIRST_START_TARGET_S = 2.5
RESTART_TARGET_RATIO = 1.0  # restart / Prism
TIMEOUT_S = 180.0
_SANDBOX_URL = re.compile(r"care-sandbox\S* on (?:\S*?)(http://[\w.\-\[\]:]+:\d+)")
_PRISM_URL = re.compile(r"Prism is listening on (http://[\w.\-\[\]:]+:\d+)")

# --------------------------------------------------------------------------- results


@dataclass
class Rounds:
    name: str
    seconds: list[float] = field(default_factory=list)
    cpu_seconds: list[float] = field(default_factory=list)  # the server process's own CPU until it answered

    @property
    def median(self) -> float:
        return statistics.median(self.seconds) if self.seconds else float("nan")

    @property
    def median_cpu(self) -> float:
        return statistics.median(self.cpu_seconds) if self.cpu_seconds else float("nan")


@dataclass
class Verdict:
    first_start_s: float
    restart_s: float
    prism_s: float | None
    first_start_ok: bool
    restart_ratio: float | None  # restart / prism
    restart_ok: bool | None  # None: no Prism in this run


def judge(first: Rounds, restart: Rounds, prism: Rounds | None) -> Verdict:
    prism_s = prism.median if prism is not None and prism.seconds else None
    ratio = restart.median / prism_s if prism_s else None
    return Verdict(
        first_start_s=first.median,
        restart_s=restart.median,
        prism_s=prism_s,
        first_start_ok=first.median <= FIRST_START_TARGET_S,
        restart_ratio=ratio,
        restart_ok=None if ratio is None else ratio <= RESTART_TARGET_RATIO,
    )


def format_report(rows: list[Rounds], verdict: Verdict, load: tuple[float, float, float]) -> str:
    anchor = verdict.prism_s
    lines = [f"{'start':<14} {'median s':>9} {'vs prism':>9} {'cpu s':>6}  rounds (s)"]
    for row in rows:
        ratio = f"x{row.median / anchor:.2f}" if anchor else "-"
        cpu = f"{row.median_cpu:.2f}" if row.cpu_seconds else "-"
        each = " ".join(f"{s:.2f}" for s in row.seconds)
        lines.append(f"{row.name:<14} {row.median:>9.2f} {ratio:>9} {cpu:>6}  {each}")
    lines.append(f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} ({os.cpu_count()} CPUs)")
    first = "ok" if verdict.first_start_ok else "no"
    lines.append(
        f"first start target ≤ {FIRST_START_TARGET_S:.1f} s: {verdict.first_start_s:.2f} s ({first})"
    )
    if verdict.restart_ratio is None:
        lines.append("restart target (≤ Prism's start): SKIPPED (no Prism in this run)")
    else:
        ok = "ok" if verdict.restart_ok else "no"
        lines.append(
            f"restart target ≤ Prism's start: x{verdict.restart_ratio:.2f} "
            f"({verdict.restart_s:.2f} s against {verdict.prism_s:.2f} s) ({ok})"
        )
    return "\n".join(lines)


# --------------------------------------------------------------------------- processes


def _child_env(cache_home: Path, data_home: Path, source: Path | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CARE_SANDBOX_")}
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # users' installs have bytecode; do not time compiling
    env["XDG_CACHE_HOME"] = str(cache_home)
    env["XDG_DATA_HOME"] = str(data_home)  # the demo key file and secrets.key: this run's, not the user's
    if source is not None:
        env["PYTHONPATH"] = str(source)
    return env


def sandbox_cmd(source: Path | None) -> list[str]:
    if source is not None:
        return [sys.executable, "-m", "mock_server.cli"]
    local = Path(sys.executable).parent / "care-sandbox"
    found = str(local) if local.exists() else shutil.which("care-sandbox")
    if found is None:
        raise SystemExit("care-sandbox is not installed (run `make venv`)")
    return [found]


def prism_cmd() -> list[str] | None:
    """The project's Prism (``.cache/prism``, as CI installs it), else ``npx``; None without Node."""
    if LOCAL_PRISM.exists():
        return [str(LOCAL_PRISM)]
    npx = shutil.which("npx")
    return [npx, "--yes", PRISM_PACKAGE] if npx else None


def _answers(url: str) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=2) as resp:
            return int(resp.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)
    except OSError:
        return None


def process_cpu_seconds(pid: int) -> float | None:
    """User + system CPU of a running process (Linux ``/proc``), a figure the machine's load barely
    moves, unlike wall time; None elsewhere. Prism's is not comparable (Node's workers) and not taken."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks  # utime, stime (fields 14 and 15 of stat)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)  # children (the dispatcher sidecar) that outlived it


def time_to_answer(
    cmd: list[str],
    log: Path,
    url_pattern: re.Pattern[str],
    path: str,
    ready: set[int] | None,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
) -> tuple[float, float | None]:
    """Seconds from spawn to the first answer of ``path`` (a status in ``ready``; None: any status),
    and the CPU seconds the process had used by then."""
    with log.open("wb") as out:
        started = time.perf_counter()
        proc = subprocess.Popen(
            cmd, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=cwd, start_new_session=True
        )
    try:
        base = None
        while time.perf_counter() - started < TIMEOUT_S:
            if proc.poll() is not None:
                tail = log.read_text(errors="replace")[-2000:]
                raise RuntimeError(f"{cmd[0]} exited with {proc.returncode} before answering:\n{tail}")
            if base is None:
                found = url_pattern.search(log.read_text(errors="replace"))
                base = found.group(1) if found else None
            if base is not None:
                status = _answers(base + path)
                if status is not None and (ready is None or status in ready):
                    return time.perf_counter() - started, process_cpu_seconds(proc.pid)
            time.sleep(0.02)
        raise TimeoutError(f"{cmd[0]} did not answer {path} within {TIMEOUT_S:.0f} s")
    finally:
        _stop(proc)


def sandbox_start(
    database: Path, work: Path, cache_home: Path, data_home: Path, source: Path | None
) -> tuple[float, float | None]:
    cmd = [*sandbox_cmd(source), "serve", "--port", "0", "--database-url", f"sqlite:///{database}"]
    env = _child_env(cache_home, data_home, source)
    return time_to_answer(cmd, work / "sandbox.log", _SANDBOX_URL, "/healthz", {200}, env=env, cwd=work)


def prism_start(prism: list[str], work: Path) -> float:
    cmd = [*prism, "mock", "-h", "127.0.0.1", "-p", "0", str(SPEC)]
    return time_to_answer(cmd, work / "prism.log", _PRISM_URL, "/healthz", None, cwd=work)[0]


def record(row: Rounds, measured: tuple[float, float | None]) -> None:
    row.seconds.append(measured[0])
    if measured[1] is not None:
        row.cpu_seconds.append(measured[1])


# --------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=None, help="rounds (default 5; 2 with --quick)")
    parser.add_argument("--quick", action="store_true", help="2 rounds")
    parser.add_argument("--no-prism", action="store_true", help="do not run Prism")
    parser.add_argument("--cold-cache", action="store_true", help="an empty contract cache on every start")
    parser.add_argument(
        "--source", type=Path, default=None, help="run `python -m mock_server.cli` from this checkout"
    )
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args(argv)
    rounds = args.rounds or (2 if args.quick else 5)

    prism = None if args.no_prism else prism_cmd()
    if not args.no_prism and prism is None:
        print("Prism not found (.cache/prism or npx): skipped.")
    print(
        f"start-up: {rounds} round(s) · care-sandbox serve (new SQLite database with demo data, then a "
        f"restart on it) to /healthz 200{' · Prism to its first answer' if prism else ''} · "
        f"{'cold' if args.cold_cache else 'per-run'} contract cache · {os.cpu_count()} CPUs",
        flush=True,
    )
    rows = {name: Rounds(name) for name in ("prism", "first start", "restart")}
    with tempfile.TemporaryDirectory(prefix="care-bench-start-") as tmp_name:
        tmp = Path(tmp_name)
        data_home, shared_cache = tmp / "data", tmp / "cache"
        # untimed: writes bytecode next to the sources, as a user's first ever start does
        sandbox_start(tmp / "warm.sqlite3", tmp, tmp / "warm-cache", data_home, args.source)
        for n in range(rounds):
            if prism is not None:
                rows["prism"].seconds.append(prism_start(prism, tmp))
            cache = tmp / f"cache-{n}" if args.cold_cache else shared_cache
            database = tmp / f"round-{n}.sqlite3"
            record(rows["first start"], sandbox_start(database, tmp, cache, data_home, args.source))
            cache = tmp / f"cache-{n}-restart" if args.cold_cache else shared_cache
            record(rows["restart"], sandbox_start(database, tmp, cache, data_home, args.source))
            print(
                f"round {n + 1}: "
                + " · ".join(f"{r.name} {r.seconds[-1]:.2f} s" for r in rows.values() if r.seconds),
                flush=True,
            )
    shown = [row for row in rows.values() if row.seconds]
    verdict = judge(rows["first start"], rows["restart"], rows["prism"] if prism else None)
    load = os.getloadavg()
    print(format_report(shown, verdict, load))
    if args.json is not None:
        figures = {"rounds": [asdict(r) for r in shown], "verdict": asdict(verdict), "load": load}
        args.json.write_text(json.dumps(figures, indent=2))
    missed = not verdict.first_start_ok or verdict.restart_ok is False
    return 1 if args.strict and missed else 0


if __name__ == "__main__":
    sys.exit(main())
