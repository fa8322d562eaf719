"""Words for the console, and the contract's vocabularies read from the contract itself.

Body areas, pain qualities, conditions and event types come from ``openapi.yaml``'s enums, so the
check-in form offers exactly what the API accepts. Scopes are described in words on consent cards,
as a patient would read them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

SCOPE_WORDS: dict[str, str] = {
    "pain:read": "your pain check-ins (level, body areas, qualities, notes)",
    "wellbeing:read": "your daily wellbeing questionnaire",
    "vitals:read": "vitals from your devices (heart rate, sleep, steps, …)",
    "vitals:write": "add vitals from their devices to your record",
    "gauges:read": "your mood, anxiety, energy and sleep gauges",
    "reports:read": "clinic reports and pattern analysis of your data",
    "fhir:read": "your data in the FHIR health-record format",
}


def label(value: str) -> str:
    """``left_knee`` → ``left knee``; ``tiring_exhausting`` → ``tiring / exhausting``."""
    return value.replace("_exhausting", " / exhausting").replace("_cruel", " / cruel").replace("_", " ")


@dataclass(frozen=True)
class Vocabulary:
    body_areas: list[str]
    qualities: list[str]
    conditions: list[str]
    severities: list[str]
    event_types: list[str]
    sources: list[str]

    @classmethod
    def from_contract(cls, document: dict[str, Any]) -> Vocabulary:
        schemas = document["components"]["schemas"]

        def enum(name: str) -> list[str]:
            return [str(v) for v in schemas[name]["enum"]]

        return cls(
            body_areas=enum("BodyArea"),
            qualities=enum("PainQuality"),
            conditions=enum("Condition"),
            severities=enum("BaselineSeverity"),
            event_types=enum("EventType"),
            sources=enum("VitalSource"),
        )
