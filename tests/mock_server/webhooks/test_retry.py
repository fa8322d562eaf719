"""Retry schedule maths and ``Retry-After`` parsing."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mock_server.settings import DEFAULT_RETRY_SCHEDULE
from mock_server.webhooks.retry import JITTER_FRACTION, RETRY_AFTER_CAP_SECONDS, next_delay, parse_retry_after


def test_default_schedule_is_svix_and_allows_eight_attempts() -> None:
    delays = [next_delay(DEFAULT_RETRY_SCHEDULE, n) for n in range(1, 9)]
    assert delays == [5.0, 300.0, 1800.0, 7200.0, 18000.0, 36000.0, 36000.0, None]
    total = sum(d for d in delays if d is not None)
    assert total == pytest.approx(27.4 * 3600, rel=0.01)  # about 27 hours of trying


def test_short_schedule() -> None:
    schedule = (0.0, 0.2, 0.4)
    assert [next_delay(schedule, n) for n in (1, 2, 3)] == [0.2, 0.4, None]


def test_attempts_are_numbered_from_one() -> None:
    with pytest.raises(ValueError):
        next_delay((0.0,), 0)


def test_retry_after_only_postpones() -> None:
    assert next_delay((0, 5), 1, retry_after=60) == 60
    assert next_delay((0, 5), 1, retry_after=1) == 5
    assert next_delay((0, 5), 2, retry_after=60) is None  # no attempts left: Retry-After cannot add one


@given(attempt=st.integers(1, 8), seed=st.integers(0, 2**32))
def test_jitter_stays_within_ten_percent_above_the_schedule(attempt: int, seed: int) -> None:
    plain = next_delay(DEFAULT_RETRY_SCHEDULE, attempt)
    jittered = next_delay(DEFAULT_RETRY_SCHEDULE, attempt, rng=random.Random(seed))
    if plain is None:
        assert jittered is None
    else:
        assert jittered is not None
        assert plain <= jittered <= plain * (1 + JITTER_FRACTION)


def test_sub_second_schedules_get_no_jitter() -> None:
    assert next_delay((0, 0.2), 1, rng=random.Random(1)) == 0.2


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, None),
        ("", None),
        ("  ", None),
        ("120", 120.0),
        (" 7 ", 7.0),
        ("0", 0.0),
        ("-5", None),
        ("1.5", None),
        ("soon", None),
        ("99999999", RETRY_AFTER_CAP_SECONDS),
    ],
)
def test_parse_retry_after_seconds(header: str | None, expected: float | None) -> None:
    assert parse_retry_after(header) == expected


def test_parse_retry_after_http_date() -> None:
    now = datetime(2026, 5, 4, 9, 0, 0, tzinfo=UTC)
    later = format_datetime(now + timedelta(seconds=90), usegmt=True)
    assert later.endswith("GMT")
    assert parse_retry_after(later, now=now) == pytest.approx(90.0)
    assert parse_retry_after(format_datetime(now - timedelta(hours=1), usegmt=True), now=now) == 0.0
    assert parse_retry_after("Mon, 04 May 2026 09:01:00 -0000", now=now) == pytest.approx(60.0)
    assert parse_retry_after("Fri, 31 Dec 9999 23:59:59 GMT", now=now) == RETRY_AFTER_CAP_SECONDS
