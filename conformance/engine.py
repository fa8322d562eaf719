"""Layer (b): Schemathesis' stateless and stateful phases, driven in-process through its engine.

Running the engine (not the pytest plugin or the CLI) lets the kit read every check of every case from
the event stream and fold it into the per-(operation, check) results that feed the score and reports.
The kit's per-response checks ride along as Schemathesis custom checks, so every generated case is held
to this API's envelope and header rules too.
"""

from __future__ import annotations

import copy
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from conformance.checks import CATALOGUE
from conformance.checks.response import RESPONSE_CHECKS, ResponseCheck, error_envelope
from conformance.errors import ConformanceFailure, KitError
from conformance.exchange import Exchange, lower_headers
from conformance.ledger import PROTECTED_PLACEHOLDER, SAFE_METHODS
from conformance.options import NEVER_FUZZED, RunOptions
from conformance.redact import probe_curl
from conformance.results import Collector

if TYPE_CHECKING:
    from schemathesis.config import SchemathesisConfig

    from conformance.har import HarRecorder
    from conformance.ledger import Ledger
    from conformance.spec import Spec

# Semantic errors the contract documents for well-formed requests (unknown email, conflicting state,
# from > to...) are legitimate answers to schema-valid data; server errors are reported by
# not_a_server_error, not twice.
POSITIVE_STATUSES = ["2xx", "3xx", "400", "401", "403", "404", "409", "422", "429", "5xx"]
# Schema-invalid data must be refused; 404 stays because an invalid path id names no resource.
NEGATIVE_STATUSES = ["400", "401", "403", "404", "405", "406", "413", "415", "422", "429", "5xx"]
KIT_CHECKS = tuple(check.__name__ for check in RESPONSE_CHECKS)

Progress = Callable[[str, str], None]


@dataclass
class _State:
    """What the registered adapters need from the current run; inactive outside the kit's runs."""

    active: bool = False
    spec: Spec | None = None
    check_seconds: float = 0.0
    ledger: Ledger | None = None
    recorder: HarRecorder | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)


_STATE = _State()
_LOCAL = threading.local()
_REGISTERED = False


def _adapter(check: ResponseCheck) -> Callable[..., bool | None]:
    """Wrap a kit check as a Schemathesis check: Exchange in, Schemathesis `Failure` out."""
    from schemathesis.core.failures import Failure

    class KitFailure(Failure):
        code = "ST901"
        kind_title = "care-conformance check failed"

        @property
        def _unique_key(self) -> str:
            return str(self.title)

    def run(ctx: Any, response: Any, case: Any) -> bool | None:
        if not _STATE.active:
            return True  # registered globally; someone else's Schemathesis run is not ours to judge
        started = time.perf_counter()
        try:
            return _judge(response, case)
        finally:
            _STATE.check_seconds += time.perf_counter() - started

    def _judge(response: Any, case: Any) -> bool | None:
        exchange = _exchange(response, case)
        try:
            if check is error_envelope:
                spec = _STATE.spec
                codes = spec.error_codes_for(exchange.path) if spec is not None else None
                rfc6749 = spec is not None and exchange.path in spec.rfc6749_error_paths
                applied = error_envelope(exchange, codes, rfc6749=rfc6749)
            else:
                applied = check(exchange)
        except ConformanceFailure as failure:
            raise KitFailure(
                operation=case.operation.label, title=failure.check, message=failure.message
            ) from None
        return None if applied else True

    run.__name__ = check.__name__
    run.__doc__ = check.__doc__
    return run


def _exchange(response: Any, case: Any) -> Exchange:
    """The Exchange for a response, built once and shared by the kit's checks of the same case."""
    cached = getattr(_LOCAL, "last", None)
    if cached is not None and cached[0] is response:
        return cached[1]  # type: ignore[no-any-return]
    exchange = Exchange(
        method=case.method,
        url=str(response.request.url),
        status=response.status_code,
        headers=lower_headers(response.headers),
        body=response.content or b"",
        operation=case.operation.label,
    )
    _LOCAL.last = (response, exchange)
    return exchange


def register_checks() -> None:
    """Register the kit's per-response checks with Schemathesis once per process."""
    global _REGISTERED
    with _STATE.lock:
        if _REGISTERED:
            return
        import schemathesis

        for check in RESPONSE_CHECKS:
            schemathesis.check(_adapter(check))
        schemathesis.hook("before_call")(_guard_call)
        schemathesis.hook("after_call")(_after_call)
        _REGISTERED = True


def _guard_call(ctx: Any, case: Any, kwargs: Any) -> None:
    """Keep Schemathesis' state-changing requests off the target's pre-existing resources, and give
    every request a path the operation has.

    An empty path parameter (a stateful link that read an empty or null id from a response, as
    Prism's dynamic mode answers) sent ``GET /v1/patients/pain-entries/…``: a path of no operation,
    whose 404 from the target's router was then judged as the operation's answer (missing headers).
    Such a parameter is given an id that cannot exist instead."""
    if not _STATE.active or not case.path_parameters:
        return
    if any(value in ("", None) for value in case.path_parameters.values()):
        case.path_parameters = {
            name: PROTECTED_PLACEHOLDER if value in ("", None) else value
            for name, value in case.path_parameters.items()
        }
    ledger = _STATE.ledger
    if ledger is None:
        return
    guarded = ledger.guard_path_parameters(case.method, case.path_parameters)
    if guarded is not None:
        case.path_parameters = guarded


def _after_call(ctx: Any, case: Any, response: Any) -> None:
    """Note what Schemathesis created, for the clean-up at the end of the run."""
    ledger = _STATE.ledger
    if not _STATE.active or ledger is None or not 200 <= response.status_code < 300:
        return
    if not ledger.tracks(case.method, case.operation.path):
        return
    try:
        body = response.json()
    except Exception:
        body = None
    ident = next(iter((case.path_parameters or {}).values()), None)
    ledger.note(case.method, case.operation.path, response.status_code, body, str(ident) if ident else None)


def _record(recorder: HarRecorder, scenario: Any) -> None:
    """Every exchange of one scenario, the requests checks send themselves (ignored_auth…) included."""
    from datetime import UTC, datetime

    for interaction in scenario.interactions.values():
        response = interaction.response
        if response is None:
            continue
        request = interaction.request
        recorder.record(
            request.method,
            request.uri,
            lower_headers(request.headers),
            request.body,
            response.status_code,
            lower_headers(response.headers),
            response.content or b"",
            elapsed=float(response.elapsed or 0.0),
            started=datetime.fromtimestamp(interaction.timestamp, UTC),
            comment=f"schemathesis: {scenario.label}",
        )


# Schemathesis' default markers less "key": it filtered every header or field whose name holds "key",
# so a negative_data_rejection failure on `Idempotency-Key` showed the one value that caused it as
# "[Filtered]". The credential names (X-API-Key, api_key, …) stay in its key list, and the kit's own
# redaction (conformance.redact) runs on every curl line after it.
SENSITIVE_MARKERS = ("token", "secret", "password", "auth", "session", "passwd", "credential")


def build_config(
    options: RunOptions,
    headers: dict[str, str],
    *,
    kit_checks: bool = True,
    patient_id: str | None = None,
    excluded: tuple[str, ...] = (),
) -> SchemathesisConfig:
    """The Schemathesis configuration for this API: seeded, no example database, tuned statuses."""
    from schemathesis.config import SchemathesisConfig

    profile = options.settings
    checks: dict[str, Any] = {
        "positive_data_acceptance": {"expected-statuses": POSITIVE_STATUSES},
        "negative_data_rejection": {"expected-statuses": NEGATIVE_STATUSES},
    }
    for name in KIT_CHECKS:
        checks[name] = {"enabled": kit_checks}
    if options.read_only:
        # both send methods the operation does not declare (DELETE, PUT…) to watch for 405
        checks["unsupported_method"] = {"enabled": False}
        checks["allow_header_conformance"] = {"enabled": False}
    data: dict[str, Any] = {
        "seed": options.seed,
        "base-url": options.base_url,
        "workers": options.workers,
        "request-timeout": options.request_timeout,
        "headers": headers,
        "generation": {"database": "none", "max-examples": profile.max_examples},
        "phases": {
            "examples": {"enabled": True},
            "coverage": {"enabled": profile.coverage_phase}
            | ({"unexpected-methods": []} if options.read_only else {}),
            "fuzzing": {"enabled": True},
            "stateful": {
                "enabled": True,
                "max-steps": profile.stateful_steps,
                "generation": {"max-examples": profile.stateful_examples},
            },
        },
        "checks": checks,
        "output": {"sanitization": {"sensitive-markers": list(SENSITIVE_MARKERS)}},
    }
    # Deselect through the config as well: in 4.32.5 a `[[operations]]` entry makes `schema.include()`
    # lose its filter, so the config is the one place selection is sure to hold.
    operations: list[dict[str, Any]] = [{"include-name": label, "enabled": False} for label in excluded]
    if patient_id is not None:
        # Real ids reach the 2xx paths, where bodies can be checked against schemas; sandbox controls
        # keep generated ids so the fuzzer cannot revoke the consent the rest of the run reads through.
        operations.append(
            {"exclude-path-regex": "^/v1/sandbox/", "parameters": {"path.patient_id": patient_id}}
        )
    if operations:
        data["operations"] = operations
    return SchemathesisConfig.from_dict(data)


def fuzzable(spec: Spec, options: RunOptions) -> list[str]:
    """Labels Schemathesis may call: the selection minus the workspace-wide sandbox controls.

    Under --read-only only safe methods remain: nothing the fuzzer sends may change the target.
    """
    return [
        op.label
        for op in spec.operations
        if options.selects(op.label, op.operation_id)
        and op.label not in NEVER_FUZZED
        and not (options.read_only and op.method.upper() not in SAFE_METHODS)
    ]


def run_schemathesis(
    spec: Spec,
    options: RunOptions,
    collector: Collector,
    headers: dict[str, str],
    *,
    patient_id: str | None = None,
    kit_checks: bool = True,
    progress: Progress | None = None,
    ledger: Ledger | None = None,
    recorder: HarRecorder | None = None,
) -> dict[str, Any]:
    """Run every enabled phase against the target; fold each check result into `collector`."""
    import schemathesis
    from schemathesis.engine import Status, events, from_schema

    labels = fuzzable(spec, options)
    if not labels:
        return {"cases": 0}
    register_checks()
    excluded = tuple(op.label for op in spec.operations if op.label not in labels)
    config = build_config(options, headers, kit_checks=kit_checks, patient_id=patient_id, excluded=excluded)
    schema = schemathesis.openapi.from_dict(copy.deepcopy(spec.document), config=config).include(name=labels)
    stats: dict[str, Any] = {"cases": 0, "scenarios": 0}
    fold_seconds = 0.0
    with _STATE.lock:
        _STATE.check_seconds = 0.0
        _STATE.active = kit_checks
        _STATE.spec = spec
        _STATE.ledger = ledger
        _STATE.recorder = recorder
    try:
        for event in from_schema(schema).execute():
            if isinstance(event, events.ScenarioFinished):
                stats["scenarios"] += 1
                mark = time.perf_counter()
                stats["cases"] += _fold(event.recorder, collector, Status)
                if recorder is not None:
                    _record(recorder, event.recorder)
                fold_seconds += time.perf_counter() - mark
                if progress is not None and event.label:
                    progress("operation", f"{event.phase.value}: {event.label}")
            elif isinstance(event, events.PhaseStarted) and progress is not None:
                progress("phase", event.phase.name.value)
            elif isinstance(event, events.NonFatalError):
                _non_fatal(event, collector)
            elif isinstance(event, events.FatalError):
                raise KitError(f"Schemathesis could not run: {event.exception}")
            elif isinstance(event, events.EngineFinished):
                for failure in event.failures:
                    collector.failed(failure.operation or "<run>", "after_run", str(failure))
    finally:
        with _STATE.lock:
            _STATE.active = False
            _STATE.ledger = None
            _STATE.recorder = None
    # What the kit adds on top of Schemathesis, measured directly (bench/bench_conformance.py reports it).
    stats["kit_check_seconds"] = round(_STATE.check_seconds, 4)
    stats["fold_seconds"] = round(fold_seconds, 4)
    return stats


def _fold(recorder: Any, collector: Collector, status: Any) -> int:
    """Move one scenario's check nodes into the collector; returns how many cases it held."""
    for case_id, nodes in recorder.checks.items():
        node_case = recorder.cases.get(case_id)
        label = node_case.value.operation.label if node_case is not None else recorder.label
        for node in nodes:
            if node.status == status.SUCCESS:
                collector.passed(label, node.name)
            elif node.status == status.FAILURE and node.failure_info is not None:
                failure = node.failure_info.failure
                reproduce = node.failure_info.code_sample
                if node.name == "ignored_auth" and reproduce:
                    # the sample is the authenticated request; the target accepted it without (no_auth)
                    # or with bad credentials
                    invalid = str(getattr(failure, "scenario", "")) != "no_auth"
                    reproduce = probe_curl(reproduce, invalid=invalid)
                collector.failed(
                    label,
                    node.name,
                    _message(node.name, failure),
                    code=failure.code,
                    reproduce=reproduce,
                )
            elif node.status == status.ERROR:
                collector.error(label, node.name, "the check itself raised an error")
    return len(recorder.cases)


def _message(check: str, failure: Any) -> str:
    """Schemathesis failures in the kit's Received/Documented shape, naming the check."""
    if failure.code == "ST901" and str(failure.message).startswith("["):
        return str(failure.message)  # one of ours: already shaped
    info = CATALOGUE.get(check)
    detail = failure.message or (f"HTTP {failure.status_code}" if hasattr(failure, "status_code") else "")
    received = f"{failure.code} {failure.title}: {detail}".strip().rstrip(":")
    documented = info.summary if info is not None else check
    return f"[{check}] Received: {received}\nDocumented: {documented}"


def _reproduction(event: Any) -> str | None:
    """The curl line Schemathesis attached to a transport error (its code sample or exception note)."""
    sample = getattr(event.info, "code_sample", None)
    if sample:
        return str(sample)
    for note in getattr(event.value, "__notes__", []) or []:
        if "curl" in note:
            return str(note.split("Reproduce with:", 1)[-1].strip())
    return None


def _non_fatal(event: Any, collector: Collector) -> None:
    """Transport failures are the API's fault; generation limits (unsatisfiable schemas…) are notes."""
    from schemathesis.engine.errors import RuntimeErrorKind

    kind = getattr(event.info, "_kind", None)
    message = f"{event.info.title}: {event.info.message}"
    if (
        kind
        in (
            RuntimeErrorKind.CONNECTION_OTHER,
            RuntimeErrorKind.NETWORK_OTHER,
            RuntimeErrorKind.SERVER_UNAVAILABLE,
            RuntimeErrorKind.CONNECTION_SSL,
        )
        or "timeout" in message.lower()
    ):
        collector.error(event.label, "request_completed", message, reproduce=_reproduction(event))
    else:
        collector.skipped(event.label, "schemathesis_generation", message)
