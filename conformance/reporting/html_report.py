"""HTML: one self-contained page (no scripts, no external assets) to archive as a CI artifact."""

from __future__ import annotations

import html

from conformance.results import CheckResult, Outcome, RunReport
from conformance.score import EXPLANATION, Score, group_failures, score_report

STYLE = """
body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}
th{background:#f4f4f4}.passed{color:#1a7f37}.failed,.error{color:#cf222e}.skipped{color:#777}
pre{white-space:pre-wrap;margin:0;font-size:12px}
"""


def _rows(items: dict[str, Score]) -> str:
    return "".join(
        f"<tr><td>{html.escape(name)}</td><td>{score.shown}</td><td>{score.passed}</td>"
        f"<td>{score.failed}</td><td>{score.skipped}</td></tr>"
        for name, score in items.items()
    )


def _details(result: CheckResult) -> str:
    if result.outcome is Outcome.PASSED:
        return ""
    if result.outcome is Outcome.SKIPPED:
        return f"not run: {result.skip_reason or 'not applicable'}"
    return "\n".join([*result.messages, *result.reproduce])


def _outcome(result: CheckResult) -> str:
    return "not run" if result.outcome is Outcome.SKIPPED else result.outcome.value


def render(report: RunReport) -> str:
    """The report as an HTML document."""
    scores = score_report(report)
    verdict = "conforms" if report.conforms else "does NOT conform"
    results = "".join(
        f"<tr><td>{html.escape(r.operation)}</td><td>{html.escape(r.check)}</td>"
        f'<td class="{r.outcome.value}">{_outcome(r)}</td><td>{r.passed}/{r.failed}</td>'
        f"<td><pre>{html.escape(_details(r))}</pre></td></tr>"
        for r in report.results
    )
    groups = "".join(
        f"<tr><td>{html.escape(g.check)}</td><td>{len(g.operations)}</td>"
        f"<td>{html.escape(', '.join(g.operations))}</td><td><pre>{html.escape(g.message)}</pre></td>"
        f"<td><pre>{html.escape(chr(10).join(g.reproduce))}</pre></td></tr>"
        for g in group_failures(report.failures)
    )
    head = "<tr><th>Name</th><th>Score</th><th>Passed</th><th>Failed</th><th>Not run</th></tr>"
    notes = "".join(f"<li>{html.escape(note)}</li>" for note in report.notes)
    excluded = "".join(
        f"<li><code>{html.escape(label)}</code>: {html.escape(why)}</li>"
        for label, why in scores.excluded.items()
    )
    crashes = "".join(f"<pre>{html.escape(error)}</pre>" for error in report.kit_errors)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>care-conformance: {html.escape(report.target)}</title>
<style>{STYLE}</style></head><body>
<h1>care-conformance report</h1>
<p>Target <code>{html.escape(report.target)}</code> <strong>{verdict}</strong>.
Score <strong>{scores.overall.shown}</strong>, coverage <strong>{scores.coverage:.1f}%</strong>
({scores.exercised}/{scores.selected} operations), conformance index <strong>{scores.index_shown}</strong>.
Profile <code>{html.escape(report.profile)}</code>, seed {report.seed}, {report.duration:.1f} s.
{html.escape(report.mode)}</p>
<p>{html.escape(EXPLANATION)}</p>
{f"<h2>The kit itself broke (exit code 3)</h2>{crashes}" if crashes else ""}
{
        f"<h2>Failures, grouped by cause</h2><table><tr><th>Check</th><th>Operations</th><th>Which</th>"
        f"<th>Details</th><th>Reproduce</th></tr>{groups}</table>"
        if groups
        else ""
    }
<h2>Per operation</h2><table>{head}{_rows(scores.per_operation)}</table>
<h2>Per check</h2><table>{head}{_rows(scores.per_check)}</table>
<h2>All results</h2><table><tr><th>Operation</th><th>Check</th><th>Outcome</th><th>Passed/failed</th>
<th>Details</th></tr>{results}</table>
{f"<h2>Deliberately not called (left out of coverage)</h2><ul>{excluded}</ul>" if excluded else ""}
{f"<h2>Notes</h2><ul>{notes}</ul>" if notes else ""}
</body></html>
"""
