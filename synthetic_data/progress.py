"""The progress bar both CLIs draw on stderr for long work (generating a dataset, loading one)."""

from __future__ import annotations

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)


def progress_bar(console: Console, label: str, unit: str, *, disable: bool) -> Progress:
    """``label ━━━━━ done/total unit elapsed remaining``, gone when done (transient)."""
    return Progress(
        TextColumn(f"[bold]{label}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn(unit),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
        disable=disable,
        transient=True,
    )
