"""``care-sandbox serve`` as a newcomer runs it: the printed key works, on a new database and on a
restart with another ``--seed``; a port in use is one line and no key; ``--access-log``; ``--version``."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from conformance.cli import main as conformance_main
from mock_server.cli import main as sandbox_main
from synthetic_data.cli import main as synth_main

BANNER_URL = re.compile(r"care-sandbox on (http://127\.0\.0\.1:\d+)")
KEY = re.compile(r"test API key (p2c_test_\S+)")


@contextmanager
def serving(*args: str, log: Path) -> Iterator[tuple[str, str]]:
    """Run ``care-sandbox serve`` on a free port; yield (base URL, printed key) once it answers."""
    command = [sys.executable, "-m", "mock_server.cli", "serve", "--port", "0", *args]
    with log.open("w") as sink:
        process = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT)
    try:
        deadline = time.time() + 90
        url = key = None
        while time.time() < deadline and process.poll() is None:
            text = log.read_text()
            url_match, key_match = BANNER_URL.search(text), KEY.search(text)
            if url_match and key_match:
                url, key = url_match.group(1), key_match.group(1)
                try:
                    if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
            time.sleep(0.2)
        assert url and key, log.read_text()
        yield url, key
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_the_printed_key_works_on_a_new_and_an_existing_database(tmp_path: Path) -> None:
    database = f"sqlite:///{tmp_path / 'serve.sqlite3'}"
    with serving("--database-url", database, "--seed", "7", log=tmp_path / "first.log") as (url, key):
        assert httpx.get(f"{url}/v1/patients", headers={"X-API-Key": key}).status_code == 200
    with serving("--database-url", database, "--seed", "8", log=tmp_path / "again.log") as (url, again):
        assert again == key  # the stored workspace's seed decides, not today's --seed
        assert httpx.get(f"{url}/v1/patients", headers={"X-API-Key": again}).status_code == 200
    assert "this one was seeded with 7" in (tmp_path / "again.log").read_text()


def test_access_log_is_one_line_per_request_with_its_id(tmp_path: Path) -> None:
    database = f"sqlite:///{tmp_path / 'log.sqlite3'}"
    log = tmp_path / "serve.log"
    with serving("--database-url", database, "--access-log", log=log) as (url, key):
        httpx.get(f"{url}/v1/patients?per_page=2", headers={"X-API-Key": key, "X-Request-Id": "mine-123"})
        httpx.get(f"{url}/nowhere", headers={"X-Request-Id": "mine-404"})
        time.sleep(0.5)
    lines = log.read_text().splitlines()
    assert [
        line for line in lines if line.endswith(" mine-123") and '"GET /v1/patients?per_page=2" 200' in line
    ]
    assert [line for line in lines if line.endswith(" mine-404") and '"GET /nowhere" 404' in line]


def test_without_access_log_requests_are_not_logged(tmp_path: Path) -> None:
    log = tmp_path / "quiet.log"
    with serving("--database-url", f"sqlite:///{tmp_path / 'q.sqlite3'}", log=log) as (url, key):
        httpx.get(f"{url}/v1/patients", headers={"X-API-Key": key, "X-Request-Id": "quiet-1"})
        time.sleep(0.3)
    assert "quiet-1" not in log.read_text()


def test_port_in_use_is_one_line_and_no_key(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "mock_server.cli",
                "serve",
                "--port",
                str(port),
                "--database-url",
                f"sqlite:///{tmp_path / 'busy.sqlite3'}",
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode != 0
    output = (result.stdout + result.stderr).strip()
    assert output.count("\n") == 0, output
    assert f"127.0.0.1:{port}" in output and "already in use" in output
    assert "API key" not in output and "Traceback" not in output
    assert not (tmp_path / "busy.sqlite3").exists()  # nothing was created before the bind failed


@pytest.mark.parametrize(
    ("command", "name"),
    [(sandbox_main, "care-sandbox"), (synth_main, "care-synth"), (conformance_main, "care-conformance")],
)
def test_every_cli_has_version(command: object, name: str) -> None:
    result = CliRunner().invoke(command, ["--version"])  # type: ignore[arg-type]
    assert result.exit_code == 0 and re.fullmatch(rf"{name}, version \d+\.\d+\.\d+\S*\n", result.output)
