"""Per-credential rate limits in fixed hourly windows, with the headers of seeds 001 and 002.

Two backends behind one method. :class:`MemoryRateLimiter` is exact for a single process and costs
nothing on the read path. :class:`DatabaseRateLimiter` keeps one counter row per (credential,
window) and increments it with a single atomic upsert, so several worker processes share one limit
instead of each granting its own.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import text

from mock_server.storage import Storage

WINDOW_SECONDS = 3600


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    limit: int
    remaining: int
    reset: int  # epoch seconds when the window ends

    @property
    def retry_after(self) -> int:
        return max(1, self.reset - int(time.time()))


class RateLimiter(Protocol):
    def hit(self, bucket: str, limit: int) -> Verdict:
        """Count one request against ``bucket`` and say whether it may proceed."""


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

    def reset(self, bucket: str) -> None:
        with self._lock:
            self._counts.pop(bucket, None)


class DatabaseRateLimiter:
    _UPSERT = text(
        "INSERT INTO rate_limit_windows (bucket, window_start, count) VALUES (:b, :w, 1) "
        "ON CONFLICT (bucket, window_start) DO UPDATE SET count = rate_limit_windows.count + 1 "
        "RETURNING count"
    )

    def __init__(self, storage: Storage) -> None:
        self.storage = storage

    def hit(self, bucket: str, limit: int) -> Verdict:
        window = _window(time.time())
        with self.storage.engine.begin() as conn:
            count = int(conn.execute(self._UPSERT, {"b": bucket, "w": window}).scalar_one())
        return Verdict(count <= limit, limit, max(0, limit - count), window + WINDOW_SECONDS)


def build_limiter(storage: Storage, backend: str, workers: int) -> RateLimiter:
    if backend == "database" or (backend == "auto" and workers > 1):
        return DatabaseRateLimiter(storage)
    if backend in {"memory", "auto"}:
        return MemoryRateLimiter()
    raise ValueError(f"unknown rate limit backend {backend!r} (memory, database or auto)")
