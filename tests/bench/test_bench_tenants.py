"""The tenant benchmark's verdict and report code on canned phases, and its hanging receiver."""

from __future__ import annotations

import httpx
import pytest

from tests.bench.loading import ROOT, load_bench

bench = load_bench("bench_tenants")
run_all = load_bench("run_all")


def _phase(name: str, read: float, health: float, delivery: float) -> object:
    phase = bench.Phase(name)
    # 200 samples: one slow outlier is above the 99th percentile and does not count
    phase.ms["read"] = [read] * 199 + [10_000.0]
    phase.ms["healthz"] = [health] * 100
    phase.ms["delivery"] = [delivery] * 100
    return phase


def test_verdicts_compare_p99_with_quiet_and_target() -> None:
    quiet = _phase("quiet", 5.0, 2.0, 20.0)
    heavy = _phase("heavy", 40.0, 30.0, 50.0)
    rows = {(r["phase"], r["kind"]): r for r in bench.verdicts(quiet, [heavy])}
    assert rows[("heavy", "read")]["p99_ms"] == 40.0 and rows[("heavy", "read")]["met"] is True
    assert rows[("heavy", "read")]["vs_quiet"] == 8.0 and rows[("heavy", "read")]["vs_target"] == 0.8
    assert rows[("heavy", "healthz")]["met"] is False  # 30 ms > 20 ms
    assert rows[("heavy", "delivery")]["vs_target"] == 0.5
    report = bench.format_report(quiet, [heavy])
    assert "MISSED (≤ 20 ms)" in report and "MET (≤ 50 ms)" in report
    assert ("heavy", "healthz") in bench.REQUIRED


def test_the_hanging_server_never_answers() -> None:
    with bench.hanging_server() as url, pytest.raises(httpx.ReadTimeout):
        httpx.post(f"{url}/dead/0", json={"event": "x"}, timeout=httpx.Timeout(5.0, read=0.3))


def test_run_all_runs_it_with_quick() -> None:
    assert [p.name for p in run_all.discover(["tenants"])] == ["bench_tenants.py"]
    assert run_all.supports_quick(ROOT / "bench" / "bench_tenants.py")
