"""`care-synth`: generate, describe and plot synthetic self-tracking datasets.

Every failure the user can cause ends as one line on stderr and a non-zero exit (click's usage errors
exit 2, dataset and argument errors 1); no traceback reaches the terminal.
"""

from __future__ import annotations

import os
import re
import sys
from datetime import date
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from synthetic_data import __version__
from synthetic_data.dataset import DatasetError, iter_patients
from synthetic_data.progress import progress_bar
from synthetic_data.runner import FORMATS, RunResult, RunSpec, run
from synthetic_data.vocab import CONDITIONS

SYNTHEA_PATIENTS_PER_MINUTE = 1_000  # Synthea maintainer's figure (synthetichealth/synthea#776)
DEFAULT_START = date(2026, 1, 1)


def _parse_conditions(
    _ctx: click.Context, _param: click.Parameter, value: str | None
) -> tuple[str, ...] | None:
    if value is None:
        return None
    names = tuple(dict.fromkeys(v.strip() for v in value.split(",") if v.strip()))
    unknown = [n for n in names if n not in CONDITIONS]
    if unknown or not names:
        raise click.BadParameter(
            f"unknown condition {unknown[0] if unknown else value!r}; choose from {', '.join(CONDITIONS)}"
        )
    return names


def _parse_shard(_ctx: click.Context, _param: click.Parameter, value: str) -> tuple[int, int]:
    match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", value)
    if not match:
        raise click.BadParameter(f"{value!r} is not of the form i/N (for example 2/4)")
    i, n = int(match[1]), int(match[2])
    if not 1 <= i <= n:
        raise click.BadParameter(f"{value!r}: i must be between 1 and N (shards are numbered from 1)")
    return i, n


def _parse_date(_ctx: click.Context, _param: click.Parameter, value: str | None) -> date:
    if value is None:
        return DEFAULT_START
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date (YYYY-MM-DD)") from None


class OneLineErrors(click.Group):
    """A click group whose errors are one line (`Error: …`) instead of usage + hint + error."""

    def main(  # type: ignore[override]
        self,
        args: Any = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        try:
            code = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click.ClickException as exc:
            click.echo(f"Error: {exc.format_message()}", err=True)
            sys.exit(exc.exit_code)
        except click.Abort:
            click.echo("Aborted.", err=True)
            sys.exit(1)
        except Exception as exc:  # a bug: still one line, unless --debug asks for the traceback
            if "--debug" in (args if args is not None else sys.argv[1:]):
                raise
            click.echo(
                f"Error: unexpected {type(exc).__name__}: {exc} (run with --debug for the traceback)",
                err=True,
            )
            sys.exit(1)
        sys.exit(code if isinstance(code, int) else 0)


@click.group(cls=OneLineErrors, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="care-synth")
@click.option("--debug", is_flag=True, help="Show the traceback of unexpected errors.")
def main(debug: bool) -> None:
    """Realistic, reproducible synthetic self-tracking data: pain, WHO-5, gauges and device vitals.

    Example: care-synth generate --patients 1000 --days 365 --seed 7 --out data/
    """


@main.command()
@click.option(
    "--patients",
    type=click.IntRange(1, 10_000_000),
    default=100,
    show_default=True,
    help="Patients in the whole dataset.",
)
@click.option(
    "--days", type=click.IntRange(1, 3650), default=90, show_default=True, help="Days of data per patient."
)
@click.option(
    "--seed", type=int, default=0, show_default=True, help="Run seed: same seed and arguments, same bytes."
)
@click.option(
    "--start",
    callback=_parse_date,
    metavar="DATE",
    help=f"First day, YYYY-MM-DD.  [default: {DEFAULT_START}]",
)
@click.option(
    "--conditions",
    callback=_parse_conditions,
    metavar="A,B,…",
    help="Only these conditions (comma-separated).",
)
@click.option(
    "--messiness",
    type=click.FloatRange(0, 1),
    default=0.3,
    show_default=True,
    help="0 = perfect diaries; 1 = many missed days, sync gaps, late back-fills, duplicates.",
)
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="ndjson", show_default=True)
@click.option(
    "--out",
    default="care-synth-data",
    show_default=True,
    help="Output directory (created if missing; its dataset files are overwritten); with --scheduler "
    "also any fsspec URL the client and every worker reach (s3://bucket/prefix, gcs://…, file:///shared).",
)
@click.option(
    "--workers", type=click.IntRange(1, 256), default=None, help="Worker processes.  [default: CPU count]"
)
@click.option(
    "--shard",
    callback=_parse_shard,
    default="1/1",
    show_default=True,
    metavar="i/N",
    help="Generate only the i-th of N contiguous slices of the patients (files concatenate).",
)
@click.option(
    "--scheduler",
    metavar="ADDRESS",
    default=None,
    help="Run the shards as tasks on this Dask distributed scheduler (tcp://host:8786); needs "
    "care-sandbox[dask]. Same bytes as a local run.",
)
@click.option(
    "--retries",
    type=click.IntRange(0, 100),
    default=3,
    show_default=True,
    help="With --scheduler: times a failed task is retried before the run stops.",
)
@click.option("--quiet", is_flag=True, help="No progress bar or summary.")
def generate(
    patients: int,
    days: int,
    seed: int,
    start: date,
    conditions: tuple[str, ...] | None,
    messiness: float,
    fmt: str,
    out: str,
    workers: int | None,
    shard: tuple[int, int],
    scheduler: str | None,
    retries: int,
    quiet: bool,
) -> None:
    """Generate a dataset: one file per series (or FHIR bundles, or a SQLite database).

    Example: care-synth generate --patients 1000 --days 365 --seed 7 --format ndjson --out data/
    """
    is_url = "://" in out
    out_dir = _checked_out(out, is_url, scheduler)
    spec = RunSpec(
        patients=patients,
        days=days,
        seed=seed,
        start=start,
        out_dir=out_dir,
        format=fmt,
        messiness=messiness,
        conditions=conditions,
        shard=shard,
    )
    console = Console(stderr=True)
    progress = _progress(console, quiet)
    task = progress.add_task("patients", total=len(spec.indices()))
    try:
        if scheduler is not None:
            from synthetic_data.cluster import ClusterError, run_on_cluster

            try:
                result = run_on_cluster(
                    spec,
                    scheduler,
                    out if is_url else out_dir.resolve().as_uri(),
                    retries=retries,
                    on_start=progress.start,
                    on_progress=lambda n: progress.advance(task, n),
                    on_retry=lambda message: console.print(f"[yellow]retry:[/] {message}", soft_wrap=True),
                )
            except ClusterError as exc:
                raise click.ClickException(str(exc)) from None
        else:
            result = run(
                spec,
                workers=workers or os.cpu_count() or 1,
                on_start=progress.start,
                on_progress=lambda n: progress.advance(task, n),
            )
    except OSError as exc:
        raise click.ClickException(
            f"cannot write the dataset: {exc.strerror or exc} ({exc.filename or out})"
        ) from None
    finally:
        progress.stop()
    if not quiet:
        _summary(result, spec, console, out)


def _checked_out(out: str, is_url: bool, scheduler: str | None) -> Path:
    """`--out` as a directory path; a URL only with a cluster scheduler, never an existing file."""
    if is_url and scheduler is None:
        raise click.BadParameter(
            "a URL needs --scheduler (local runs write to a directory)", param_hint="--out"
        )
    if out.startswith("memory://"):
        # the dataset would live in this process's memory and vanish when it exits, after a summary
        # saying it was written (memory:// is for tests calling synthetic_data.cluster in process)
        raise click.BadParameter(
            "memory:// is this process's memory, gone when care-synth exits: write to a directory or to "
            "storage the workers share (s3://…, file:///shared)",
            param_hint="--out",
        )
    out_dir = Path(out)
    if not is_url and out_dir.exists() and not out_dir.is_dir():
        raise click.BadParameter(f"{out} is a file, not a directory", param_hint="--out")
    return out_dir


def _progress(console: Console, quiet: bool) -> Progress:
    """The patients progress bar on stderr (gone when done; off with --quiet)."""
    return progress_bar(console, "generating", "patients", disable=quiet)


def _summary(result: RunResult, spec: RunSpec, console: Console, out: str) -> None:
    # the heading is a line of its own: as the table's title it was wrapped to the table's width, which
    # broke a long output path (or URL) across lines
    console.print(f"care-synth: {result.patients:,} patients x {spec.days} days -> {out}", soft_wrap=True)
    table = Table()
    table.add_column("series")
    table.add_column("records", justify="right")
    for name, count in result.counts.items():
        table.add_row(name, f"{count:,}")
    table.add_section()
    for name, size in result.files.items():
        table.add_row(name, f"{size / 1e6:,.1f} MB")
    console.print(table)
    per_minute = result.patients / result.seconds * 60 if result.seconds > 0 else float("inf")
    console.print(
        f"{result.total_bytes / 1e6:,.1f} MB in {result.seconds:.1f} s: {per_minute:,.0f} patients/min "
        f"({per_minute / SYNTHEA_PATIENTS_PER_MINUTE:.1f}x Synthea's ~1,000/min)"
    )


@main.command()
@click.argument("directory", type=click.Path(path_type=Path))
@click.option("--limit", type=click.IntRange(1), default=None, help="Describe only the first N patients.")
def describe(directory: Path, limit: int | None) -> None:
    """Print a dataset's statistics: pain, WHO-5, couplings, vitals, missingness.

    Example: care-synth describe data/ --limit 2000
    """
    from synthetic_data.describe import describe as compute
    from synthetic_data.describe import render

    console = Console(width=None if sys.stdout.isatty() else 170)  # piped: do not squeeze to 80 columns
    try:
        with console.status("reading the dataset…"):
            description = compute(directory, limit=limit)
    except DatasetError as exc:
        raise click.ClickException(str(exc)) from None
    if description.counts["patients"] == 0:
        raise click.ClickException(f"{directory} holds no patients")
    render(description, console)


@main.command()
@click.argument("directory", type=click.Path(path_type=Path))
@click.option(
    "--patient",
    "patient_ref",
    required=True,
    metavar="ID",
    help="patient_id (p2c_anon_…), patient_key, or index in the dataset.",
)
@click.option(
    "--out", type=click.Path(dir_okay=False, path_type=Path), required=True, help="PNG file to write."
)
def plot(directory: Path, patient_ref: str, out: Path) -> None:
    """Plot one patient's pain, sleep, HRV and WHO-5 over time (PNG).

    Example: care-synth plot data/ --patient 0 --out patient0.png
    """
    from synthetic_data.plot import plot_patient

    try:
        found = _find_patient(directory, patient_ref)
    except DatasetError as exc:
        raise click.ClickException(str(exc)) from None
    if found is None:
        raise click.ClickException(f"no patient {patient_ref!r} in {directory}")
    patient, series = found
    path = plot_patient(patient, series, out)
    click.echo(f"wrote {path}")


def _find_patient(directory: Path, ref: str) -> tuple[dict[str, Any], dict[str, Any]] | None:
    for data in iter_patients(directory):
        p = data.patient
        if ref in (p["patient_id"], p.get("patient_key"), str(p.get("index"))):
            return p, data.series
    return None


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
