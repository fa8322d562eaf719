"""The reporting period of analysis and report requests: explicit days, or the last 30 days."""

from __future__ import annotations

from datetime import date

from mock_server.context import ApiRequest
from mock_server.errors import invalid_parameter
from mock_server.handlers._shared import now
from mock_server.timeutil import shift_date

DEFAULT_DAYS = 30
MAX_DAYS = 366
MAX_DAYS_AHEAD = 1  # 'to' may be tomorrow (UTC): a partner east of UTC may already live in it


def _day(name: str, text: str) -> date:
    """A sent day, or 400 naming it: RFC 3339's full-date admits year 0000, which Python's dates do not."""
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise invalid_parameter(name, text, f"'{name}' must be a date (YYYY-MM-DD, years 0001-9999)") from exc


def period(req: ApiRequest, values: dict[str, str | None] | None = None) -> tuple[date, date]:
    source: dict[str, str | None] = values if values is not None else req.params
    today = now(req).date()
    to_text, from_text = source.get("to"), source.get("from")
    last = _day("to", to_text) if to_text else today
    first = _day("from", from_text) if from_text else shift_date(last, -(DEFAULT_DAYS - 1))
    if last < first:
        if not to_text:  # 'to' defaulted to today: the value the client sent is 'from'
            raise invalid_parameter(
                "from", first.isoformat(), f"'from' ({first}) is after 'to' (today, {last})"
            )
        raise invalid_parameter("to", last.isoformat(), f"'to' ({last}) is before 'from' ({first})")
    latest = shift_date(today, MAX_DAYS_AHEAD)
    if last > latest:
        # a report on days that have not happened has no data, and a period ending at 9999-12-31
        # cannot even be drawn: refuse it here rather than accept a job that fails later ('to' was
        # sent: without it the period ends today)
        raise invalid_parameter(
            "to", last.isoformat(), f"a period may end at most {MAX_DAYS_AHEAD} day after today ({today})"
        )
    if (last - first).days + 1 > MAX_DAYS:
        raise invalid_parameter("from", first.isoformat(), f"a period may span at most {MAX_DAYS} days")
    return first, last
