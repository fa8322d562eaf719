"""One conformance run, layer by layer, into a `RunReport`.

Order matters: the read-mostly probes and the scenarios (which create their own patients) run before
Schemathesis, whose fuzzer may legitimately revoke consents or delete webhooks it finds through links.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from conformance.context import Context
from conformance.errors import ConformanceFailure, KitError
from conformance.har import HarRecorder
from conformance.ledger import Ledger
from conformance.options import RunOptions
from conformance.results import Collector, RunReport
from conformance.spec import Operation, Spec
from conformance.target import Target
from conformance.validation import IndependentValidator

Progress = Callable[[str, str], None]
SPEC_OPERATION = "<spec>"


def _quiet(kind: str, message: str) -> None:
    """Default progress sink: say nothing."""


def credentials_for(spec: Spec, options: RunOptions, probe: Target) -> dict[str, str]:
    """Request headers that authenticate the kit: the API key, or a bearer token from client credentials."""
    if options.api_key:
        scheme = spec.api_key_scheme()
        return {(scheme[1] if scheme else "X-API-Key"): options.api_key}
    from conformance.probes.access import fetch_token

    assert options.client_id and options.client_secret
    token = fetch_token(probe, options.client_id, options.client_secret)
    if token is None:
        raise KitError(f"{options.base_url} refused the client credentials (POST {spec.token_path()}).")
    return {"Authorization": f"Bearer {token}"}


def preflight(ctx: Context) -> None:
    """Fail fast with a kit error when the server is unreachable or the credentials are rejected."""
    public = _public_probe(ctx)
    if public is not None:
        ctx.target.request("GET", public.path)
    secured = next(
        (
            op
            for op in ctx.spec.operations
            if op.method == "get"
            and op.secured
            and "{" not in op.path
            and not op.path.startswith("/v1/sandbox")
        ),
        None,
    )
    if secured is None:
        return
    for target, flag in ((ctx.target, "--api-key/--client-id"), (ctx.second, "--second-api-key")):
        if target is None:
            continue
        exchange = target.request("GET", secured.path)
        if exchange.status == 401:
            raise KitError(
                f"{ctx.options.base_url} rejected the credentials given with {flag} ({exchange.describe()})."
            )


def _public_probe(ctx: Context) -> Operation | None:
    """A public GET that needs no parameters, a health check by preference, to test reachability."""
    candidates = [
        op
        for op in ctx.spec.operations
        if op.method == "get" and not op.secured and "{" not in op.path and not _required_query(ctx.spec, op)
    ]
    candidates.sort(key=lambda op: "health" not in op.path)
    return candidates[0] if candidates else None


def _required_query(spec: Spec, op: Operation) -> bool:
    item = spec.resolve(spec.document["paths"][op.path])
    params = [spec.resolve(p) for p in [*item.get("parameters", []), *item[op.method].get("parameters", [])]]
    return any(p.get("required") and p.get("in") == "query" for p in params)


def detect_sandbox(ctx: Context) -> bool:
    """Sandbox controls are present when GET /v1/sandbox/clock answers 200."""
    if not ctx.spec.has_path("/v1/sandbox/clock"):
        return False
    return ctx.target.request("GET", "/v1/sandbox/clock").status == 200


def discover_patient(ctx: Context) -> str | None:
    """A patient with an active consent, preferring the one with the most granted scopes."""
    if not ctx.documented("GET", "/v1/patients"):
        return None
    body = ctx.target.request("GET", "/v1/patients", params={"per_page": 100}).json()
    data = body.get("data") if isinstance(body, dict) else None
    best: tuple[int, str] | None = None
    for item in data if isinstance(data, list) else []:
        consent = item.get("consent") if isinstance(item, dict) else None
        status = consent.get("status") if isinstance(consent, dict) else "active"
        if status != "active" or not isinstance(item.get("id"), str):
            continue
        scopes = len(consent.get("scopes") or []) if isinstance(consent, dict) else 0
        if best is None or scopes > best[0]:
            best = (scopes, item["id"])
    return best[1] if best else None


def run(options: RunOptions, progress: Progress = _quiet) -> RunReport:
    """Run every requested layer against `options.base_url` and return the report.

    Raises `KitError` only for misuse found before the run starts (bad spec, unreachable server,
    rejected credentials). From then on nothing the target answers stops the run: failures are results,
    and a crash of the kit itself is recorded in `RunReport.kit_errors` while the other layers go on.
    """
    started = time.perf_counter()
    started_at = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    spec = Spec.load(options.spec_path)
    collector = Collector()
    selected, deliberate = _selection(spec, options)
    stats: dict[str, Any] = {}
    kit_errors: list[str] = []
    if "spec" in options.layers:
        _spec_layer(spec, collector, progress)
    validator = IndependentValidator(spec, options.base_url)
    recorder = HarRecorder() if "har" in options.reports else None
    ledger = None if options.read_only else Ledger()

    def target_with(credentials: dict[str, str], with_ledger: Ledger | None = None) -> Target:
        return Target(
            options.base_url,
            spec,
            collector,
            credentials,
            timeout=options.request_timeout,
            validator=validator,
            recorder=recorder,
            ledger=with_ledger,
        )

    bare = target_with({})
    ctx: Context | None = None
    try:
        credentials = credentials_for(spec, options, bare)
        target = target_with(credentials, ledger)
        second = None
        if options.second_api_key:
            scheme = spec.api_key_scheme()
            second = target_with({(scheme[1] if scheme else "X-API-Key"): options.second_api_key})
        ctx = Context(spec, options, target, collector, second=second, ledger=ledger)
        ctx.kit_errors = kit_errors
        progress("layer", "preflight: reachability and credentials")
        preflight(ctx)
        for each in (bare, target, second):
            if each is not None:
                each.reached = True
        _layers(ctx, credentials, stats, progress)
        if validator.unavailable:
            ctx.notes.append(f"Independent validation off: {validator.unavailable}.")
        _count(ctx, stats)
    finally:
        bare.close()
        if ctx is not None:
            ctx.target.close()
            if ctx.second is not None:
                ctx.second.close()
    return RunReport(
        target=options.base_url,
        spec=str(spec.path),
        profile=options.profile,
        seed=options.seed,
        started_at=started_at,
        duration=time.perf_counter() - started,
        operations=selected,
        results=collector.results(),
        notes=ctx.notes if ctx else [],
        stats=stats,
        deliberately_skipped=deliberate,
        kit_errors=kit_errors,
        exchanges=recorder,
        mode=_mode(options),
    )


def _selection(spec: Spec, options: RunOptions) -> tuple[list[str], dict[str, str]]:
    """The operations ``--include``/``--exclude`` select, and those the run skips on purpose (why)."""
    selected = [op.label for op in spec.operations if options.selects(op.label, op.operation_id)]
    if not selected:
        raise KitError("--include/--exclude leave no operation to test.")
    deliberate = {
        op.label: reason
        for op in spec.operations
        if op.label in selected and (reason := options.deliberately_skipped(op.method, op.label))
    }
    return selected, deliberate


def _spec_layer(spec: Spec, collector: Collector, progress: Progress) -> None:
    """The contract itself: a valid OpenAPI 3.1 document (the first five errors, when not)."""
    progress("layer", "spec: OpenAPI 3.1 validation")
    errors = spec.validation_errors()
    if not errors:
        collector.passed(SPEC_OPERATION, "openapi_31_valid")
        return
    failure = ConformanceFailure("openapi_31_valid", "; ".join(errors[:5]), "a valid OpenAPI 3.1 document")
    collector.failed(SPEC_OPERATION, "openapi_31_valid", str(failure))


def _count(ctx: Context, stats: dict[str, Any]) -> None:
    """What the kit sent, and how fast webhooks arrived (when any did)."""
    stats["kit_requests"] = ctx.target.requests_sent + (ctx.second.requests_sent if ctx.second else 0)
    if ctx.webhook_latencies_ms:
        latencies = sorted(ctx.webhook_latencies_ms)
        stats["webhook_latency_ms"] = {
            "count": len(latencies),
            "max": round(latencies[-1], 1),
            "median": round(latencies[len(latencies) // 2], 1),
        }


def _mode(options: RunOptions) -> str:
    if options.read_only:
        return "read-only: safe methods only, nothing on the target changes"
    if options.allow_clock:
        return "default, clock allowed: creates and removes its own resources, moves the test clock"
    return "default: creates its own resources and removes them at the end; pre-existing ones untouched"


def _layers(ctx: Context, credentials: dict[str, str], stats: dict[str, Any], progress: Progress) -> None:
    """Setup, probes, scenarios, Schemathesis, clean-up: each isolated, so one breaking spares the rest."""
    options = ctx.options
    try:
        if ctx.ledger is not None:
            progress("layer", "setup: listing pre-existing resources (left untouched)")
            ctx.guarded("snapshot", lambda c: c.ledger.snapshot(c.target) if c.ledger else None)
        ctx.sandbox = detect_sandbox(ctx)
        if not ctx.sandbox:
            ctx.notes.append(
                "The target offers no sandbox controls (GET /v1/sandbox/clock): scenarios skipped."
            )
        ctx.guarded("setup", lambda c: _setup_patient(c, progress))
        if "custom" in options.layers:
            progress("layer", "probes: pagination, filters, idempotency, scopes, isolation")
            mark = time.perf_counter()
            from conformance.probes import run_probes

            run_probes(ctx)
            stats["probes_seconds"] = round(time.perf_counter() - mark, 3)
        if "scenarios" in options.layers:
            mark = time.perf_counter()
            from conformance.scenarios import run_scenarios

            run_scenarios(ctx, progress)
            stats["scenarios_seconds"] = round(time.perf_counter() - mark, 3)
        if "schemathesis" in options.layers:
            progress("layer", "schemathesis: stateless and stateful phases")
            mark = time.perf_counter()
            from conformance.engine import run_schemathesis

            def fuzz(c: Context) -> None:
                st_stats = run_schemathesis(
                    c.spec,
                    options,
                    c.collector,
                    credentials,
                    patient_id=c.patient_id,
                    progress=progress,
                    ledger=c.ledger,
                    recorder=c.target.recorder,
                )
                stats.update({f"schemathesis_{key}": value for key, value in st_stats.items()})

            ctx.guarded("schemathesis", fuzz)
            stats["schemathesis_seconds"] = round(time.perf_counter() - mark, 3)
        if "scenarios" in options.layers:
            from conformance.scenarios import run_final_scenarios

            run_final_scenarios(ctx, progress)  # revokes the run's patient: after Schemathesis
    finally:
        if ctx.ledger is not None:
            progress("layer", "clean-up: removing what the run created")
            ledger = ctx.ledger
            ctx.guarded("clean-up", lambda c: ledger.clean_up(c.target))
            if ledger.cleaned:
                ctx.notes.append(f"Clean-up removed {len(ledger.cleaned)} resource(s) the run created.")
            if ledger.left:
                ctx.notes.append("Left on the target: " + "; ".join(ledger.left[:10]) + ".")


def _setup_patient(ctx: Context, progress: Progress) -> None:
    """A fresh consented patient from the sandbox controls when offered, else one already linked.

    When linking fails, the cause (with its reproduction) is kept for the checks that needed the
    patient: each of them fails with it, and the run goes on.
    """
    layers = ctx.options.layers
    if ctx.sandbox and ctx.writes_allowed and ("scenarios" in layers or "custom" in layers):
        from conformance.scenarios.consent import link_new_patient

        progress("layer", "setup: a fresh consented sandbox patient")
        try:
            ctx.patient_id = link_new_patient(ctx, history_days=30, check="setup").patient_id
            return
        except ConformanceFailure as failure:
            ctx.setup_failures["patient"] = failure
            ctx.notes.append(f"Setup could not link a sandbox patient: {failure.received}")
            return
    ctx.patient_id = discover_patient(ctx)
    if ctx.patient_id is None:
        ctx.notes.append("No patient with an active consent: per-patient probes skipped.")
