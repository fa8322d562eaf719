"""Rich console output: live progress while the run works, then tables per operation and per check."""

from __future__ import annotations

import contextlib
import logging
import warnings
from collections.abc import Iterator
from types import TracebackType

from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from conformance.results import Outcome, RunReport
from conformance.score import EXPLANATION, Score, group_failures, score_report

# Libraries that talk on stderr about the bodies the kit judges (pypdf: "invalid pdf header"); what they
# find is already a verdict in the report, so their own logging stays out of the kit's output.
THIRD_PARTY_LOGGERS = ("pypdf", "PyPDF2", "urllib3", "hypothesis", "schemathesis", "httpx")


@contextlib.contextmanager
def quiet_third_parties() -> Iterator[None]:
    """Silence third-party loggers and warnings for the duration of a run; restore them after."""
    saved = {name: logging.getLogger(name).level for name in THIRD_PARTY_LOGGERS}
    for name in THIRD_PARTY_LOGGERS:
        logging.getLogger(name).setLevel(logging.CRITICAL)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        for name, level in saved.items():
            logging.getLogger(name).setLevel(level)


STYLES = {Outcome.PASSED: "green", Outcome.FAILED: "bold red", Outcome.ERROR: "red", Outcome.SKIPPED: "dim"}


class LiveProgress:
    """A spinner naming the current layer and counting Schemathesis scenarios; a no-op when quiet."""

    def __init__(self, console: Console, enabled: bool = True) -> None:
        self._progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            TextColumn("[dim]{task.completed} scenarios"),
            TimeElapsedColumn(),
            console=console,
            transient=True,
            disable=not enabled,
        )
        self._task = self._progress.add_task("starting", total=None)
        self._console = console
        self._enabled = enabled

    def __enter__(self) -> LiveProgress:
        self._progress.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self._progress.stop()

    def __call__(self, kind: str, message: str) -> None:
        if kind == "operation":
            self._progress.update(self._task, advance=1)
        else:
            self._progress.update(self._task, description=message)
            if kind == "layer" and self._enabled:
                self._progress.console.log(f"[cyan]{message}")


def _score_table(title: str, first: str, scores: dict[str, Score]) -> Table:
    table = Table(title=title, title_justify="left")
    table.add_column(first)
    for name in ("Score", "Passed", "Failed", "Not run"):
        table.add_column(name, justify="right")
    for name, score in scores.items():
        style = "red" if score.failed else ("dim" if not score.passed else "")
        counts = (str(score.passed), str(score.failed), str(score.skipped))
        table.add_row(name, score.shown, *counts, style=style)
    return table


def render_summary(report: RunReport, console: Console) -> None:
    """Per-operation and per-check tables, the failures with their messages, then the verdict."""
    scores = score_report(report)
    console.print(_score_table("Per operation", "Operation", scores.per_operation))
    console.print(_score_table("Per check", "Check", scores.per_check))
    groups = group_failures(report.failures)
    if groups:
        table = Table(title="Failures, grouped by cause", title_justify="left", show_lines=True)
        table.add_column("Check")
        table.add_column("Operations", overflow="fold")
        table.add_column("Details and reproduction", overflow="fold")
        for group in groups:
            more = f" (+{len(group.operations) - 3} more)" if len(group.operations) > 3 else ""
            table.add_row(
                f"{group.check} x{len(group.operations)}",
                "\n".join(group.operations[:3]) + more,
                "\n".join([group.message, *group.reproduce[:1]]),
                style="bold red",
            )
        console.print(table)
    for label, why in scores.excluded.items():
        console.print(f"[dim]deliberately not called:[/] {label}: {why}")
    for error in report.kit_errors:
        console.print(f"[bold red]the kit itself broke:[/] {error.splitlines()[0]}")
    for note in report.notes:
        console.print(f"[yellow]note:[/] {note}")
    verdict = (
        "[bold green]CONFORMS" if report.conforms else f"[bold red]{len(report.failures)} FAILING CHECKS"
    )
    console.print(f"[dim]{EXPLANATION}[/]")
    console.print(
        f"{verdict}[/]  score {scores.overall.shown}  coverage {scores.coverage:.1f}% "
        f"({scores.exercised}/{scores.selected} operations)  index {scores.index_shown}  "
        f"{report.duration:.1f} s  seed {report.seed}"
    )
