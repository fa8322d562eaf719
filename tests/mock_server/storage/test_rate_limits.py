"""RateLimitRepo keeps the same contract on SQLite and PostgreSQL."""

from __future__ import annotations

from mock_server.storage import Storage
from mock_server.storage.rate_limits import RateLimitRepo


def test_hits_add_up_per_bucket_and_window(storage: Storage) -> None:
    repo = RateLimitRepo()
    with storage.transaction() as conn:
        assert repo.add_hits(conn, "key_a", 3600, 3) == 3
        assert repo.add_hits(conn, "key_a", 3600, 4) == 7
        assert repo.add_hits(conn, "key_a", 7200, 1) == 1  # a new window starts from zero
        assert repo.add_hits(conn, "key_b", 3600, 2) == 2  # another credential, its own count
    with storage.transaction() as conn:  # committed: another transaction adds to the same row
        assert repo.add_hits(conn, "key_a", 3600, 1) == 8
