"""Rate-limit windows shared by every worker process (the ``database`` rate-limit backend)."""

from __future__ import annotations

from sqlalchemy import Connection, text


class RateLimitRepo:
    """Owns ``rate_limit_windows``: one row per (bucket, window start) holding the hits counted so far.

    Unit of work: every method takes the caller's connection. The limiter calls it in
    ``storage.transaction()`` — a transaction of its own that never joins a request's unit of work,
    so a hit counts even when the request it admitted rolls back.
    """

    _UPSERT = text(
        "INSERT INTO rate_limit_windows (bucket, window_start, count) VALUES (:b, :w, :n) "
        "ON CONFLICT (bucket, window_start) DO UPDATE SET count = rate_limit_windows.count + :n "
        "RETURNING count"
    )

    _COUNT = text("SELECT count FROM rate_limit_windows WHERE bucket = :b AND window_start = :w")

    def count(self, conn: Connection, bucket: str, window_start: int) -> int:
        """The window's count as stored (0 before its first hit), read without adding to it."""
        return int(conn.execute(self._COUNT, {"b": bucket, "w": window_start}).scalar() or 0)

    def add_hits(self, conn: Connection, bucket: str, window_start: int, hits: int) -> int:
        """Add ``hits`` to the window's count in one statement (no read-then-write race between
        processes) and return the new count."""
        return int(conn.execute(self._UPSERT, {"b": bucket, "w": window_start, "n": hits}).scalar_one())
