"""One scope list: ``mock_server.scopes`` matches the contract, and every other list is derived from it.

Why: the patient-data scopes were typed out in four places (the sandbox, its seeding, the webhook
trigger and the conformance kit); a scope added to the contract but not to one copy made that copy
ask for less, silently.
"""

from __future__ import annotations

from conformance.spec import Spec
from mock_server import spec
from mock_server.auth.consent_page import SCOPE_DESCRIPTIONS
from mock_server.console.vocabulary import SCOPE_WORDS
from mock_server.scopes import ALL_SCOPES, PATIENT_DATA_SCOPES, SANDBOX_SCOPE
from mock_server.seeding import CONSENTED_SCOPE_SETS


def _enum(name: str) -> list[str]:
    enum: list[str] = spec.load()["components"]["schemas"][name]["enum"]
    return enum


def test_the_sandbox_lists_are_the_contracts_enums() -> None:
    assert list(ALL_SCOPES) == _enum("Scope")
    assert list(PATIENT_DATA_SCOPES) == _enum("PatientDataScope")
    assert SANDBOX_SCOPE in ALL_SCOPES
    assert set(PATIENT_DATA_SCOPES) < set(ALL_SCOPES)


def test_the_conformance_kit_reads_the_same_list_from_the_contract() -> None:
    assert Spec.load().patient_data_scopes == PATIENT_DATA_SCOPES


def test_a_contract_without_the_schema_gives_the_kit_no_scopes() -> None:
    assert Spec("inline", {"openapi": "3.1.0", "components": {"schemas": {}}}).patient_data_scopes == ()


def test_words_exist_for_every_scope_and_only_for_scopes() -> None:
    assert set(SCOPE_WORDS) == set(PATIENT_DATA_SCOPES)  # the console's consent cards
    assert set(SCOPE_DESCRIPTIONS) == set(ALL_SCOPES)  # the OAuth consent page


def test_seeding_grants_only_patient_data_scopes_and_all_of_them_once() -> None:
    assert CONSENTED_SCOPE_SETS[0] == list(PATIENT_DATA_SCOPES)
    for granted in CONSENTED_SCOPE_SETS:
        assert set(granted) <= set(PATIENT_DATA_SCOPES)
