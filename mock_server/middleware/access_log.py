"""The opt-in access log (``--access-log``): one line per request, with its request id.

Why not uvicorn's: it runs at warning level (its access line costs throughput nobody asked for) and
its line has no request id, which is what ties a line to the error envelope an integrator reports
and to ``GET /v1/sandbox/requests/{request_id}``. The logger gets its own stderr handler so the line
is printed in every server process, uvicorn's workers included, whatever their logging setup.
"""

from __future__ import annotations

import logging
import sys

LOGGER_NAME = "care_sandbox.access"


def access_logger() -> logging.Logger:
    """The access logger, configured once per process (idempotent)."""
    logger = logging.getLogger(LOGGER_NAME)
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s access %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False
    return logger


def access_line(client: str, method: str, target: str, status: int, millis: float, request_id: str) -> str:
    """``127.0.0.1 "GET /v1/patients?page=2" 200 3.1 ms req_…``: greppable by request id."""
    return f'{client} "{method} {target}" {status} {millis:.1f} ms {request_id}'
