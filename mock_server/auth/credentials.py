"""Making and hashing secrets.

Keys, client secrets and tokens are random URL-safe strings with a recognizable prefix (``p2c_test_``
for sandbox API keys, so they can never be mistaken for live keys); only their SHA-256 is stored. A
plain hash suffices because the secrets carry 192+ bits of entropy: there is nothing to brute-force.
"""

from __future__ import annotations

import hashlib
import secrets

API_KEY_PREFIX = "p2c_test_"


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def new_api_key() -> str:
    return API_KEY_PREFIX + secrets.token_urlsafe(24)


def new_secret(prefix: str, nbytes: int = 24) -> str:
    return f"{prefix}{secrets.token_urlsafe(nbytes)}"


def display_prefix(secret: str) -> str:
    """What may be shown or logged of a key: its prefix and first four characters."""
    return secret[: len(API_KEY_PREFIX) + 4] + "…"
