"""A scriptable webhook receiver on 127.0.0.1 for tests: answers from a script, records every request.

A real HTTP server in a thread (not a mock transport), so tests exercise the dispatcher's actual
client, keep-alive, timeouts and header handling.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float  # time.monotonic()


@dataclass
class Reply:
    status: int = 200
    body: bytes = b"ok"
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


@dataclass
class Receiver:
    url: str
    requests: list[Received]
    script: list[Reply]  # consumed in order; when empty, `default` answers
    default: Reply
    responder: Callable[[Received], Reply] | None = None

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(self.requests) >= count:
                return list(self.requests)
            time.sleep(0.01)
        raise AssertionError(f"expected {count} webhook requests, got {len(self.requests)}")

    def ids(self) -> set[str]:
        return {r.headers["webhook-id"] for r in self.requests}


@contextmanager
def running_receiver(script: list[Reply] | None = None, default: Reply | None = None) -> Iterator[Receiver]:
    lock = threading.Lock()
    state = Receiver(url="", requests=[], script=list(script or []), default=default or Reply())

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            got = Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body, time.monotonic())
            with lock:
                state.requests.append(got)
                reply = state.script.pop(0) if state.script else state.default
                if state.responder is not None:
                    reply = state.responder(got)
            if reply.delay:
                time.sleep(reply.delay)
            self.send_response(reply.status)
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(reply.body)))
            self.end_headers()
            self.wfile.write(reply.body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    class Server(ThreadingHTTPServer):
        request_queue_size = 128  # the default backlog of 5 drops connections when 32 arrive at once

    server = Server(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hooks"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
