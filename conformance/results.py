"""Results of a run, aggregated per (operation, check) as they arrive.

Schemathesis may send thousands of cases; keeping one counter pair per (operation, check) instead of
every case keeps memory flat and gives the score its unit: an operation passes a check when no case
of it failed that check.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from conformance.checks import CATALOGUE
from conformance.har import HarRecorder
from conformance.redact import scrub_curl

MAX_MESSAGES = 3


class Outcome(StrEnum):
    """Outcome of one check on one operation (or scenario)."""

    PASSED = "passed"
    FAILED = "failed"
    ERROR = "error"
    SKIPPED = "skipped"


@dataclass
class CheckResult:
    """All executions of one check against one operation."""

    operation: str
    check: str
    layer: str
    passed: int = 0
    failed: int = 0
    errors: int = 0
    skip_reason: str | None = None
    messages: list[str] = field(default_factory=list)
    codes: list[str] = field(default_factory=list)
    reproduce: list[str] = field(default_factory=list)

    @property
    def outcome(self) -> Outcome:
        if self.failed:
            return Outcome.FAILED
        if self.errors:
            return Outcome.ERROR
        if self.passed:
            return Outcome.PASSED
        return Outcome.SKIPPED

    def to_dict(self) -> dict[str, Any]:
        return {
            "operation": self.operation,
            "check": self.check,
            "layer": self.layer,
            "outcome": self.outcome.value,
            "passed": self.passed,
            "failed": self.failed,
            "errors": self.errors,
            "skip_reason": self.skip_reason,
            "messages": list(self.messages),
            "codes": list(self.codes),
            "reproduce": list(self.reproduce),
        }


def layer_of(check: str) -> str:
    info = CATALOGUE.get(check)
    return info.layer if info is not None else "schemathesis"


class Collector:
    """Thread-safe sink for check outcomes (Schemathesis workers and the receiver thread write here)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._results: dict[tuple[str, str], CheckResult] = {}

    def _entry(self, operation: str, check: str) -> CheckResult:
        key = (operation, check)
        entry = self._results.get(key)
        if entry is None:
            entry = self._results[key] = CheckResult(operation, check, layer_of(check))
        return entry

    def passed(self, operation: str, check: str, count: int = 1) -> None:
        with self._lock:
            self._entry(operation, check).passed += count

    def failed(
        self,
        operation: str,
        check: str,
        message: str,
        *,
        code: str | None = None,
        reproduce: str | None = None,
    ) -> None:
        with self._lock:
            entry = self._entry(operation, check)
            entry.failed += 1
            if message not in entry.messages and len(entry.messages) < MAX_MESSAGES:
                entry.messages.append(message)
            if code and code not in entry.codes:
                entry.codes.append(code)
            reproduce = scrub_curl(reproduce) if reproduce else reproduce
            if reproduce and len(entry.reproduce) < MAX_MESSAGES and reproduce not in entry.reproduce:
                entry.reproduce.append(reproduce)

    def error(self, operation: str, check: str, message: str, *, reproduce: str | None = None) -> None:
        with self._lock:
            entry = self._entry(operation, check)
            entry.errors += 1
            if message not in entry.messages and len(entry.messages) < MAX_MESSAGES:
                entry.messages.append(message)
            reproduce = scrub_curl(reproduce) if reproduce else reproduce
            if reproduce and len(entry.reproduce) < MAX_MESSAGES and reproduce not in entry.reproduce:
                entry.reproduce.append(reproduce)

    def skipped(self, operation: str, check: str, reason: str) -> None:
        with self._lock:
            entry = self._entry(operation, check)
            if entry.skip_reason is None:
                entry.skip_reason = reason

    def results(self) -> list[CheckResult]:
        with self._lock:
            return sorted(self._results.values(), key=lambda item: (item.operation, item.check))


@dataclass
class RunReport:
    """Everything the reporters render: target, settings, per-(operation, check) results, extras."""

    target: str
    spec: str
    profile: str
    seed: int
    started_at: str
    duration: float
    operations: list[str]
    results: list[CheckResult]
    notes: list[str] = field(default_factory=list)
    stats: dict[str, Any] = field(default_factory=dict)
    # operation label -> why this run never calls it on purpose (left out of coverage, named in reports)
    deliberately_skipped: dict[str, str] = field(default_factory=dict)
    kit_errors: list[str] = field(default_factory=list)  # crashes of the kit itself (exit code 3)
    exchanges: HarRecorder | None = None  # every exchange, when a HAR report was asked for
    mode: str = ""

    @property
    def failures(self) -> list[CheckResult]:
        return [item for item in self.results if item.outcome in (Outcome.FAILED, Outcome.ERROR)]

    @property
    def conforms(self) -> bool:
        return not self.failures

    def to_dict(self) -> dict[str, Any]:
        from conformance.score import EXPLANATION, group_failures, score_report

        return {
            "target": self.target,
            "spec": self.spec,
            "profile": self.profile,
            "seed": self.seed,
            "started_at": self.started_at,
            "duration_seconds": round(self.duration, 3),
            "conforms": self.conforms,
            "mode": self.mode,
            "explanation": EXPLANATION,
            "score": score_report(self).to_dict(),
            "failure_groups": [group.to_dict() for group in group_failures(self.failures)],
            "deliberately_skipped": dict(self.deliberately_skipped),
            "kit_errors": list(self.kit_errors),
            "operations": list(self.operations),
            "results": [item.to_dict() for item in self.results],
            "notes": list(self.notes),
            "stats": dict(self.stats),
        }
