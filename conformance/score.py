"""The conformance score, after Microcks' conformance index.

Unit: one (operation, check) pair that actually ran. Per operation, per check and overall:

- score    = Σ weight(check) over passed pairs / Σ weight over executed pairs   (skips do not count;
             a group where nothing ran has no score at all — "not run", never 100);
- coverage = operations exercised by at least one executed check / operations selected, leaving out
             the operations this run deliberately never calls (named in every report, with the reason);
- index    = score * coverage, so a perfect score on half the API reads 50, not 100.

Weights come from `checks.CATALOGUE` (3 for server errors, schemas, auth and isolation; 1 for headers).
`EXPLANATION` says the same in one paragraph for the readers of every report.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from conformance.checks import weight_of
from conformance.results import CheckResult, Outcome

if TYPE_CHECKING:
    from conformance.results import RunReport

EXPLANATION = (
    "How to read these numbers: each check runs against each operation; one (operation, check) pair "
    "passes when no request of it failed that check. The score is the weighted share of executed pairs "
    "that passed (server errors, schemas, authorization and isolation weigh 3, headers 1); a check that "
    "did not run is listed as 'not run' with its reason and counts neither for nor against the score. "
    "Coverage is the share of the selected operations that at least one executed check reached, leaving "
    "out the operations this run deliberately never calls (listed under 'deliberately not called'). The "
    "conformance index is score x coverage / 100: a perfect score on half of the API reads 50. Only the "
    "failures decide the verdict and the exit code; the numbers say how much was judged."
)
NOT_RUN = "not run"


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
    def value(self) -> float | None:
        """Percentage 0-100; None when nothing executed: a check that did not run has no score."""
        return 100.0 * self.passed_weight / self.total_weight if self.total_weight else None

    @property
    def shown(self) -> str:
        """The score as reports print it: one decimal, or "not run"."""
        value = self.value
        return NOT_RUN if value is None else f"{value:.1f}"

    def to_dict(self) -> dict[str, Any]:
        value = self.value
        return {
            "score": None if value is None else round(value, 1),
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
    excluded: dict[str, str] = field(default_factory=dict)  # deliberately never called, with the reason

    @property
    def index(self) -> float | None:
        value = self.overall.value
        return None if value is None else value * self.coverage / 100.0

    @property
    def index_shown(self) -> str:
        index = self.index
        return NOT_RUN if index is None else f"{index:.1f}"

    def to_dict(self) -> dict[str, Any]:
        value, index = self.overall.value, self.index
        return {
            "score": None if value is None else round(value, 1),
            "coverage": round(self.coverage, 1),
            "index": None if index is None else round(index, 1),
            "operations_exercised": self.exercised,
            "operations_selected": self.selected,
            "operations_deliberately_not_called": dict(self.excluded),
            "per_operation": {name: item.to_dict() for name, item in self.per_operation.items()},
            "per_check": {name: item.to_dict() for name, item in self.per_check.items()},
        }


def compute(
    results: list[CheckResult], operations: list[str], excluded: dict[str, str] | None = None
) -> ScoreReport:
    """Score `results` against the selected spec `operations` (labels like `GET /v1/patients`).

    `excluded` operations (deliberately never called) leave the coverage denominator unless some check
    reached them anyway.
    """
    excluded = dict(excluded or {})
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
    excluded = {label: why for label, why in excluded.items() if label not in exercised}
    selected = set(operations) - set(excluded)
    hit = len(exercised & selected)
    coverage = 100.0 * hit / len(selected) if selected else 100.0
    return ScoreReport(
        overall,
        coverage,
        hit,
        len(selected),
        dict(sorted(per_operation.items())),
        dict(sorted(per_check.items())),
        excluded,
    )


def score_report(report: RunReport) -> ScoreReport:
    return compute(report.results, report.operations, report.deliberately_skipped)


@dataclass
class FailureGroup:
    """Failures of one check with one cause, however many operations showed it."""

    check: str
    message: str
    operations: list[str] = field(default_factory=list)
    reproduce: list[str] = field(default_factory=list)
    count: int = 0  # failing requests over all the operations

    def to_dict(self) -> dict[str, Any]:
        return {
            "check": self.check,
            "message": self.message,
            "operations": list(self.operations),
            "count": self.count,
            "reproduce": list(self.reproduce),
        }


_OPERATION_TEXT = re.compile(r"\b(GET|HEAD|POST|PUT|PATCH|DELETE|OPTIONS|TRACE) /\S*")
_NUMBERS = re.compile(r"\b[0-9a-f]{8,}\b|\b\d+(\.\d+)?\b")


_SPECIFICS = re.compile(r"""[{\[`'"].*""")


def cause_of(result: CheckResult) -> str:
    """The message's first line without what is specific to one case: operation, ids, quoted values."""
    message = result.messages[0].splitlines()[0] if result.messages else ""
    message = _OPERATION_TEXT.sub("<operation>", message)
    return _NUMBERS.sub("#", _SPECIFICS.sub("…", message))


def group_failures(failures: list[CheckResult]) -> list[FailureGroup]:
    """Failed (operation, check) pairs grouped by check and cause, largest group first."""
    groups: dict[tuple[str, str], FailureGroup] = {}
    for result in failures:
        key = (result.check, cause_of(result))
        group = groups.get(key)
        if group is None:
            group = groups[key] = FailureGroup(result.check, result.messages[0] if result.messages else "")
        group.operations.append(result.operation)
        group.count += result.failed + result.errors
        for line in result.reproduce:
            if len(group.reproduce) < 3 and line not in group.reproduce:
                group.reproduce.append(line)
    return sorted(groups.values(), key=lambda g: (-len(g.operations), g.check))
