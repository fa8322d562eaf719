"""Every date, time and offset the contract admits either works or is a 4xx naming the parameter.

The cases are derived from ``openapi.yaml``: every query parameter and request-body field with
``format: date``, ``format: date-time`` or a date pattern, on every operation, gets values from the
whole range the format admits (years 0001-9999, offsets up to ±23:59, fractions), with the edges
weighted up. Never a 5xx; every non-2xx is a 4xx error body naming one of the values sent; a report job
accepted with 202 must not fail afterwards.
"""

from __future__ import annotations

import copy
import re
import time
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mock_server.handlers._period import MAX_DAYS
from tests.fixtures.sandbox import RunningSandbox, running_sandbox
from tests.mock_server.contract_walk import Operation, TemporalField, operations, temporal_fields

CASES = [(op, fields) for op in operations() if (fields := temporal_fields(op))]

EDGE_DATES = [date.min, date.max, date(1, 1, 5), date(9999, 12, 1), date(1970, 1, 1), date(2000, 2, 29)]
OFFSETS = ["Z", "+00:00", "+01:00", "-01:00", "+14:00", "-12:00", "+23:59", "-23:59"]


def _dates() -> st.SearchStrategy[date]:
    near_today = st.integers(-400, 400).map(lambda d: date.today() + timedelta(days=d))
    edges = st.sampled_from(EDGE_DATES)
    return st.one_of(edges, edges, near_today, st.dates())  # the edges are where overflows live


def _date_text() -> st.SearchStrategy[str]:
    return _dates().map(date.isoformat)  # always a 4-digit year


@st.composite
def _date_time_text(draw: st.DrawFn) -> str:
    day = draw(_dates())
    moment = draw(
        st.sampled_from(["00:00:00", "23:59:59", "12:00:00"])
        | st.times().map(lambda t: t.strftime("%H:%M:%S"))
    )
    fraction = draw(st.sampled_from(["", ".5", ".999999"]))
    offset = draw(
        st.sampled_from(OFFSETS)
        | st.integers(-23 * 60 - 59, 23 * 60 + 59).map(
            lambda m: f"{'+' if m >= 0 else '-'}{abs(m) // 60:02d}:{abs(m) % 60:02d}"
        )
    )
    return f"{day.isoformat()}T{moment}{fraction}{offset}"


def _pattern_text(schema: dict[str, Any]) -> st.SearchStrategy[str]:
    """What a date pattern admits (Hypothesis reads the regex), plus well-formed values with any of
    the pattern's leading prefixes (FHIR's ``ge``, ``le``, …) from the same edge-weighted range."""
    pattern = schema["pattern"]
    prefixes = [""]
    leading = re.match(r"^\^\(([a-z|]+)\)\?", pattern)
    if leading:
        prefixes += leading.group(1).split("|")
    structured = st.tuples(st.sampled_from(prefixes), _date_text() | _date_time_text()).map("".join)
    return st.one_of(structured, structured, st.from_regex(pattern, fullmatch=True))


def _values(field: TemporalField) -> st.SearchStrategy[Any]:
    one: st.SearchStrategy[str]
    if field.kind == "date":
        one = _date_text()
    elif field.kind == "date-time":
        one = _date_time_text()
    else:
        one = _pattern_text(field.schema)
    if field.array:
        return st.lists(one, min_size=1, max_size=int(field.schema.get("maxItems", 2)))
    return one


def _set(body: Any, path: tuple[str, ...], value: Any) -> None:
    head, rest = path[0], path[1:]
    if head == "*":
        for index, item in enumerate(body):
            if rest:
                _set(item, rest, value)
            else:
                body[index] = value
        return
    if not rest:
        body[head] = value
        return
    _set(body[head], rest, value)


@pytest.fixture(scope="module")
def edges_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSandbox]:
    # its own server: check-ins stored at odd times must not leak into other modules' sandbox
    with running_sandbox(Path(tmp_path_factory.mktemp("edges"))) as running:
        yield running


def _patient(client: httpx.Client) -> str:
    patients = client.get("/v1/patients", params={"per_page": 100}).json()["data"]
    return str(max(patients, key=lambda p: len(p["consent"]["scopes"]))["id"])


def _url(op: Operation, patient_id: str) -> str:
    url = op.path
    for param in op.parameters:
        if param.get("in") == "path":
            value = patient_id if param["name"] == "patient_id" else str(param.get("example", "x"))
            url = url.replace("{" + param["name"] + "}", value)
    return url


def _required_query(op: Operation, patient_id: str) -> list[tuple[str, str]]:
    """Required non-temporal query parameters: the patient for FHIR search, else the contract's example."""
    temporal = {f.name for f in temporal_fields(op) if f.location == "query"}
    query = []
    for param in op.parameters:
        if param.get("in") == "query" and param.get("required") and param["name"] not in temporal:
            if param["name"] in ("patient", "subject"):
                value = patient_id.replace("_", "-") if op.path.startswith("/fhir/") else patient_id
            else:
                value = str(param.get("example", param.get("schema", {}).get("example", "")))
            query.append((param["name"], value))
    return query


def _names_a_sent_field(body: dict[str, Any], sent: set[str]) -> bool:
    """Does the error say which value it refused? (envelope or FHIR OperationOutcome)"""
    text = repr(body)
    if "error" in body:
        details = body["error"].get("details") or {}
        named = {str(details.get("parameter", ""))}
        errors = details.get("errors")
        if isinstance(errors, dict):  # seed 003's field map: {"readings[0].measured_at": [...]}
            named |= {re.split(r"[.\]]", key)[-1] for key in errors}
        elif isinstance(errors, list):
            named |= {str(e.get("path", "")).rsplit("/", 1)[-1] for e in errors if isinstance(e, dict)}
            named |= {str(e.get("field", "")) for e in errors if isinstance(e, dict)}
        text = body["error"].get("message", "")
        return bool(named & sent) or any(re.search(rf"\b{re.escape(n)}\b", text) for n in sent)
    if body.get("resourceType") == "OperationOutcome":
        issue = body["issue"][0]
        return bool(set(issue.get("expression", [])) & sent) or any(
            n in issue.get("diagnostics", "") for n in sent
        )
    return any(n in text for n in sent)


def _await_job(client: httpx.Client, job: dict[str, Any]) -> dict[str, Any]:
    deadline = time.time() + 60
    while job["status"] in ("queued", "running") and time.time() < deadline:
        time.sleep(0.1)
        job = client.get(f"/v1/reports/{job['id']}").json()
    return job


@pytest.mark.parametrize(("op", "fields"), CASES, ids=[op.operation_id for op, _ in CASES])
def test_temporal_values_never_5xx(
    edges_sandbox: RunningSandbox, op: Operation, fields: list[TemporalField]
) -> None:
    with edges_sandbox.client() as client:
        patient_id = _patient(client)
        url = _url(op, patient_id)
        required = _required_query(op, patient_id)
        example = op.body_example

        @settings(
            max_examples=30,
            deadline=None,
            derandomize=True,
            suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        )
        @given(values=st.fixed_dictionaries({}, optional={f.path: _values(f) for f in fields}))
        def check(values: dict[tuple[str, ...], Any]) -> None:
            by_path = {f.path: f for f in fields}
            query: list[tuple[str, str]] = list(required)
            body = copy.deepcopy(example)
            for path, value in values.items():
                if by_path[path].location == "query":
                    query.extend((path[0], v) for v in (value if isinstance(value, list) else [value]))
                else:
                    _set(body, path, value)
            response = client.request(
                op.method, url, params=query, json=body if op.spec.get("requestBody") else None
            )
            # the values in the request: generated ones and those the contract's example carries
            sent = {path[-1] for path in values} | {
                f.name for f in fields if f.location == "body" and f.name in repr(body)
            }
            assert response.status_code < 500, (op.operation_id, values, response.text[:500])
            if response.status_code >= 300:
                assert 400 <= response.status_code < 500, (values, response.status_code)
                error = response.json()
                assert _names_a_sent_field(error, sent), (op.operation_id, values, error)
            elif op.operation_id == "reports.create":
                job = _await_job(client, response.json())
                assert job["status"] == "completed", (values, job)

        check()


def test_the_contract_has_temporal_fields_to_test() -> None:
    """The walk finds the operations the issue names (a walker that finds nothing would test nothing)."""
    found = {op.operation_id: {f.name for f in fields} for op, fields in CASES}
    assert {"from", "to"} <= found["analysis.get"]
    assert {"start_date", "end_date"} <= found["gauges.search"]
    assert "date" in found["fhir.search_observations"]
    assert "measured_at" in found["vitals.create"]
    assert "logged_at" in found["sandbox.create_pain_entry"]
    assert {"from", "to"} <= found["reports.create"]


def test_fhir_date_pattern_refuses_impossible_months() -> None:
    fhir = next(op for op, _ in CASES if op.operation_id == "fhir.search_observations")
    (date_field,) = [f for f in temporal_fields(fhir) if f.name == "date"]
    pattern = re.compile(date_field.schema["pattern"])
    assert pattern.fullmatch("ge2026-05-04") and pattern.fullmatch("le9999-12-31T23:59:59+14:00")
    for impossible in (
        "ge2026-37-01",
        "2026-00-10",
        "2026-05-32",
        "2026-05-04T24:00:00Z",
        "2026-05-04T10:60:00Z",
    ):
        assert not pattern.fullmatch(impossible), impossible


PERIOD_OPS = [op for op in operations() if "x-max-period-days" in op.spec]


def test_the_contract_states_the_period_cap_the_server_enforces() -> None:
    assert {op.operation_id for op in PERIOD_OPS} >= {
        "analysis.get",
        "reports.pdf",
        "reports.create",
        "analytics.population",
    }
    assert {op.spec["x-max-period-days"] for op in PERIOD_OPS} == {MAX_DAYS}
    for op in PERIOD_OPS:
        assert str(MAX_DAYS) in op.spec["description"], op.operation_id


@pytest.mark.parametrize("op", PERIOD_OPS, ids=[op.operation_id for op in PERIOD_OPS])
def test_the_documented_period_cap_holds_at_runtime(edges_sandbox: RunningSandbox, op: Operation) -> None:
    cap = int(op.spec["x-max-period-days"])
    with edges_sandbox.client() as client:
        url = _url(op, _patient(client))
        today = date.fromisoformat(client.get("/v1/sandbox/clock").json()["now"][:10])

        def ask(first: date, last: date) -> httpx.Response:
            period = {"from": first.isoformat(), "to": last.isoformat()}
            if op.spec.get("requestBody"):
                return client.request(op.method, url, json={**(op.body_example or {}), **period})
            return client.request(op.method, url, params=period)

        inside = ask(today - timedelta(days=cap - 1), today)
        assert inside.status_code < 300, inside.text[:300]
        over = ask(today - timedelta(days=cap), today)
        assert over.status_code == 400 and over.json()["error"]["details"]["parameter"] == "from", over.text
        future = ask(today, today + timedelta(days=2))
        assert future.status_code == 400 and future.json()["error"]["details"]["parameter"] == "to", (
            future.text
        )


RECORDING_OPS = [
    op for op, fields in CASES if op.method == "POST" and any(f.kind == "date-time" for f in fields)
]
READ_OPS = [
    op for op in operations() if op.method == "GET" and op.path.startswith("/v1/patients/{patient_id}/")
]


def test_records_at_the_earliest_and_latest_accepted_times_leave_every_read_working(
    edges_sandbox: RunningSandbox,
) -> None:
    """A value accepted once must not break later reads: records dated at the edges the server accepts
    (the earliest, and just now) are read back through every patient read operation, over periods that
    contain them, with none answering 5xx."""
    assert {op.operation_id for op in RECORDING_OPS} >= {
        "vitals.create",
        "sandbox.create_pain_entry",
        "sandbox.create_wellbeing_checkin",
    }
    with edges_sandbox.client() as client:
        patient_id = _patient(client)
        now = client.get("/v1/sandbox/clock").json()["now"]
        stored_days = set()
        for op in RECORDING_OPS:
            fields = [f for f in temporal_fields(op) if f.kind == "date-time"]
            for moment in ("1969-12-31T23:59:59Z", "1970-01-01T00:00:00Z", "1970-01-01T00:30:00+01:00", now):
                body = copy.deepcopy(op.body_example)
                for field in fields:
                    _set(body, field.path, moment)
                response = client.post(_url(op, patient_id), json=body)
                assert response.status_code < 500, response.text[:300]
                if moment.startswith("1969") or moment.endswith("+01:00"):  # before the floor: refused
                    assert response.status_code == 422, (op.operation_id, moment, response.text[:300])
                    assert _names_a_sent_field(response.json(), {f.name for f in fields})
                else:
                    assert response.status_code in (200, 201, 202), (
                        op.operation_id,
                        moment,
                        response.text[:300],
                    )
                    stored_days.add(moment[:10])
        for day in sorted(stored_days):
            for op in READ_OPS:
                names = {p["name"] for p in op.parameters if p.get("in") == "query"}
                span = {"from": day, "to": day} if "from" in names else {}
                if "start_date" in names:
                    span = {"start_date": day, "end_date": day}
                response = client.get(_url(op, patient_id), params=span)
                assert response.status_code < 500, (op.operation_id, day, response.text[:300])
            fhir = client.get(
                "/fhir/r4/Observation",
                params=[("patient", patient_id.replace("_", "-")), ("date", f"le{day}")],
            )
            assert fhir.status_code == 200, fhir.text[:300]


FILTER_OPS = [
    (op, [f.name for f in fields if f.kind == "date"])
    for op, fields in CASES
    if op.method == "GET"
    and "x-max-period-days" not in op.spec
    and sum(f.kind == "date" for f in fields) == 2
]


@pytest.mark.parametrize(("op", "names"), FILTER_OPS, ids=[op.operation_id for op, _ in FILTER_OPS])
def test_the_widest_date_filter_means_no_filter(
    edges_sandbox: RunningSandbox, op: Operation, names: list[str]
) -> None:
    """``from=0001-01-01&to=9999-12-31`` (the ends of ``format: date``) is how clients say "everything"."""
    first, last = sorted(names, key=lambda n: n not in ("from", "start_date"))
    with edges_sandbox.client() as client:
        if op.operation_id == "events.search":
            # seeded history emits no events: without one of its own the test depended on which other
            # test of the module had run first in this process
            hook = client.post(
                "/v1/webhooks", json={"url": "http://127.0.0.1:9/edges", "events": ["webhook.test"]}
            )
            assert client.post(f"/v1/webhooks/{hook.json()['id']}/test").status_code < 300
            client.delete(f"/v1/webhooks/{hook.json()['id']}")
        url = _url(op, _patient(client))
        unfiltered = client.get(url)
        widest = client.get(url, params={first: "0001-01-01", last: "9999-12-31"})
        assert unfiltered.status_code == widest.status_code == 200, widest.text[:300]
        assert widest.json()["pagination"]["total"] == unfiltered.json()["pagination"]["total"] > 0
