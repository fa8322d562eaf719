"""Run every ``bench/bench_*.py``, one after the other, printing their output (``make bench``).

Each benchmark runs in its default mode (or ``--quick`` where it supports it, with ``--quick`` here);
benchmarks never run concurrently since they share the machine's cores. Exits non-zero when any
benchmark exits non-zero.

    python bench/run_all.py                      # every benchmark, default mode
    python bench/run_all.py --quick              # short modes, where available
    python bench/run_all.py --only read_path     # a subset (names without bench_ and .py)
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent


def discover(only: list[str] | None = None) -> list[Path]:
    scripts = sorted(BENCH_DIR.glob("bench_*.py"))
    if only:
        wanted = {name.removeprefix("bench_").removesuffix(".py") for name in only}
        scripts = [s for s in scripts if s.stem.removeprefix("bench_") in wanted]
    return scripts


def supports_quick(script: Path) -> bool:
    return '"--quick"' in script.read_text(errors="replace")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="pass --quick to benchmarks that accept it")
    parser.add_argument("--only", nargs="+", metavar="NAME", help="run only these benchmarks")
    parser.add_argument("--timeout", type=float, default=3600, help="seconds per benchmark (default 3600)")
    args = parser.parse_args(argv)

    scripts = discover(args.only)
    if not scripts:
        print("no benchmarks found")
        return 1
    outcomes: list[tuple[str, int, float]] = []
    for script in scripts:
        cmd = [sys.executable, str(script)]
        if args.quick and supports_quick(script):
            cmd.append("--quick")
        print(f"\n=== {script.name} {' '.join(cmd[2:])}".rstrip(), flush=True)
        started = time.monotonic()
        try:
            code = subprocess.run(cmd, cwd=ROOT, timeout=args.timeout, check=False).returncode
        except subprocess.TimeoutExpired:
            print(f"{script.name}: timed out after {args.timeout:.0f} s")
            code = 124
        outcomes.append((script.name, code, time.monotonic() - started))

    print("\n=== summary")
    for name, code, seconds in outcomes:
        print(f"{name:<28} {'ok' if code == 0 else f'FAILED (exit {code})':<18} {seconds:6.1f} s")
    return 0 if all(code == 0 for _, code, _ in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
