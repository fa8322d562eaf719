"""UTC time as the sandbox stores and serves it.

All stored and served timestamps use one fixed-width form, ``YYYY-MM-DDTHH:MM:SSZ``, so that text
comparison equals time comparison on every backend (see ``storage.schema``).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

ISO_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


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


def parse_iso(text: str) -> datetime:
    """Parse an RFC 3339 timestamp (any offset) into aware UTC."""
    value = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def day_end_iso(day: date) -> str:
    """The last stored timestamp of a day: inclusive ``to`` filters compare against it."""
    return iso(day_start(day) + timedelta(days=1) - timedelta(seconds=1))
