"""Run options: argument validation is kit misuse, selection globs, report parsing."""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance.errors import KitError
from conformance.options import RunOptions, parse_reports


def test_selection_globs_on_labels_and_operation_ids() -> None:
    options = RunOptions(
        base_url="http://t", api_key="k", include=("GET /v1/patients*",), exclude=("patients.get",)
    )
    assert options.selects("GET /v1/patients")
    assert options.selects("get /v1/patients/{patient_id}/vitals")
    assert not options.selects("GET /v1/patients/{patient_id}", "patients.get")
    assert not options.selects("POST /v1/webhooks")


def test_parse_reports() -> None:
    assert parse_reports(["junit=a.xml,json=b.json", "html=c.html"]) == {
        "junit": Path("a.xml"),
        "json": Path("b.json"),
        "html": Path("c.html"),
    }
    for bad in (["junit"], ["pdf=x"], ["json="]):
        with pytest.raises(KitError):
            parse_reports(bad)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"base_url": "ftp://x", "api_key": "k"},
        {"base_url": "http://x"},
        {"base_url": "http://x", "client_id": "c"},
        {"base_url": "http://x", "api_key": "k", "profile": "huge"},
        {"base_url": "http://x", "api_key": "k", "layers": ("everything",)},
    ],
)
def test_bad_options_are_kit_errors(kwargs: dict[str, object]) -> None:
    with pytest.raises(KitError):
        RunOptions(**kwargs)  # type: ignore[arg-type]
