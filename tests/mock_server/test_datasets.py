"""Loading care-synth datasets into a workspace: the API serves exactly the dataset's patients and
records (NDJSON, Parquet, SQLite); a malformed dataset is refused naming file and row, and leaves the
database unchanged; the CLI creates a workspace from a dataset."""

from __future__ import annotations

import multiprocessing
import shutil
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from mock_server.bootstrap import create_workspace
from mock_server.cli import main as sandbox_cli
from mock_server.datasets import DatasetLoadError, load_dataset
from mock_server.storage import records as records_mod
from mock_server.storage.patients import PatientRepo
from mock_server.storage.workspaces import WorkspaceRepo
from tests.fixtures.datasets import make_datasets
from tests.fixtures.sandbox import RunningSandbox

START = date(2026, 1, 10)
DAYS = 20
PATIENTS = 9
ENDPOINTS = {"pain_entries": "pain-entries", "wellbeing": "wellbeing", "gauges": "gauges", "vitals": "vitals"}


@pytest.fixture(scope="module")
def datasets(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return make_datasets(
        tmp_path_factory.mktemp("datasets"), patients=PATIENTS, days=DAYS, seed=17, start=START
    )


def _expected_counts(ndjson: Path) -> dict[str, Counter[str]]:
    counts: dict[str, Counter[str]] = {}
    for series in ENDPOINTS:
        lines = (ndjson / f"{series}.ndjson").read_bytes().splitlines()
        counts[series] = Counter(orjson.loads(line)["patient_id"] for line in lines)
    return counts


def _total(client: Any, path: str) -> int:
    response = client.get(path, params={"per_page": 1})
    assert response.status_code == 200, response.text
    return int(response.json()["pagination"]["total"])


def _new_workspace(sandbox: RunningSandbox, name: str) -> Any:
    return create_workspace(sandbox.settings, sandbox.services.storage, name, seed_patients=False)


@pytest.mark.parametrize(
    ("fmt", "reader"),
    [("ndjson", "inline"), ("parquet", "inline"), ("sqlite", "inline"), ("parquet", "process")],
)
def test_the_api_serves_the_loaded_dataset(
    sandbox_factory: Any, datasets: dict[str, Path], fmt: str, reader: str
) -> None:
    """Inline is what "auto" picks for a dataset this small; "process" is what it picks for a large one."""
    sandbox = sandbox_factory()
    made = _new_workspace(sandbox, f"loaded-{fmt}-{reader}")
    report = load_dataset(sandbox.services, made.workspace, datasets[fmt], consent="granted", reader=reader)
    expected = _expected_counts(datasets["ndjson"])
    assert report.patients == PATIENTS
    assert report.counts == {series: sum(c.values()) for series, c in expected.items()}
    with sandbox.client(made.api_key) as client:
        listed = client.get("/v1/patients", params={"per_page": 100}).json()
        assert listed["pagination"]["total"] == PATIENTS
        assert {p["id"] for p in listed["data"]} == set(report.patient_ids.values())
        for dataset_id, api_id in report.patient_ids.items():
            for series, endpoint in ENDPOINTS.items():
                got = _total(client, f"/v1/patients/{api_id}/{endpoint}")
                assert got == expected[series][dataset_id], (fmt, series, dataset_id)
        # one patient's pain entries, as bodies, are the dataset's records
        dataset_id, api_id = next(iter(report.patient_ids.items()))
        served = client.get(f"/v1/patients/{api_id}/pain-entries", params={"per_page": 100}).json()["data"]
        lines = (datasets["ndjson"] / "pain_entries.ndjson").read_bytes().splitlines()
        mine = [orjson.loads(x) for x in lines if orjson.loads(x)["patient_id"] == dataset_id]
        by_id = {e["id"]: e for e in served}
        for record in mine[: len(served)]:
            record.pop("patient_id")
            if fmt != "sqlite":  # SQLite keeps no order of a pain entry's areas
                assert by_id.get(record["id"], record) == record
        clock = client.get("/v1/sandbox/clock").json()
        now = datetime.fromisoformat(clock["now"].replace("Z", "+00:00"))
        assert abs((now - datetime(2026, 1, 30, tzinfo=now.tzinfo)).total_seconds()) < 120
        fhir = client.get(
            "/fhir/r4/Observation", params={"patient": next(iter(report.patient_ids.values())), "_count": 5}
        )
        assert fhir.status_code == 200 and fhir.json()["resourceType"] == "Bundle"
        assert fhir.json()["total"] > 0
        analysis = client.get(f"/v1/patients/{api_id}/analysis")  # the reports' pattern analysis
        assert analysis.status_code == 200, analysis.text
        timeline = client.get(f"/v1/patients/{api_id}/timeline", params={"per_page": 5})
        assert timeline.status_code == 200 and timeline.json()["pagination"]["total"] > 0
        advanced = client.post("/v1/sandbox/clock/advance", json={"days": 1})
        assert advanced.status_code == 200, advanced.text
        assert advanced.json()["generated"]["pain_entries"] > 0  # the series go on from the generator


def test_pending_consent_leaves_patients_unlisted_until_accepted(
    sandbox_factory: Any, datasets: dict[str, Path]
) -> None:
    sandbox = sandbox_factory()
    made = _new_workspace(sandbox, "pending")
    load_dataset(sandbox.services, made.workspace, datasets["ndjson"], consent="pending")
    with sandbox.client(made.api_key) as client:
        assert client.get("/v1/patients").json()["pagination"]["total"] == 0
        pending = client.get("/v1/link-requests", params={"status": "pending", "per_page": 100}).json()
        assert pending["pagination"]["total"] == PATIENTS


def _database_state(sandbox: RunningSandbox, workspace_id: str) -> tuple[int, float]:
    found = WorkspaceRepo(sandbox.services.storage).get(workspace_id)
    assert found is not None
    return PatientRepo(sandbox.services.storage).count(workspace_id), found.clock_offset_seconds


def _corrupt_ndjson(source: Path, target: Path, series: str, line: int, change: dict[str, Any]) -> None:
    shutil.copytree(source, target)
    path = target / f"{series}.ndjson"
    lines = path.read_bytes().splitlines()
    record = orjson.loads(lines[line - 1]) | change
    lines[line - 1] = orjson.dumps(record)
    path.write_bytes(b"\n".join(lines) + b"\n")


@pytest.mark.parametrize(
    ("series", "line", "change", "needle"),
    [
        ("vitals", 7, {"metric": "mood_ring"}, "vitals.ndjson row 7: as a VitalReading, metric"),
        ("pain_entries", 3, {"pain_level": 11}, "pain_entries.ndjson row 3: as a PainEntry, pain_level"),
        ("wellbeing", 2, {"patient_id": "p2c_anon_nobody"}, "wellbeing.ndjson row 2: patient_id"),
        ("patients", 4, {"locale": "klingon"}, "patients.ndjson row 4: as a SandboxPatient, locale"),
    ],
)
def test_a_malformed_dataset_is_refused_naming_file_and_row(
    sandbox_factory: Any,
    datasets: dict[str, Path],
    tmp_path: Path,
    series: str,
    line: int,
    change: dict[str, Any],
    needle: str,
) -> None:
    sandbox = sandbox_factory()
    made = _new_workspace(sandbox, "refused")
    bad = tmp_path / "bad"
    _corrupt_ndjson(datasets["ndjson"], bad, series, line, change)
    before = _database_state(sandbox, made.workspace.id)
    with pytest.raises(DatasetLoadError, match=needle.replace("(", r"\(")):
        load_dataset(sandbox.services, made.workspace, bad)
    assert _database_state(sandbox, made.workspace.id) == before


@pytest.mark.parametrize("reader", ["inline", "process"])
def test_a_malformed_parquet_row_is_named(
    sandbox_factory: Any, datasets: dict[str, Path], tmp_path: Path, reader: str
) -> None:
    sandbox = sandbox_factory()
    made = _new_workspace(sandbox, f"refused-parquet-{reader}")
    bad = tmp_path / "bad-parquet"
    shutil.copytree(datasets["parquet"], bad)
    part = bad / "gauges" / "part-000000000.parquet"
    table = pq.read_table(part)
    values = table.column("value").to_pylist()
    values[4] = 999  # outside every gauge's scale
    table = table.set_column(table.schema.get_field_index("value"), "value", pa.array(values, pa.int16()))
    pq.write_table(table, part)
    with pytest.raises(DatasetLoadError, match=r"gauges/part-000000000\.parquet row 5: as a Gauge, value"):
        load_dataset(sandbox.services, made.workspace, bad, reader=reader)
    assert _database_state(sandbox, made.workspace.id) == (0, 0.0)


@pytest.mark.parametrize("reader", ["inline", "process"])
def test_a_failure_while_writing_rolls_everything_back(
    sandbox_factory: Any, datasets: dict[str, Path], monkeypatch: pytest.MonkeyPatch, reader: str
) -> None:
    sandbox = sandbox_factory()
    made = _new_workspace(sandbox, f"rolled-back-{reader}")
    real, calls = records_mod.insert_rows, []

    def failing(conn: Any, rows: list[dict[str, Any]]) -> int:
        calls.append(len(rows))
        if len(calls) == 3:
            raise OSError("disk full")
        return real(conn, rows)

    monkeypatch.setattr(records_mod, "insert_rows", failing)
    with pytest.raises(OSError, match="disk full"):
        load_dataset(sandbox.services, made.workspace, datasets["ndjson"], reader=reader)
    assert _database_state(sandbox, made.workspace.id) == (0, 0.0)
    assert not [p for p in multiprocessing.active_children() if p.name == "care-dataset-reader"]
    with sandbox.client(made.api_key) as client:
        assert client.get("/v1/patients").json()["pagination"]["total"] == 0


def test_loading_twice_is_refused(sandbox_factory: Any, datasets: dict[str, Path]) -> None:
    sandbox = sandbox_factory()
    made = _new_workspace(sandbox, "twice")
    load_dataset(sandbox.services, made.workspace, datasets["parquet"])
    state = _database_state(sandbox, made.workspace.id)
    with pytest.raises(
        DatasetLoadError, match=r"patients/part-0+\.parquet row 1: .* already a patient of this"
    ):
        load_dataset(sandbox.services, made.workspace, datasets["parquet"])
    assert _database_state(sandbox, made.workspace.id) == state


def test_a_workspace_with_patients_keeps_its_clock_and_refuses_a_dataset_ending_elsewhere(
    sandbox_factory: Any, datasets: dict[str, Path], tmp_path: Path
) -> None:
    """Loading into a seeded workspace moved its clock to the dataset's end (months back), putting the
    seeded patients' consents and data in the future."""
    sandbox = sandbox_factory()
    made = create_workspace(sandbox.settings, sandbox.services.storage, "seeded")  # seeded, clock at now
    before = _database_state(sandbox, made.workspace.id)
    with pytest.raises(
        DatasetLoadError, match=r"test clock is at .* but the dataset ends at 2026-01-30"
    ) as err:
        load_dataset(sandbox.services, made.workspace, datasets["ndjson"])
    assert f"--days {DAYS} --start " in str(err.value)  # how to generate one that fits
    assert _database_state(sandbox, made.workspace.id) == before

    today = datetime.now(UTC).date()
    fitting = make_datasets(tmp_path, patients=2, days=DAYS, seed=5, start=today - timedelta(days=DAYS))
    report = load_dataset(sandbox.services, made.workspace, fitting["parquet"])
    assert report.patients == 2 and report.clock[:10] == today.isoformat()  # the kept clock, said
    count, offset = _database_state(sandbox, made.workspace.id)
    assert count == before[0] + 2 and offset == before[1]  # the seeded patients' clock stays


def test_cli_create_with_dataset_and_load(tmp_path: Path, datasets: dict[str, Path]) -> None:
    url = f"sqlite:///{tmp_path / 'cli.sqlite3'}"
    runner = CliRunner()
    created = runner.invoke(
        sandbox_cli,
        ["workspace", "create", "qa", "--dataset", str(datasets["sqlite"]), "--database-url", url],
    )
    assert created.exit_code == 0, created.stderr
    assert "api_key=" in created.stdout and f"loaded {PATIENTS} patients" in created.stderr
    bad = tmp_path / "bad"
    _corrupt_ndjson(datasets["ndjson"], bad, "gauges", 5, {"gauge_type": "luck"})
    refused = runner.invoke(
        sandbox_cli, ["workspace", "create", "qa-bad", "--dataset", str(bad), "--database-url", url]
    )
    assert refused.exit_code == 1
    assert refused.stderr.strip().splitlines() == [refused.stderr.strip()]
    assert "gauges.ndjson row 5" in refused.stderr and "Traceback" not in refused.stderr
    listed = runner.invoke(sandbox_cli, ["workspace", "list", "--database-url", url])
    assert "qa-bad" not in listed.stdout  # validated before the workspace was created
    loaded = runner.invoke(
        sandbox_cli,
        ["workspace", "load", "qa", str(datasets["ndjson"]), "--consent", "none", "--database-url", url],
    )
    assert loaded.exit_code == 1 and "already a patient" in loaded.stderr  # same people as the SQLite one


def test_load_on_each_backend(database_url: str, datasets: dict[str, Path]) -> None:
    """The bulk insert speaks each driver's parameter style (SQLite `?`, psycopg `%s`)."""
    from mock_server.app import build_services
    from mock_server.settings import Settings
    from mock_server.storage.records import RecordFilter, RecordRepo

    settings = Settings(database_url=database_url, demo=False)
    services = build_services(settings)
    try:
        made = create_workspace(settings, services.storage, "backend", seed_patients=False)
        report = load_dataset(services, made.workspace, datasets["parquet"], consent="none")
        expected = _expected_counts(datasets["ndjson"])
        rows = {r.anon_id: r for r in PatientRepo(services.storage).all(made.workspace.id)}
        assert len(rows) == PATIENTS
        repo = RecordRepo(services.storage)
        for dataset_id, anon in report.patient_ids.items():
            page = repo.page(RecordFilter(rows[anon].id, ("vital",)), 1, 1)
            assert page.total == expected["vitals"][dataset_id]
    finally:
        services.storage.close()
