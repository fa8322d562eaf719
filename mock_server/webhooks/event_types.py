"""The event types the sandbox emits: the one list the outbox, the API and the integrator's tools share.

Kept apart from ``outbox`` (which writes events through storage) because it is part of the wire
format, like ``signing``: the tools in ``mock_server.webhook_tools`` need it and must not pull the
server's database layer in with it.
"""

from __future__ import annotations

EVENT_TYPES: tuple[str, ...] = (
    "consent.granted",
    "consent.revoked",
    "link_request.declined",
    "link_request.expired",
    "pain_entry.created",
    "wellbeing.completed",
    "vitals.received",
    "report.completed",
    "webhook.test",
    "webhook.disabled",
)
"""Every event type the sandbox emits (the ``webhooks:`` section of openapi.yaml has one schema each)."""

WILDCARD = "*"
"""An endpoint subscribed to ``*`` receives every event type."""
