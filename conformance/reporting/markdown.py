"""Markdown: a summary for pull-request comments and CI job summaries."""

from __future__ import annotations

from conformance.results import Outcome, RunReport
from conformance.score import EXPLANATION, group_failures, score_report


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
        f"- Score **{scores.overall.shown}**, coverage **{scores.coverage:.1f}%** "
        f"({scores.exercised}/{scores.selected} operations), conformance index **{scores.index_shown}**",
        f"- Profile `{report.profile}`, seed `{report.seed}`, {report.duration:.1f} s, "
        f"started {report.started_at}",
        f"- Mode: {report.mode}" if report.mode else "",
        f"- Spec `{report.spec}`",
        "",
        EXPLANATION,
        "",
    ]
    if report.kit_errors:
        lines += ["## The kit itself broke (exit code 3)", ""]
        lines += [f"```\n{error}\n```" for error in report.kit_errors]
        lines.append("")
    groups = group_failures(report.failures)
    if groups:
        lines += ["## Failures, grouped by cause", "", "| Check | Operations | Details | Reproduce |"]
        lines.append("|---|---|---|---|")
        for group in groups:
            ops = ", ".join(f"`{_cell(op)}`" for op in group.operations[:5])
            more = f" and {len(group.operations) - 5} more" if len(group.operations) > 5 else ""
            repro = "<br>".join(f"`{_cell(line)}`" for line in group.reproduce[:1])
            count = f"`{group.check}` x{len(group.operations)}"
            lines.append(f"| {count} | {ops}{more} | {_cell(group.message)} | {repro} |")
        lines.append("")
    lines += [
        "## Per operation",
        "",
        "| Operation | Score | Passed | Failed | Not run |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, score in scores.per_operation.items():
        lines.append(
            f"| `{_cell(name)}` | {score.shown} | {score.passed} | {score.failed} | {score.skipped} |"
        )
    lines += [
        "",
        "## Per check",
        "",
        "| Check | Score | Passed | Failed | Not run |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, score in scores.per_check.items():
        lines.append(f"| `{name}` | {score.shown} | {score.passed} | {score.failed} | {score.skipped} |")
    skipped = [
        result for result in report.results if result.outcome is Outcome.SKIPPED and result.skip_reason
    ]
    if skipped:
        lines += ["", "## Not run", ""]
        lines += [f"- `{_cell(r.operation)}` `{r.check}`: {_cell(r.skip_reason or '')}" for r in skipped]
    if scores.excluded:
        lines += ["", "## Deliberately not called (left out of coverage)", ""]
        lines += [f"- `{_cell(label)}`: {_cell(why)}" for label, why in scores.excluded.items()]
    if report.notes:
        lines += ["", "## Notes", ""] + [f"- {_cell(note)}" for note in report.notes]
    return "\n".join(line for line in lines if line is not None) + "\n"
