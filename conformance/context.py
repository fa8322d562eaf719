"""State shared by the probes and scenarios of one run."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from conformance.errors import ConformanceFailure
from conformance.exchange import Exchange
from conformance.options import RunOptions
from conformance.results import Collector
from conformance.spec import Spec
from conformance.target import Target


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

    def documented(self, method: str, path: str) -> bool:
        """Whether the spec has the operation and the selection includes it."""
        op = self.spec.operation(method, path)
        return op is not None and self.options.selects(op.label, op.operation_id)

    def passed(self, operation: str, check: str) -> None:
        self.collector.passed(operation, check)

    def fail(self, failure: ConformanceFailure, operation: str | None = None) -> None:
        self.collector.failed(operation or failure.operation or "<run>", failure.check, failure.message)

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
                check, f"{exchange.describe()} {body!r}", documented, operation=exchange.operation
            )
        value = exchange.json()
        return value if isinstance(value, dict | list) else None


def error_code(body: Any) -> str | None:
    """`error.code` of an envelope body, if it is one."""
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        code = body["error"].get("code")
        return code if isinstance(code, str) else None
    return None
