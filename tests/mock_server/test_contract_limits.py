"""The limits the contract states are the limits the code enforces (one number, two places)."""

from __future__ import annotations

from mock_server.fhir.search import MAX_COUNT
from mock_server.settings import Settings
from tests.mock_server.contract_walk import document, operations


def test_fhir_count_maximum_is_the_contracts() -> None:
    (search,) = [op for op in operations() if op.operation_id == "fhir.search_observations"]
    (count,) = [p for p in search.parameters if p["name"] == "_count"]
    assert count["schema"]["maximum"] == MAX_COUNT


def test_the_limits_section_states_the_body_limits_of_the_settings() -> None:
    text = document()["info"]["description"]
    defaults = Settings()
    assert defaults.max_body_bytes == 1_048_576 and "1 MiB" in text
    assert f"at most {defaults.max_body_depth} levels" in text
    assert "CARE_SANDBOX_MAX_BODY_BYTES" in text and "CARE_SANDBOX_MAX_BODY_DEPTH" in text
