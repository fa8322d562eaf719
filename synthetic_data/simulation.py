"""Everything the record builders need about one patient over days 0..horizon-1, computed once.

`Simulation` bundles the latent daily state, the messiness decisions, the draw matrices, the UTC offsets
of the patient's zone and the id prefixes. Builders (models/pain.py …) read it and emit the records of a
window of days, column by column with numpy, either as columns (`vital_columns`, … for the Parquet and
NDJSON exporters) or as one dict per record (the API shape): per-record Python work is what bounds the
generator's speed, so the builders keep it to assembling values computed in bulk.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from synthetic_data.models.latent import Latent, simulate
from synthetic_data.models.messiness import Rates, SourceDays, lapse_days, rates, source_days
from synthetic_data.patients import PatientProfile
from synthetic_data.seeding import BoolArray, DayDraws, FloatArray, IntArray
from synthetic_data.timeline import Timeline

BACKFILL_MARGIN_DAYS = 30
_DAY_TAGS: list[str] = []


def day_tags(n: int) -> list[str]:
    """`0000`, `0001`, … shared by every id (grown on demand; at least `n` long)."""
    if len(_DAY_TAGS) < n:
        _DAY_TAGS.extend(f"{d:04d}" for d in range(len(_DAY_TAGS), n))
    return _DAY_TAGS  # offsets are kept this far past the horizon (gaps and late back-fills)


@dataclass(frozen=True, slots=True)
class Ids:
    """A window's record ids, `<kind>_<patient key>_<dddd><suffix>`, kept as codes: each record's day
    and an index into `suffixes` (the reading number, the gauge type, …).

    The text is made only where it is written: `tolist()` for NDJSON and the API's dicts, and in Arrow
    for Parquet (`exporters/parquet.py`), where a Python string per id had been the largest cost left
    in the encoding.
    """

    head: str  # "<kind>_<patient key>_"
    day: IntArray  # day index of each record (0 is the run's first day)
    suffix: IntArray
    suffixes: Sequence[str]

    def __len__(self) -> int:
        return len(self.day)

    def tolist(self) -> list[str]:
        if not len(self.day):
            return []
        days = self.day.tolist()
        lo, hi = min(days), max(days) + 1
        prefixes = [self.head + tag for tag in day_tags(hi)[lo:hi]]
        suffixes = self.suffixes
        return [prefixes[d - lo] + suffixes[s] for d, s in zip(days, self.suffix.tolist(), strict=True)]


@dataclass(slots=True)
class Simulation:
    profile: PatientProfile
    timeline: Timeline
    horizon: int
    latent: Latent
    rates: Rates
    lapse: BoolArray
    sources: dict[str, SourceDays]  # by source name
    u: FloatArray  # uniform draws, one row per day
    z: FloatArray  # normal draws, one row per day
    day_start: IntArray  # run seconds of local midnight, per day (horizon + margin)

    @property
    def key(self) -> str:
        return self.profile.patient_key

    def run_seconds(self, day: int, local_seconds: float) -> int:
        """Seconds since the run's day 0 00:00 UTC of a local time on day `day`."""
        return int(self.day_start[day]) + int(local_seconds)

    def ids(self, kind: str, day: IntArray, suffix: IntArray, suffixes: Sequence[str]) -> Ids:
        """The ids of records of `kind` on days `day` (absolute) with suffixes `suffixes[suffix]`."""
        return Ids(f"{kind}_{self.profile.patient_key}_", day, suffix, suffixes)


def build_simulation(
    profile: PatientProfile, timeline: Timeline, horizon: int, messiness: float
) -> Simulation:
    """Simulate days 0..horizon-1 of `profile`."""
    draws = DayDraws(profile.seed, horizon)
    latent = simulate(profile, draws, timeline.weekdays(horizon))
    r = rates(profile, messiness)
    span = horizon + BACKFILL_MARGIN_DAYS
    return Simulation(
        profile=profile,
        timeline=timeline,
        horizon=horizon,
        latent=latent,
        rates=r,
        lapse=lapse_days(draws, r),
        sources={source: source_days(draws, i, r) for i, source in enumerate(profile.sources)},
        u=draws.uniform,
        z=draws.normal,
        day_start=timeline.day_starts(profile.timezone, span),
    )
