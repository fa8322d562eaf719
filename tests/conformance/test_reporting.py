"""Reports in every format, and the conformance score they all carry."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from conformance.errors import KitError
from conformance.reporting import write_reports
from conformance.results import Collector, Outcome, RunReport
from conformance.score import compute


def sample_report() -> RunReport:
    collector = Collector()
    collector.passed("GET /v1/patients", "not_a_server_error", 40)
    collector.passed("GET /v1/patients", "rate_limit_headers", 40)
    collector.failed(
        "GET /v1/patients/{patient_id}",
        "response_schema_conformance",
        "[response_schema_conformance] Received: <script>alert(1)</script>\nDocumented: Patient",
        code="ST108",
        reproduce="curl -X GET http://t/v1/patients/x",
    )
    collector.passed("GET /v1/patients/{patient_id}", "request_id_header")
    collector.skipped("scenario: consent lifecycle", "consent_lifecycle", "no sandbox controls")
    return RunReport(
        target="http://t",
        spec="openapi.yaml",
        profile="quick",
        seed=7,
        started_at="2026-01-01T00:00:00Z",
        duration=1.5,
        operations=["GET /v1/patients", "GET /v1/patients/{patient_id}", "POST /v1/x"],
        results=collector.results(),
        notes=["a note"],
    )


def test_score_weights_coverage_and_index() -> None:
    report = sample_report()
    scores = compute(report.results, report.operations)
    # weights: not_a_server_error 3, rate_limit_headers 1, response_schema_conformance 3, request_id_header 1
    assert scores.overall.value == pytest.approx(100 * 5 / 8)
    assert scores.per_operation["GET /v1/patients"].value == 100.0
    assert scores.per_check["response_schema_conformance"].failed == 1
    assert scores.per_check["consent_lifecycle"].skipped == 1
    assert (scores.exercised, scores.selected) == (2, 3)
    assert scores.index == pytest.approx(scores.overall.value * 2 / 3)


def test_outcome_folds_many_executions() -> None:
    collector = Collector()
    for _ in range(3):
        collector.passed("op", "c")
    collector.failed("op", "c", "m")
    collector.failed("op", "c", "m")
    (result,) = collector.results()
    assert (result.outcome, result.passed, result.failed, result.messages) == (Outcome.FAILED, 3, 2, ["m"])


def test_every_format_is_written(tmp_path: Path) -> None:
    report = sample_report()
    targets = {fmt: tmp_path / "deep" / f"report.{fmt}" for fmt in ("junit", "json", "markdown", "html")}
    assert write_reports(report, targets) == list(targets.values())
    suites = ET.parse(targets["junit"]).getroot()
    assert suites.get("failures") == "1" and suites.get("skipped") == "1"
    failure = suites.find(".//testcase[@name='response_schema_conformance']/failure")
    assert failure is not None and failure.get("type") == "ST108" and "curl" in (failure.text or "")
    data = json.loads(targets["json"].read_text())
    assert data["conforms"] is False and data["score"]["coverage"] == pytest.approx(66.7)
    assert data["score"]["per_check"]["response_schema_conformance"]["failed"] == 1
    markdown = targets["markdown"].read_text()
    assert "## Failures" in markdown and "| `GET /v1/patients` | 100.0 |" in markdown
    html = targets["html"].read_text()
    assert "<script>alert" not in html and "&lt;script&gt;" in html and "conformance index" in html


def test_unwritable_report_is_a_kit_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(KitError, match="Cannot write"):
        write_reports(sample_report(), {"json": blocker / "r.json"})
