"""bench/bench_workers.py: its parsing, medians, verdict and plot on canned data, and a --quick run
against PostgreSQL when ``CARE_SANDBOX_TEST_DATABASE_URL`` is set (skipped otherwise)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.bench.loading import ROOT, load_bench
from tests.fixtures.databases import PG_ENV, postgres_url

bench = load_bench("bench_workers")
run_all = load_bench("run_all")

WRK_MIX = """\
Running 2s test @ http://127.0.0.1:8080/v1/patients/p2c_anon_1/pain-entries?per_page=50
  1 threads and 16 connections
  Latency Distribution
     50%   20.00ms
     75%   25.00ms
     90%   30.00ms
     99%   60.00ms
  1000 requests in 2.00s, 12.00MB read
Requests/sec:    500.00
Transfer/sec:      6.00MB
@pct 1 9000
@pct 50 20000
@pct 99 60000
@pct 99.9 80000
@pct 100 95000
"""


def _run(workers: int, round_no: int, rps: float, p99: float) -> object:
    result = bench.Result(
        f"{workers}w", rps=rps, p50_ms=p99 / 3, p99_ms=p99, p90_ms=p99 / 2, requests=int(rps * 2)
    )
    pcts = [(float(p), p99 * p / 99) for p in (1, 50, 90, 99)] + [(99.9, p99 * 1.2), (100.0, p99 * 1.5)]
    return bench.Run(
        workers, round_no, result, pcts, {"server": rps / 1000, "postgres": 0.2, "wrk": 0.02}, 2.0
    )


def test_parse_percentiles_and_wrk() -> None:
    pcts = bench.parse_percentiles(WRK_MIX)
    assert pcts[0] == (1.0, 9.0) and pcts[-1] == (100.0, 95.0)
    assert (99.9, 80.0) in pcts
    result = bench.parse_wrk(WRK_MIX, "2w")
    assert result.rps == pytest.approx(500.0) and result.non_2xx == 0
    with pytest.raises(ValueError):
        bench.parse_percentiles("Requests/sec: 1.0\n")


def test_lua_script_prints_every_percentile() -> None:
    script = bench.lua_script()
    assert "PCT_LIST" not in script and "function request()" in script
    assert "ipairs({1, 2, 3," in script and "99.99})" in script
    assert "latency.max" in script


def test_medians_verdict_and_invalid_runs() -> None:
    one = [_run(1, 0, 100, 90), _run(1, 1, 500, 60), _run(1, 2, 400, 70), _run(1, 3, 450, 65)]
    two = [_run(2, 0, 100, 90), _run(2, 1, 700, 40), _run(2, 2, 640, 45), _run(2, 3, 500, 50)]
    s1, s2 = bench.summarize(one, 2), bench.summarize(two, 2)
    assert s1.rps == 450 and s1.rounds_rps == [500, 400, 450]  # the warm-up (round 0) is left out
    assert s1.p99_ms == 65 and s2.rps == 640
    assert s1.cpu_share["postgres"] == pytest.approx(0.05)  # 0.2 s of 2 cores x 2 s
    v = bench.verdict(s1, s2)
    assert v.ratio == pytest.approx(640 / 450) and v.passed
    assert v.round_ratios == pytest.approx([1.4, 1.6, 500 / 450])
    text = bench.format_verdict(v)
    assert "x1.42" in text and "PASS" in text
    assert "MISS" in bench.format_verdict(bench.verdict(s2, s1))
    assert "640" in bench.format_summaries([s1, s2])
    assert "postgres" in bench.format_cpu([s1, s2], 2)

    bad = _run(2, 1, 700, 40)
    bad.result.non_2xx = 3
    with pytest.raises(bench.InvalidRun, match="429"):
        bench.check_valid(bad)


def test_plot_is_written(tmp_path: Path) -> None:
    runs = {
        1: [_run(1, 0, 100, 90), _run(1, 1, 500, 60), _run(1, 2, 400, 70)],
        2: [_run(2, 0, 100, 90), _run(2, 1, 700, 40), _run(2, 2, 640, 45)],
    }
    summaries = {w: bench.summarize(r, 2) for w, r in runs.items()}
    out = tmp_path / "sub" / "plot.png"
    bench.plot(runs, summaries, bench.verdict(summaries[1], summaries[2]), out, "caption")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_database_url_for_keeps_credentials() -> None:
    url = bench.database_url_for("postgresql+psycopg://u:secret@db:5433/postgres?sslmode=disable", "bench_x")
    assert url == "postgresql://u:secret@db:5433/bench_x?sslmode=disable"


def test_run_all_discovers_it() -> None:
    assert [p.name for p in run_all.discover(["workers"])] == ["bench_workers.py"]
    assert run_all.supports_quick(ROOT / "bench" / "bench_workers.py")


@pytest.mark.postgres
def test_quick_run_against_postgres(tmp_path: Path) -> None:
    url = postgres_url()
    if url is None:
        pytest.skip(
            f"the workers benchmark needs PostgreSQL: set {PG_ENV} (e.g. postgresql://postgres@127.0.0.1:5432/test)"
        )
    if shutil.which("wrk") is None:
        pytest.skip("the workers benchmark needs wrk (apt-get install -y wrk)")
    out = tmp_path / "workers.json"
    plot = tmp_path / "workers.png"
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "bench_workers.py"),
            "--quick",
            "--database-url",
            url,
            "--json",
            str(out),
            "--plot",
            str(plot),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "workers target (≥ x1.3):" in done.stdout
    assert "share" in done.stdout  # says that the load generator shares the cores
    figures = json.loads(out.read_text())
    assert [s["workers"] for s in figures["summaries"]] == [1, 2]
    assert all(s["rps"] > 0 and s["non_2xx"] == 0 and s["socket_errors"] == 0 for s in figures["summaries"])
    assert plot.read_bytes()[:4] == b"\x89PNG"
    # the throwaway database is gone
    import psycopg

    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as conn:
        left = conn.execute("SELECT datname FROM pg_database WHERE datname LIKE 'bench_workers_%'").fetchall()
    assert not [name for (name,) in left if name in done.stdout]
