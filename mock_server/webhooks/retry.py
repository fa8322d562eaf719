"""When to try a failed delivery again: the schedule, ``Retry-After``, and jitter.

The schedule (``Settings.webhook_retry_schedule``) lists the delay before each attempt, Svix style.
Entry 0 stands for the first attempt, which the outbox schedules immediately (keep it 0); entry *n*
is the delay after attempt *n* fails. So a schedule of length *k* allows *k* attempts, and
``next_delay`` returns ``None`` once they are used up (the delivery is then ``exhausted``).

A receiver's ``Retry-After`` can only push a retry later, never earlier, and is capped so that a
typo on the receiver's side (``Retry-After: 99999999``) cannot park a delivery for years.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

RETRY_AFTER_CAP_SECONDS = 24 * 3600.0
JITTER_FRACTION = 0.1  # delays grow by up to 10 % so a fleet of retries does not arrive in lockstep
JITTER_FLOOR_SECONDS = 1.0  # sub-second (test) schedules stay exact


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or HTTP-date); None if absent/bad.

    A date in the past means "now" (0). Negative or unparsable values are ignored rather than trusted.
    """
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    if text.isdigit():
        return min(float(text), RETRY_AFTER_CAP_SECONDS)
    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if moment.tzinfo is None:  # RFC 9110 dates are GMT; "-0000" parses naive
        moment = moment.replace(tzinfo=UTC)
    reference = now or datetime.now(UTC)
    return min(max((moment - reference).total_seconds(), 0.0), RETRY_AFTER_CAP_SECONDS)


def next_delay(
    schedule: Sequence[float],
    attempt: int,
    *,
    retry_after: float | None = None,
    rng: random.Random | None = None,
) -> float | None:
    """Seconds to wait after failed attempt number ``attempt`` (1-based), or None when exhausted.

    Without ``rng`` the result is exact (tests, and the schedule's documented minimum); with one,
    delays of a second or more grow by up to ``JITTER_FRACTION``.
    """
    if attempt < 1:
        raise ValueError("attempts are numbered from 1")
    if attempt >= len(schedule):
        return None
    delay = float(schedule[attempt])
    if rng is not None and delay >= JITTER_FLOOR_SECONDS:
        delay *= 1.0 + rng.random() * JITTER_FRACTION
    if retry_after is not None:
        delay = max(delay, retry_after)
    return delay
