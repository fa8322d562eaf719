"""Layer (e): the kit's own webhook receiver, a small threaded HTTP server on loopback.

Schemathesis ignores the spec's `webhooks:` section; this receiver closes the gap. Each subscription
gets its own path (`/hooks/<token>`), so deliveries are attributed without trusting their bodies.
Every delivery is answered the way a careful partner would answer it (400 stale, 401 bad signature,
204 otherwise) and kept with its receipt time, so scenarios can judge signatures, schema and
freshness, and measure latency.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from conformance.checks.webhooks import verify_fresh, verify_signatures
from conformance.errors import ConformanceFailure
from conformance.validation import IndependentValidator

MAX_BODY = 1_000_000


@dataclass
class Delivery:
    """One received POST, verbatim, with what the receiver concluded about it."""

    endpoint: str
    received_at: float
    headers: dict[str, str]
    body: bytes
    failures: list[ConformanceFailure] = field(default_factory=list)
    answered: int = 0

    @property
    def payload(self) -> Any:
        try:
            return json.loads(self.body)
        except ValueError:
            return None

    @property
    def event(self) -> str:
        payload = self.payload
        return str(payload.get("event", "")) if isinstance(payload, dict) else ""


class Receiver:
    """Start with `with Receiver(...) as receiver:`; `endpoint()` hands out subscription URLs."""

    def __init__(
        self,
        validator: IndependentValidator | None = None,
        host: str = "127.0.0.1",
        public_url: str | None = None,
    ) -> None:
        self.validator = validator
        self.host = host
        self.public_url = public_url
        self.deliveries: list[Delivery] = []
        self._secrets: dict[str, list[str]] = {}
        self._cond = threading.Condition()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def __enter__(self) -> Receiver:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = min(int(self.headers.get("Content-Length") or 0), MAX_BODY)
                body = self.rfile.read(length)
                status = receiver._receive(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                """Silence: the console belongs to the kit."""

        self._server = ThreadingHTTPServer((self.host, 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="care-receiver", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    @property
    def base_url(self) -> str:
        if self.public_url:
            return self.public_url.rstrip("/")
        assert self._server is not None, "receiver not started"
        return f"http://{self.host}:{self._server.server_address[1]}"

    def endpoint(self, secrets: list[str] | None = None) -> str:
        """A fresh subscription URL; its secret(s) may be given now or via `set_secrets` once issued."""
        path = f"/hooks/{uuid.uuid4().hex[:12]}"
        with self._cond:
            self._secrets[path] = list(secrets or [])
        return self.base_url + path

    def set_secrets(self, url: str, secrets: list[str]) -> None:
        with self._cond:
            self._secrets[self._path(url)] = list(secrets)

    @staticmethod
    def _path(url: str) -> str:
        return "/hooks/" + url.rsplit("/hooks/", 1)[-1]

    def _receive(self, path: str, headers: dict[str, str], body: bytes) -> int:
        delivery = Delivery(path, time.time(), headers, body)
        with self._cond:
            secrets = list(self._secrets.get(path, []))
        delivery.failures = self.judge(delivery, secrets)
        checks = {failure.check for failure in delivery.failures}
        delivery.answered = (
            400 if "webhook_timestamp_fresh" in checks else 401 if "webhook_signature" in checks else 204
        )
        with self._cond:
            self.deliveries.append(delivery)
            self._cond.notify_all()
        return delivery.answered

    def judge(self, delivery: Delivery, secrets: list[str]) -> list[ConformanceFailure]:
        """Freshness (at receipt), both signatures (when the secret is known), payload schema."""
        failures: list[ConformanceFailure] = []
        where = f"delivery {delivery.headers.get('webhook-id', '?')} ({delivery.event or 'no event'}): "
        moment = datetime.fromtimestamp(delivery.received_at, UTC)
        steps: list[Callable[[], None]] = [lambda: verify_fresh(delivery.headers, moment, where)]
        if secrets:
            steps.append(lambda: verify_signatures(delivery.body, delivery.headers, secrets, where))
        if self.validator is not None:
            validator = self.validator
            steps.append(lambda: validator.validate_webhook(delivery.event, delivery.body, delivery.headers))
        for step in steps:
            try:
                step()
            except ConformanceFailure as failure:
                failures.append(failure)
        return failures

    def wait_for(self, predicate: Callable[[Delivery], bool], timeout: float) -> Delivery | None:
        """The first delivery matching `predicate`, waiting up to `timeout` seconds for it."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for delivery in self.deliveries:
                    if predicate(delivery):
                        return delivery
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                self._cond.wait(remaining)
