"""Authorization probes: scopes (via a narrower OAuth token) and workspace isolation (via a second key)."""

from __future__ import annotations

from typing import Any

from conformance.context import Context, error_code
from conformance.errors import ConformanceFailure
from conformance.target import Target

SCOPE = "scope_enforcement"
TENANT = "tenant_isolation"
NARROW_SCOPE = "patients:read"
# (list path, item path, path parameter) whose ids one workspace must never reach in another.
OWNED = (
    ("/v1/patients", "/v1/patients/{patient_id}", "patient_id"),
    ("/v1/link-requests", "/v1/link-requests/{request_id}", "request_id"),
    ("/v1/webhooks", "/v1/webhooks/{webhook_id}", "webhook_id"),
)
PER_KIND = 3


def fetch_token(target: Target, client_id: str, client_secret: str, scope: str | None = None) -> str | None:
    """client_credentials token from the spec's token URL; None when the server refuses."""
    form = {"grant_type": "client_credentials", "client_id": client_id, "client_secret": client_secret}
    if scope:
        form["scope"] = scope
    exchange = target.request("POST", target.spec.token_path(), form=form, credentials={})
    body = exchange.json()
    if exchange.status == 200 and isinstance(body, dict) and isinstance(body.get("access_token"), str):
        return str(body["access_token"])
    return None


def scope_enforcement(ctx: Context) -> None:
    """A token limited to patients:read reads the patient list but gets 403 insufficient_scope on pain."""
    operation = "GET /v1/patients/{patient_id}/pain-entries"
    if not ctx.documented("GET", "/v1/patients/{patient_id}/pain-entries"):
        return
    options = ctx.options
    if not (options.client_id and options.client_secret):
        ctx.skip(operation, SCOPE, "needs --client-id/--client-secret to obtain a narrower token")
        return
    if not ctx.patient_id:
        ctx.skip(operation, SCOPE, "no consented patient to read")
        return
    token = fetch_token(ctx.target, options.client_id, options.client_secret, NARROW_SCOPE)
    if token is None:
        ctx.fail(
            ConformanceFailure(
                SCOPE,
                f"POST {ctx.spec.token_path()} refused scope={NARROW_SCOPE!r}",
                "a token narrowed to a subset of the client's scopes (RFC 6749 3.3)",
                operation=f"POST {ctx.spec.token_path()}",
            )
        )
        return
    bearer = {"Authorization": f"Bearer {token}"}
    try:
        allowed = ctx.target.request("GET", "/v1/patients", credentials=bearer)
        ctx.expect_status(allowed, SCOPE, 200, f"200 for a token holding {NARROW_SCOPE}")
        denied = ctx.target.request(
            "GET",
            "/v1/patients/{patient_id}/pain-entries",
            path_params={"patient_id": ctx.patient_id},
            credentials=bearer,
        )
        body = ctx.expect_status(denied, SCOPE, 403, "403 for a token without pain:read")
        if error_code(body) != "insufficient_scope":
            raise ConformanceFailure(
                SCOPE,
                f"{denied.describe()} with error.code {error_code(body)!r}",
                "error.code 'insufficient_scope'",
                operation=operation,
            )
    except ConformanceFailure as failure:
        ctx.fail(failure, operation)
    else:
        ctx.passed(operation, SCOPE)


def _ids(target: Target, list_path: str, key: str) -> list[str]:
    exchange = target.request("GET", list_path, params={"per_page": 100})
    body = exchange.json()
    data = body.get("data") if isinstance(body, dict) else None
    if exchange.status != 200 or not isinstance(data, list):
        return []
    return [str(item[key]) for item in data if isinstance(item, dict) and isinstance(item.get(key), str)]


def _id_key(param: str) -> str:
    return "request_id" if param == "request_id" else "id"


def tenant_isolation(ctx: Context) -> None:
    """Ids listed in one workspace are 404 in the other, and never appear in the other's lists."""
    if ctx.second is None:
        for _, item_path, _ in OWNED:
            if ctx.documented("GET", item_path):
                ctx.skip(f"GET {item_path}", TENANT, "needs --second-api-key (another workspace)")
        return
    for owner, intruder in ((ctx.target, ctx.second), (ctx.second, ctx.target)):
        for list_path, item_path, param in OWNED:
            if not (ctx.documented("GET", list_path) and ctx.documented("GET", item_path)):
                continue
            _isolate(ctx, owner, intruder, list_path, item_path, param)
    _isolate_children(ctx)


def _isolate(
    ctx: Context, owner: Target, intruder: Target, list_path: str, item_path: str, param: str
) -> None:
    key = _id_key(param)
    owned = _ids(owner, list_path, key)
    visible = set(_ids(intruder, list_path, key))
    label = f"GET {item_path}"
    try:
        leaked = sorted(set(owned) & visible)
        if leaked:
            raise ConformanceFailure(
                TENANT,
                f"GET {list_path} of the other workspace lists {leaked[:3]}",
                "lists only the caller's own records",
                operation=f"GET {list_path}",
            )
        for ident in owned[:PER_KIND]:
            exchange = intruder.request("GET", item_path, path_params={param: ident})
            if exchange.status != 404:
                raise ConformanceFailure(
                    TENANT,
                    f"{exchange.describe()} for another workspace's {param} {ident}",
                    "404 not_found: another workspace's ids do not exist for the caller",
                    operation=label,
                )
    except ConformanceFailure as failure:
        ctx.fail(failure, failure.operation)
    else:
        if owned:
            ctx.passed(label, TENANT)
            ctx.passed(f"GET {list_path}", TENANT)


def _isolate_children(ctx: Context) -> None:
    """A patient's data and FHIR resource are out of reach of the other workspace as well."""
    assert ctx.second is not None
    if not ctx.patient_id:
        return
    paths: list[tuple[str, dict[str, Any]]] = [
        ("/v1/patients/{patient_id}/pain-entries", {}),
        ("/fhir/r4/Patient/{patient_id}", {}),
        ("/fhir/r4/Observation", {"patient": ctx.patient_id}),
    ]
    for path, params in paths:
        if not ctx.documented("GET", path):
            continue
        exchange = ctx.second.request("GET", path, path_params={"patient_id": ctx.patient_id}, params=params)
        label = f"GET {path}"
        body = exchange.json()
        leaked = exchange.status == 200 and not (
            path == "/fhir/r4/Observation"
            and isinstance(body, dict)
            and not body.get("entry")
            and body.get("total") in (0, None)
        )
        if leaked or exchange.status >= 500:
            ctx.fail(
                ConformanceFailure(
                    TENANT,
                    f"{exchange.describe()} for another workspace's patient",
                    "404 (or an empty searchset): the patient does not exist for the caller",
                    operation=label,
                ),
                label,
            )
        else:
            ctx.passed(label, TENANT)


NARROW_READS = "narrow_token_reads"
PAIN_SEVERITY_LOINC = "72514-3"  # the contract's code for pain Observations


def _fhir_codes(bundle: Any) -> set[str]:
    """Every coding code of the Observations in a searchset Bundle."""
    codes: set[str] = set()
    for entry in (bundle or {}).get("entry") or []:
        resource = entry.get("resource") or {}
        for coding in (resource.get("code") or {}).get("coding") or []:
            codes.add(str(coding.get("code")))
    return codes


def narrow_token_reads(ctx: Context) -> None:
    """A credential reads the intersection of its scopes and the patient's grant, on every path.

    With a token of only ``patients:read pain:read``, the timeline of a patient who granted every data
    scope holds pain entries only, and FHIR Observation (which needs ``fhir:read``) is 403; with
    ``fhir:read pain:read``, the Observation Bundle holds pain Observations only.
    """
    timeline = "GET /v1/patients/{patient_id}/timeline"
    observation = "GET /fhir/r4/Observation"
    wanted = [
        (op, path)
        for op, path in (
            (timeline, "/v1/patients/{patient_id}/timeline"),
            (observation, "/fhir/r4/Observation"),
        )
        if ctx.documented("GET", path)
    ]
    if not wanted:
        return
    options = ctx.options
    if not (options.client_id and options.client_secret and ctx.patient_id):
        for op, _ in wanted:
            reason = "needs --client-id/--client-secret" if ctx.patient_id else "no consented patient to read"
            ctx.skip(op, NARROW_READS, reason)
        return
    for op, path in wanted:
        try:
            if path.startswith("/fhir"):
                _narrow_fhir(ctx, options.client_id, options.client_secret)
            else:
                _narrow_timeline(ctx, options.client_id, options.client_secret)
        except ConformanceFailure as failure:
            ctx.fail(failure, op)
        else:
            ctx.passed(op, NARROW_READS)


def _narrow_bearer(ctx: Context, client_id: str, client_secret: str, scope: str) -> dict[str, str]:
    token = fetch_token(ctx.target, client_id, client_secret, scope)
    if token is None:
        raise ConformanceFailure(
            NARROW_READS,
            f"POST {ctx.spec.token_path()} refused scope={scope!r}",
            "a token narrowed to a subset of the client's scopes (RFC 6749 3.3)",
        )
    return {"Authorization": f"Bearer {token}"}


def _narrow_timeline(ctx: Context, client_id: str, client_secret: str) -> None:
    bearer = _narrow_bearer(ctx, client_id, client_secret, "patients:read pain:read")
    resp = ctx.target.request(
        "GET",
        "/v1/patients/{patient_id}/timeline",
        path_params={"patient_id": str(ctx.patient_id)},
        params={"per_page": 100},
        credentials=bearer,
    )
    body = ctx.expect_status(resp, NARROW_READS, 200, "200 for a token holding pain:read")
    kinds = {str(item.get("type")) for item in (body or {}).get("data") or []}
    if kinds - {"pain_entry"}:
        raise ConformanceFailure(
            NARROW_READS,
            f"{resp.describe()} with item types {sorted(kinds)} for a token of patients:read pain:read",
            "pain_entry items only: wellbeing and vitals need their own scopes on the credential",
        )


def _narrow_fhir(ctx: Context, client_id: str, client_secret: str) -> None:
    query = {"patient": str(ctx.patient_id), "_count": 100}
    without = ctx.target.request(
        "GET",
        "/fhir/r4/Observation",
        params=query,
        credentials=_narrow_bearer(ctx, client_id, client_secret, "patients:read pain:read"),
    )
    ctx.expect_status(without, NARROW_READS, 403, "403 for a token without fhir:read")
    resp = ctx.target.request(
        "GET",
        "/fhir/r4/Observation",
        params=query,
        credentials=_narrow_bearer(ctx, client_id, client_secret, "fhir:read pain:read"),
    )
    bundle = ctx.expect_status(resp, NARROW_READS, 200, "200 searchset for a token of fhir:read pain:read")
    codes = _fhir_codes(bundle)
    if codes - {PAIN_SEVERITY_LOINC}:
        raise ConformanceFailure(
            NARROW_READS,
            f"{resp.describe()} with Observation codes {sorted(codes)} for a token of fhir:read pain:read",
            f"pain Observations ({PAIN_SEVERITY_LOINC}) only: vitals need vitals:read on the credential",
        )
