"""`care-synth plot`: one patient's pain, sleep, HRV and WHO-5 over time, as a PNG.

Stacked panels sharing the date axis, so the couplings are visible by eye: a short night and a
low HRV the morning before a bad day, WHO-5 dipping in a flare. Pain shows every entry (dots), the
daily mean (line) and the ground-truth flares (shaded) when the dataset has them. Sleep, HRV and
WHO-5 get a panel only when the patient has such data (a note names the missing ones), and lines
break over days without data. Rendered with the Agg backend (no display needed).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from statistics import fmean
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.dates as mdates
import matplotlib.pyplot as plt
from matplotlib.figure import Figure

from synthetic_data.stats import HOURS_PER_UNIT, LocalClock

Record = Mapping[str, Any]
PAIN_COLOR, SLEEP_COLOR, HRV_COLOR, WHO5_COLOR, FLARE_COLOR = (
    "#c0392b",
    "#2c3e80",
    "#16856b",
    "#8e44ad",
    "#f5b7b1",
)


def plot_patient(
    patient: Record,
    series: Mapping[str, Sequence[Record]],
    out: Path,
    *,
    dpi: int = 120,
) -> Path:
    """Draw `patient`'s series (`pain_entries`, `wellbeing`, `vitals`, optional `flares`) to `out`."""
    fig = build_figure(patient, series)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=dpi)
    plt.close(fig)
    return out


def build_figure(patient: Record, series: Mapping[str, Sequence[Record]]) -> Figure:
    """The figure: one panel per series that has data (pain always); a note names the missing ones.

    Lines break over days without data (a gap is drawn as a gap, not as a straight line that invents
    values), and an empty sleep or HRV panel is dropped rather than drawn as a blank axis.
    """
    clock = LocalClock(patient["timezone"])
    days = _daily(clock, series)
    panels: list[tuple[str, float]] = [("pain", 2.2)]
    panels += [(name, 1.0) for name, values in (("sleep", days.sleep), ("HRV", days.hrv)) if values]
    panels += [("WHO-5", 1.2)] if days.who5 else []
    missing = [
        name
        for name, values in (("sleep", days.sleep), ("HRV", days.hrv), ("WHO-5", days.who5))
        if not values
    ]

    fig, grid = plt.subplots(
        len(panels),
        1,
        figsize=(12, 2.2 + 1.6 * len(panels)),
        sharex=True,
        squeeze=False,
        gridspec_kw={"height_ratios": [ratio for _, ratio in panels]},
    )
    axes = dict(zip((name for name, _ in panels), grid[:, 0], strict=True))
    _draw_pain(axes["pain"], clock, days, series.get("flares", []))
    _draw_daily_panels(axes, days)
    bottom = grid[-1, 0]
    locator = mdates.AutoDateLocator()  # type: ignore[no-untyped-call]
    bottom.xaxis.set_major_locator(locator)
    bottom.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))  # type: ignore[no-untyped-call]
    for ax in axes.values():
        ax.grid(True, axis="x", lw=0.4, alpha=0.5)
        ax.spines[["top", "right"]].set_visible(False)
    title = (
        f"{patient.get('display_name', patient['patient_id'])} · {patient['patient_id']} · "
        f"{patient['condition'].replace('_', ' ')} ({patient['baseline_severity']}) · "
        f"{', '.join(patient.get('sources') or []) or 'no devices'}"
    )
    fig.suptitle(title, fontsize=11)
    if missing:
        fig.text(0.01, 0.005, f"no {'/'.join(missing)} data", fontsize=9, color="grey", va="bottom")
    fig.tight_layout(rect=(0, 0.02, 1, 1))
    return fig


@dataclass(frozen=True)
class _Days:
    """What the panels draw: pain entries (local time, level), and per local day the mean pain, sleep
    in hours, HRV and the WHO-5 score."""

    entries: list[tuple[datetime, int]]
    daily: dict[date, float]
    sleep: dict[date, float]
    hrv: dict[date, float]
    who5: dict[date, float]


def _daily(clock: LocalClock, series: Mapping[str, Sequence[Record]]) -> _Days:
    entries = [(clock.local(e["logged_at"]), e["pain_level"]) for e in series.get("pain_entries", [])]
    by_day: dict[date, list[int]] = defaultdict(list)
    for when, level in entries:
        by_day[when.date()].append(level)
    daily = {d: fmean(v) for d, v in by_day.items()}
    sleep: dict[date, float] = {}
    hrv: dict[date, float] = {}
    for reading in series.get("vitals", []):
        day = clock.local(reading["measured_at"]).date()
        if reading["metric"] == "sleep_duration":
            sleep[day] = reading["value"] * HOURS_PER_UNIT[reading["unit"]]
        elif reading["metric"] == "hrv_rmssd":
            hrv[day] = reading["value"]
    who5 = {date.fromisoformat(w["date"]): float(w["composite_score"]) for w in series.get("wellbeing", [])}
    return _Days(entries, daily, sleep, hrv, who5)


def _draw_pain(ax_pain: Any, clock: LocalClock, days: _Days, flares: Sequence[Record]) -> None:
    """Flares as shaded spans (ground truth), entries as dots, the daily mean as a line."""
    entries = days.entries
    for flare in flares:
        ax_pain.axvspan(
            clock.local(flare["start"]), clock.local(flare["end"]), color=FLARE_COLOR, alpha=0.6, lw=0
        )
    if entries:
        ax_pain.scatter(
            [w for w, _ in entries],
            [lvl for _, lvl in entries],
            s=7,
            color=PAIN_COLOR,
            alpha=0.35,
            label="entries",
        )
        ax_pain.plot(*daily_line(days.daily), color=PAIN_COLOR, lw=1.4, label="daily mean")
    else:
        ax_pain.text(
            0.5, 0.5, "no pain entries", transform=ax_pain.transAxes, ha="center", va="center", color="grey"
        )
    ax_pain.set_ylim(-0.3, 10.3)
    ax_pain.set_ylabel("pain (NRS 0-10)")
    if flares:
        ax_pain.fill_between([], [], color=FLARE_COLOR, alpha=0.6, label="flare (ground truth)")
    if entries or flares:
        ax_pain.legend(loc="upper right", fontsize=8, ncols=3)


def _draw_daily_panels(axes: dict[str, Any], days: _Days) -> None:
    """The sleep, HRV and WHO-5 panels that have data."""
    if "sleep" in axes:
        axes["sleep"].plot(*daily_line(days.sleep), color=SLEEP_COLOR, lw=1.0, marker=".", ms=3)
        axes["sleep"].axhline(7, color="grey", lw=0.6, ls=":")
        axes["sleep"].set_ylabel("sleep (h)")
    if "HRV" in axes:
        axes["HRV"].plot(*daily_line(days.hrv), color=HRV_COLOR, lw=1.0, marker=".", ms=3)
        axes["HRV"].set_ylabel("HRV RMSSD (ms)")
    if "WHO-5" in axes:
        ax_who5 = axes["WHO-5"]
        ax_who5.plot(*daily_line(days.who5), color=WHO5_COLOR, lw=1.2, marker=".", ms=3)
        ax_who5.set_ylim(-3, 103)
        ax_who5.axhline(50, color="grey", lw=0.6, ls=":")
        ax_who5.set_ylabel("WHO-5 (0-100)")


def _noon(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 12)


def daily_line(values: Mapping[date, float]) -> tuple[list[datetime], list[float]]:
    """Points at local noon, with a NaN between days that are not consecutive so the line breaks
    there instead of drawing a straight segment across days without data."""
    xs: list[datetime] = []
    ys: list[float] = []
    previous: date | None = None
    for day, value in sorted(values.items()):
        if previous is not None and (day - previous).days > 1:
            xs.append(_noon(previous) + (_noon(day) - _noon(previous)) / 2)
            ys.append(math.nan)
        xs.append(_noon(day))
        ys.append(value)
        previous = day
    return xs, ys
