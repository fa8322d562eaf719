"""Markdown: a summary for pull-request comments and CI job summaries."""

from __future__ import annotations

from conformance.results import Outcome, RunReport
from conformance.score import score_report


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", "<br>")


def render(report: RunReport) -> str:
    """The report as GitHub-flavoured Markdown."""
    scores = score_report(report)
    failing = len(report.failures)
    verdict = "conforms" if report.conforms else f"does NOT conform ({failing} failing checks)"
    lines = [
        "# care-conformance report",
        "",
        f"- Target: `{report.target}` — **{verdict}**",
        f"- Score **{scores.overall.value:.1f}**, coverage **{scores.coverage:.1f}%** "
        f"({scores.exercised}/{scores.selected} operations), conformance index **{scores.index:.1f}**",
        f"- Profile `{report.profile}`, seed `{report.seed}`, {report.duration:.1f} s, "
        f"started {report.started_at}",
        f"- Spec `{report.spec}`",
        "",
    ]
    if report.failures:
        lines += ["## Failures", "", "| Operation | Check | Details |", "|---|---|---|"]
        for result in report.failures:
            details = _cell(result.messages[0] if result.messages else "")
            lines.append(f"| `{_cell(result.operation)}` | `{result.check}` | {details} |")
        lines.append("")
    lines += [
        "## Per operation",
        "",
        "| Operation | Score | Passed | Failed | Skipped |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, score in scores.per_operation.items():
        lines.append(
            f"| `{_cell(name)}` | {score.value:.1f} | {score.passed} | {score.failed} | {score.skipped} |"
        )
    lines += [
        "",
        "## Per check",
        "",
        "| Check | Score | Passed | Failed | Skipped |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, score in scores.per_check.items():
        lines.append(f"| `{name}` | {score.value:.1f} | {score.passed} | {score.failed} | {score.skipped} |")
    skipped = [
        result for result in report.results if result.outcome is Outcome.SKIPPED and result.skip_reason
    ]
    if skipped:
        lines += ["", "## Skipped", ""]
        lines += [f"- `{_cell(r.operation)}` `{r.check}`: {_cell(r.skip_reason or '')}" for r in skipped]
    if report.notes:
        lines += ["", "## Notes", ""] + [f"- {_cell(note)}" for note in report.notes]
    return "\n".join(lines) + "\n"
