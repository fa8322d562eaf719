"""Rich console output: live progress while the run works, then tables per operation and per check."""

from __future__ import annotations

from types import TracebackType

from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from conformance.results import Outcome, RunReport
from conformance.score import Score, score_report

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
    for name in ("Score", "Passed", "Failed", "Skipped"):
        table.add_column(name, justify="right")
    for name, score in scores.items():
        style = "red" if score.failed else ("dim" if not score.passed else "")
        table.add_row(
            name, f"{score.value:.1f}", str(score.passed), str(score.failed), str(score.skipped), style=style
        )
    return table


def render_summary(report: RunReport, console: Console) -> None:
    """Per-operation and per-check tables, the failures with their messages, then the verdict."""
    scores = score_report(report)
    console.print(_score_table("Per operation", "Operation", scores.per_operation))
    console.print(_score_table("Per check", "Check", scores.per_check))
    if report.failures:
        table = Table(title="Failures", title_justify="left", show_lines=True)
        table.add_column("Operation")
        table.add_column("Check")
        table.add_column("Details", overflow="fold")
        for result in report.failures:
            table.add_row(
                result.operation, result.check, "\n".join(result.messages[:2]), style=STYLES[result.outcome]
            )
        console.print(table)
    for note in report.notes:
        console.print(f"[yellow]note:[/] {note}")
    verdict = (
        "[bold green]CONFORMS" if report.conforms else f"[bold red]{len(report.failures)} FAILING CHECKS"
    )
    console.print(
        f"{verdict}[/]  score {scores.overall.value:.1f}  coverage {scores.coverage:.1f}% "
        f"({scores.exercised}/{scores.selected} operations)  index {scores.index:.1f}  "
        f"{report.duration:.1f} s  seed {report.seed}"
    )
