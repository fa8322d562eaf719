"""`care-synth plot`: one patient's pain, sleep, HRV and WHO-5 over time, as a PNG.

Four stacked panels sharing the date axis, so the couplings are visible by eye: a short night and a
low HRV the morning before a bad day, WHO-5 dipping in a flare. Pain shows every entry (dots), the
daily mean (line) and the ground-truth flares (shaded) when the dataset has them. Rendered with the
Agg backend (no display needed).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from pathlib import Path
from statistics import fmean
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.dates as mdates
import matplotlib.pyplot as plt

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
    clock = LocalClock(patient["timezone"])
    entries = [(clock.local(e["logged_at"]), e["pain_level"]) for e in series.get("pain_entries", [])]
    by_day: dict[date, list[int]] = defaultdict(list)
    for when, level in entries:
        by_day[when.date()].append(level)
    daily = sorted((d, fmean(v)) for d, v in by_day.items())

    sleep: dict[date, float] = {}
    hrv: dict[date, float] = {}
    for reading in series.get("vitals", []):
        day = clock.local(reading["measured_at"]).date()
        if reading["metric"] == "sleep_duration":
            sleep[day] = reading["value"] * HOURS_PER_UNIT[reading["unit"]]
        elif reading["metric"] == "hrv_rmssd":
            hrv[day] = reading["value"]
    who5 = sorted((date.fromisoformat(w["date"]), w["composite_score"]) for w in series.get("wellbeing", []))

    fig, axes = plt.subplots(
        4, 1, figsize=(12, 8.5), sharex=True, gridspec_kw={"height_ratios": [2.2, 1, 1, 1.2]}
    )
    ax_pain, ax_sleep, ax_hrv, ax_who5 = axes
    for flare in series.get("flares", []):
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
    if daily:
        ax_pain.plot(
            [_noon(d) for d, _ in daily], [v for _, v in daily], color=PAIN_COLOR, lw=1.4, label="daily mean"
        )
    ax_pain.set_ylim(-0.3, 10.3)
    ax_pain.set_ylabel("pain (NRS 0-10)")
    if series.get("flares"):
        ax_pain.fill_between([], [], color=FLARE_COLOR, alpha=0.6, label="flare (ground truth)")
    ax_pain.legend(loc="upper right", fontsize=8, ncols=3)

    _line(ax_sleep, sleep, SLEEP_COLOR, "sleep (h)")
    ax_sleep.axhline(7, color="grey", lw=0.6, ls=":")
    _line(ax_hrv, hrv, HRV_COLOR, "HRV RMSSD (ms)")
    if who5:
        ax_who5.plot(
            [_noon(d) for d, _ in who5], [v for _, v in who5], color=WHO5_COLOR, lw=1.2, marker=".", ms=3
        )
    ax_who5.set_ylim(-3, 103)
    ax_who5.axhline(50, color="grey", lw=0.6, ls=":")
    ax_who5.set_ylabel("WHO-5 (0-100)")
    locator = mdates.AutoDateLocator()  # type: ignore[no-untyped-call]
    ax_who5.xaxis.set_major_locator(locator)
    ax_who5.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))  # type: ignore[no-untyped-call]
    for ax in axes:
        ax.grid(True, axis="x", lw=0.4, alpha=0.5)
        ax.spines[["top", "right"]].set_visible(False)
    title = (
        f"{patient.get('display_name', patient['patient_id'])} · {patient['patient_id']} · "
        f"{patient['condition'].replace('_', ' ')} ({patient['baseline_severity']}) · "
        f"{', '.join(patient.get('sources') or []) or 'no devices'}"
    )
    fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=dpi)
    plt.close(fig)
    return out


def _noon(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 12)


def _line(ax: Any, values: Mapping[date, float], color: str, label: str) -> None:
    points = sorted(values.items())
    if points:
        ax.plot([_noon(d) for d, _ in points], [v for _, v in points], color=color, lw=1.0, marker=".", ms=3)
    else:
        ax.text(0.5, 0.5, "no device data", transform=ax.transAxes, ha="center", va="center", color="grey")
    ax.set_ylabel(label)
