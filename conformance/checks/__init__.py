"""The kit's own checks: what Schemathesis does not know about this API.

Every check is a plain function. Per-response checks (`checks.response`) take one `Exchange` and return
`True` when they applied and passed, `False` when they do not apply to it, and raise
`ConformanceFailure` when the API is wrong. Checks over several responses (pagination, date filters,
content) take already-fetched data and raise the same way. `CATALOGUE` names and weighs them all for the
reports and the conformance score.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CheckInfo:
    """Static facts about one check: what it guards and how much a failure costs the score."""

    name: str
    layer: str
    weight: int
    summary: str


_ENTRIES = [
    # (a) the document itself
    CheckInfo("openapi_31_valid", "spec", 3, "The spec validates as OpenAPI 3.1."),
    # (b) Schemathesis built-ins (weights: server errors, schema and auth matter most)
    CheckInfo("not_a_server_error", "schemathesis", 3, "No 5xx for any input."),
    CheckInfo("status_code_conformance", "schemathesis", 2, "Only documented status codes."),
    CheckInfo("content_type_conformance", "schemathesis", 1, "Only documented content types."),
    CheckInfo(
        "response_headers_conformance", "schemathesis", 1, "Documented response headers present and valid."
    ),
    CheckInfo("response_schema_conformance", "schemathesis", 3, "Bodies match the documented schemas."),
    CheckInfo("positive_data_acceptance", "schemathesis", 2, "Valid requests are accepted."),
    CheckInfo("negative_data_rejection", "schemathesis", 2, "Invalid requests are rejected with 4xx."),
    CheckInfo(
        "missing_required_header", "schemathesis", 1, "Requests without required headers are rejected."
    ),
    CheckInfo("unsupported_method", "schemathesis", 1, "Undeclared methods get 405 with Allow."),
    CheckInfo("allow_header_conformance", "schemathesis", 1, "Allow lists the declared methods."),
    CheckInfo("use_after_free", "schemathesis", 2, "Deleted resources stay deleted."),
    CheckInfo("ensure_resource_availability", "schemathesis", 2, "Created resources are readable."),
    CheckInfo("ignored_auth", "schemathesis", 3, "Secured operations reject missing or bad credentials."),
    CheckInfo("object_level_authorization", "schemathesis", 3, "One identity cannot read another's objects."),
    # (c) per-response checks of this API
    CheckInfo(
        "error_envelope",
        "custom",
        2,
        'Every 4xx/5xx is {"error": {code, message, request_id}} (OperationOutcome on FHIR paths; '
        'RFC 6749 {"error": code, "error_description"} where the contract documents OAuth errors so).',
    ),
    CheckInfo("request_id_header", "custom", 1, "Every response carries X-Request-Id."),
    CheckInfo("rate_limit_headers", "custom", 1, "Every response carries X-RateLimit-Limit/Remaining/Reset."),
    CheckInfo("retry_after_on_429", "custom", 1, "Every 429 carries Retry-After."),
    # (c) probes over several requests
    CheckInfo(
        "pagination_invariants", "custom", 2, "Pages are disjoint, cover the set, total exact, per_page kept."
    ),
    CheckInfo("date_filter_respected", "custom", 2, "Every listed item lies inside from/to; counts match."),
    CheckInfo("scope_enforcement", "custom", 3, "A token without the scope gets 403 insufficient_scope."),
    CheckInfo(
        "narrow_token_reads",
        "custom",
        3,
        "A narrow token reads only its scopes' categories on the timeline and FHIR Observation.",
    ),
    CheckInfo("tenant_isolation", "custom", 3, "Nothing of one workspace is readable by another."),
    CheckInfo("idempotent_replay", "custom", 2, "Same Idempotency-Key + body replays; other body gets 409."),
    CheckInfo(
        "oauth_error_codes",
        "custom",
        2,
        "Token endpoint: unknown grant, wrong secret, unknown code give RFC 6749 codes (401 + challenge).",
    ),
    CheckInfo(
        "documented_operation", "custom", 2, "Traffic seen by the proxy is for operations of the contract."
    ),
    CheckInfo(
        "independent_request_validation",
        "custom",
        1,
        "Requests seen by the validating proxy validate with openapi-core (the client's side).",
    ),
    CheckInfo(
        "independent_response_validation",
        "custom",
        2,
        "Responses seen by the kit validate with openapi-core, too.",
    ),
    # (d) scenarios
    CheckInfo("consent_lifecycle", "scenario", 3, "Link request → accept → data in scope → revoke → 403."),
    CheckInfo(
        "report_access_after_revocation",
        "scenario",
        3,
        "A report made before the patient revoked answers 403 consent_revoked, read or downloaded.",
    ),
    CheckInfo("webhook_delivery", "scenario", 3, "A check-in produces a signed, valid, fresh delivery."),
    CheckInfo("report_job", "scenario", 2, "A report job completes and downloads as a PDF."),
    CheckInfo("sandbox_clock", "scenario", 1, "Advancing the sandbox clock moves now by exactly that."),
    CheckInfo("fhir_search", "scenario", 2, "FHIR Observation search returns the patient's searchset."),
    # (e)/(f) content
    CheckInfo("webhook_signature", "webhooks", 3, "X-P2C-Signature and Standard Webhooks signatures verify."),
    CheckInfo("webhook_payload_schema", "webhooks", 2, "Deliveries validate against the spec's webhooks:."),
    CheckInfo("webhook_timestamp_fresh", "webhooks", 1, "webhook-timestamp is within 5 minutes."),
    # webhook-consumer: judging a partner's receiver
    CheckInfo(
        "consumer_accepts_valid", "consumer", 3, "Valid signed deliveries get 2xx within the deadline."
    ),
    CheckInfo("consumer_rejects_bad_signature", "consumer", 3, "Bad or missing signatures get 4xx."),
    CheckInfo("consumer_rejects_stale", "consumer", 2, "Timestamps older than 5 minutes get 4xx."),
    CheckInfo(
        "consumer_tolerates_duplicates", "consumer", 2, "The same webhook-id twice gets 2xx both times."
    ),
    CheckInfo("consumer_tolerates_out_of_order", "consumer", 1, "Events arriving out of order get 2xx."),
    CheckInfo("pdf_content", "content", 2, "PDFs parse, have pages and a Content-Disposition."),
    CheckInfo("fhir_content", "content", 2, "FHIR bodies are well-formed R4 resources and Bundles."),
]

CATALOGUE: dict[str, CheckInfo] = {entry.name: entry for entry in _ENTRIES}


def weight_of(name: str) -> int:
    """Score weight of a check; unknown names (e.g. a future Schemathesis check) weigh 1."""
    info = CATALOGUE.get(name)
    return info.weight if info is not None else 1
