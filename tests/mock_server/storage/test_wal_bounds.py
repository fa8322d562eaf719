"""The SQLite WAL stays under 64 MB through heavy churn (issue 13: a fuzzer left a 1.6 GB WAL).

Why it can grow: a transaction's pages stay in the WAL until it commits and a checkpoint copies
them back, and automatic checkpoints are PASSIVE (they never finish while a reader holds an older
snapshot). The sandbox now writes advances and resets in chunks, sets ``journal_size_limit`` and
runs ``wal_checkpoint(TRUNCATE)`` periodically. Here one workspace advances its clock a year and
resets, twice (hundreds of MB written), while another workspace reads without pause, and the WAL
file is sampled throughout.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

from tests.fixtures.sandbox import RunningSandbox

LIMIT = 64 * 1024 * 1024


def test_wal_stays_under_64_mb_through_heavy_churn(sandbox_factory) -> None:  # type: ignore[no-untyped-def]
    box: RunningSandbox = sandbox_factory(sqlite_checkpoint_seconds=0.5)
    database = Path(box.settings.database_url.removeprefix("sqlite:///"))
    wal = Path(f"{database}-wal")
    sizes: list[int] = []
    written = {"rows": 0}
    done = threading.Event()

    def churn() -> None:
        try:
            with box.client(box.second_api_key) as b:
                for _ in range(2):
                    resp = b.post("/v1/sandbox/clock/advance", json={"days": 365}, timeout=600)
                    assert resp.status_code == 200, resp.text
                    written["rows"] += sum(resp.json()["generated"].values())
                    resp = b.post("/v1/sandbox/reset", timeout=600)
                    assert resp.status_code == 200, resp.text
                    written["rows"] += resp.json()["removed_records"]
        finally:
            done.set()

    worker = threading.Thread(target=churn)
    worker.start()
    with box.client() as a:
        patient = a.get("/v1/patients").json()["data"][0]["id"]
        while not done.is_set():
            a.get(f"/v1/patients/{patient}/timeline?per_page=100")
            sizes.append(wal.stat().st_size if wal.exists() else 0)
            time.sleep(0.02)
    worker.join()
    assert written["rows"] > 200_000  # inserted and deleted: far more than 64 MB of pages
    assert max(sizes) < LIMIT, f"WAL reached {max(sizes) / 2**20:.1f} MB"
    assert os.path.getsize(database) > 0
