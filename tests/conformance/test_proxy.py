"""`care-conformance proxy`: clean traffic through it passes, each broken exchange is reported once.

In-process tests put `ValidatingProxy` on a loopback port in front of the real sandbox (or of a
`FaultProxy` breaking it) and drive it with a plain httpx client, as a partner's client would. One test
runs the real CLI in a subprocess to prove the SIGTERM → reports → exit code path.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from conformance.proxy import ValidatingProxy
from conformance.spec import Spec
from tests.conformance.faults import FaultProxy
from tests.conformance.har_schema import har_errors
from tests.conformance.servers import serve
from tests.fixtures.sandbox import RunningSandbox, running_sandbox

# fault -> the one check the proxy must report for a GET /v1/patients through it
BROKEN = {
    "drop_required_field": "independent_response_validation",
    "undocumented_status": "status_code_conformance",
    "missing_request_id": "request_id_header",
}


@pytest.fixture(scope="module")
def own_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSandbox]:
    with running_sandbox(tmp_path_factory.mktemp("proxy-sandbox")) as running:
        yield running


def traffic(base_url: str, api_key: str) -> list[httpx.Response]:
    """What an integrating client does: list, read, page, link, download a PDF; plus one bad request."""
    with httpx.Client(base_url=base_url, headers={"X-API-Key": api_key}, timeout=30) as client:
        answers = [client.get("/v1/patients", params={"per_page": 100})]
        patient = next(
            item["id"]
            for item in answers[0].json()["data"]
            if {"pain:read", "reports:read"} <= set(item["consent"].get("scopes") or [])
            and item["consent"].get("status") == "active"
        )
        answers += [
            client.get(f"/v1/patients/{patient}"),
            client.get(f"/v1/patients/{patient}/pain-entries", params={"page": 2, "per_page": 5}),
            client.get(f"/v1/patients/{patient}/reports/pdf", params={"lang": "fi"}),
            client.get("/v1/patients/p2c_anon_000000000000"),
            client.get("/v1/webhooks"),
        ]
    return answers


def test_clean_traffic_has_no_violation_and_pdf_passes_untouched(own_sandbox: RunningSandbox) -> None:
    lines: list[str] = []
    proxy = ValidatingProxy(own_sandbox.base_url, Spec.load(), printer=lines.append)
    with serve(proxy) as url:
        answers = traffic(url, own_sandbox.api_key)
        health = httpx.get(f"{url}/healthz")
    assert [a.status_code for a in answers] == [200, 200, 200, 200, 404, 200]
    pdf = answers[3]
    assert pdf.content.startswith(b"%PDF") and int(pdf.headers["content-length"]) == len(pdf.content)
    assert lines == []
    assert proxy.judge.violations == 0
    assert health.json()["upstream"] == own_sandbox.base_url  # answered by the proxy itself
    report = proxy.report()
    assert report.conforms and proxy.exchanges == len(answers)
    judged = {r.check for r in report.results if r.passed}
    assert {
        "independent_request_validation",
        "independent_response_validation",
        "request_id_header",
        "rate_limit_headers",
        "error_envelope",
        "pagination_invariants",
    } <= judged


@pytest.mark.parametrize("fault", sorted(BROKEN))
def test_each_broken_exchange_is_reported_once(own_sandbox: RunningSandbox, fault: str) -> None:
    lines: list[str] = []
    broken = FaultProxy(own_sandbox.base_url, {fault}, primary_key=own_sandbox.api_key)
    with serve(broken) as upstream:
        proxy = ValidatingProxy(upstream, Spec.load(), printer=lines.append)
        with serve(proxy) as url:
            answer = httpx.get(f"{url}/v1/patients", headers={"X-API-Key": own_sandbox.api_key})
    expected = BROKEN[fault]
    assert len(lines) == 1, lines
    line = lines[0]
    assert line.startswith("VIOLATION ") and f"[{expected}]" in line and "GET /v1/patients" in line
    request_id = answer.headers.get("x-request-id") or "proxy-000001"
    assert line.split()[1] == request_id
    assert {r.check for r in proxy.report().failures} == {expected}


def _start_cli(upstream: str, reports: str, tmp_path: Path) -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "conformance",
            "proxy",
            "--upstream",
            upstream,
            "--port",
            "0",
            "--report",
            reports,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert process.stdout is not None
    first = process.stdout.readline()
    assert "listening on" in first, first + (process.stderr.read() if process.stderr else "")
    url = first.split("listening on ", 1)[1].split(" ", 1)[0]
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            time.sleep(0.05)
    return process, url


def _stop(process: subprocess.Popen[str]) -> tuple[int, str, str]:
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=30)
    return process.returncode, out, err


def test_cli_writes_every_report_on_sigterm_and_exits_by_verdict(
    own_sandbox: RunningSandbox, tmp_path: Path
) -> None:
    formats = ("junit", "json", "html", "har")
    clean = {name: tmp_path / f"clean.{name}" for name in formats}
    process, url = _start_cli(own_sandbox.base_url, ",".join(f"{k}={v}" for k, v in clean.items()), tmp_path)
    traffic(url, own_sandbox.api_key)
    code, out, err = _stop(process)
    assert code == 0, out + err
    assert "Traceback" not in err and "VIOLATION" not in out
    assert all(path.stat().st_size > 0 for path in clean.values())
    har = json.loads(clean["har"].read_text())
    assert har_errors(har) == []
    assert len(har["log"]["entries"]) == 6
    assert own_sandbox.api_key not in clean["har"].read_text()

    broken = FaultProxy(own_sandbox.base_url, {"undocumented_status"}, primary_key=own_sandbox.api_key)
    with serve(broken) as upstream:
        reports = tmp_path / "broken.json"
        process, url = _start_cli(upstream, f"json={reports}", tmp_path)
        httpx.get(f"{url}/v1/patients", headers={"X-API-Key": own_sandbox.api_key})
        code, out, err = _stop(process)
    assert code == 1, out + err
    assert sum(line.startswith("VIOLATION") for line in out.splitlines()) == 1
    assert json.loads(reports.read_text())["conforms"] is False


PDF_CHUNKS = [b"%PDF-1.7\n", bytes(range(256)) * 64, b"\n%%EOF\n"]


async def streaming_upstream(scope: Any, receive: Any, send: Any) -> None:
    """An upstream that streams a PDF in chunks and an event stream, as a real server may."""
    if scope["type"] != "http":
        return
    media = b"application/pdf" if scope["path"].endswith("/pdf") else b"text/event-stream"
    headers = [
        (b"content-type", media),
        (b"content-disposition", b'attachment; filename="report.pdf"'),
        (b"x-request-id", b"req_stream"),
        (b"x-ratelimit-limit", b"100"),
        (b"x-ratelimit-remaining", b"99"),
        (b"x-ratelimit-reset", b"60"),
    ]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    for chunk in PDF_CHUNKS:
        await send({"type": "http.response.body", "body": chunk, "more_body": True})
    await send({"type": "http.response.body", "body": b""})


def test_pdfs_and_streams_pass_through_byte_for_byte() -> None:
    lines: list[str] = []
    with serve(streaming_upstream) as upstream:
        proxy = ValidatingProxy(upstream, Spec.load(), printer=lines.append)
        with serve(proxy) as url:
            pdf = httpx.get(
                f"{url}/v1/patients/p2c_anon_000000000000/reports/pdf", headers={"X-API-Key": "k"}
            )
            direct = httpx.get(f"{upstream}/v1/patients/p2c_anon_000000000000/reports/pdf")
            events = httpx.get(f"{url}/v1/events/stream")
    assert pdf.content == direct.content == b"".join(PDF_CHUNKS)
    assert pdf.headers["content-disposition"] == direct.headers["content-disposition"]
    assert events.content == b"".join(PDF_CHUNKS)
    # only status and headers are judged on streamed bodies: the PDF exchange passes them
    assert not any("reports/pdf" in line for line in lines), lines
