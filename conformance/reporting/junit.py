"""JUnit XML: one <testsuite> per operation, one <testcase> per check, as CI dashboards expect."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections import defaultdict

from conformance.results import CheckResult, Outcome, RunReport
from conformance.score import EXPLANATION, score_report


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
        ET.SubElement(props, "property", name="score", value=score.shown if score else "not run")
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
                ET.SubElement(case, "skipped", message=f"not run: {result.skip_reason or 'not applicable'}")
        for key, value in counts.items():
            suite.set(key, str(value))
            totals[key] += value
    for key, value in totals.items():
        root.set(key, str(value))
    if report.kit_errors:
        suite = ET.SubElement(root, "testsuite", name="care-conformance itself", tests="1", errors="1")
        case = ET.SubElement(suite, "testcase", classname="care-conformance", name="kit_internal_error")
        ET.SubElement(case, "error", message="the kit itself broke").text = "\n\n".join(report.kit_errors)
        root.set("errors", str(totals["errors"] + 1))
        root.set("tests", str(totals["tests"] + 1))
    overview = ET.Element("properties")
    ET.SubElement(overview, "property", name="run explanation", value=EXPLANATION)
    ET.SubElement(overview, "property", name="run score", value=scores.overall.shown)
    ET.SubElement(overview, "property", name="run coverage", value=f"{scores.coverage:.1f}")
    ET.SubElement(overview, "property", name="run index", value=scores.index_shown)
    for label, why in scores.excluded.items():
        ET.SubElement(overview, "property", name=f"deliberately not called: {label}", value=why)
    # JUnit has no run-level properties: the first suite carries the run's numbers and their explanation.
    suite_properties = root.find("testsuite/properties")
    if suite_properties is not None:
        suite_properties.extend(list(overview))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
