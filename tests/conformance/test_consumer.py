"""`webhook-consumer` against a careful receiver (the kit's own) and a sloppy one."""

from __future__ import annotations

from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from threading import Thread
from typing import Any

import pytest

from conformance.checks.webhooks import new_secret
from conformance.consumer import check_consumer
from conformance.errors import KitError
from conformance.receiver import Receiver
from tests.conformance.conftest import TOY_SPEC


@pytest.fixture
def sloppy_url() -> Iterator[str]:
    """A receiver that accepts anything: forged, stale, whatever."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hooks"
    server.shutdown()
    server.server_close()


def test_careful_receiver_conforms() -> None:
    secret = new_secret()
    with Receiver() as receiver:
        report = check_consumer(receiver.endpoint([secret]), secret, spec_path=TOY_SPEC)
    assert report.conforms, [r.messages for r in report.failures]
    assert {r.check for r in report.results} >= {
        "consumer_accepts_valid",
        "consumer_rejects_bad_signature",
        "consumer_rejects_stale",
        "consumer_tolerates_duplicates",
        "consumer_tolerates_out_of_order",
    }


def test_sloppy_receiver_is_caught(sloppy_url: str) -> None:
    report = check_consumer(sloppy_url, new_secret(), spec_path=TOY_SPEC)
    failed = {r.check for r in report.failures}
    assert failed == {"consumer_rejects_bad_signature", "consumer_rejects_stale"}


def test_misuse_is_a_kit_error() -> None:
    with pytest.raises(KitError, match="whsec_"):
        check_consumer("http://127.0.0.1:1/", "plain", spec_path=TOY_SPEC)
    with pytest.raises(KitError, match="Cannot reach"):
        check_consumer("http://127.0.0.1:1/", new_secret(), spec_path=TOY_SPEC)
