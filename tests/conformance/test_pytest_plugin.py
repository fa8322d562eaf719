"""The pytest plugin: inert without --care-base-url, one item per operation with it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.conformance.conftest import TOY_SPEC

PLAIN_TEST = "def test_nothing():\n    assert True\n"


def run_pytest(directory: Path, *args: str) -> subprocess.CompletedProcess[str]:
    (directory / "test_plain.py").write_text(PLAIN_TEST)
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rs", str(directory), *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
        cwd=directory,
    )


def test_plugin_is_loaded_but_inert_without_the_option(tmp_path: Path) -> None:
    done = run_pytest(tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 passed" in done.stdout and "care-conformance" not in done.stdout
    helped = subprocess.run(
        [sys.executable, "-m", "pytest", "--help"],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
        cwd=tmp_path,
    )
    assert "--care-base-url" in helped.stdout


def test_plugin_import_is_cheap() -> None:
    code = "import sys, conformance.pytest_plugin; print(sorted(m for m in ('schemathesis','httpx','rich','openapi_core') if m in sys.modules))"
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.strip() == "[]"


def test_plugin_runs_the_kit_as_items(tmp_path: Path, toy_url: str) -> None:
    done = run_pytest(
        tmp_path,
        "--care-base-url",
        toy_url,
        "--care-api-key",
        "key-a",
        "--care-second-api-key",
        "key-b",
        "--care-spec",
        str(TOY_SPEC),
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "8 passed" in done.stdout  # the plain test, <spec> and the toy's six operations
    assert "no sandbox controls" in done.stdout


def test_plugin_reports_failures_per_operation(tmp_path: Path, toy_url: str) -> None:
    from tests.conformance.faults import FaultProxy
    from tests.conformance.servers import serve

    with serve(FaultProxy(toy_url, {"missing_rate_limit"})) as url:
        done = run_pytest(
            tmp_path, "--care-base-url", url, "--care-api-key", "key-a", "--care-spec", str(TOY_SPEC)
        )
    assert done.returncode == 1
    assert "rate_limit_headers" in done.stdout and "care-conformance: GET /healthz" in done.stdout
