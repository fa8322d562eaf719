"""docker/ stays honest on every machine: its commands are real, and they run outside containers.

These fast checks run everywhere: the compose file's services run exactly the ``care-sandbox`` command
lines they name (against PostgreSQL, as in compose), the image's healthcheck command passes against a
running server, and every ``CARE_SANDBOX_*`` variable the files set is a real setting. The image itself
is built and run by ``tests/test_image.py`` where podman is available (``.ci/run``).
"""

from __future__ import annotations

import dataclasses
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from mock_server.settings import Settings
from tests.fixtures.databases import isolated_postgres_schema, postgres_url
from tests.fixtures.fleet import PROJECT, cli, fleet_env, free_port, stop, wait_healthy

DOCKER = PROJECT / "docker"
COMPOSE = yaml.safe_load((DOCKER / "compose.yaml").read_text())
DOCKERFILE = (DOCKER / "Dockerfile").read_text()


def _healthcheck_command() -> list[str]:
    match = re.search(r"HEALTHCHECK[^\n]*\\\n\s*CMD (\[.*\])", DOCKERFILE)
    assert match, "the Dockerfile has a HEALTHCHECK with an exec-form CMD"
    return list(yaml.safe_load(match.group(1)))


def test_dockerfile_is_multi_stage_non_root_with_a_healthcheck() -> None:
    assert len(re.findall(r"^FROM ", DOCKERFILE, re.M)) == 2
    assert re.search(r"^ARG BASE_IMAGE=", DOCKERFILE, re.M), "the base is a build argument"
    assert all(line.startswith("FROM ${BASE_IMAGE}") for line in re.findall(r"^FROM .*", DOCKERFILE, re.M))
    assert "uv.lock" in DOCKERFILE and "--frozen" in DOCKERFILE, "the image installs from the lock"
    user = re.findall(r"^USER (\S+)", DOCKERFILE, re.M)
    assert user and user[-1] not in {"root", "0"}
    assert "/healthz" in " ".join(_healthcheck_command())
    assert "/healthz:" in (PROJECT / "openapi.yaml").read_text()


def test_every_care_sandbox_variable_is_a_setting() -> None:
    known = {f"CARE_SANDBOX_{f.name.upper()}" for f in dataclasses.fields(Settings)}
    named = set(re.findall(r"CARE_SANDBOX_[A-Z_]+", DOCKERFILE + (DOCKER / "compose.yaml").read_text()))
    assert named and named <= known, named - known


def test_services_depend_on_services_that_exist_and_migrate_runs_first() -> None:
    services = COMPOSE["services"]
    for name, service in services.items():
        for needed in service.get("depends_on", {}):
            assert needed in services, f"{name} depends on unknown {needed}"
    for name in ("sandbox", "worker"):
        assert services[name]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"


@pytest.fixture
def compose_database() -> Iterator[str]:
    url = postgres_url()
    if url is None:
        pytest.skip("compose runs on PostgreSQL; set CARE_SANDBOX_TEST_DATABASE_URL")
    with isolated_postgres_schema(url) as isolated:
        yield isolated


def _command(service: str, database_url: str, port: int) -> list[str]:
    argv = list(COMPOSE["services"][service]["command"])
    assert argv[0] == "care-sandbox"
    argv = cli(*argv[1:])
    if "--port" in argv:
        argv[argv.index("--port") + 1] = str(port)
    if "--host" in argv:
        argv[argv.index("--host") + 1] = "127.0.0.1"
    return [*argv, "--database-url", database_url]


def test_compose_commands_run_outside_containers(compose_database: str, tmp_path: Path) -> None:
    env = fleet_env()
    migrated = subprocess.run(
        _command("migrate", compose_database, 0), env=env, capture_output=True, check=False
    )
    assert migrated.returncode == 0, migrated.stderr.decode()

    port = free_port()
    log = (tmp_path / "sandbox.log").open("wb")  # the sandbox's and the worker's output
    sandbox = subprocess.Popen(_command("sandbox", compose_database, port), env=env, stdout=log, stderr=log)
    worker = subprocess.Popen(_command("worker", compose_database, port), env=env, stdout=log, stderr=log)
    try:
        wait_healthy(f"http://127.0.0.1:{port}", sandbox, tmp_path / "sandbox.log")
        check = [arg.replace("8080", str(port)) for arg in _healthcheck_command()]
        assert check[0] == "python"
        probe = subprocess.run([sys.executable, *check[1:]], capture_output=True, check=False)
        assert probe.returncode == 0, probe.stderr.decode()
        time.sleep(1.0)
        assert worker.poll() is None, (tmp_path / "sandbox.log").read_text(errors="replace")[-2000:]
    finally:
        worker_code = stop(worker)
        sandbox_code = stop(sandbox)
        log.close()
    assert worker_code == 0 and sandbox_code == 0
