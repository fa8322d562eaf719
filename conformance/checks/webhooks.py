"""Webhook signatures and freshness, both schemes the contract promises.

- `X-P2C-Signature: sha256=<hex HMAC-SHA256(secret string as issued, incl. whsec_, raw body)>`
- Standard Webhooks v1 (`webhook-id`, `webhook-timestamp`, `webhook-signature: v1,<b64>`), keyed with the
  base64-decoded part after `whsec_`, verified with the `standardwebhooks` package. Several
  space-separated signatures may appear during a secret rotation; one match is enough.
The same functions sign the deliveries `care-conformance webhook-consumer` sends to partners.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime

from conformance.errors import ConformanceFailure

SIGNATURE = "webhook_signature"
FRESH = "webhook_timestamp_fresh"
TOLERANCE_SECONDS = 300


def p2c_signature(body: bytes, secret: str) -> str:
    """The X-P2C-Signature header value for `body`."""
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def standard_signature(body: bytes, secret: str, msg_id: str, timestamp: int) -> str:
    """The Standard Webhooks `webhook-signature` value (one v1 signature), via `standardwebhooks`."""
    from standardwebhooks.webhooks import Webhook

    moment = datetime.fromtimestamp(timestamp, tz=UTC)
    return Webhook(secret).sign(msg_id=msg_id, timestamp=moment, data=body.decode("utf-8"))


def signed_headers(body: bytes, secret: str, msg_id: str, timestamp: int) -> dict[str, str]:
    """Every header a conforming sender puts on a delivery."""
    return {
        "Content-Type": "application/json",
        "X-P2C-Signature": p2c_signature(body, secret),
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": standard_signature(body, secret, msg_id, timestamp),
    }


def verify_signatures(
    body: bytes, headers: Mapping[str, str], secrets: Iterable[str], where: str = ""
) -> None:
    """Both signatures verify with one of `secrets` (several during a rotation grace period)."""
    lower = {name.lower(): value for name, value in headers.items()}
    secrets = list(secrets)
    received = lower.get("x-p2c-signature")
    if received is None or not any(hmac.compare_digest(received, p2c_signature(body, s)) for s in secrets):
        raise ConformanceFailure(
            SIGNATURE,
            f"{where}X-P2C-Signature {received!r}",
            "sha256=<hex HMAC-SHA256 of the raw body, keyed with the secret as issued>",
        )
    msg_id, stamp, signature = (
        lower.get(name) for name in ("webhook-id", "webhook-timestamp", "webhook-signature")
    )
    if not (msg_id and stamp and signature) or not stamp.strip().isdigit():
        raise ConformanceFailure(
            SIGNATURE,
            f"{where}webhook-id {msg_id!r}, webhook-timestamp {stamp!r}, webhook-signature {signature!r}",
            "all three Standard Webhooks headers",
        )
    offered = set(signature.split())
    for secret in secrets:
        if standard_signature(body, secret, msg_id, int(stamp)) in offered:
            return
    raise ConformanceFailure(
        SIGNATURE,
        f"{where}webhook-signature {signature!r}",
        'v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}"> (Standard Webhooks)',
    )


def verify_fresh(headers: Mapping[str, str], now: datetime | None = None, where: str = "") -> None:
    """webhook-timestamp within five minutes of now (receivers reject replays older than that)."""
    lower = {name.lower(): value for name, value in headers.items()}
    stamp = (lower.get("webhook-timestamp") or "").strip()
    current = (now or datetime.now(UTC)).timestamp()
    if not stamp.isdigit() or abs(current - int(stamp)) > TOLERANCE_SECONDS:
        raise ConformanceFailure(
            FRESH,
            f"{where}webhook-timestamp {stamp!r} (now {int(current)})",
            f"a Unix timestamp within {TOLERANCE_SECONDS} s of the delivery",
        )


def new_secret() -> str:
    """A secret shaped like the contract's: whsec_ + base64 of 24 random bytes."""
    import secrets

    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()
