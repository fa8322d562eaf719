"""A probe or scenario as the runner sees it: a function, whether it writes, and where its verdict goes.

Adding a check to the kit (another branch's scope or OAuth-error probe, a new scenario) is one `Step`
in the `PROBES` or `SCENARIOS` tuple: the runner then isolates it (a crash or timeout in one step never
stops the others), keeps it off `--read-only` runs when it writes, and reports the reason it did not run.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from conformance.context import Context


@dataclass(frozen=True)
class Step:
    """One probe or scenario."""

    run: Callable[[Context], None]
    operation: str  # where its outcome is recorded (an operation label or `scenario: …`)
    check: str
    writes: bool = False  # creates or changes something on the target

    @property
    def name(self) -> str:
        return getattr(self.run, "__name__", self.check)


def run_steps(
    ctx: Context, steps: tuple[Step, ...], progress: Callable[[str, str], None] | None = None
) -> None:
    """Run each step in order, each guarded; writing steps are reported as not run under --read-only."""
    for step in steps:
        if step.writes and not ctx.writes_allowed:
            ctx.skip(step.operation, step.check, "changes state on the target; not run under --read-only")
            continue
        if progress is not None:
            progress("layer", f"{step.operation}: {step.check}")
        ctx.guarded(step.name, step.run)
