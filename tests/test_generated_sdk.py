"""The SDK integrators generate: ``openapi-python-client generate --path openapi.yaml`` builds a client
with no error and no warning, covering every operation, and that client works against a sandbox."""

from __future__ import annotations

import importlib
import os
import re
import subprocess
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
import yaml

from tests.fixtures.sandbox import RunningSandbox

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "pain_2_care_partner_api_care_sandbox_client"


@pytest.fixture(scope="module")
def sdk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    out = tmp_path_factory.mktemp("sdk") / "client"
    bin_dir = str(Path(sys.executable).parent)  # the generator runs ruff from PATH on its output
    result = subprocess.run(
        [
            str(Path(bin_dir) / "openapi-python-client"),
            "generate",
            "--path",
            str(ROOT / "openapi.yaml"),
            "--output-path",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PATH": bin_dir + os.pathsep + os.environ.get("PATH", "")},
    )
    yield out, result.stdout + result.stderr
    assert result.returncode == 0, result.stdout + result.stderr


def _import(out: Path, name: str) -> ModuleType:
    if str(out) not in sys.path:
        sys.path.insert(0, str(out))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return importlib.import_module(f"{PACKAGE}.{name}")


def test_generation_has_no_error_and_no_warning(sdk: tuple[Path, str]) -> None:
    out, log = sdk
    assert (out / PACKAGE / "client.py").exists(), log
    assert "warning" not in log.lower() and "error" not in log.lower(), log


def test_every_operation_is_in_the_client(sdk: tuple[Path, str]) -> None:
    out, _ = sdk
    document = yaml.safe_load((ROOT / "openapi.yaml").read_text())
    expected = {
        re.sub(r"[^a-z0-9]+", "_", op["operationId"].lower())
        for item in document["paths"].values()
        for op in item.values()
        if isinstance(op, dict) and "operationId" in op
    }
    generated = {p.stem for p in (out / PACKAGE / "api").glob("*/*.py") if p.stem != "__init__"}
    assert generated == expected
    # nothing silently dropped: every documented response of the timeline and the PDFs is parsed
    timeline = (out / PACKAGE / "api" / "timeline" / "timeline_search.py").read_text()
    assert "TimelineList.from_dict" in timeline
    for module in ("reports_pdf", "reports_download"):
        source = (out / PACKAGE / "api" / "reports" / f"{module}.py").read_text()
        assert "File(payload=BytesIO(response.content))" in source, module


def test_the_generated_client_reads_the_sandbox(sdk: tuple[Path, str], sandbox: RunningSandbox) -> None:
    out, _ = sdk
    client_mod = _import(out, "client")
    patients_search = _import(out, "api.patients.patients_search")
    pain_search = _import(out, "api.pain_entries.pain_entries_search")
    timeline_search = _import(out, "api.timeline.timeline_search")
    reports_pdf = _import(out, "api.reports.reports_pdf")
    client = client_mod.AuthenticatedClient(
        base_url=sandbox.base_url,
        token=sandbox.api_key,
        prefix="",
        auth_header_name="X-API-Key",
        raise_on_unexpected_status=True,
    )
    with client as c:
        patients = patients_search.sync(client=c, per_page=100)
        assert patients.pagination.total >= 1 and patients.data
        needed = {"pain:read", "reports:read"}  # whatever other tests did to the shared sandbox's consents
        patient = next(
            p
            for p in patients.data
            if str(p.consent.status) == "active" and needed <= {str(s) for s in p.consent.scopes}
        )
        entries = pain_search.sync(patient.id, client=c, per_page=5)
        assert entries.data and all(0 <= e.pain_level <= 10 for e in entries.data)
        timeline = timeline_search.sync(patient.id, client=c, per_page=50)
        kinds = {type(item).__name__ for item in timeline.data}
        assert kinds and kinds <= {"TimelinePainEntry", "TimelineWellbeing", "TimelineVital"}
        times = [item.at for item in timeline.data]
        # in time order (the server pages newest first while the contract says oldest first: reported)
        assert times in (sorted(times), sorted(times, reverse=True))
        pdf = reports_pdf.sync(patient.id, client=c)
        assert not hasattr(pdf, "error"), pdf.error
        assert pdf.payload.read(5) == b"%PDF-"
