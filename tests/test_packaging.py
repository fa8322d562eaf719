"""The wheel users install carries what the tools need at run time, and says what it is.

Built here with the real build frontend (PEP 517, isolated), like `python -m build` or `uv build`:
the contract must be inside both packages that read it and byte-identical to the top-level file
(the single source), the Alembic scripts must be there, and the metadata must be complete. The full
user path — install without -e, run from another directory — is `.ci/wheel_check`.
"""

from __future__ import annotations

import email
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.fixtures.fleet import PROJECT

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    built = subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--outdir", str(out), str(PROJECT)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    (found,) = out.glob("care_sandbox-*.whl")
    return found


def test_the_wheel_carries_the_contract_byte_identical_to_the_top_level_file(wheel: Path) -> None:
    top = (PROJECT / "openapi.yaml").read_bytes()
    with zipfile.ZipFile(wheel) as archive:
        for package in ("mock_server", "conformance"):
            assert archive.read(f"{package}/openapi.yaml") == top, f"{package}/openapi.yaml differs"
        assert not [n for n in archive.namelist() if n.endswith("openapi.yaml") and "/" not in n]


def test_the_wheel_carries_the_migrations_and_type_markers(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    versions = sorted(p.name for p in (PROJECT / "mock_server/storage/migrations/versions").glob("*.py"))
    assert versions and {f"mock_server/storage/migrations/versions/{v}" for v in versions} <= names
    assert {"mock_server/storage/migrations/env.py", "mock_server/storage/migrations/script.py.mako"} <= names
    assert {f"{p}/py.typed" for p in ("mock_server", "conformance", "synthetic_data")} <= names


def test_the_wheel_metadata_is_complete(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        (meta_name,) = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
        meta = email.message_from_bytes(archive.read(meta_name))
        assert any(n.endswith(".dist-info/licenses/LICENSE") for n in archive.namelist())
    assert meta["License-Expression"] == "Apache-2.0"
    urls = dict(value.split(", ", 1) for value in meta.get_all("Project-URL"))
    assert {"Homepage", "Source", "Issues", "Changelog"} <= set(urls)
    classifiers = meta.get_all("Classifier")
    assert "Programming Language :: Python :: 3.11" in classifiers and len(classifiers) >= 8
    assert meta["Description-Content-Type"] == "text/markdown" and "care-sandbox" in meta.get_payload()
    required = {
        r.split(";")[0].split("<")[0].split(">")[0].split("[")[0].strip().lower()
        for r in meta.get_all("Requires-Dist")
        if "extra ==" not in r
    }
    assert {"alembic", "platformdirs", "h11", "certifi", "werkzeug", "uvicorn", "pytest"} <= required
