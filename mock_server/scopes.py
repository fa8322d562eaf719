"""The scopes of the partner API and the rate-limit tiers (seeds 000, 001, 002)."""

from __future__ import annotations

ALL_SCOPES: tuple[str, ...] = (
    "patients:read",
    "pain:read",
    "wellbeing:read",
    "vitals:read",
    "vitals:write",
    "gauges:read",
    "reports:read",
    "analytics:read",
    "webhooks:manage",
    "fhir:read",
    "events:read",  # GET /v1/events (webhooks:manage alone does not suffice)
    "sandbox:manage",  # the sandbox controls and the sandbox request log (GET /v1/sandbox/requests)
)
"""Every scope a credential can hold. ``sandbox:manage`` guards the sandbox controls (playing the
patient, the test clock, reset): a credential that may read data must not also be able to grant
itself consent, so controls are a scope of their own."""

SANDBOX_SCOPE = "sandbox:manage"

PATIENT_DATA_SCOPES: tuple[str, ...] = (
    "pain:read",
    "wellbeing:read",
    "vitals:read",
    "vitals:write",
    "gauges:read",
    "reports:read",
    "fhir:read",
)
"""What a link request may ask a patient for, and what a consent can grant."""

TIERS: dict[str, int] = {"standard": 1_000, "professional": 10_000, "enterprise": 100_000}
"""Requests per hour per credential (seed 001)."""
