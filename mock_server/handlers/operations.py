"""Liveness, readiness and Prometheus metrics — what an orchestrator and a dashboard ask."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from mock_server.context import ApiRequest, Reply, ok
from mock_server.storage.errors import DatabaseError
from mock_server.storage.health import ping

try:
    VERSION = version("care-sandbox")
except PackageNotFoundError:  # running from a source tree without installing
    VERSION = "0.0.0"


async def healthz(req: ApiRequest) -> Reply:
    """Async on purpose: it needs no database, so it answers on the event loop without waiting for a
    thread of the handler pool (which another workspace's heavy work may be keeping busy)."""
    return ok({"status": "ok", "version": VERSION})


def readyz(req: ApiRequest) -> Reply:
    try:
        with req.services.storage.read() as conn:
            ping(conn)
    except DatabaseError:
        return Reply(
            503, {"status": "unavailable", "version": VERSION, "checks": {"database": "unavailable"}}
        )
    return ok({"status": "ok", "version": VERSION, "checks": {"database": "ok"}})


def metrics(req: ApiRequest) -> Reply:
    registry = req.services.metrics
    return Reply(200, registry.render(), media_type="text/plain; version=0.0.4; charset=utf-8")
