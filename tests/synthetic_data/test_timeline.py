"""Timeline's shared per-zone arrays: the same values for any horizon, read-only, and one array per zone
however many horizons ask (the sandbox grows its patients' days with its clock)."""

from __future__ import annotations

from datetime import date

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from synthetic_data.timeline import DAY, Timeline

START = date(2026, 3, 1)  # spans the EU daylight-saving switch


@given(horizons=st.lists(st.integers(1, 1500), min_size=1, max_size=30))
def test_day_starts_are_one_growing_array_per_zone(horizons: list[int]) -> None:
    timeline = Timeline(START)
    fresh = Timeline(START)
    reference = np.arange(1500, dtype=np.int64) * DAY - np.asarray(
        fresh.offsets("Europe/Helsinki", 1500)[:1500], dtype=np.int64
    )
    for n in horizons:
        starts = timeline.day_starts("Europe/Helsinki", n)
        assert len(starts) == n
        assert (starts == reference[:n]).all()
        assert not starts.flags.writeable  # shared by every patient of the zone: nobody may write it
    assert list(timeline._day_starts) == ["Europe/Helsinki"]
    assert len(timeline._day_starts["Europe/Helsinki"]) <= 2 * max(horizons)


def test_weekdays_for_any_horizon_are_views_of_one_array() -> None:
    timeline = Timeline(START)  # a Sunday
    short, long = timeline.weekdays(3), timeline.weekdays(800)
    assert short.tolist() == [6, 0, 1]
    assert long[:3].tolist() == short.tolist() and len(long) == 800
    assert timeline.weekdays(5).base is not None  # a view, not a new array per horizon
    assert not long.flags.writeable
