"""Webhook secrets and the two signatures every delivery carries.

Why two schemes: seed 000 promises ``X-P2C-Signature: sha256=<hex>`` — an HMAC of the raw body that a
partner can check with nothing but ``hmac`` — while Standard Webhooks v1 (``webhook-id``,
``webhook-timestamp``, ``webhook-signature``) adds replay protection and has ready-made verifiers
(the ``standardwebhooks`` package). Both are computed over the exact bytes sent.

Keys differ on purpose, as each scheme defines them: ``X-P2C-Signature`` is keyed with the secret
string exactly as issued (``whsec_`` prefix included, UTF-8), the Standard Webhooks signature with the
base64-decoded bytes after ``whsec_``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets as _secrets
from collections.abc import Iterable

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32  # Standard Webhooks asks for at least 24 (192 bits)
USER_AGENT = "care-sandbox-webhooks/1"
P2C_HEADER = "X-P2C-Signature"


def new_secret() -> str:
    """A fresh endpoint secret: ``whsec_`` + standard base64 of 32 random bytes."""
    return SECRET_PREFIX + base64.b64encode(_secrets.token_bytes(SECRET_BYTES)).decode("ascii")


def secret_key(secret: str) -> bytes:
    """The Standard Webhooks key: the base64-decoded part after ``whsec_``.

    Raises ``ValueError`` for a string that is not a secret this module could have issued.
    """
    if not secret.startswith(SECRET_PREFIX):
        raise ValueError("webhook secrets start with 'whsec_'")
    try:
        key = base64.b64decode(secret[len(SECRET_PREFIX) :], validate=True)
    except binascii.Error as exc:
        raise ValueError("webhook secret is not valid base64 after 'whsec_'") from exc
    if len(key) < 24:
        raise ValueError("webhook secret must carry at least 24 random bytes")
    return key


def p2c_signature(secret: str, body: bytes) -> str:
    """``sha256=<hex HMAC-SHA256 of body>``, keyed with the secret string as issued."""
    digest = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def standard_signature(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """One Standard Webhooks ``v1,<base64>`` signature over ``{id}.{timestamp}.{body}``."""
    signed = msg_id.encode("utf-8") + b"." + str(timestamp).encode("ascii") + b"." + body
    digest = hmac.new(secret_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def delivery_headers(
    *, msg_id: str, timestamp: int, body: bytes, secret: str, previous_secret: str | None = None
) -> dict[str, str]:
    """Every header a delivery attempt sends.

    During a rotation grace period ``webhook-signature`` carries the new and the old signature
    (space-separated, new first) so receivers configured with either secret keep verifying;
    ``X-P2C-Signature`` has room for one value and uses the new secret.
    """
    signatures = [standard_signature(secret, msg_id, timestamp, body)]
    if previous_secret:
        signatures.append(standard_signature(previous_secret, msg_id, timestamp, body))
    return {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(signatures),
        P2C_HEADER: p2c_signature(secret, body),
    }


def verify_p2c(secrets: Iterable[str], body: bytes, header: str) -> bool:
    """True when ``header`` is the ``X-P2C-Signature`` of ``body`` under any of ``secrets``."""
    return any(hmac.compare_digest(p2c_signature(s, body), header.strip()) for s in secrets)
