"""The image, built and run for real: /healthz and a PDF from a container, and the compose stack
(PostgreSQL, migrate, sandbox, worker) delivering a signed webhook.

Slow (minutes: an image build) and needs podman, so it runs only when asked:
``CARE_SANDBOX_IMAGE_TESTS=1``, which ``.ci/run`` sets after ``.ci/image_setup`` made podman and a
registry-free base image available. Elsewhere it is skipped with that reason. Containers share the
host's network (podman's netns = "host" here), so every port is a free one chosen by the test.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.fixtures.fleet import PROJECT, free_port
from tests.mock_server.webhooks.receiver import running_receiver

pytestmark = [pytest.mark.image, pytest.mark.slow]

ENABLED = os.environ.get("CARE_SANDBOX_IMAGE_TESTS") == "1"
BASE_IMAGE = os.environ.get("CARE_SANDBOX_BASE_IMAGE", "")
POSTGRES_IMAGE = os.environ.get("CARE_SANDBOX_POSTGRES_IMAGE", "")
IMAGE = f"localhost/care-sandbox:test-{secrets.token_hex(3)}"
COMPOSE = shutil.which("podman-compose") or str(Path(sys.executable).parent / "podman-compose")

if not ENABLED:
    pytest.skip(
        "image tests run with CARE_SANDBOX_IMAGE_TESTS=1 (needs podman and a base image; .ci/run sets it up "
        "with .ci/image_setup)",
        allow_module_level=True,
    )
if shutil.which("podman") is None:
    pytest.skip("image tests need podman", allow_module_level=True)
if not BASE_IMAGE or not POSTGRES_IMAGE:
    pytest.skip(
        'image tests need CARE_SANDBOX_BASE_IMAGE and CARE_SANDBOX_POSTGRES_IMAGE: eval "$(bash .ci/image_setup)"',
        allow_module_level=True,
    )


def _podman(*args: str, timeout: float = 120, check: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(["podman", *args], capture_output=True, text=True, timeout=timeout, check=False)
    if check and done.returncode != 0:
        raise AssertionError(f"podman {' '.join(args)} failed: {done.stderr[-3000:]}")
    return done


@pytest.fixture(scope="module")
def image() -> Iterator[str]:
    """`make image` with the registry-free base, as a user without Docker Hub would run it."""
    built = subprocess.run(
        [
            "make",
            "--no-print-directory",
            "image",
            f"BASE_IMAGE={BASE_IMAGE}",
            f"IMAGE={IMAGE}",
            "ENGINE=podman",
        ],
        cwd=PROJECT,
        capture_output=True,
        text=True,
        timeout=1500,
        check=False,
    )
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    yield IMAGE
    _podman("rmi", "-f", IMAGE, check=False)


def _wait_healthy(base_url: str, container: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base_url}/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.5)
    logs = _podman("logs", container, check=False)
    raise AssertionError(f"{container} did not answer /healthz: {logs.stdout[-2000:]}{logs.stderr[-2000:]}")


def _wait_for_postgres(container: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if (
            _podman("exec", container, "pg_isready", "-U", "postgres", "-d", "care", check=False).returncode
            == 0
        ):
            return
        time.sleep(1)
    raise AssertionError(
        f"{container} never became ready: {_podman('logs', container, check=False).stderr[-2000:]}"
    )


def test_the_image_runs_as_non_root_answers_healthz_and_serves_a_pdf(image: str) -> None:
    port = free_port()
    key = "p2c_test_image" + secrets.token_hex(12)
    name = f"care-image-{secrets.token_hex(3)}"
    _podman(
        "run",
        "-d",
        "--name",
        name,
        "-e",
        f"CARE_SANDBOX_PORT={port}",
        "-e",
        f"CARE_SANDBOX_DEMO_API_KEY={key}",
        "-e",
        "CARE_SANDBOX_HOST=127.0.0.1",
        image,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        _wait_healthy(base, name)
        assert _podman("exec", name, "id", "-u").stdout.strip() != "0"
        health = _podman("healthcheck", "run", name, check=False)
        assert health.returncode == 0, health.stdout + health.stderr  # the image's own HEALTHCHECK
        with httpx.Client(base_url=base, headers={"X-API-Key": key}, timeout=60) as client:
            patients = client.get("/v1/patients", params={"per_page": 100})
            assert patients.status_code == 200 and patients.json()["data"], patients.text
            patient = next(
                p["id"] for p in patients.json()["data"] if "reports:read" in p["consent"]["scopes"]
            )
            pdf = client.get(f"/v1/patients/{patient}/reports/pdf", params={"lang": "de"})
        assert pdf.status_code == 200, pdf.text[:500]
        assert pdf.headers["content-type"].startswith("application/pdf")
        assert pdf.content.startswith(b"%PDF-") and len(pdf.content) > 5_000
    finally:
        _podman("rm", "-f", name, check=False)


def test_the_compose_stack_comes_up_on_postgresql_and_its_worker_delivers_a_webhook(image: str) -> None:
    project = f"care-test-{secrets.token_hex(3)}"
    port, pg_port = free_port(), free_port()
    key = "p2c_test_compose" + secrets.token_hex(12)
    env = {
        **os.environ,
        "SANDBOX_IMAGE": image,
        "POSTGRES_IMAGE": POSTGRES_IMAGE,
        "SANDBOX_PORT": str(port),
        "POSTGRES_PORT": str(pg_port),
        "DEMO_API_KEY": key,
        # the test's receiver listens on the host's loopback (host network): the documented opt-in
        "ALLOW_PRIVATE_WEBHOOK_TARGETS": "true",
    }
    files = ["-f", str(PROJECT / "docker/compose.yaml"), "-f", str(PROJECT / "docker/compose.host.yaml")]
    compose = [COMPOSE, "-p", project, *files]

    def run(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*compose, *args], env=env, capture_output=True, text=True, timeout=timeout, check=False
        )

    def ok(done: subprocess.CompletedProcess[str]) -> None:
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]

    # The order compose.yaml's depends_on conditions describe, step by step: podman 4.3 (Debian
    # bookworm) cannot wait for service_healthy / service_completed_successfully itself.
    try:
        ok(run("up", "-d", "--no-deps", "postgres"))
        _wait_for_postgres(f"{project}_postgres_1")
        ok(run("run", "--rm", "--no-deps", "migrate"))
        ok(run("up", "-d", "--no-deps", "sandbox", "worker"))
        base = f"http://127.0.0.1:{port}"
        _wait_healthy(base, f"{project}_sandbox_1", timeout=180)
        with (
            running_receiver() as receiver,
            httpx.Client(base_url=base, headers={"X-API-Key": key}, timeout=30) as client,
        ):
            hook = client.post("/v1/webhooks", json={"url": receiver.url, "events": ["consent.granted"]})
            assert hook.status_code == 201, hook.text
            patient = client.post("/v1/sandbox/patients", json={"history_days": 7})
            assert patient.status_code == 201, patient.text
            request = client.post(
                "/v1/link-requests", json={"patient_email": patient.json()["email"], "scopes": ["pain:read"]}
            )
            assert request.status_code == 201, request.text
            accepted = client.post(f"/v1/sandbox/link-requests/{request.json()['request_id']}/accept")
            assert accepted.status_code == 200, accepted.text
            # the sandbox runs --no-dispatcher: only the worker container can have delivered this
            delivered = receiver.wait_for(1, timeout=60)[0]
        assert b'"consent.granted"' in delivered.body
        assert delivered.headers["x-p2c-signature"].startswith("sha256=")
        assert delivered.headers["webhook-signature"].startswith("v1,")
    finally:
        logs = run("logs", timeout=60)
        down = run("down", "-v", timeout=180)
        if down.returncode != 0:
            print(down.stderr[-2000:])
        print(logs.stdout[-4000:])
