"""The gateway's date-time range check: which fields it finds, and what it refuses."""

from __future__ import annotations

from datetime import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mock_server.errors import ApiError
from mock_server.gateway.temporal import body_date_times, check_body, check_query, is_date_time

SCHEMA = {
    "type": "object",
    "properties": {
        "at": {"type": "string", "format": "date-time"},
        "day": {"type": "string", "format": "date"},
        "readings": {
            "type": "array",
            "items": {"anyOf": [{"type": "object", "properties": {"measured_at": {"format": "date-time"}}}]},
        },
    },
}


def test_finds_every_date_time_field_and_only_those() -> None:
    assert body_date_times(SCHEMA) == (("at",), ("readings", "*", "measured_at"))
    assert body_date_times(None) == ()
    assert is_date_time({"type": "array", "items": {"format": "date-time"}})
    assert not is_date_time({"type": "string", "format": "date"})


def test_refuses_an_instant_outside_years_1_to_9999_and_points_at_it() -> None:
    paths = body_date_times(SCHEMA)
    check_body(paths, {"at": "0001-01-01T00:00:00Z", "readings": [{"measured_at": "9999-12-31T23:59:59Z"}]})
    with pytest.raises(ApiError) as caught:
        check_body(
            paths,
            {
                "readings": [
                    {"measured_at": "2026-01-01T00:00:00Z"},
                    {"measured_at": "0001-01-01T00:00:00+01:00"},
                ]
            },
        )
    assert caught.value.status == 400
    assert caught.value.details == {
        "errors": [
            {
                "path": "/readings/1/measured_at",
                "field": "measured_at",
                "message": "'measured_at' (0001-01-01T00:00:00+01:00) is outside years 0001-9999 in UTC",
            }
        ]
    }
    with pytest.raises(ApiError) as query_error:
        check_query(("since",), {"since": ["2026-01-01T00:00:00Z", "9999-12-31T23:59:59-01:00"]})
    assert query_error.value.details == {"parameter": "since", "value": "9999-12-31T23:59:59-01:00"}


def _utc_seconds(moment: datetime, offset_minutes: int) -> int:
    """Seconds since 0001-01-01T00:00:00 of the UTC instant, by integer arithmetic (no datetime maths)."""
    local = (moment.toordinal() - 1) * 86_400 + moment.hour * 3600 + moment.minute * 60 + moment.second
    return local - offset_minutes * 60


LAST_SECOND = (datetime.max.toordinal() - 1) * 86_400 + 86_399


@given(moment=st.datetimes(), offset_minutes=st.integers(-(23 * 60 + 59), 23 * 60 + 59))
def test_accepts_exactly_the_instants_within_years_1_to_9999(moment: datetime, offset_minutes: int) -> None:
    sign = "+" if offset_minutes >= 0 else "-"
    offset = f"{sign}{abs(offset_minutes) // 60:02d}:{abs(offset_minutes) % 60:02d}"
    text = moment.replace(microsecond=0).isoformat() + offset
    if 0 <= _utc_seconds(moment, offset_minutes) <= LAST_SECOND:
        check_body((("at",),), {"at": text})
    else:
        with pytest.raises(ApiError):
            check_body((("at",),), {"at": text})
