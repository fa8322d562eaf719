"""UTC time as the sandbox stores and serves it.

All stored and served timestamps use one fixed-width form, ``YYYY-MM-DDTHH:MM:SSZ``, so that text
comparison equals time comparison on every backend (see ``storage.schema``).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

ISO_FORMAT = "%Y-%m-%dT%H:%M:%SZ"

# The earliest time a check-in or a device reading may be dated. Why a floor at all: analysis looks
# days back from each record and converts it to the patient's zone, so a record near year 1 made every
# later analysis of that patient overflow; no patient app or wearable produced data before 1970.
EARLIEST_RECORDED = datetime(1970, 1, 1, tzinfo=UTC)


def utcnow() -> datetime:
    """The real wall clock, timezone-aware UTC, whole seconds."""
    return datetime.now(UTC).replace(microsecond=0)


def iso(moment: datetime) -> str:
    """Format an aware or naive-UTC datetime in the stored form."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    # not strftime: glibc does not zero-pad years below 1000, and the stored form must be fixed-width
    return (
        f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}T"
        f"{moment.hour:02d}:{moment.minute:02d}:{moment.second:02d}Z"
    )


class OutOfRange(ValueError):
    """A well-formed time that names no instant Python can hold once moved to UTC.

    ``0001-01-01T00:00:00+01:00`` is valid RFC 3339, but it is 0000-12-31T23:00:00Z in UTC, before
    year 1; ``9999-12-31T23:59:59-01:00`` is after year 9999. A ``ValueError`` so that callers who
    already refuse unparsable input refuse these too, instead of meeting an ``OverflowError`` later.
    """


def parse_iso(text: str) -> datetime:
    """Parse an RFC 3339 timestamp (any offset) into aware UTC; :class:`OutOfRange` past year 1-9999."""
    value = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except OverflowError as exc:
        raise OutOfRange(f"{text} is outside 0001-01-01T00:00:00Z..9999-12-31T23:59:59Z in UTC") from exc


def shift(moment: datetime, delta: timedelta) -> datetime:
    """``moment + delta``, held at the ends of the representable range instead of overflowing.

    Why: a window around a client's time (clock skew, a lookback) must not turn a valid edge value
    such as 9999-12-31 into a 500; past the end, "as late as can be" is the right answer.
    """
    try:
        return moment + delta
    except OverflowError:
        edge = datetime.max if delta > timedelta(0) else datetime.min
        return edge.replace(tzinfo=moment.tzinfo)


def shift_date(day: date, days: int) -> date:
    """``day + days`` held at ``date.min`` / ``date.max`` (see :func:`shift`)."""
    try:
        return day + timedelta(days=days)
    except OverflowError:
        return date.max if days > 0 else date.min


def day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def day_end_iso(day: date) -> str:
    """The last stored timestamp of a day: inclusive ``to`` filters compare against it.

    Spelled out rather than computed as next midnight minus a second, which overflows on 9999-12-31.
    """
    return f"{day.isoformat()}T23:59:59Z"
