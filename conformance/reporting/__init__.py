"""Report writers, one module per format (as Schemathesis' `run/handlers/`), behind one entry point."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

from conformance.errors import KitError
from conformance.results import RunReport


def _writer(name: str) -> Callable[[RunReport], str]:
    if name == "junit":
        from conformance.reporting.junit import render
    elif name == "json":
        from conformance.reporting.json_report import render
    elif name == "markdown":
        from conformance.reporting.markdown import render
    elif name == "html":
        from conformance.reporting.html_report import render
    elif name == "har":
        from conformance.reporting.har_report import render
    else:
        raise KitError(f"Unknown report format {name!r}.")
    return render


def write_reports(report: RunReport, targets: Mapping[str, Path]) -> list[Path]:
    """Write each requested format to its path (parent directories created); returns the paths."""
    written = []
    for name, path in targets.items():
        text = _writer(name)(report)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise KitError(f"Cannot write the {name} report to {path}: {exc.strerror or exc}") from None
        written.append(path)
    return written
