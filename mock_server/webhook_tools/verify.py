"""Receiver-side verification of both signature schemes, as a partner's code would do it.

Used by ``care-sandbox webhooks listen``; kept apart from the listener so it is plainly testable and
can be read as a reference implementation. Standard Webhooks is checked with the ``standardwebhooks``
package (what a partner would install), ``X-P2C-Signature`` with nothing but ``hmac``.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from mock_server.webhooks.signing import verify_p2c

TOLERANCE_SECONDS = 300  # Standard Webhooks' reference libraries, Stripe: five minutes


@dataclass(frozen=True)
class Verdict:
    standard: bool  # webhook-signature verified (and timestamp fresh)
    p2c: bool  # X-P2C-Signature verified
    problem: str | None  # why not, in words, for the console

    @property
    def ok(self) -> bool:
        return self.standard and self.p2c


def verify(
    body: bytes, headers: Mapping[str, str], secrets: Sequence[str], *, now: float | None = None
) -> Verdict:
    """Check freshness and both signatures against any of ``secrets`` (several during rotation)."""
    lowered = {k.lower(): v for k, v in headers.items()}
    problems: list[str] = []
    stamp = lowered.get("webhook-timestamp", "")
    current = time.time() if now is None else now
    fresh = stamp.isdigit() and abs(current - int(stamp)) <= TOLERANCE_SECONDS
    if not fresh:
        problems.append(f"stale or missing webhook-timestamp {stamp!r}")
    standard = fresh and any(_standard_ok(body, lowered, s) for s in secrets)
    if fresh and not standard:
        problems.append("webhook-signature does not match")
    header = lowered.get("x-p2c-signature")
    p2c = header is not None and verify_p2c(secrets, body, header)
    if not p2c:
        problems.append("X-P2C-Signature missing" if header is None else "X-P2C-Signature does not match")
    return Verdict(standard=standard, p2c=p2c, problem="; ".join(problems) or None)


def _standard_ok(body: bytes, headers: dict[str, str], secret: str) -> bool:
    try:
        Webhook(secret).verify(body, headers, json_parse=False)
    except (WebhookVerificationError, ValueError, UnicodeDecodeError):
        return False
    return True
