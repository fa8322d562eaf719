"""`care-synth describe`: a dataset's statistics as rich tables (computed by stats.py, streaming)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table

from synthetic_data.conditions import CATALOGUE, SEVERITY_FLARE_FACTOR, SEVERITY_WEIGHTS
from synthetic_data.dataset import iter_patients, read_manifest
from synthetic_data.stats import CohortStats, GroupStats, PatientStats, cohort_stats, patient_stats
from synthetic_data.vocab import SERIES


@dataclass
class Description:
    manifest: dict[str, Any] | None
    counts: dict[str, int]
    cohort: CohortStats


def _days(manifest: dict[str, Any] | None, series: dict[str, list[dict[str, Any]]]) -> int:
    if manifest and manifest.get("days"):
        return int(manifest["days"])
    stamps = [e["logged_at"][:10] for e in series.get("pain_entries", [])]
    if not stamps:
        return 1
    return (date.fromisoformat(max(stamps)) - date.fromisoformat(min(stamps))).days + 1


def describe(
    directory: Path, *, limit: int | None = None, on_patient: Callable[[], None] | None = None
) -> Description:
    """Read `directory` patient by patient (at most `limit`) and compute its statistics."""
    manifest = read_manifest(directory)
    counts = dict.fromkeys(SERIES, 0)
    stats: list[PatientStats] = []
    for data in iter_patients(directory):
        counts["patients"] += 1
        for name in SERIES[1:]:
            counts[name] += len(data[name])
        stats.append(
            patient_stats(
                data.patient,
                days=_days(manifest, data.series),
                pain_entries=data["pain_entries"],
                wellbeing=data["wellbeing"],
                gauges=data["gauges"],
                vitals=data["vitals"],
                flares=data["flares"] if "flares" in data.series else None,
            )
        )
        if on_patient is not None:
            on_patient()
        if limit is not None and counts["patients"] >= limit:
            break
    return Description(manifest, counts, cohort_stats(stats))


def _f(value: float | None, digits: int = 2, pct: bool = False) -> str:
    if value is None:
        return "-"
    return f"{100 * value:.1f}%" if pct else f"{value:.{digits}f}"


def expected_flares_per_6_weeks(condition: str) -> float:
    """The catalogue's flare rate under the default severity mix (what true flares should average)."""
    spec = CATALOGUE[condition]
    return spec.flares_per_6_weeks * sum(
        SEVERITY_WEIGHTS[s] * SEVERITY_FLARE_FACTOR[s] for s in SEVERITY_WEIGHTS
    )


def condition_label(name: str) -> str:
    """`chronic_low_back_pain` -> `chronic low back pain`: words wrap in a narrow column, where an
    identifier would be cut to `chr…`."""
    return name.replace("_", " ")


def _g(value: float | None) -> str:
    """A measurement in at most ~6 characters: whole numbers from 100 up, fewer decimals as it grows."""
    if value is None:
        return "-"
    size = abs(value)
    return f"{value:,.0f}" if size >= 100 else f"{value:.1f}" if size >= 10 else f"{value:.2f}"


def _table(title: str, columns: tuple[str, ...], first: str = "condition") -> Table:
    """A table whose first (name) column wraps on words and is never cut; numbers align right.

    Headers carry their own line breaks and the box has no inner rules, so every table fits in 80
    columns with the longest condition name (`knee osteoarthritis`) on two lines.
    """
    table = Table(title=title, box=box.SIMPLE_HEAD, pad_edge=False)
    for col in columns:
        if col == first:
            table.add_column(col, justify="left", overflow="fold", min_width=14)
        elif col == "unit":
            table.add_column(col, justify="left", overflow="fold")
        else:
            table.add_column(col, justify="right", overflow="fold")
    return table


def render(description: Description, console: Console) -> None:
    """Print the description as tables that stay readable down to 80 columns.

    Wide tables are split (pain levels, then flares) and condition names are shown with spaces, so a
    narrow terminal wraps words instead of truncating them.
    """
    cohort = description.cohort
    groups = [*cohort.conditions, cohort.overall]
    for table in (
        _dataset_table(description),
        _pain_table(groups),
        _flares_table(groups),
        _couplings_table(groups),
        _vitals_table(cohort),
        _gauges_table(cohort),
        _missing_table(groups),
    ):
        console.print(table)
    console.print(
        f"WHO-5 arithmetic errors: {cohort.who5_errors}; gauges outside their scale: "
        f"{cohort.gauge_out_of_scale}"
    )


def _dataset_table(description: Description) -> Table:
    manifest = description.manifest
    head = Table(title="Dataset", show_header=False)
    if manifest:
        # `patients` is a count of the series below; the manifest's copy would list it twice.
        for key in ("format", "seed", "days", "start", "messiness", "conditions", "shard"):
            head.add_row(key, str(manifest.get(key)))
    for name, count in description.counts.items():
        head.add_row(f"{name}", f"{count:,}")
    return head


def _pain_table(groups: list[GroupStats]) -> Table:
    pain = _table(
        "Pain (daily mean NRS, per patient, averaged)",
        ("condition", "patients", "mean", "SD\nbetween", "SD\nwithin", "lag-1\nAC", "literature\nband"),
    )
    for g in groups:
        spec = CATALOGUE.get(g.name)
        pain.add_row(
            condition_label(g.name),
            str(g.patients),
            _f(g.pain_mean),
            _f(g.pain_mean_sd),
            _f(g.pain_sd),
            _f(g.pain_ac1),
            f"{spec.pain_band[0]}-{spec.pain_band[1]}" if spec else "",
        )
    return pain


def _flares_table(groups: list[GroupStats]) -> Table:
    flares = _table(
        "Flares per 6 weeks",
        ("condition", "found", "true\n(simulated)", "expected", "true ones\nfound"),
    )
    for g in groups:
        spec = CATALOGUE.get(g.name)
        flares.add_row(
            condition_label(g.name),
            _f(g.flares_per_6_weeks),
            _f(g.true_flares_per_6_weeks),
            _f(expected_flares_per_6_weeks(g.name)) if spec else "",
            _f(g.flare_recall, pct=True),
        )
    return flares


def _couplings_table(groups: list[GroupStats]) -> Table:
    couplings = _table(
        "Wellbeing and couplings (within-person, averaged)",
        (
            "condition",
            "WHO-5\nmean",
            "WHO-5\nSD",
            "WHO-5\nlag-1",
            "r(sleep,\npain)",
            "r(HRV,\npain)",
            "WHO-5\nflare Δ",
            "steps\nweekend/\nweekday",
        ),
    )
    for g in groups:
        couplings.add_row(
            condition_label(g.name),
            _f(g.who5_mean, 1),
            _f(g.who5_sd, 1),
            _f(g.who5_ac1),
            _f(g.sleep_pain_r),
            _f(g.hrv_pain_r),
            _f(g.flare_who5_delta, 1),
            _f(g.weekend_steps_ratio),
        )
    return couplings


def _vitals_table(cohort: CohortStats) -> Table:
    vitals = _table(
        "Vitals",
        ("metric (unit)", "readings", "mean", "SD", "min", "max", "lag-1\nAC", "out of\nrange"),
        first="metric (unit)",
    )
    for (metric, unit), v in cohort.vitals.items():
        m = v.moments
        ac = sum(v.ac1) / len(v.ac1) if v.ac1 else None
        vitals.add_row(
            f"{condition_label(metric)} ({unit})",
            f"{m.n:,}",
            _g(m.mean),
            _g(m.sd),
            _g(m.low),
            _g(m.high),
            _f(ac),
            str(v.out_of_range),
        )
    return vitals


def _gauges_table(cohort: CohortStats) -> Table:
    gauges = _table(
        "Gauges", ("gauge", "values", "mean", "SD", "min", "max", "lag-1\nAC", "out of\nscale"), first="gauge"
    )
    for kind, v in cohort.gauges.items():
        m = v.moments
        ac = sum(v.ac1) / len(v.ac1) if v.ac1 else None
        gauges.add_row(
            condition_label(kind),
            f"{m.n:,}",
            _f(m.mean),
            _f(m.sd),
            _f(m.low, 0),
            _f(m.high, 0),
            _f(ac),
            str(v.out_of_range),
        )
    return gauges


def _missing_table(groups: list[GroupStats]) -> Table:
    missing = _table(
        "Missingness and mess",
        (
            "condition",
            "pain\ndays\nmissing",
            "WHO-5\ndays\nmissing",
            "gauge\ndays\nmissing",
            "device\ndays\nmissing",
            "late\nback-\nfills",
            "dupli-\ncate\nuploads",
        ),
    )
    for g in groups:
        missing.add_row(
            condition_label(g.name),
            _f(g.pain_missing, pct=True),
            _f(g.wellbeing_missing, pct=True),
            _f(g.gauge_missing, pct=True),
            _f(g.device_missing, pct=True),
            _f(g.late_share, pct=True),
            _f(g.duplicate_share, pct=True),
        )
    return missing
