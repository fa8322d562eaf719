"""State shared by the probes and scenarios of one run."""

from __future__ import annotations

import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from conformance.errors import ConformanceFailure, KitError
from conformance.exchange import Exchange
from conformance.options import RunOptions
from conformance.results import Collector
from conformance.spec import Spec
from conformance.target import REQUEST_COMPLETED, Target

if TYPE_CHECKING:
    from conformance.ledger import Ledger


@dataclass
class Context:
    """The spec, the target(s), where results go, and facts learned along the way."""

    spec: Spec
    options: RunOptions
    target: Target
    collector: Collector
    second: Target | None = None
    sandbox: bool = False
    patient_id: str | None = None
    report_id: str | None = None  # a completed report of patient_id (the report scenario's)
    notes: list[str] = field(default_factory=list)
    webhook_latencies_ms: list[float] = field(default_factory=list)
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    ledger: Ledger | None = None
    # setup step -> why it failed; scenarios and probes needing it fail with this cause and reproduction
    setup_failures: dict[str, ConformanceFailure] = field(default_factory=dict)
    kit_errors: list[str] = field(default_factory=list)

    @property
    def writes_allowed(self) -> bool:
        return not self.options.read_only

    def last_curl(self) -> str:
        """Reproduction of the most recent request either target sent."""
        targets = [t for t in (self.target, self.second) if t is not None]
        latest = max(targets, key=lambda t: t.last_sent)
        return latest.last_curl

    def needs_patient(self, operation: str, check: str) -> bool:
        """True with a consented patient; otherwise records why `check` could not run and returns False.

        A failed setup is the target's fault, so the check fails with the setup's cause and reproduction;
        no patient for another reason (none consented, read-only) is "not run", with that reason.
        """
        if self.patient_id:
            return True
        failure = self.setup_failures.get("patient")
        if failure is not None:
            self.fail(
                ConformanceFailure(
                    check,
                    f"setup could not link a consented patient, so this did not run: {failure.received}",
                    failure.documented,
                    reproduce=failure.reproduce,
                ),
                operation,
            )
        else:
            self.skip(operation, check, "no consented patient to read")
        return False

    def guarded(self, name: str, step: Callable[[Context], None]) -> None:
        """Run one probe or scenario so that nothing it raises stops the rest of the run.

        The target failing (a timeout, an unexpected answer) is recorded as its failure; anything else is
        a bug of the kit (or the kit unable to do its part), recorded for exit code 3, and the run goes on.
        """
        try:
            step(self)
        except ConformanceFailure as failure:
            if failure.check != REQUEST_COMPLETED:  # the target already recorded transport failures
                self.fail(failure, failure.operation or f"<{name}>")
        except KitError as exc:
            # after the preflight a KitError means the kit could not do its job (Schemathesis refusing
            # the spec…): the run goes on and reports it with exit code 3 rather than dying unreported
            self.kit_errors.append(f"{name}: the kit could not run this part: {exc}")
        except Exception as exc:
            self.kit_errors.append(f"{name}: {type(exc).__name__}: {exc}\n{traceback.format_exc(limit=6)}")

    def documented(self, method: str, path: str) -> bool:
        """Whether the spec has the operation and the selection includes it."""
        op = self.spec.operation(method, path)
        return op is not None and self.options.selects(op.label, op.operation_id)

    def passed(self, operation: str, check: str) -> None:
        self.collector.passed(operation, check)

    def fail(self, failure: ConformanceFailure, operation: str | None = None) -> None:
        self.collector.failed(
            operation or failure.operation or "<run>",
            failure.check,
            failure.message,
            reproduce=failure.reproduce or self.last_curl() or None,
        )

    def skip(self, operation: str, check: str, reason: str) -> None:
        self.collector.skipped(operation, check, reason)

    def expect_status(
        self, exchange: Exchange, check: str, expected: int | tuple[int, ...], documented: str
    ) -> Any:
        """Fail as `check` unless the status is as expected; return the JSON body (dict or list)."""
        allowed = (expected,) if isinstance(expected, int) else expected
        if exchange.status not in allowed:
            body = exchange.body[:200].decode("utf-8", "replace")
            raise ConformanceFailure(
                check,
                f"{exchange.describe()} {body!r}",
                documented,
                operation=exchange.operation,
                reproduce=exchange.reproduce,
            )
        value = exchange.json()
        return value if isinstance(value, dict | list) else None


def error_code(body: Any) -> str | None:
    """`error.code` of an envelope body, if it is one."""
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        code = body["error"].get("code")
        return code if isinstance(code, str) else None
    return None
