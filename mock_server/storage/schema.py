"""The sandbox's tables, as SQLAlchemy Core metadata shared by SQLite and PostgreSQL.

Why these choices:

- Timestamps are stored as ISO-8601 UTC text (``2026-05-04T09:00:00Z``, always that width). The
  format sorts lexicographically, so range filters and ``ORDER BY`` behave identically on both
  backends, and the API serves the stored text unchanged.
- Served records (pain entries, wellbeing check-ins, gauges, vitals) live in one ``records`` table
  with their JSON body stored pre-serialized. The read path concatenates stored bodies instead of
  re-encoding them, and the timeline is one ordered query instead of a merge of four.
- Everything a partner can see is scoped by ``workspace_id``; patients' data by ``patient_ref`` (the
  internal sandbox patient id, never shown to partners, who only see per-workspace anonymized ids).
- Secrets: API keys, OAuth client secrets and tokens are stored as SHA-256 hashes. Webhook signing
  secrets cannot be hashed (HMAC needs the secret itself), so they are stored encrypted with the
  server's key (``mock_server.secretbox``); no table holds any secret or token in plaintext.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    false,
)

metadata = MetaData()

TS = String(32)
"""A UTC timestamp as ISO-8601 text (see module docstring)."""

schema_version = Table(
    "schema_version",
    metadata,
    Column("version", Integer, primary_key=True),
    Column("applied_at", TS, nullable=False),
    Column("description", Text, nullable=False),
)

workspaces = Table(
    "workspaces",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("tier", String(32), nullable=False),
    Column("rate_limit_per_hour", Integer, nullable=True),
    Column("scopes", Text, nullable=False),  # JSON list
    Column("seed", Integer, nullable=False),
    Column("clock_offset_seconds", Float, nullable=False, default=0.0),
    # an advance being generated: the offset it moves to once every day is written (revision 0005)
    Column("clock_target_seconds", Float, nullable=True),
    Column("salt", String(64), nullable=False),  # keys the anonymized patient ids
    Column("created_at", TS, nullable=False),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("workspace_id", String(64), ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False),
    Column("key_hash", String(64), nullable=False, unique=True),
    Column("display_prefix", String(32), nullable=False),
    Column("scopes", Text, nullable=False),  # JSON list
    Column("created_at", TS, nullable=False),
    Column("revoked_at", TS, nullable=True),
)

oauth_clients = Table(
    "oauth_clients",
    metadata,
    Column("client_id", String(64), primary_key=True),
    Column("workspace_id", String(64), ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False),
    Column("secret_hash", String(64), nullable=False),
    Column("redirect_uris", Text, nullable=False),  # JSON list
    Column("scopes", Text, nullable=False),  # JSON list
    Column("created_at", TS, nullable=False),
    # a public client (RFC 6749 section 2.1) has no secret and must use PKCE; confidential clients
    # authenticate at the token endpoint on every grant
    Column("public", Boolean, nullable=False, default=False, server_default=false()),
)

oauth_grants = Table(
    "oauth_grants",
    metadata,
    # access tokens, refresh tokens and authorization codes, all looked up by hash
    Column("token_hash", String(64), primary_key=True),
    Column("kind", String(16), nullable=False),  # access | refresh | code
    Column("client_id", String(64), nullable=False),
    Column("workspace_id", String(64), ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False),
    Column("scopes", Text, nullable=False),
    Column("expires_at", TS, nullable=False),
    Column("revoked", Boolean, nullable=False, default=False),
    Column("redirect_uri", Text, nullable=True),
    Column("code_challenge", String(128), nullable=True),
    Column("created_at", TS, nullable=False),
    # codes and refresh tokens are single-use: set once by a conditional UPDATE (… WHERE used_at IS NULL)
    Column("used_at", TS, nullable=True),
    # every token descending from one authorization code shares it; reuse revokes the family (RFC 9700)
    Column("family_id", String(64), nullable=True),
    Index("ix_oauth_grants_workspace", "workspace_id"),
    Index("ix_oauth_grants_family", "family_id"),
)

sandbox_patients = Table(
    "sandbox_patients",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("workspace_id", String(64), ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False),
    Column("email", String(320), nullable=False),
    Column("anon_id", String(64), nullable=False),  # what partners see once the patient consents
    Column("profile", Text, nullable=False),  # JSON: the SandboxPatient view plus generator inputs
    Column("history_start", String(10), nullable=False),  # first generated day (YYYY-MM-DD)
    Column("generated_days", Integer, nullable=False),  # days generated so far from history_start
    Column("created_at", TS, nullable=False),
    Index("ux_sandbox_patients_email", "workspace_id", "email", unique=True),
    Index("ux_sandbox_patients_anon", "workspace_id", "anon_id", unique=True),
)

link_requests = Table(
    "link_requests",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("workspace_id", String(64), ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False),
    Column("patient_email", String(320), nullable=False),
    Column("patient_ref", String(64), nullable=True),
    Column("scopes", Text, nullable=False),
    Column("message", Text, nullable=True),
    Column("status", String(16), nullable=False),
    Column("created_at", TS, nullable=False),
    Column("expires_at", TS, nullable=False),
    Column("responded_at", TS, nullable=True),
    Column("consent_id", String(64), nullable=True),
    Index("ix_link_requests_ws_status", "workspace_id", "status", "created_at"),
    # a patient's pending request: the patients page asks it once per row (migration 0009)
    Index("ix_link_requests_patient", "patient_ref", "status", "created_at", "id"),
)

consents = Table(
    "consents",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("workspace_id", String(64), ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False),
    Column("patient_ref", String(64), nullable=False),
    Column("anon_id", String(64), nullable=False),
    Column("scopes", Text, nullable=False),
    Column("status", String(16), nullable=False),  # active | revoked
    Column("granted_at", TS, nullable=False),
    Column("revoked_at", TS, nullable=True),
    Column("link_request_id", String(64), nullable=True),
    # per (workspace, patient) 1, 2, 3, …: which consent is the latest, even when a revoke and a
    # re-grant fall in the same second (granted_at ties; a random id must not break them)
    Column("seq", Integer, nullable=False, server_default="0"),
    Index("ix_consents_ws_anon", "workspace_id", "anon_id"),
    Index("ux_consents_ws_anon_seq", "workspace_id", "anon_id", "seq", unique=True),
    Index("ix_consents_ws_status", "workspace_id", "status", "granted_at"),
)

records = Table(
    "records",
    metadata,
    Column("patient_ref", String(64), nullable=False),
    Column("id", String(96), nullable=False),
    Column("series", String(16), nullable=False),  # pain_entry | wellbeing | gauge | vital
    Column("at", TS, nullable=False),  # logged_at / completed_at / recorded_at / measured_at
    Column("kind", String(32), nullable=True),  # gauge_type or vital metric
    Column("source", String(32), nullable=True),  # vital source
    Column("body", Text, nullable=False),  # the API JSON, serialized once
    PrimaryKeyConstraint("patient_ref", "id"),
    # (at, id) is every list's order: with id in the index a page is read in order, not sorted
    Index("ix_records_patient_series_at_id", "patient_ref", "series", "at", "id"),
    Index("ix_records_patient_at", "patient_ref", "at"),
)

webhook_endpoints = Table(
    "webhook_endpoints",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("workspace_id", String(64), ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False),
    Column("url", Text, nullable=False),
    Column("events", Text, nullable=False),  # JSON list
    Column("description", Text, nullable=True),
    Column("enabled", Boolean, nullable=False, default=True),
    Column("disabled_reason", Text, nullable=True),
    Column("secret", String(128), nullable=False),
    Column("previous_secret", String(128), nullable=True),
    Column("previous_secret_expires_at", TS, nullable=True),
    Column("consecutive_failures", Integer, nullable=False, default=0),
    Column("created_at", TS, nullable=False),
    Column("updated_at", TS, nullable=False),
    Index("ix_webhook_endpoints_ws", "workspace_id"),
)

events = Table(
    "events",
    metadata,
    # the transactional outbox: written in the same transaction as the change it reports
    Column("id", String(64), primary_key=True),
    Column("workspace_id", String(64), ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False),
    Column("type", String(64), nullable=False),
    Column("patient_id", String(64), nullable=True),
    Column("payload", Text, nullable=False),  # the exact JSON body every delivery sends
    Column("created_at", TS, nullable=False),
    # the payload's timestamp: when the change happened on the workspace's sandbox clock; the events
    # API filters, orders and expires (30 days) by it (revision 0006 added it; older rows backfilled)
    Column("occurred_at", TS, nullable=True),
    Index("ix_events_ws_created", "workspace_id", "created_at"),
    Index("ix_events_ws_occurred", "workspace_id", "occurred_at"),
)

deliveries = Table(
    "deliveries",
    metadata,
    # one row per (event, endpoint); its attempts are in delivery_attempts
    Column("id", String(64), primary_key=True),
    Column("event_id", String(64), ForeignKey("events.id", ondelete="CASCADE"), nullable=False),
    Column("endpoint_id", String(64), ForeignKey("webhook_endpoints.id", ondelete="CASCADE"), nullable=False),
    Column("workspace_id", String(64), nullable=False),
    Column("status", String(16), nullable=False),  # pending | delivering | succeeded | failed | exhausted
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", TS, nullable=True),
    Column("locked_until", TS, nullable=True),
    Column("locked_by", String(64), nullable=True),
    Column("last_status_code", Integer, nullable=True),
    Column("created_at", TS, nullable=False),
    Column("updated_at", TS, nullable=False),
    Index("ix_deliveries_due", "status", "next_attempt_at"),
    Index("ix_deliveries_endpoint", "endpoint_id", "created_at"),
    Index("ix_deliveries_ws_due", "workspace_id", "status", "next_attempt_at"),
)

delivery_attempts = Table(
    "delivery_attempts",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("delivery_id", String(64), ForeignKey("deliveries.id", ondelete="CASCADE"), nullable=False),
    Column("endpoint_id", String(64), nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("status", String(16), nullable=False),  # succeeded | failed
    Column("status_code", Integer, nullable=True),
    Column("latency_ms", Float, nullable=True),
    Column("response_snippet", Text, nullable=True),
    Column("error", Text, nullable=True),
    Column("attempted_at", TS, nullable=False),
    Column("next_retry_at", TS, nullable=True),
    Index("ix_delivery_attempts_endpoint", "endpoint_id", "attempted_at"),
)

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("workspace_id", String(64), nullable=False),
    Column("key", String(255), nullable=False),
    Column("method", String(8), nullable=False),
    Column("path", Text, nullable=False),
    Column("body_hash", String(64), nullable=False),
    Column("status_code", Integer, nullable=True),  # null while the first request is in flight
    Column("response_headers", Text, nullable=True),
    Column("response_body", LargeBinary, nullable=True),
    Column("created_at", TS, nullable=False),
    Column("expires_at", TS, nullable=False),
    PrimaryKeyConstraint("workspace_id", "key"),
)

rate_limit_windows = Table(
    "rate_limit_windows",
    metadata,
    # shared counters for multi-process deployments (see middleware.rate_limit)
    Column("bucket", String(96), nullable=False),
    Column("window_start", Integer, nullable=False),
    Column("count", Integer, nullable=False),
    PrimaryKeyConstraint("bucket", "window_start"),
)

report_jobs = Table(
    "report_jobs",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("workspace_id", String(64), ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False),
    Column("patient_ref", String(64), nullable=False),
    Column("patient_id", String(64), nullable=False),
    Column("lang", String(8), nullable=False),
    Column("period_from", String(10), nullable=False),
    Column("period_to", String(10), nullable=False),
    Column("status", String(16), nullable=False),
    Column("error", Text, nullable=True),
    Column("pdf", LargeBinary, nullable=True),
    Column("created_at", TS, nullable=False),
    Column("completed_at", TS, nullable=True),
    Index("ix_report_jobs_ws", "workspace_id", "created_at"),
)

request_log = Table(
    "request_log",
    metadata,
    # what each workspace's clients sent and what the sandbox answered (GET /v1/sandbox/requests);
    # written in batches by the log's writer process, secrets already redacted, bodies cut at 16 KB
    Column("id", String(40), primary_key=True),
    # no foreign key: on SQLite the log lives in a side file of its own (see storage.request_log)
    Column("workspace_id", String(64), nullable=False),
    Column("request_id", String(128), nullable=False),  # X-Request-Id (a client may reuse one)
    Column("method", String(16), nullable=False),
    Column("path", Text, nullable=False),
    Column("query", Text, nullable=True),
    Column("operation_id", String(100), nullable=True),
    Column("status", Integer, nullable=False),
    Column("error_code", String(64), nullable=True),
    Column("duration_ms", Float, nullable=False),
    Column("credential_kind", String(16), nullable=False),  # api_key | oauth
    Column("credential_id", String(64), nullable=False),  # key id or OAuth client id, never a secret
    Column("request_headers", Text, nullable=False),  # JSON object
    Column("request_body_ref", String(32), nullable=True),  # request_log_bodies.ref
    Column("request_truncated", Boolean, nullable=False, default=False),
    Column("response_headers", Text, nullable=False),  # JSON object
    Column("response_body_ref", String(32), nullable=True),
    Column("response_truncated", Boolean, nullable=False, default=False),
    Column("created_at", TS, nullable=False),  # wall clock, millisecond form (orders same-second requests)
    Index("ix_request_log_ws_created", "workspace_id", "created_at"),
    Index("ix_request_log_ws_request", "workspace_id", "request_id"),
)

request_log_bodies = Table(
    "request_log_bodies",
    metadata,
    # each distinct redacted body once, by content digest: a polled read answers the same bytes again and
    # again, and writing 16 KB per request cost the read path far more than the 5 % it may
    Column("ref", String(32), primary_key=True),  # hex BLAKE2b-128 of the stored text
    Column("body", Text, nullable=False),
)
