"""The lean webhook transport: keep-alive reuse, stale connections, big answers, TLS with SNI."""

from __future__ import annotations

import asyncio
import socket
import ssl
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from mock_server.webhooks.transport import LeanTransport

from .receiver import Reply, running_receiver


def _post(transport: LeanTransport, url: str, n: int = 1, **kwargs: object) -> list[httpx.Response]:
    async def go() -> list[httpx.Response]:
        async with httpx.AsyncClient(transport=transport, follow_redirects=False) as client:
            return [await client.post(url, content=b'{"n":1}', **kwargs) for _ in range(n)]  # type: ignore[arg-type]

    return asyncio.run(go())


def test_keep_alive_reuses_one_connection_and_returns_headers_and_body() -> None:
    with running_receiver(default=Reply(202, b"accepted", {"X-Seen": "yes"})) as rx:
        responses = _post(LeanTransport(), rx.url, n=5, headers={"webhook-id": "evt_1"})
        assert [r.status_code for r in responses] == [202] * 5
        assert responses[0].text == "accepted" and responses[0].headers["x-seen"] == "yes"
        assert all(r.headers.get("webhook-id") is None for r in responses)
        assert {r.headers["webhook-id"] for r in rx.requests} == {"evt_1"}
        assert rx.requests[0].body == b'{"n":1}'


def test_redirects_are_returned_not_followed() -> None:
    with running_receiver(default=Reply(307, b"", {"Location": "/elsewhere"})) as rx:
        (resp,) = _post(LeanTransport(), rx.url)
    assert resp.status_code == 307 and [r.path for r in rx.requests] == ["/hooks"]


def test_a_huge_answer_is_cut_and_its_connection_dropped() -> None:
    with running_receiver(default=Reply(200, b"x" * 300_000)) as rx:
        first, second = _post(LeanTransport(max_body=1024), rx.url, n=2)
    assert len(first.content) == 1024 and second.status_code == 200


@contextmanager
def closing_server() -> Iterator[str]:
    """Answers each request, then closes the connection without saying so (no `Connection: close`)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    stop = threading.Event()

    def serve() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            with conn:
                conn.recv(65536)
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/hooks"
    finally:
        stop.set()
        thread.join()
        listener.close()


def test_a_kept_alive_connection_closed_by_the_server_is_retried_once_fresh() -> None:
    with closing_server() as url:
        responses = _post(LeanTransport(), url, n=3)
    assert [r.status_code for r in responses] == [200, 200, 200]


def test_connection_refused_is_a_connect_error() -> None:
    with running_receiver() as rx:
        url = rx.url
    with pytest.raises(httpx.ConnectError):
        _post(LeanTransport(), url)


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=hooks.test",
            "-addext",
            "subjectAltName=DNS:hooks.test",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


@contextmanager
def tls_server(cert: Path, key: Path) -> Iterator[int]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["Content-Length"]))
            self.send_response(200)
            self.send_header("Content-Length", "3")
            self.end_headers()
            self.wfile.write(b"tls")

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def test_tls_pinned_to_an_address_verifies_the_name_given_as_sni(certificate: tuple[Path, Path]) -> None:
    cert, key = certificate
    trusting = ssl.create_default_context(cafile=str(cert))
    with tls_server(cert, key) as port:
        url = f"https://127.0.0.1:{port}/hooks"  # connect to the checked address, verify the host name
        (resp,) = _post(LeanTransport(ssl_context=trusting), url, extensions={"sni_hostname": "hooks.test"})
        assert resp.status_code == 200 and resp.text == "tls"
        with pytest.raises(httpx.ConnectError, match=r"CERTIFICATE_VERIFY_FAILED|certificate"):
            _post(LeanTransport(ssl_context=trusting), url, extensions={"sni_hostname": "other.test"})
        with pytest.raises(httpx.ConnectError):
            _post(
                LeanTransport(), url, extensions={"sni_hostname": "hooks.test"}
            )  # not in the public CA bundle
