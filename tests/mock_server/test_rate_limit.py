"""Rate limiters: the in-memory one, and the database one shared by worker processes (SQLite and
PostgreSQL), which adds hits to its counter row in batches with a bounded overshoot."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from sqlalchemy import event, text

from mock_server.middleware.rate_limit import (
    WINDOW_SECONDS,
    DatabaseRateLimiter,
    MemoryRateLimiter,
    build_limiter,
)
from mock_server.storage import Storage

NEVER = 1e9  # flush_seconds that never comes due within a test


def stored(storage: Storage, bucket: str) -> int:
    with storage.engine.connect() as conn:
        value = conn.execute(
            text("SELECT COALESCE(SUM(count), 0) FROM rate_limit_windows WHERE bucket = :b"), {"b": bucket}
        ).scalar_one()
    return int(value)


@pytest.fixture
def writes(storage: Storage) -> Iterator[list[str]]:
    """The rate-limit upserts the database received."""
    seen: list[str] = []

    def record(_conn, _cursor, statement, *_args) -> None:  # type: ignore[no-untyped-def]
        if "rate_limit_windows" in statement and statement.lstrip().upper().startswith("INSERT"):
            seen.append(statement)

    event.listen(storage.engine, "before_cursor_execute", record)
    yield seen
    event.remove(storage.engine, "before_cursor_execute", record)


@pytest.fixture
def limiters(storage: Storage) -> Iterator[list[DatabaseRateLimiter]]:
    made: list[DatabaseRateLimiter] = []
    yield made
    for limiter in made:
        limiter.close()


def test_memory_limiter_counts_and_resets() -> None:
    limiter = MemoryRateLimiter()
    verdicts = [limiter.hit("k", 3) for _ in range(4)]
    assert [v.allowed for v in verdicts] == [True, True, True, False]
    assert [v.remaining for v in verdicts] == [2, 1, 0, 0]
    limiter.reset("k")
    assert limiter.hit("k", 3).allowed


def test_build_limiter_picks_the_shared_backend_for_several_workers(storage: Storage) -> None:
    assert isinstance(build_limiter(storage, "auto", 2), DatabaseRateLimiter)
    assert isinstance(build_limiter(storage, "auto", 1), MemoryRateLimiter)
    assert isinstance(build_limiter(storage, "database", 1), DatabaseRateLimiter)
    with pytest.raises(ValueError):
        build_limiter(storage, "redis", 1)


def test_small_limits_are_exact_and_every_hit_is_stored(
    storage: Storage, limiters: list[DatabaseRateLimiter]
) -> None:
    limiter = DatabaseRateLimiter(storage, flush_seconds=NEVER)
    limiters.append(limiter)
    verdicts = [limiter.hit("key_small", 5) for _ in range(7)]
    assert [v.allowed for v in verdicts] == [True] * 5 + [False] * 2
    assert [v.remaining for v in verdicts] == [4, 3, 2, 1, 0, 0, 0]
    assert verdicts[0].reset % WINDOW_SECONDS == 0 and verdicts[0].reset > time.time()
    # within flush_hits of the limit every hit is flushed (the refused ones are counted lazily)
    assert stored(storage, "key_small") == 5
    limiter.flush()
    assert stored(storage, "key_small") == 7


def test_far_from_the_limit_hits_are_written_in_batches(
    storage: Storage, limiters: list[DatabaseRateLimiter], writes: list[str]
) -> None:
    limiter = DatabaseRateLimiter(storage, flush_seconds=NEVER, flush_hits=10)
    limiters.append(limiter)
    verdicts = [limiter.hit("key_batch", 1_000_000) for _ in range(25)]
    assert all(v.allowed for v in verdicts)
    assert [v.remaining for v in verdicts[:3]] == [999_999, 999_998, 999_997]
    # the first hit learns the row's count; then one write per 10 hits: after hits 1, 11 and 21
    assert len(writes) == 3
    assert stored(storage, "key_batch") == 21
    limiter.close()
    assert stored(storage, "key_batch") == 25


def test_hot_path_writes_once_per_batch(
    storage: Storage, limiters: list[DatabaseRateLimiter], writes: list[str]
) -> None:
    limiter = DatabaseRateLimiter(storage, flush_seconds=NEVER)
    limiters.append(limiter)
    for _ in range(1000):
        assert limiter.hit("key_hot", 1_000_000).allowed
    assert len(writes) <= 1000 // limiter.flush_hits + 1


def test_limit_is_shared_across_processes_with_bounded_overshoot(
    storage: Storage, limiters: list[DatabaseRateLimiter]
) -> None:
    """Three limiters on one database stand for three worker processes taking turns."""
    flush_hits, limit = 10, 100
    procs = [DatabaseRateLimiter(storage, flush_seconds=NEVER, flush_hits=flush_hits) for _ in range(3)]
    limiters.extend(procs)
    admitted = 0
    refused_from: dict[int, int] = {}
    for i in range(600):
        index = i % len(procs)
        if procs[index].hit("key_shared", limit).allowed:
            admitted += 1
            assert index not in refused_from, "a process admitted a request after it started refusing"
        else:
            refused_from.setdefault(index, i)
    assert limit <= admitted <= limit + len(procs) * (flush_hits - 1)
    assert len(refused_from) == len(procs)  # every process learned that the shared limit was reached
    for proc in procs:
        proc.flush()
    assert stored(storage, "key_shared") == 600  # refused hits are counted too, as before


def test_one_process_alone_is_exact(storage: Storage, limiters: list[DatabaseRateLimiter]) -> None:
    limiter = DatabaseRateLimiter(storage, flush_seconds=NEVER, flush_hits=10)
    limiters.append(limiter)
    allowed = [limiter.hit("key_alone", 95).allowed for _ in range(120)]
    assert allowed == [True] * 95 + [False] * 25


def test_refusals_past_the_limit_do_not_write(
    storage: Storage, limiters: list[DatabaseRateLimiter], writes: list[str]
) -> None:
    limiter = DatabaseRateLimiter(storage, flush_seconds=NEVER, flush_hits=10)
    limiters.append(limiter)
    for _ in range(3):
        limiter.hit("key_flood", 3)
    assert stored(storage, "key_flood") == 3
    before = len(writes)
    assert not any(limiter.hit("key_flood", 3).allowed for _ in range(500))
    assert len(writes) == before  # no write per 429: they are added at the next flush
    limiter.flush()
    assert stored(storage, "key_flood") == 503


def test_a_new_window_starts_from_zero(storage: Storage, limiters: list[DatabaseRateLimiter]) -> None:
    now = [10 * WINDOW_SECONDS + 5.0]
    limiter = DatabaseRateLimiter(storage, flush_seconds=NEVER, clock=lambda: now[0])
    limiters.append(limiter)
    assert [limiter.hit("key_window", 2).allowed for _ in range(3)] == [True, True, False]
    now[0] += WINDOW_SECONDS
    verdict = limiter.hit("key_window", 2)
    assert verdict.allowed and verdict.remaining == 1
    assert verdict.reset == 12 * WINDOW_SECONDS


def test_pending_hits_of_an_idle_process_reach_the_database(
    storage: Storage, limiters: list[DatabaseRateLimiter]
) -> None:
    limiter = DatabaseRateLimiter(storage, flush_seconds=0.05, flush_hits=1000)
    limiters.append(limiter)
    for _ in range(5):
        limiter.hit("key_idle", 1_000_000)
    deadline = time.monotonic() + 5
    while stored(storage, "key_idle") < 5 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert stored(storage, "key_idle") == 5
    while limiter._flusher is not None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert limiter._flusher is None, "the background flusher stops once nothing is pending"
    limiter.hit("key_idle", 1_000_000)  # ... and comes back with the next hit
    limiter.close()
    assert stored(storage, "key_idle") == 6


def test_a_failed_flush_keeps_the_hits(storage: Storage, limiters: list[DatabaseRateLimiter]) -> None:
    limiter = DatabaseRateLimiter(storage, flush_seconds=NEVER, flush_hits=10)
    limiters.append(limiter)
    limiter.hit("key_fail", 1000)
    real_engine = storage.engine

    class Broken:
        def begin(self) -> None:
            raise ConnectionError("database away")

    storage.engine = Broken()  # type: ignore[assignment]
    try:
        for _ in range(9):
            limiter.hit("key_fail", 1000)
        with pytest.raises(ConnectionError):
            limiter.hit("key_fail", 1000)  # the 10th pending hit flushes, and fails
    finally:
        storage.engine = real_engine
    limiter.flush()
    assert stored(storage, "key_fail") == 11


def test_rejects_nonsense_batching() -> None:
    with pytest.raises(ValueError):
        DatabaseRateLimiter(None, flush_hits=0)  # type: ignore[arg-type]


def test_memory_peek_counts_nothing() -> None:
    limiter = MemoryRateLimiter()
    assert limiter.peek("k", 3).remaining == 3
    limiter.hit("k", 3)
    limiter.hit("k", 3)
    assert [limiter.peek("k", 3).remaining for _ in range(5)] == [1] * 5
    limiter.hit("k", 3)
    assert limiter.peek("k", 3).allowed is False  # the next request would be refused
    assert limiter.hit("k", 3).allowed is False


def test_database_peek_sees_other_processes_and_its_own_pending_hits(
    storage: Storage, limiters: list[DatabaseRateLimiter], writes: list[str]
) -> None:
    mine, other = (DatabaseRateLimiter(storage, flush_seconds=NEVER, flush_hits=10) for _ in range(2))
    limiters.extend((mine, other))
    for _ in range(10):
        other.hit("key_peek", 100)
    other.flush()  # all ten in the row
    for _ in range(3):
        mine.hit("key_peek", 100)  # the first is written at once (no flush yet), two stay pending here
    before = len(writes)
    assert mine.peek("key_peek", 100).remaining == 100 - 13
    assert other.peek("key_peek", 100).remaining == 100 - 11  # it cannot see mine's pending two
    assert len(writes) == before and stored(storage, "key_peek") == 11  # peeking wrote nothing
