"""The conformance score, after Microcks' conformance index.

Unit: one (operation, check) pair that actually ran. Per operation, per check and overall:

- score    = Σ weight(check) over passed pairs / Σ weight over executed pairs   (skips do not count);
- coverage = operations of the spec exercised by at least one executed check / operations selected;
- index    = score * coverage, so a perfect score on half the API reads 50, not 100.

Weights come from `checks.CATALOGUE` (3 for server errors, schemas, auth and isolation; 1 for headers).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from conformance.checks import weight_of
from conformance.results import CheckResult, Outcome

if TYPE_CHECKING:
    from conformance.results import RunReport


@dataclass
class Score:
    """Weighted pass ratio of a group of (operation, check) pairs."""

    passed_weight: int = 0
    total_weight: int = 0
    passed: int = 0
    failed: int = 0
    skipped: int = 0

    def add(self, result: CheckResult) -> None:
        outcome = result.outcome
        if outcome is Outcome.SKIPPED:
            self.skipped += 1
            return
        weight = weight_of(result.check)
        self.total_weight += weight
        if outcome is Outcome.PASSED:
            self.passed_weight += weight
            self.passed += 1
        else:
            self.failed += 1

    @property
    def value(self) -> float:
        """Percentage 0-100; 100 when nothing executed (nothing to hold against it)."""
        return 100.0 * self.passed_weight / self.total_weight if self.total_weight else 100.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "score": round(self.value, 1),
            "passed": self.passed,
            "failed": self.failed,
            "skipped": self.skipped,
        }


@dataclass
class ScoreReport:
    """Overall, per-operation and per-check scores plus spec coverage."""

    overall: Score
    coverage: float
    exercised: int
    selected: int
    per_operation: dict[str, Score] = field(default_factory=dict)
    per_check: dict[str, Score] = field(default_factory=dict)

    @property
    def index(self) -> float:
        return self.overall.value * self.coverage / 100.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "score": round(self.overall.value, 1),
            "coverage": round(self.coverage, 1),
            "index": round(self.index, 1),
            "operations_exercised": self.exercised,
            "operations_selected": self.selected,
            "per_operation": {name: item.to_dict() for name, item in self.per_operation.items()},
            "per_check": {name: item.to_dict() for name, item in self.per_check.items()},
        }


def compute(results: list[CheckResult], operations: list[str]) -> ScoreReport:
    """Score `results` against the selected spec `operations` (labels like `GET /v1/patients`)."""
    overall = Score()
    per_operation: dict[str, Score] = defaultdict(Score)
    per_check: dict[str, Score] = defaultdict(Score)
    exercised: set[str] = set()
    for result in results:
        overall.add(result)
        per_operation[result.operation].add(result)
        per_check[result.check].add(result)
        if result.outcome is not Outcome.SKIPPED:
            exercised.add(result.operation)
    selected = set(operations)
    hit = len(exercised & selected)
    coverage = 100.0 * hit / len(selected) if selected else 100.0
    return ScoreReport(
        overall,
        coverage,
        hit,
        len(selected),
        dict(sorted(per_operation.items())),
        dict(sorted(per_check.items())),
    )


def score_report(report: RunReport) -> ScoreReport:
    return compute(report.results, report.operations)
