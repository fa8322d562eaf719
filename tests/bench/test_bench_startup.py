"""bench/bench_startup.py: its verdict and report on canned figures, and one real round without Prism."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.bench.loading import ROOT, load_bench

bench = load_bench("bench_startup")
run_all = load_bench("run_all")


def test_verdict_against_prism_and_the_first_start_target() -> None:
    prism = bench.Rounds("prism", [1.6, 1.4, 2.0])
    first = bench.Rounds("first start", [2.2, 2.4, 2.3])
    restart = bench.Rounds("restart", [1.1, 1.0, 1.3], [0.9, 0.8, 1.0])
    verdict = bench.judge(first, restart, prism)
    assert verdict.prism_s == pytest.approx(1.6)
    assert verdict.restart_ratio == pytest.approx(1.1 / 1.6)
    assert verdict.first_start_ok and verdict.restart_ok
    report = bench.format_report([prism, first, restart], verdict, (1.0, 2.0, 3.0))
    assert "x0.69" in report and "(ok)" in report and "load average 1.00 2.00 3.00" in report
    assert "0.90" in report  # the restart's median CPU

    slow = bench.judge(bench.Rounds("first start", [3.0]), bench.Rounds("restart", [2.0]), prism)
    assert not slow.first_start_ok and slow.restart_ok is False
    assert "(no)" in bench.format_report([bench.Rounds("restart", [2.0])], slow, (0, 0, 0))


def test_without_prism_the_restart_target_is_skipped_not_passed() -> None:
    verdict = bench.judge(bench.Rounds("first start", [2.0]), bench.Rounds("restart", [1.0]), None)
    assert verdict.restart_ratio is None and verdict.restart_ok is None
    assert "SKIPPED" in bench.format_report([], verdict, (0.5, 0.5, 0.5))


def test_the_sandbox_url_is_read_from_serves_banner() -> None:
    banner = "care-sandbox on http://127.0.0.1:40123  ·  Swagger UI http://127.0.0.1:40123/ui/"
    found = bench._SANDBOX_URL.search(banner)
    assert found is not None and found.group(1) == "http://127.0.0.1:40123"
    prism = "[CLI] ▶  start     Prism is listening on http://127.0.0.1:37983"
    found = bench._PRISM_URL.search(prism)
    assert found is not None and found.group(1) == "http://127.0.0.1:37983"


def test_run_all_runs_it() -> None:
    assert [p.name for p in run_all.discover(["startup"])] == ["bench_startup.py"]
    assert run_all.supports_quick(ROOT / "bench" / "bench_startup.py")


def test_one_round_without_prism(tmp_path: Path) -> None:
    """The real thing: a first start and a restart of `care-sandbox serve`, to /healthz 200."""
    figures = tmp_path / "startup.json"
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "bench_startup.py"),
            "--rounds",
            "1",
            "--no-prism",
            "--json",
            str(figures),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert re.search(r"^first start +\d+\.\d\d +- +\d+\.\d\d", out, re.MULTILINE), out
    assert re.search(r"^restart +\d+\.\d\d +- +\d+\.\d\d", out, re.MULTILINE), out
    assert "prism" not in out.split("rounds (s)", 1)[1].split("load average", 1)[0]
    assert re.search(r"^load average \d+\.\d\d \d+\.\d\d \d+\.\d\d", out, re.MULTILINE)
    assert "restart target (≤ Prism's start): SKIPPED" in out
    data = json.loads(figures.read_text())
    assert [row["name"] for row in data["rounds"]] == ["first start", "restart"]
    assert all(len(row["seconds"]) == 1 and row["seconds"][0] > 0 for row in data["rounds"])
    assert data["verdict"]["restart_ok"] is None
