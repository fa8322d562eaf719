"""One patient's coupled series for a window of days, in the API's exact record shapes.

The sandbox server imports `generate_days` and `PatientSeries`; keep them stable:

    series = generate_days(profile, start, first_day, n_days, messiness=0.3)
    series.pain_entries, series.wellbeing, series.gauges, series.vitals   # lists of API dicts
    series.flares                                                         # ground truth, not an API shape

Records cover the days [start + first_day, start + first_day + n_days) (a day is the patient's local
calendar day; vitals belong to the day they were *measured*, whatever their `received_at`). Ids are
deterministic (`pe_<key>_<day>_<n>`, `wb_<key>_<day>`, `ga_<key>_<day>_<type>`, `vt_<key>_<day>_<n>`).

Continuable: generating days 0..N and then N..N+k returns exactly the records of generating 0..N+k in
one call (see seeding.py for why). The latent model is re-simulated from day 0 each call, which is
cheap (vectorized; ~1 ms per patient-year); records are only built for the window.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from typing import Any

from synthetic_data.models.flares import build_flare_records
from synthetic_data.models.gauges import GaugeColumns, build_gauges, gauge_columns
from synthetic_data.models.messiness import DEFAULT_MESSINESS
from synthetic_data.models.pain import PainColumns, build_pain_entries, pain_columns
from synthetic_data.models.vitals import VitalColumns, build_vitals, vital_columns
from synthetic_data.models.wellbeing import WellbeingColumns, build_wellbeing, wellbeing_columns
from synthetic_data.patients import PatientProfile
from synthetic_data.simulation import build_simulation
from synthetic_data.timeline import Timeline

Record = dict[str, Any]


@dataclass
class PatientSeries:
    """The records of one patient for one window, one list per series, each in time order."""

    pain_entries: list[Record] = field(default_factory=list)
    wellbeing: list[Record] = field(default_factory=list)
    gauges: list[Record] = field(default_factory=list)
    vitals: list[Record] = field(default_factory=list)
    flares: list[Record] = field(default_factory=list)
    # With `generate_days(..., vitals_as_columns=True)` (`pain_…`, `gauges_…`, `wellbeing_…`): those as
    # columns (and their lists empty), for exporters that need no dict per record (Parquet, NDJSON).
    vital_columns: VitalColumns | None = None
    pain_columns: PainColumns | None = None
    gauge_columns: GaugeColumns | None = None
    wellbeing_columns: WellbeingColumns | None = None

    @property
    def n_wellbeing(self) -> int:
        return len(self.wellbeing_columns) if self.wellbeing_columns is not None else len(self.wellbeing)

    @property
    def n_gauges(self) -> int:
        return len(self.gauge_columns) if self.gauge_columns is not None else len(self.gauges)

    @property
    def n_pain_entries(self) -> int:
        return len(self.pain_columns.ids) if self.pain_columns is not None else len(self.pain_entries)

    @property
    def n_vitals(self) -> int:
        return len(self.vital_columns) if self.vital_columns is not None else len(self.vitals)


@lru_cache(maxsize=8)
def timeline_for(start: date) -> Timeline:
    """A shared Timeline per start date (it caches date strings and UTC offsets)."""
    return Timeline(start)


def generate_days(
    profile: PatientProfile,
    start: date,
    first_day: int,
    n_days: int,
    messiness: float = DEFAULT_MESSINESS,
    *,
    vitals_as_columns: bool = False,
    pain_as_columns: bool = False,
    gauges_as_columns: bool = False,
    wellbeing_as_columns: bool = False,
) -> PatientSeries:
    """Records of days [start + first_day, start + first_day + n_days) for `profile`.

    `messiness` in [0, 1]: 0 is a perfect diary, 0.3 the patient's natural habits, 1 a bad month
    (missed days, sync gaps, late back-fills, duplicate uploads). Raises ValueError on bad arguments.
    `vitals_as_columns` fills `vital_columns` instead of `vitals` (the same readings, no dicts);
    `pain_as_columns` fills `pain_columns` instead of `pain_entries`, `gauges_as_columns`
    `gauge_columns` instead of `gauges`, `wellbeing_as_columns` `wellbeing_columns`.
    """
    if not 0.0 <= messiness <= 1.0:
        raise ValueError(f"messiness must be between 0 and 1, got {messiness}")
    if first_day < 0 or n_days < 0:
        raise ValueError("first_day and n_days must be >= 0")
    if n_days == 0:
        return PatientSeries()
    last_day = first_day + n_days
    sim = build_simulation(profile, timeline_for(start), last_day, messiness)
    return PatientSeries(
        pain_entries=[] if pain_as_columns else build_pain_entries(sim, first_day, last_day),
        wellbeing=[] if wellbeing_as_columns else build_wellbeing(sim, first_day, last_day),
        gauges=[] if gauges_as_columns else build_gauges(sim, first_day, last_day),
        vitals=[] if vitals_as_columns else build_vitals(sim, first_day, last_day),
        flares=build_flare_records(sim, first_day, last_day),
        vital_columns=vital_columns(sim, first_day, last_day) if vitals_as_columns else None,
        pain_columns=pain_columns(sim, first_day, last_day) if pain_as_columns else None,
        gauge_columns=gauge_columns(sim, first_day, last_day) if gauges_as_columns else None,
        wellbeing_columns=wellbeing_columns(sim, first_day, last_day) if wellbeing_as_columns else None,
    )
