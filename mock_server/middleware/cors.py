"""CORS for browsers: a clinic's web app on ``localhost:3000`` calls the sandbox directly.

On by default for any origin, as Prism does for local use; ``--cors-origins`` narrows it to a
comma-separated list, and an empty value turns it off (hosted deployments). Starlette's
``CORSMiddleware`` does the work; it sits *outside* the edge middleware so a preflight ``OPTIONS`` is
answered on every path instead of reaching the router (which would answer 405), while every actual
response, the edge's errors (401, 429, 404) included, gets the CORS headers on its way out.
Credentials (cookies) are not used by this API, so ``*`` needs no ``Allow-Credentials``.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from starlette.middleware.cors import CORSMiddleware

# the response headers a browser script may read: without these, fetch() sees only the CORS-safelisted ones
EXPOSED_HEADERS = (
    "X-Request-Id",
    "X-RateLimit-Limit",
    "X-RateLimit-Remaining",
    "X-RateLimit-Reset",
    "Retry-After",
    "Location",
    "Idempotent-Replayed",
)
PREFLIGHT_MAX_AGE_SECONDS = 600


def parse_origins(text: str) -> tuple[str, ...]:
    """``"*"`` → any origin; ``"http://a, http://b"`` → those; ``""`` → CORS off."""
    return tuple(origin.strip().rstrip("/") for origin in text.split(",") if origin.strip())


def cors_middleware(origins_setting: str) -> Any | None:
    """The middleware factory for Connexion's stack, or None when CORS is off."""
    origins = parse_origins(origins_setting)
    if not origins:
        return None
    return partial(
        CORSMiddleware,
        allow_origins=list(origins),
        allow_methods=["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"],
        allow_headers=["*"],
        expose_headers=list(EXPOSED_HEADERS),
        max_age=PREFLIGHT_MAX_AGE_SECONDS,
    )
