"""Lists of patient data are read on the event loop first, and answered the same from the pool when
the loop gives the read up (over its budget, or the database busy)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from mock_server.storage.page_reads import LoopReader, WouldBlock
from tests.fixtures.sandbox import RunningSandbox


def _consented_patient(client: Any) -> str:
    for patient in client.get("/v1/patients", params={"per_page": 100}).json()["data"]:
        consent = patient.get("consent") or {}
        if consent.get("status") == "active" and "pain:read" in consent.get("scopes", []):
            return str(patient["id"])
    raise AssertionError("no consented patient with pain:read")


def test_a_read_the_loop_gives_up_is_answered_the_same_from_the_pool(
    sandbox_factory: Callable[..., RunningSandbox], monkeypatch: pytest.MonkeyPatch
) -> None:
    running = sandbox_factory()
    tried: list[str] = []
    original = LoopReader.read

    def counted(self: LoopReader, work: Any) -> Any:
        tried.append("loop")
        return original(self, work)

    monkeypatch.setattr(LoopReader, "read", counted)
    with running.client() as client:
        patient = _consented_patient(client)
        url = f"/v1/patients/{patient}/pain-entries"
        on_loop = client.get(url, params={"per_page": 7, "page": 2})
        assert on_loop.status_code == 200 and tried == ["loop"]

        def gives_up(self: LoopReader, work: Any) -> Any:
            tried.append("gave up")
            raise WouldBlock

        monkeypatch.setattr(LoopReader, "read", gives_up)
        from_pool = client.get(url, params={"per_page": 7, "page": 2})
        assert tried == ["loop", "gave up"]
        assert from_pool.status_code == 200
        assert from_pool.json() == on_loop.json()
        unknown = client.get("/v1/patients/p2c_anon_nobody/pain-entries")
        assert unknown.status_code == 404  # the gate answers on the pool path too
