"""The stored timestamp form is fixed-width for every representable instant (it is compared as text)."""

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from mock_server.timeutil import iso, parse_iso


@given(st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=st.just(UTC)))
def test_iso_is_fixed_width_and_round_trips(moment: datetime) -> None:
    text = iso(moment)
    assert len(text) == 20 and text.endswith("Z")
    assert parse_iso(text) == moment.replace(microsecond=0)
