"""Pain entries (`PainEntry`): the check-ins a patient logs, from the latent daily pain.

On a logged day the patient uses their usual check-in slots (morning after waking, midday, evening),
skipping some; during a flare they often log an extra entry (people log when it hurts). An entry's
level is the day's pain + the condition's time-of-day phase + active flares + a little rating noise,
rounded and clipped to 0-10. The areas are the patient's own pain map (primary areas nearly always,
secondary ones more often in a flare) and the first, most typical area carries the entry's level;
qualities come from the patient's usual SF-MPQ descriptors, more of them in a flare. Entries carry
the wearable snapshot of the morning (last night's sleep and HRV, resting HR, steps so far) when the
patient's device synced, as the app does.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from typing import Any

import numpy as np

from synthetic_data.models import clamp
from synthetic_data.models.notes import note
from synthetic_data.seeding import BoolArray, DayDraws, FloatArray, IntArray
from synthetic_data.simulation import Ids, Simulation
from synthetic_data.timeline import Timeline
from synthetic_data.vocab import BODY_AREAS, PAIN_QUALITIES

# (local start, length) in seconds of the midday and evening slots; the morning slot follows waking.
MIDDAY = (12 * 3600, 3 * 3600)
EVENING = (19 * 3600, int(3.5 * 3600))
FALLBACK_TIMES = (None, 13 * 3600, 20 * 3600)  # when every slot was skipped on a logged day
FLARE_LOG_SHARE = 0.6  # share of flares that prompt an extra entry
MAX_AREAS = 6
MAX_QUALITIES = 8
WELLBEING_UNANSWERED = 0.08
BITS52 = 4503599627370496.0  # 2**52: a uniform's mantissa, used as independent 4-bit draws

_U = DayDraws.ucol
U_LOG, U_SLOT_KEEP, U_SLOT_TIME = _U("log_day"), _U("slot_keep_0"), _U("slot_time_0")
U_FLARE_LOG, U_FLARE_LOG_TIME = _U("flare_log"), _U("flare_log_time")
U_AREAS, U_QUALITIES, U_INTENSITY = _U("areas_0"), _U("qualities_0"), _U("intensity_0")
U_WB_NULL, U_ATTACH, U_NOTES = _U("wellbeing_null"), _U("vitals_attach"), _U("notes")
Z_ENTRY = DayDraws.zcol("pain_entry_0")
_SUFFIX = [f"_{k}" for k in range(16)]
AREA_INDEX = {name: i for i, name in enumerate(BODY_AREAS)}
QUALITY_INDEX = {name: i for i, name in enumerate(PAIN_QUALITIES)}
_AREA_NAMES = np.array(BODY_AREAS, dtype=object)
_QUALITY_NAMES = np.array(PAIN_QUALITIES, dtype=object)


def _slot_of(local_seconds: float) -> int:
    return 0 if local_seconds < 11 * 3600 else 1 if local_seconds < 17 * 3600 else 2


def _snapshot_plan(sim: Simulation) -> tuple[str | None, set[str]]:
    """The source whose numbers the app attaches to entries, and which of the four metrics it has."""
    kit = sim.profile.habits.kit
    for source in sim.profile.sources:
        metrics = {m for s, m, _ in kit if s == source}
        if metrics & {"hrv_rmssd", "sleep_duration"}:
            return source, metrics
    if sim.profile.sources:
        source = sim.profile.sources[0]
        return source, {m for s, m, _ in kit if s == source}
    return None, set()


def _candidates(sim: Simulation, a: int, b: int) -> tuple[IntArray, FloatArray, IntArray]:
    """(window day, local time, slot) of every entry in [a, b), unsorted."""
    profile, lat, r = sim.profile, sim.latent, sim.rates
    u = sim.u[a:b]
    active = ~sim.lapse[a:b]
    logged = active & (u[:, U_LOG] < r.log_pain)
    wake = lat.wake_s[a:b]
    days: list[IntArray] = []
    times: list[FloatArray] = []
    slots: list[IntArray] = []
    kept_any = np.zeros(b - a, dtype=np.bool_)
    slot_keep: dict[int, tuple[Any, Any]] = {}
    for slot in profile.habits.slots:
        keep = logged & (u[:, U_SLOT_KEEP + slot] >= r.slot_drop)
        frac = u[:, U_SLOT_TIME + slot]
        if slot == 0:
            t = wake + 600 + frac * 5400
        elif slot == 1:
            t = MIDDAY[0] + frac * MIDDAY[1]
        else:
            t = EVENING[0] + frac * EVENING[1]
        idx = np.flatnonzero(keep)
        days.append(idx)
        times.append(t[idx])
        slots.append(np.full(idx.size, slot, dtype=np.int64))
        kept_any |= keep
        slot_keep[slot] = (keep, t)
    fallback = np.flatnonzero(logged & ~kept_any)  # a logged day has at least one entry
    fallback_times: dict[int, float] = {}
    if fallback.size:
        slot = profile.habits.slots[0]
        fixed = FALLBACK_TIMES[slot]
        at_fallback = np.asarray(
            wake[fallback] + 1800.0 if fixed is None else np.full(fallback.size, float(fixed)),
            dtype=np.float64,
        )
        days.append(fallback)
        times.append(at_fallback)
        slots.append(np.full(fallback.size, slot, dtype=np.int64))
        fallback_times = dict(zip(fallback.tolist(), at_fallback.tolist(), strict=True))
    flare_days, flare_times, flare_slots = [], [], []
    for flare in lat.flares:  # a flare often prompts an extra entry, during it
        d = flare.onset_day
        if not a <= d < b or not active[d - a] or u[d - a, U_FLARE_LOG] >= FLARE_LOG_SHARE:
            continue
        t_f = (flare.start_h - d * 24) * 3600 + u[d - a, U_FLARE_LOG_TIME] * min(
            3.0, flare.end_h - flare.start_h
        ) * 3600
        if not 6.5 * 3600 <= t_f <= 23.5 * 3600:
            continue
        others = [float(t[d - a]) for keep, t in slot_keep.values() if keep[d - a]]
        if d - a in fallback_times:
            others.append(fallback_times[d - a])
        if all(abs(t_f - other) > 2700 for other in others):
            flare_days.append(d - a)
            flare_times.append(t_f)
            flare_slots.append(_slot_of(t_f))
    if flare_days:
        days.append(np.asarray(flare_days, dtype=np.int64))
        times.append(np.asarray(flare_times, dtype=np.float64))
        slots.append(np.asarray(flare_slots, dtype=np.int64))
    if not days:
        empty = np.zeros(0, dtype=np.int64)
        return empty, np.zeros(0), empty
    return np.concatenate(days), np.concatenate(times).astype(np.float64), np.concatenate(slots)


@dataclass(slots=True)
class _Entries:
    """A window's pain entries, computed in bulk (what both record shapes are made from)."""

    ids: Ids
    level: IntArray
    area_codes: IntArray  # bit j: extra area j is included (before the MAX_AREAS cut)
    quality_codes: IntArray  # bit j: usual quality j is included (before the MAX_QUALITIES cut)
    intensities: IntArray  # entries x extra areas
    wellbeing: list[float | None]
    snapshots: Snapshots
    notes: dict[int, str]
    logged: IntArray  # run seconds
    first_area: str
    extra_areas: list[str]
    qualities: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class PainColumns:
    """Pain entries as columns (for Parquet and NDJSON): areas and qualities as flat children plus
    list offsets, times as run seconds (`logged`, `timeline` makes the text) and as Unix ms."""

    timeline: Timeline
    ids: Ids
    logged: IntArray
    logged_ms: IntArray
    level: IntArray
    area_codes: IntArray  # children: indices into vocab.BODY_AREAS
    area_levels: IntArray
    area_offsets: IntArray  # entry i's areas are children [offsets[i], offsets[i + 1])
    quality_codes: IntArray  # indices into vocab.PAIN_QUALITIES
    quality_offsets: IntArray  # likewise for qualities
    wellbeing: list[float | None]
    snapshots: Snapshots
    notes: list[str | None]

    @property
    def area_ids(self) -> list[str]:
        names: list[str] = _AREA_NAMES[self.area_codes].tolist()
        return names

    @property
    def quality_ids(self) -> list[str]:
        names: list[str] = _QUALITY_NAMES[self.quality_codes].tolist()
        return names


def _prepare(sim: Simulation, first_day: int, last_day: int) -> _Entries | None:
    """Everything about the entries of days [first_day, last_day) that numpy computes in bulk."""
    profile, lat = sim.profile, sim.latent
    pain = profile.pain
    a, b = first_day, last_day
    day_w, t_raw, slot_raw = _candidates(sim, a, b)
    if day_w.size == 0:
        return None
    order = np.lexsort((t_raw, day_w))
    day_w, t, slot = day_w[order], t_raw[order], slot_raw[order]
    n = day_w.size
    at = day_w + a
    k = np.arange(n) - np.searchsorted(day_w, day_w, side="left")  # rank within the day
    kk = np.minimum(k, 3)

    # Entries are in time order, so the entries inside a flare are one slice (two binary searches).
    flare_eff = np.zeros(n)
    hours = at * 24.0 + t / 3600.0
    for flare in lat.flares:
        lo, hi = np.searchsorted(hours, (flare.start_h, flare.end_h), side="left").tolist()
        if hi > lo:
            inside = hours[lo:hi]
            flare_eff[lo:hi] += flare.magnitude * (
                1.0 - 0.5 * (inside - flare.start_h) / (flare.end_h - flare.start_h)
            )
    tod = np.asarray(pain.tod_deltas)[slot]
    level_f = lat.pain_base[at] + tod + flare_eff + 0.5 * sim.z[at, Z_ENTRY + kk]
    level = clamp(np.floor(level_f + 0.5), 0, 10).astype(np.int64)
    in_flare = flare_eff > 0.5

    # Areas: decision j includes area j of (primary[1:] + secondary) when its 4-bit draw is under a
    # threshold (primary areas nearly always; secondary ones twice as often in a flare).
    extra_areas = pain.primary_areas[1:] + pain.secondary_areas
    n_dec = len(extra_areas)
    is_primary = np.arange(n_dec) < len(pain.primary_areas) - 1
    shifts = 4 * np.arange(n_dec)
    area_bits = (sim.u[at, U_AREAS + kk] * BITS52).astype(np.int64)
    nibbles = (area_bits[:, None] >> shifts) & 15
    thresholds = np.where(is_primary[None, :], 13, np.where(in_flare[:, None], 10, 5))
    area_codes = ((nibbles < thresholds) * (1 << np.arange(n_dec))).sum(axis=1)
    int_bits = (sim.u[at, U_INTENSITY + kk] * BITS52).astype(np.int64)[:, None] >> (2 * np.arange(n_dec))
    drops = np.where(is_primary[None, :], int_bits & 1, 1 + (int_bits & 3))
    intensities = np.maximum(0, level[:, None] - drops)

    usual = pain.qualities
    q_bits = (sim.u[at, U_QUALITIES + kk] * BITS52).astype(np.int64)
    q_nibbles = (q_bits[:, None] >> (4 * np.arange(len(usual)))) & 15
    q_thresholds = np.where(np.arange(len(usual))[None, :] == 0, 14, np.where(in_flare[:, None], 11, 7))
    quality_codes = ((q_nibbles < q_thresholds) * (1 << np.arange(len(usual)))).sum(axis=1)

    wellbeing = clamp(lat.mood[at] / 5.0 - 0.12 * (level - pain.baseline), 0.0, 5.0)
    wellbeing_l: list[float | None] = (np.floor(wellbeing * 10 + 0.5) / 10).tolist()
    for i in np.flatnonzero(sim.u[at, U_WB_NULL] < WELLBEING_UNANSWERED).tolist():
        wellbeing_l[i] = None

    snapshots = _snapshots(sim, at, t)
    notes = _notes(sim, at, k, level, in_flare)
    ids = sim.ids("pe", at, k, _SUFFIX)
    return _Entries(
        ids=ids,
        level=level,
        area_codes=area_codes,
        quality_codes=quality_codes,
        intensities=intensities,
        wellbeing=wellbeing_l,
        snapshots=snapshots,
        notes=notes,
        logged=sim.day_start[at] + t.astype(np.int64),
        first_area=pain.primary_areas[0],
        extra_areas=list(extra_areas),
        qualities=tuple(usual),
    )


def _chosen(code: int, n_dec: int, cache: dict[int, tuple[int, ...]]) -> tuple[int, ...]:
    chosen = cache.get(code)
    if chosen is None:
        chosen = tuple(j for j in range(n_dec) if code >> j & 1)[: MAX_AREAS - 1]
        cache[code] = chosen
    return chosen


def _picked(code: int, usual: tuple[str, ...], cache: dict[int, tuple[str, ...]]) -> tuple[str, ...]:
    qualities = cache.get(code)
    if qualities is None:
        qualities = tuple(q for j, q in enumerate(usual) if code >> j & 1)[:MAX_QUALITIES]
        cache[code] = qualities
    return qualities


def build_pain_entries(sim: Simulation, first_day: int, last_day: int) -> list[dict[str, Any]]:
    """Pain entries of days [first_day, last_day), in time order (the API's `PainEntry` dicts)."""
    e = _prepare(sim, first_day, last_day)
    if e is None:
        return []
    logged_s = sim.timeline.iso_many(e.logged)
    first_area, extra_areas, usual, notes = e.first_area, e.extra_areas, e.qualities, e.notes
    n_dec = len(extra_areas)
    area_cache: dict[int, tuple[int, ...]] = {}
    quality_cache: dict[int, tuple[str, ...]] = {}
    out: list[dict[str, Any]] = []
    append = out.append
    columns = (
        e.ids.tolist(),
        e.level.tolist(),
        e.area_codes.tolist(),
        e.quality_codes.tolist(),
        e.intensities.tolist(),
        e.wellbeing,
        e.snapshots.dicts(),
        logged_s,
    )
    for i, (id_, lvl, code, qcode, row, wb, snap, logged) in enumerate(zip(*columns, strict=True)):
        chosen = area_cache.get(code)
        if chosen is None:
            chosen = _chosen(code, n_dec, area_cache)
        areas = [{"id": first_area, "max_intensity": lvl}]
        for j in chosen:
            areas.append({"id": extra_areas[j], "max_intensity": row[j]})
        qualities = quality_cache.get(qcode)
        if qualities is None:
            qualities = _picked(qcode, usual, quality_cache)
        append(
            {
                "id": id_,
                "pain_level": lvl,
                "areas": areas,
                "qualities": list(qualities),
                "overall_wellbeing": wb,
                "vitals": snap,
                "notes": notes.get(i) if notes else None,
                "logged_at": logged,
            }
        )
    return out


def pain_columns(sim: Simulation, first_day: int, last_day: int) -> PainColumns | None:
    """The entries `build_pain_entries` returns, as columns (None when there are none)."""
    e = _prepare(sim, first_day, last_day)
    if e is None:
        return None
    n = len(e.ids)
    # Areas: the first primary area, then the included extra areas in order, at most MAX_AREAS.
    extra = np.asarray(e.area_codes)[:, None] >> np.arange(len(e.extra_areas)) & 1 == 1
    extra &= np.cumsum(extra, axis=1) <= MAX_AREAS - 1
    areas = np.concatenate([np.ones((n, 1), dtype=bool), extra], axis=1)
    area_vocab = np.asarray([AREA_INDEX[a] for a in (e.first_area, *e.extra_areas)], dtype=np.int64)
    area_levels = np.concatenate([e.level[:, None], e.intensities], axis=1)
    # Qualities: the included usual qualities in order, at most MAX_QUALITIES.
    picked = np.asarray(e.quality_codes)[:, None] >> np.arange(len(e.qualities)) & 1 == 1
    picked &= np.cumsum(picked, axis=1) <= MAX_QUALITIES
    quality_vocab = np.asarray([QUALITY_INDEX[q] for q in e.qualities], dtype=np.int64)
    origin = calendar.timegm(sim.timeline.start.timetuple())
    notes: list[str | None] = [None] * n
    for i, text in e.notes.items():
        notes[i] = text
    return PainColumns(
        timeline=sim.timeline,
        ids=e.ids,
        logged=e.logged,
        logged_ms=(e.logged + origin) * 1000,
        level=e.level,
        area_codes=area_vocab[np.nonzero(areas)[1]],
        area_levels=area_levels[areas],
        area_offsets=np.concatenate(([0], np.cumsum(areas.sum(axis=1)))),
        quality_codes=quality_vocab[np.nonzero(picked)[1]],
        quality_offsets=np.concatenate(([0], np.cumsum(picked.sum(axis=1)))),
        wellbeing=e.wellbeing,
        snapshots=e.snapshots,
        notes=notes,
    )


SNAPSHOT_METRICS = ("hrv", "sleep_duration", "resting_heart_rate", "steps")  # the API's key order


@dataclass(frozen=True, slots=True)
class Snapshots:
    """The device snapshots attached to a window's entries, as columns.

    `rows` are the entries that carry one, in order; `metrics[name]` holds that metric's values for
    those rows (numpy) and which of them are present (steps only on entries after noon). `dicts()` is
    the API's `vitals` object of every entry (None where there is none); Parquet writes the columns.
    """

    n: int
    source: str | None
    rows: IntArray
    metrics: dict[str, tuple[FloatArray | IntArray, BoolArray]]

    def dicts(self) -> list[dict[str, Any] | None]:
        out: list[dict[str, Any] | None] = [None] * self.n
        if self.source is None or not self.rows.size:
            return out
        columns = [
            (name, values.tolist(), present.tolist()) for name, (values, present) in self.metrics.items()
        ]
        source = self.source
        for j, i in enumerate(self.rows.tolist()):
            out[i] = {
                "source": source,
                "metrics": {name: values[j] for name, values, present in columns if present[j]},
            }
        return out


def _snapshots(sim: Simulation, at: IntArray, t: FloatArray) -> Snapshots:
    """The device snapshot attached to each entry, if any."""
    n = at.size
    source, metrics = _snapshot_plan(sim)
    if source is None:
        return Snapshots(n, None, np.zeros(0, dtype=np.int64), {})
    lat = sim.latent
    days = sim.sources[source]
    attach = (sim.u[at, U_ATTACH] < sim.profile.habits.vitals_attach) & days.worn[at] & ~days.lost[at]
    idx = np.flatnonzero(attach)
    sel = at[idx]
    columns: dict[str, tuple[FloatArray | IntArray, BoolArray]] = {}
    every = np.ones(idx.size, dtype=np.bool_)
    if "hrv_rmssd" in metrics:
        columns["hrv"] = (np.floor(lat.hrv_ms[sel] + 0.5).astype(np.int64), every)
    if "sleep_duration" in metrics:
        columns["sleep_duration"] = (np.floor(lat.sleep_h[sel] * 10 + 0.5) / 10, every)
    if "resting_heart_rate" in metrics:
        columns["resting_heart_rate"] = (np.floor(lat.resting_hr[sel] + 0.5).astype(np.int64), every)
    if "steps" in metrics:  # steps so far today, on entries after noon
        wake = lat.wake_s[sel]
        share = np.minimum(1.0, (t[idx] - wake) / np.maximum(3600.0, 22 * 3600 - wake))
        columns["steps"] = ((lat.steps[sel] * share).astype(np.int64), t[idx] >= 12 * 3600)
    if not columns:
        return Snapshots(n, None, np.zeros(0, dtype=np.int64), {})
    # An entry whose only metric is steps, before noon, carries no snapshot at all.
    keep = np.logical_or.reduce([present for _, present in columns.values()])
    if not keep.all():
        idx = idx[keep]
        columns = {name: (values[keep], present[keep]) for name, (values, present) in columns.items()}
    return Snapshots(n, source, idx, columns)


def _notes(sim: Simulation, at: IntArray, k: IntArray, level: IntArray, in_flare: Any) -> dict[int, str]:
    """Notes on the first entry of a few days, keyed by entry index."""
    profile, lat = sim.profile, sim.latent
    rate = profile.habits.notes_rate
    if rate <= 0:
        return {}
    pick = sim.u[at, U_NOTES]
    out: dict[int, str] = {}
    for i in np.flatnonzero((k == 0) & (pick < rate)).tolist():
        d = int(at[i])
        if in_flare[i] or lat.flare_load[d] > 1.0:
            context = "flare"
        elif lat.sleep_h[d] < profile.body.sleep_hours - 1.0:
            context = "poor_sleep"
        elif level[i] <= profile.pain.baseline - 1.5:
            context = "good_day"
        else:
            context = "other"
        out[i] = note(context, profile.locale, float(pick[i]) / rate)
    return out
