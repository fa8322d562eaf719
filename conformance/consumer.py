"""`webhook-consumer`: judge a partner's webhook receiver with signed deliveries from the spec's examples.

A receiver that accepts forged or replayed deliveries is a security hole on the partner's side; one that
chokes on duplicates or reordering loses data, because the contract promises neither exactly-once nor
ordering. Each behaviour is one check.
"""

from __future__ import annotations

import copy
import json
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from conformance.checks.webhooks import new_secret, signed_headers
from conformance.errors import KitError
from conformance.results import Collector, RunReport
from conformance.spec import Spec

RECEIVER = "receiver"
STALE_SECONDS = 600


def _payload(example: Any, moment: datetime) -> dict[str, Any]:
    payload = copy.deepcopy(example) if isinstance(example, dict) else {}
    payload["id"] = f"evt_{uuid.uuid4().hex[:16]}"
    payload["timestamp"] = moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    return payload


class _Sender:
    def __init__(self, url: str, secret: str, deadline: float) -> None:
        self.url, self.secret, self.deadline = url, secret, deadline
        self.client = httpx.Client(timeout=max(deadline * 2, 5.0))

    def send(
        self,
        payload: dict[str, Any],
        *,
        msg_id: str | None = None,
        stamp: int | None = None,
        secret: str | None = None,
        tamper: bool = False,
    ) -> tuple[int, float]:
        body = json.dumps(payload, separators=(",", ":")).encode()
        stamp = stamp if stamp is not None else int(time.time())
        headers = signed_headers(body, secret or self.secret, msg_id or f"msg_{uuid.uuid4().hex}", stamp)
        if tamper:
            body = body.replace(b"}", b' ,"tampered":true}', 1) if body.endswith(b"}") else body + b" "
        started = time.perf_counter()
        try:
            response = self.client.post(self.url, content=body, headers=headers)
        except httpx.TransportError as exc:
            raise KitError(f"Cannot reach the receiver {self.url}: {exc}") from None
        return response.status_code, time.perf_counter() - started


def _expect(collector: Collector, operation: str, check: str, status: int, ok: bool, documented: str) -> None:
    if ok:
        collector.passed(operation, check)
    else:
        collector.failed(operation, check, f"[{check}] Received: HTTP {status}\nDocumented: {documented}")


def check_consumer(
    url: str, secret: str, *, spec_path: Path | str | None = None, deadline: float = 5.0
) -> RunReport:
    """Send the battery of deliveries to `url`; returns a report like `run` does."""
    if not url.startswith(("http://", "https://")):
        raise KitError(f"--url must be an http(s) URL, got {url!r}.")
    if not secret.startswith("whsec_"):
        raise KitError("--secret must be the whsec_… secret the receiver verifies with.")
    started = time.perf_counter()
    spec = Spec.load(spec_path)
    examples = {name: hook.examples[0] for name, hook in spec.webhooks.items() if hook.examples}
    if not examples:
        raise KitError(f"{spec.path} has no webhook examples to send.")
    collector = Collector()
    sender = _Sender(url, secret, deadline)
    now = datetime.now(UTC)
    try:
        _accepts_valid(sender, collector, examples, now, deadline)
        example = next(iter(examples.values()))
        _rejects_forged(sender, collector, example, now)
        _tolerates_repeats(sender, collector, example, now)
    finally:
        sender.client.close()
    return RunReport(
        target=url,
        spec=str(spec.path),
        profile="webhook-consumer",
        seed=0,
        started_at=now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        duration=time.perf_counter() - started,
        operations=[f"webhook {name}" for name in examples] + [RECEIVER],
        results=collector.results(),
    )


def _accepts_valid(
    sender: _Sender, collector: Collector, examples: dict[str, Any], now: datetime, deadline: float
) -> None:
    """Every documented event, correctly signed: 2xx within the deadline."""
    for name, example in examples.items():
        status, elapsed = sender.send(_payload(example, now))
        _expect(
            collector,
            f"webhook {name}",
            "consumer_accepts_valid",
            status,
            200 <= status < 300 and elapsed <= deadline,
            f"2xx within {deadline:.1f} s (took {elapsed:.2f} s)",
        )


def _rejects_forged(sender: _Sender, collector: Collector, example: Any, now: datetime) -> None:
    """Another secret, a tampered body, a stale timestamp: each refused with a 4xx."""
    for label, kwargs in (
        ("another secret", {"secret": new_secret()}),
        ("a tampered body", {"tamper": True}),
    ):
        status, _ = sender.send(_payload(example, now), **kwargs)  # type: ignore[arg-type]
        _expect(
            collector,
            RECEIVER,
            "consumer_rejects_bad_signature",
            status,
            400 <= status < 500,
            f"4xx for a delivery signed with {label}",
        )
    stale = int(time.time()) - STALE_SECONDS
    status, _ = sender.send(_payload(example, now), stamp=stale)
    _expect(
        collector,
        RECEIVER,
        "consumer_rejects_stale",
        status,
        400 <= status < 500,
        f"4xx for webhook-timestamp {STALE_SECONDS} s old (tolerance 300 s)",
    )


def _tolerates_repeats(sender: _Sender, collector: Collector, example: Any, now: datetime) -> None:
    """At-least-once delivery: a duplicate and an out-of-order event are both accepted."""
    payload, msg_id = _payload(example, now), f"msg_{uuid.uuid4().hex}"
    first, _ = sender.send(payload, msg_id=msg_id)
    second, _ = sender.send(payload, msg_id=msg_id)
    _expect(
        collector,
        RECEIVER,
        "consumer_tolerates_duplicates",
        second,
        200 <= first < 300 and 200 <= second < 300,
        f"2xx for both copies of webhook-id {msg_id} (first got {first})",
    )
    later, earlier = (
        _payload(example, now),
        _payload(example, datetime.fromtimestamp(now.timestamp() - 60, UTC)),
    )
    newer_status, _ = sender.send(later)
    older_status, _ = sender.send(earlier)
    _expect(
        collector,
        RECEIVER,
        "consumer_tolerates_out_of_order",
        older_status,
        200 <= newer_status < 300 and 200 <= older_status < 300,
        "2xx for an event older than one already delivered (ordering is not guaranteed)",
    )
