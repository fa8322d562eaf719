"""JUnit XML: one <testsuite> per operation, one <testcase> per check, as CI dashboards expect."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections import defaultdict

from conformance.results import CheckResult, Outcome, RunReport
from conformance.score import score_report


def render(report: RunReport) -> str:
    """The report as a JUnit XML document (string)."""
    scores = score_report(report)
    by_operation: dict[str, list[CheckResult]] = defaultdict(list)
    for result in report.results:
        by_operation[result.operation].append(result)
    root = ET.Element("testsuites", name="care-conformance", time=f"{report.duration:.3f}")
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for operation, results in sorted(by_operation.items()):
        suite = ET.SubElement(root, "testsuite", name=operation)
        counts = {"tests": len(results), "failures": 0, "errors": 0, "skipped": 0}
        props = ET.SubElement(suite, "properties")
        score = scores.per_operation.get(operation)
        ET.SubElement(props, "property", name="score", value=f"{score.value:.1f}" if score else "100.0")
        for result in results:
            case = ET.SubElement(suite, "testcase", classname=operation, name=result.check)
            text = "\n\n".join([*result.messages, *result.reproduce])
            first = result.messages[0].splitlines()[0] if result.messages else result.check
            if result.outcome is Outcome.FAILED:
                counts["failures"] += 1
                ET.SubElement(
                    case, "failure", message=first, type=",".join(result.codes) or result.check
                ).text = text
            elif result.outcome is Outcome.ERROR:
                counts["errors"] += 1
                ET.SubElement(case, "error", message=first).text = text
            elif result.outcome is Outcome.SKIPPED:
                counts["skipped"] += 1
                ET.SubElement(case, "skipped", message=result.skip_reason or "not applicable")
        for key, value in counts.items():
            suite.set(key, str(value))
            totals[key] += value
    for key, value in totals.items():
        root.set(key, str(value))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
