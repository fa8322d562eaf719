"""Who is calling: an ``X-API-Key`` or an OAuth bearer token, resolved to a :class:`Principal`.

Resolution runs on every request before routing (the rate limit is per credential), so results are
cached for a few seconds; a token's cache entry never outlives the token.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from mock_server.context import Principal
from mock_server.errors import ApiError

CACHE_SECONDS = 5.0
# RFC 9110 section 15.5.2: every 401 names a challenge. Without a bearer token to blame, the challenge
# carries no error (RFC 6750 section 3.1): it says a Bearer token (or an X-API-Key) would be accepted.
CHALLENGE = {"WWW-Authenticate": 'Bearer realm="care-sandbox"'}


class PrincipalResolver:
    def __init__(
        self,
        by_api_key: Callable[[str], Principal | None],
        by_token: Callable[[str], tuple[Principal, float] | None],
    ) -> None:
        self._by_api_key = by_api_key
        self._by_token = by_token
        self._cache: dict[str, tuple[float, Principal | None]] = {}
        self._lock = threading.Lock()

    def resolve(self, headers: dict[str, str]) -> tuple[Principal | None, ApiError | None]:
        api_key = headers.get("x-api-key")
        authorization = headers.get("authorization")
        if api_key:
            principal = self._cached("k:" + api_key, lambda: (self._by_api_key(api_key), None))
            if principal is None:
                return None, ApiError(
                    401, "invalid_api_key", "the X-API-Key is not valid", headers=dict(CHALLENGE)
                )
            return principal, None
        if authorization:
            scheme, _, token = authorization.partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                return None, ApiError(
                    401,
                    "invalid_token",
                    "Authorization must be 'Bearer <access token>'",
                    headers=dict(CHALLENGE),
                )
            found = self._cached("t:" + token.strip(), lambda: self._token(token.strip()))
            if found is None:
                return None, ApiError(
                    401,
                    "invalid_token",
                    "the access token is invalid or expired",
                    headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
                )
            return found, None
        return None, None

    def _token(self, token: str) -> tuple[Principal | None, float | None]:
        found = self._by_token(token)
        return (found[0], found[1]) if found else (None, None)

    def _cached(
        self, key: str, load: Callable[[], tuple[Principal | None, float | None]]
    ) -> Principal | None:
        now = time.time()
        with self._lock:
            hit = self._cache.get(key)
        if hit is not None and hit[0] > now:
            return hit[1]
        principal, expires = load()
        until = now + CACHE_SECONDS if expires is None else min(now + CACHE_SECONDS, expires)
        with self._lock:
            if len(self._cache) > 10_000:
                self._cache.clear()
            self._cache[key] = (until, principal)
        return principal

    def forget(self) -> None:
        with self._lock:
            self._cache.clear()
