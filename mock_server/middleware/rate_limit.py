"""Per-credential rate limits in fixed hourly windows, with the headers of seeds 001 and 002.

Two backends behind one method. :class:`MemoryRateLimiter` is exact for a single process and costs
nothing on the read path. :class:`DatabaseRateLimiter` keeps one counter row per (credential,
window) in the database, so several worker processes share one limit instead of each granting its
own; it adds hits to that row in batches, so the hot path does not write (and lock) the row on every
request.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from mock_server.storage import Storage
from mock_server.storage.rate_limits import RateLimitRepo

WINDOW_SECONDS = 3600
FLUSH_SECONDS = 0.05  # DatabaseRateLimiter: a process adds its hits to the shared row at least this often
FLUSH_HITS = 50  # ... and after at most this many hits; bounds the overshoot (see DatabaseRateLimiter)

log = logging.getLogger("care_sandbox.rate_limit")


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    limit: int
    remaining: int
    reset: int  # epoch seconds when the window ends

    @classmethod
    def uncounted(cls, limit: int) -> Verdict:
        """Allowed without counting (the counter is unreachable): nothing used, the window's real end."""
        return cls(True, limit, limit, _window(time.time()) + WINDOW_SECONDS)

    @property
    def retry_after(self) -> int:
        return max(1, self.reset - int(time.time()))


class RateLimiter(Protocol):
    def hit(self, bucket: str, limit: int) -> Verdict:
        """Count one request against ``bucket`` and say whether it may proceed."""

    def peek(self, bucket: str, limit: int) -> Verdict:
        """``bucket``'s state without counting anything: whether one more request would be allowed,
        and what is left. The console shows a key's quota with it, since its own calls are counted
        in a bucket of their own (``middleware.edge``)."""


def _window(now: float) -> int:
    return int(now // WINDOW_SECONDS) * WINDOW_SECONDS


class MemoryRateLimiter:
    def __init__(self) -> None:
        self._counts: dict[str, tuple[int, int]] = {}
        self._lock = threading.Lock()

    def hit(self, bucket: str, limit: int) -> Verdict:
        window = _window(time.time())
        with self._lock:
            start, count = self._counts.get(bucket, (window, 0))
            if start != window:
                count = 0
            count += 1
            self._counts[bucket] = (window, count)
        return Verdict(count <= limit, limit, max(0, limit - count), window + WINDOW_SECONDS)

    def peek(self, bucket: str, limit: int) -> Verdict:
        window = _window(time.time())
        with self._lock:
            start, count = self._counts.get(bucket, (window, 0))
        used = count if start == window else 0
        return Verdict(used < limit, limit, max(0, limit - used), window + WINDOW_SECONDS)

    def reset(self, bucket: str) -> None:
        with self._lock:
            self._counts.pop(bucket, None)


@dataclass
class _Bucket:
    """What one process knows about one (bucket, window) row."""

    window: int
    known: int = 0  # the row's count as of this process's last flush (every process's flushed hits)
    pending: int = 0  # hits counted here and not yet added to the row
    flushed_at: float = -math.inf  # monotonic time of the last flush


class DatabaseRateLimiter:
    """One limit shared by every process on the database: a counter row per (bucket, hourly window).

    Each process counts hits locally and adds them to the row with one atomic upsert
    (``count = count + n RETURNING count``) per batch: when ``flush_hits`` hits are pending, when the
    last flush is ``flush_seconds`` old (a background thread flushes an idle process's leftovers), and on
    every hit once the count is within ``flush_hits`` of the limit. Between flushes a request is judged
    on the row's count at the last flush plus this process's pending hits; at a flush, on the count the
    database returns. So:

    * a single process is exact, as is everything near the limit;
    * with P processes a window admits at most ``limit + P * (flush_hits - 1)`` requests (each process
      may admit at most one batch the others have not seen yet); 49 per process with the defaults;
    * once the row holds ``limit`` hits, requests are refused without asking the database (counts only
      grow within a window), so a flood of 429s costs no writes either;
    * up to ``flush_hits - 1`` hits a process has not flushed when it exits are never counted.

    The row is updated about 20 times a second per busy process instead of once per request; with
    several workers, per-request updates of the one row serialized them on its row lock and a commit.
    """

    _IDLE_TICKS = 20

    def __init__(
        self,
        storage: Storage,
        *,
        flush_seconds: float = FLUSH_SECONDS,
        flush_hits: int = FLUSH_HITS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if flush_hits < 1 or flush_seconds <= 0:
            raise ValueError("flush_hits must be ≥ 1 and flush_seconds > 0")
        self.storage = storage
        self.windows = RateLimitRepo()
        self.flush_seconds = flush_seconds
        self.flush_hits = flush_hits
        self._clock = clock
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.Lock()
        self._flusher: threading.Thread | None = None
        self._stop = threading.Event()

    def hit(self, bucket: str, limit: int) -> Verdict:
        window = _window(self._clock())
        reset = window + WINDOW_SECONDS
        now = time.monotonic()
        with self._lock:
            state = self._buckets.get(bucket)
            if state is None or state.window != window:
                # a new window; unflushed hits of the old one would only raise a closed window's count
                state = self._buckets[bucket] = _Bucket(window)
            state.pending += 1
            if state.known >= limit:  # the row already holds the limit: refuse locally, count lazily
                self._ensure_flusher()
                return Verdict(False, limit, 0, reset)
            estimate = state.known + state.pending
            if (
                estimate + self.flush_hits <= limit
                and state.pending < self.flush_hits
                and now - state.flushed_at < self.flush_seconds
            ):
                self._ensure_flusher()
                return Verdict(True, limit, limit - estimate, reset)
            batch, state.pending = state.pending, 0
        count = self._flush(bucket, state, batch)
        return Verdict(count <= limit, limit, max(0, limit - count), reset)

    def peek(self, bucket: str, limit: int) -> Verdict:
        """The shared row's count (one read, no write) plus this process's hits not yet added to it."""
        window = _window(self._clock())
        with self.storage.read() as conn:
            stored = self.windows.count(conn, bucket, window)
        with self._lock:
            state = self._buckets.get(bucket)
            pending = state.pending if state is not None and state.window == window else 0
        used = stored + pending  # the row only grows within a window: it holds every flushed hit
        return Verdict(used < limit, limit, max(0, limit - used), window + WINDOW_SECONDS)

    def flush(self) -> None:
        """Add every pending hit to the database now."""
        with self._lock:
            due = [(name, state, state.pending) for name, state in self._buckets.items() if state.pending]
            for _, state, _ in due:
                state.pending = 0
        for name, state, batch in due:
            self._flush(name, state, batch)

    def close(self) -> None:
        """Stop the background flusher and flush what is pending."""
        self._stop.set()
        flusher = self._flusher
        if flusher is not None:
            flusher.join(timeout=5)
        self.flush()

    def _flush(self, bucket: str, state: _Bucket, batch: int) -> int:
        """Add ``batch`` hits (already taken out of ``state.pending``) to the row; its new count."""
        try:
            with self.storage.transaction() as conn:
                count = self.windows.add_hits(conn, bucket, state.window, batch)
        except BaseException:
            with self._lock:
                state.pending += batch  # counted again at the next flush
            raise
        with self._lock:
            state.known = max(state.known, count)  # flushes may finish out of order
            state.flushed_at = time.monotonic()
        return count

    def _ensure_flusher(self) -> None:
        """Start the background flusher unless it runs (call with the lock held)."""
        if self._flusher is None and not self._stop.is_set():
            self._flusher = threading.Thread(target=self._flush_idle, name="rate-limit-flush", daemon=True)
            self._flusher.start()

    def _flush_idle(self) -> None:
        """Flush hits left pending longer than ``flush_seconds``; exit once nothing has been pending
        for ``_IDLE_TICKS`` ticks (a busy process keeps its flusher rather than starting one per batch)."""
        idle = 0
        while not self._stop.wait(self.flush_seconds):
            now = time.monotonic()
            current = _window(self._clock())
            with self._lock:
                due = []
                for name, state in list(self._buckets.items()):
                    if state.pending and now - state.flushed_at >= self.flush_seconds:
                        due.append((name, state, state.pending))
                        state.pending = 0
                    elif not state.pending and state.window < current:
                        del self._buckets[name]  # a closed window: forget it
                idle = 0 if due or any(state.pending for state in self._buckets.values()) else idle + 1
                if idle >= self._IDLE_TICKS:
                    self._flusher = None
                    return
            for name, state, batch in due:
                try:
                    self._flush(name, state, batch)
                except Exception:  # the database is unreachable: keep the hits, retry on the next tick
                    log.warning("could not flush rate limit counts of %s", name, exc_info=True)
        with self._lock:
            self._flusher = None


def build_limiter(storage: Storage, backend: str, workers: int) -> RateLimiter:
    if backend == "database" or (backend == "auto" and workers > 1):
        return DatabaseRateLimiter(storage)
    if backend in {"memory", "auto"}:
        return MemoryRateLimiter()
    raise ValueError(f"unknown rate limit backend {backend!r} (memory, database or auto)")
