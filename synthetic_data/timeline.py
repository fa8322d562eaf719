"""Fast local-time -> UTC timestamps for a run's days.

The generator emits tens of millions of timestamps; `datetime.astimezone` and `strftime` cost over a
microsecond each. Here a timestamp is an integer count of seconds since the run's first day at 00:00
UTC, turned into text from two tables (a date string per day, a "THH:MM:SSZ" string per second of the
day) joined by numpy's string addition. A patient's local clock is mapped with one UTC offset per day
(taken at local noon), which is exact except inside the hour of a DST switch at night, where no
check-in is ever placed.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt

DAY = 86_400
_PAD_DAYS = 2  # days before day 0 kept in the date table (a UTC time can fall on the day before)


@cache
def _tod_array() -> npt.NDArray[np.str_]:
    """`THH:MM:SSZ` for each second of the day."""
    return np.array([f"T{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}Z" for s in range(DAY)], dtype="U10")


class Timeline:
    """Date strings, weekdays and per-zone UTC offsets for the days of a run starting at `start`."""

    def __init__(self, start: date) -> None:
        self.start = start
        self._dates: list[str] = []
        self._date_array: npt.NDArray[np.str_] = np.array([], dtype="U10")
        self._offsets: dict[str, list[int]] = {}
        self._day_starts: dict[str, npt.NDArray[np.int64]] = {}
        self._weekdays: npt.NDArray[np.int64] = np.zeros(0, dtype=np.int64)

    def _extend_dates(self, n: int) -> None:
        have = len(self._dates)
        first = self.start - timedelta(days=_PAD_DAYS)
        self._dates += [(first + timedelta(days=i)).isoformat() for i in range(have, n)]

    def date_str(self, day: int) -> str:
        """`YYYY-MM-DD` of day index `day` (0 is `start`)."""
        i = day + _PAD_DAYS
        if i >= len(self._dates):
            self._extend_dates(i + 64)
        return self._dates[i]

    def iso_many(self, seconds: npt.NDArray[np.int64]) -> list[str]:
        """RFC 3339 UTC text of each element (seconds since `start` 00:00 UTC), built by numpy string
        addition (the generator's hottest path)."""
        if len(seconds) == 0:
            return []
        days = seconds // DAY + _PAD_DAYS
        top = int(days.max())
        if top >= len(self._date_array):
            self._extend_dates(top + 64)
            self._date_array = np.array(self._dates, dtype="U10")
        strings: list[str] = np.strings.add(self._date_array[days], _tod_array()[seconds % DAY]).tolist()
        return strings

    def offsets(self, zone: str, n_days: int) -> list[int]:
        """UTC offset in seconds of `zone` at local noon, for days 0..n_days-1."""
        have = self._offsets.setdefault(zone, [])
        if len(have) < n_days:
            tz = ZoneInfo(zone)
            for day in range(len(have), n_days + 31):
                local_noon = datetime.combine(self.start + timedelta(days=day), time(12), tz)
                offset = local_noon.utcoffset()
                have.append(int(offset.total_seconds()) if offset is not None else 0)
        return have

    def day_starts(self, zone: str, n_days: int) -> npt.NDArray[np.int64]:
        """Seconds since day 0 00:00 UTC of local midnight in `zone`, days 0..n_days-1: a read-only view
        of one array per zone, grown when a longer horizon asks (the sandbox grows its patients' days
        with its clock, so one array per horizon would pile up)."""
        starts = self._day_starts.get(zone)
        if starts is None or len(starts) < n_days:
            size = max(n_days, 2 * len(starts) if starts is not None else n_days)
            offsets = np.asarray(self.offsets(zone, size)[:size], dtype=np.int64)
            starts = np.arange(size, dtype=np.int64) * DAY - offsets
            starts.flags.writeable = False
            self._day_starts[zone] = starts
        return starts[:n_days]

    def weekdays(self, n_days: int) -> npt.NDArray[np.int64]:
        """Monday=0 … Sunday=6 for days 0..n_days-1 (a read-only view of one shared array)."""
        if len(self._weekdays) < n_days:
            size = max(n_days, 2 * len(self._weekdays))
            self._weekdays = (np.arange(size, dtype=np.int64) + self.start.weekday()) % 7
            self._weekdays.flags.writeable = False
        return self._weekdays[:n_days]
