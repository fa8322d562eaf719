"""The reporting period of analysis and report requests: explicit days, or the last 30 days."""

from __future__ import annotations

from datetime import date, timedelta

from mock_server.context import ApiRequest
from mock_server.errors import invalid_parameter
from mock_server.handlers._shared import now

DEFAULT_DAYS = 30
MAX_DAYS = 366


def period(req: ApiRequest, values: dict[str, str | None] | None = None) -> tuple[date, date]:
    source: dict[str, str | None] = values if values is not None else req.params
    today = now(req).date()
    to_text, from_text = source.get("to"), source.get("from")
    last = date.fromisoformat(to_text) if to_text else today
    first = date.fromisoformat(from_text) if from_text else last - timedelta(days=DEFAULT_DAYS - 1)
    if last < first:
        raise invalid_parameter("to", last.isoformat(), f"'to' ({last}) is before 'from' ({first})")
    if (last - first).days + 1 > MAX_DAYS:
        raise invalid_parameter("from", first.isoformat(), f"a period may span at most {MAX_DAYS} days")
    return first, last
