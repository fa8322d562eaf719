"""The trigger's request bodies speak the contract's vocabulary (synthetic_data.vocab, the one list)."""

from __future__ import annotations

import random
from typing import Any

import pytest
import yaml

from mock_server.settings import DEFAULT_SPEC
from mock_server.webhook_tools.trigger import VITALS_BY_SOURCE, pain_entry_body, wellbeing_body
from synthetic_data import vocab
from tests.mock_server.webhooks.schemas import assert_valid_component


def _schemas() -> dict[str, Any]:
    with DEFAULT_SPEC.open() as handle:
        schemas: dict[str, Any] = yaml.safe_load(handle)["components"]["schemas"]
    return schemas


def test_the_vocabulary_is_the_contracts() -> None:
    """vocab.py and openapi.yaml name the same areas, qualities, sources, metrics and WHO-5 items."""
    schemas = _schemas()
    assert list(vocab.BODY_AREAS) == schemas["BodyArea"]["enum"]
    assert list(vocab.PAIN_QUALITIES) == schemas["PainQuality"]["enum"]
    assert list(vocab.VITAL_SOURCES) == schemas["VitalSource"]["enum"]
    assert list(vocab.VITAL_METRICS) == schemas["VitalMetric"]["enum"]
    dimensions = schemas["SandboxWellbeingCreate"]["properties"]["dimensions"]["required"]
    assert list(vocab.WHO5_DIMENSIONS) == dimensions


@pytest.mark.parametrize("seed", range(40))
def test_check_in_bodies_are_valid_requests(seed: int) -> None:
    r = random.Random(seed)
    pain = pain_entry_body(r)
    assert_valid_component("SandboxPainEntryCreate", pain)
    assert {a["id"] for a in pain["areas"]} <= set(vocab.BODY_AREAS)
    assert set(pain["qualities"]) <= set(vocab.PAIN_QUALITIES)
    assert_valid_component("SandboxWellbeingCreate", wellbeing_body(r))


def test_the_bodies_draw_from_the_whole_vocabulary() -> None:
    """Not a private subset: over many draws every area and quality of the vocabulary turns up."""
    r = random.Random(7)
    bodies = [pain_entry_body(r) for _ in range(2000)]
    assert {a["id"] for b in bodies for a in b["areas"]} == set(vocab.BODY_AREAS)
    assert {q for b in bodies for q in b["qualities"]} == set(vocab.PAIN_QUALITIES)


@pytest.mark.parametrize("source", vocab.VITAL_SOURCES)
def test_each_sources_reading_is_one_it_reports_within_range(source: vocab.VitalSource) -> None:
    r = random.Random(3)
    for _ in range(50):
        reading = VITALS_BY_SOURCE[source](r)
        assert reading["metric"] in vocab.SOURCE_METRICS[source]
        low, high = vocab.PHYSIOLOGICAL_RANGES[(reading["metric"], reading["unit"])]
        assert low <= reading["value"] <= high
        if "components" in reading:
            d_low, d_high = vocab.DIASTOLIC_RANGE
            assert d_low <= reading["components"]["diastolic"] <= d_high
        assert_valid_component("VitalPushReading", {**reading, "measured_at": "2026-05-04T09:00:00Z"})
