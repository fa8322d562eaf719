"""The read-path benchmark's parsing and verdict code on canned wrk output (no servers, no wrk)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import yaml

from tests.bench.loading import ROOT, load_bench

bench = load_bench("bench_read_path")
run_all = load_bench("run_all")

WRK_OK = """\
Running 10s test @ http://127.0.0.1:8080/v1/patients/p2c_anon_1/pain-entries?per_page=50
  1 threads and 16 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     4.62ms    1.01ms  21.30ms   89.12%
    Req/Sec     3.47k   150.22     3.71k    82.00%
  Latency Distribution
     50%    4.41ms
     75%    4.90ms
     90%    5.62ms
     99%    8.97ms
  34541 requests in 10.00s, 614.85MB read
Requests/sec:   3452.79
Transfer/sec:     61.45MB
"""

WRK_MIXED_UNITS = """\
Running 2s test @ http://127.0.0.1:9000/x
  1 threads and 16 connections
  Latency Distribution
     50%  812.00us
     75%    1.02ms
     90%    1.50ms
     99%    1.20s
  9000 requests in 2.00s, 1.00MB read
  Socket errors: connect 0, read 2, write 0, timeout 3
  Non-2xx or 3xx responses: 17
Requests/sec:   4500.10
Transfer/sec:      0.50MB
"""


def test_parse_wrk() -> None:
    r = bench.parse_wrk(WRK_OK, "sandbox")
    assert r.server == "sandbox"
    assert r.rps == pytest.approx(3452.79)
    assert (r.p50_ms, r.p75_ms, r.p90_ms, r.p99_ms) == pytest.approx((4.41, 4.90, 5.62, 8.97))
    assert r.requests == 34541
    assert r.non_2xx == 0 and r.socket_errors == 0


def test_parse_wrk_units_and_errors() -> None:
    r = bench.parse_wrk(WRK_MIXED_UNITS, "prism")
    assert r.p50_ms == pytest.approx(0.812)
    assert r.p99_ms == pytest.approx(1200.0)
    assert r.non_2xx == 17
    assert r.socket_errors == 5


def test_parse_wrk_rejects_garbage() -> None:
    with pytest.raises(ValueError):
        bench.parse_wrk("unable to connect to 127.0.0.1:1 Connection refused", "x")
    with pytest.raises(ValueError):
        bench.parse_wrk("Requests/sec: 10.0\n", "x")  # no --latency distribution


def test_compare_pass_and_fail() -> None:
    sandbox = bench.Result("sandbox", rps=4800.0, p50_ms=4.0, p99_ms=8.0)
    prism = bench.Result("prism", rps=1600.0, p50_ms=9.0, p99_ms=16.0)
    cmp = bench.compare(sandbox, prism)
    assert cmp.rps_ratio == pytest.approx(3.0)
    assert cmp.p99_ratio == pytest.approx(0.5)
    assert cmp.passed  # both at the line: x3 req/s, half the p99
    assert "PASS" in bench.format_comparison(cmp)

    twice = bench.compare(bench.Result("sandbox", rps=3400.0, p50_ms=4.0, p99_ms=8.0), prism)
    assert not twice.rps_ok and twice.p99_ok and not twice.passed  # x2.1 was the old target, not this one
    slower_tail = bench.compare(bench.Result("sandbox", rps=5000.0, p50_ms=4.0, p99_ms=9.0), prism)
    assert slower_tail.rps_ok and not slower_tail.p99_ok

    slow = bench.Result("sandbox", rps=2000.0, p50_ms=7.0, p99_ms=20.0)
    cmp = bench.compare(slow, prism)
    assert not cmp.rps_ok and not cmp.p99_ok and not cmp.passed
    assert "FAIL" in bench.format_comparison(cmp)


def test_compare_invalid_when_errors() -> None:
    sandbox = bench.Result("sandbox", rps=5000.0, p50_ms=1.0, p99_ms=2.0, non_2xx=3)
    prism = bench.Result("prism", rps=1000.0, p50_ms=9.0, p99_ms=16.0)
    cmp = bench.compare(sandbox, prism)
    assert cmp.rps_ok and cmp.p99_ok and not cmp.valid and not cmp.passed
    assert "invalid run" in bench.format_comparison(cmp)


def test_request_log_cost_is_the_median_pair_ratio() -> None:
    on = [bench.Result("sandbox", rps=r, p50_ms=1.0, p99_ms=2.0) for r in (900.0, 960.0, 500.0)]
    off = [bench.Result("sandbox-nolog", rps=r, p50_ms=1.0, p99_ms=2.0) for r in (1000.0, 1000.0, 1000.0)]
    assert bench.request_log_cost(on, off) == pytest.approx(0.10)  # pairs 0.90, 0.96, 0.50: median 0.90
    assert "no" in bench.format_log_cost(0.10) and "ok" in bench.format_log_cost(0.04)
    assert math.isnan(bench.request_log_cost([], []))


def test_table_and_percentile() -> None:
    table = bench.format_table(
        [bench.parse_wrk(WRK_OK, "sandbox"), bench.Result("ceiling", 4300.0, 3.5, 7.0)]
    )
    assert "sandbox" in table and "3453" in table and "ceiling" in table
    values = sorted(float(i) for i in range(1, 101))
    assert bench.percentile(values, 50) == 50.0
    assert bench.percentile(values, 99) == 99.0
    assert math.isnan(bench.percentile([], 50))


def test_prism_spec_has_only_the_captured_example(tmp_path: Path) -> None:
    page = {"data": [], "pagination": {"total": 0, "page": 1, "per_page": 50}}
    out = bench.write_prism_spec(page, tmp_path)
    spec = yaml.safe_load(out.read_text())
    content = spec["paths"][bench.OPERATION_PATH]["get"]["responses"]["200"]["content"]["application/json"]
    assert content["examples"] == {"captured": {"summary": "a 50-entry page from the sandbox", "value": page}}


def test_run_all_discovers_benchmarks() -> None:
    names = [p.name for p in run_all.discover()]
    assert "bench_read_path.py" in names
    assert [p.name for p in run_all.discover(["read_path"])] == ["bench_read_path.py"]
    assert run_all.supports_quick(ROOT / "bench" / "bench_read_path.py")
