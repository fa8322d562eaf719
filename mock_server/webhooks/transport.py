"""A lean HTTP/1.1 keep-alive transport for webhook POSTs, plugged into ``httpx.AsyncClient``.

Why not httpx's default transport (httpcore): measured on the sandbox's 2-core machine, it spends
several milliseconds of CPU per small POST once ~32 requests are in flight — each request assignment
scans every pooled connection's expiry through anyio's typed attributes, and without ``sniffio``
installed every lock it creates runs a failing import — which capped the dispatcher at ~180 deliveries
a second, below the 200 events/s target with the API sharing the process. A webhook needs a small
subset of HTTP: one request with a small body, the status, the headers and the first kilobyte of the
answer, keep-alive per origin, TLS with SNI. ``h11`` (httpx's own HTTP/1.1 state machine) speaks the
protocol; this module only manages connections.

Semantics kept from httpx: no redirects are followed (they are returned as responses), errors are
``httpx`` exceptions (``ConnectError``, ``ReadError``, ``WriteError``, ``RemoteProtocolError``), and a
request that finds its reused keep-alive connection closed by the server is sent once more on a fresh
one. Timeouts are the caller's: the dispatcher bounds each attempt with ``asyncio.timeout``, and a
cancelled exchange closes its connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import time
from dataclasses import dataclass, field

import certifi
import h11
import httpx

KEEPALIVE_SECONDS = 5.0  # httpx's default keepalive expiry
READ_CHUNK = 65_536


class _Stale(Exception):
    """The server closed a kept-alive connection before answering: safe to resend once."""


@dataclass
class _Connection:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    protocol: h11.Connection = field(default_factory=lambda: h11.Connection(h11.CLIENT))
    idle_since: float = 0.0

    def usable(self) -> bool:
        fresh = time.monotonic() - self.idle_since < KEEPALIVE_SECONDS
        return fresh and not self.reader.at_eof() and not self.writer.is_closing()

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.writer.close()


Origin = tuple[str, str, int, str | None]


class LeanTransport(httpx.AsyncBaseTransport):
    """Keep-alive HTTP/1.1 connections per origin; response bodies read up to ``max_body`` bytes.

    A longer body is cut at ``max_body`` and its connection closed rather than drained, so a receiver
    answering megabytes costs nothing.
    """

    def __init__(
        self,
        *,
        max_idle_per_origin: int = 32,
        max_body: int = READ_CHUNK,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self._idle: dict[Origin, list[_Connection]] = {}
        self._max_idle = max_idle_per_origin
        self._max_body = max_body
        self._ssl = ssl_context

    def _tls(self) -> ssl.SSLContext:
        if self._ssl is None:
            self._ssl = ssl.create_default_context(cafile=certifi.where())
        return self._ssl

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        if url.scheme not in ("http", "https"):
            raise httpx.UnsupportedProtocol(f"unsupported scheme {url.scheme!r}", request=request)
        port = url.port or (443 if url.scheme == "https" else 80)
        sni = request.extensions.get("sni_hostname")
        origin: Origin = (url.scheme, url.host, port, sni if isinstance(sni, str) else None)
        body = await request.aread()
        for _ in range(2):
            conn = self._checkout(origin)
            reused = conn is not None
            if conn is None:
                conn = await self._connect(origin, request)
            try:
                return await self._exchange(conn, origin, request, body)
            except _Stale as exc:
                conn.close()
                for idle in self._idle.pop(origin, []):  # the server dropped them all, most likely
                    idle.close()
                if not reused:
                    raise httpx.RemoteProtocolError(
                        "the server closed the connection without answering"
                    ) from exc
            except BaseException:
                conn.close()
                raise
        raise httpx.RemoteProtocolError("the server closed the connection without answering", request=request)

    def _checkout(self, origin: Origin) -> _Connection | None:
        pool = self._idle.get(origin)
        while pool:
            conn = pool.pop()
            if conn.usable():
                return conn
            conn.close()
        return None

    def _checkin(self, origin: Origin, conn: _Connection) -> None:
        pool = self._idle.setdefault(origin, [])
        if len(pool) >= self._max_idle:
            conn.close()
            return
        conn.idle_since = time.monotonic()
        pool.append(conn)

    async def _connect(self, origin: Origin, request: httpx.Request) -> _Connection:
        scheme, host, port, sni = origin
        tls = self._tls() if scheme == "https" else None
        try:
            reader, writer = await asyncio.open_connection(
                host, port, ssl=tls, server_hostname=(sni or host) if tls else None, limit=READ_CHUNK
            )
        except (OSError, ssl.SSLError) as exc:
            raise httpx.ConnectError(f"{type(exc).__name__}: {exc}", request=request) from exc
        return _Connection(reader, writer)

    async def _exchange(
        self, conn: _Connection, origin: Origin, request: httpx.Request, body: bytes
    ) -> httpx.Response:
        proto = conn.protocol
        target = request.url.raw_path
        try:
            out = proto.send(h11.Request(method=request.method, target=target, headers=request.headers.raw))
            out = (out or b"") + (proto.send(h11.Data(data=body)) or b"") if body else out or b""
            out += proto.send(h11.EndOfMessage()) or b""
        except h11.LocalProtocolError as exc:
            raise httpx.LocalProtocolError(str(exc), request=request) from exc
        try:
            conn.writer.write(out)
            await conn.writer.drain()
        except OSError as exc:
            if conn.idle_since:
                raise _Stale() from exc
            raise httpx.WriteError(f"{type(exc).__name__}: {exc}", request=request) from exc
        status, reason, headers, chunks, size, heard = 0, b"", [], [], 0, False
        truncated = False
        while True:
            try:
                event = proto.next_event()
            except h11.RemoteProtocolError as exc:
                raise httpx.RemoteProtocolError(str(exc), request=request) from exc
            if event is h11.NEED_DATA:
                try:
                    data = await conn.reader.read(READ_CHUNK)
                except OSError as exc:
                    if not heard and conn.idle_since:
                        raise _Stale() from exc
                    raise httpx.ReadError(f"{type(exc).__name__}: {exc}", request=request) from exc
                if not data and not heard and conn.idle_since:
                    raise _Stale()
                heard = heard or bool(data)
                try:
                    proto.receive_data(data)
                except h11.RemoteProtocolError as exc:
                    raise httpx.RemoteProtocolError(str(exc), request=request) from exc
                continue
            if isinstance(event, h11.Response):
                status, reason, headers = event.status_code, event.reason, list(event.headers)
            elif isinstance(event, h11.Data):
                chunks.append(bytes(event.data))
                size += len(event.data)
                if size >= self._max_body:
                    truncated = True
                    break
            elif isinstance(event, (h11.EndOfMessage, h11.ConnectionClosed)):
                break
        if not status:
            raise httpx.RemoteProtocolError(
                "the server closed the connection without answering", request=request
            )
        if not truncated and proto.our_state is h11.DONE and proto.their_state is h11.DONE:
            proto.start_next_cycle()
            self._checkin(origin, conn)
        else:
            conn.close()
        return httpx.Response(
            status,
            headers=headers,
            content=b"".join(chunks)[: self._max_body],
            request=request,
            extensions={"http_version": b"HTTP/1.1", "reason_phrase": reason},
        )

    async def aclose(self) -> None:
        closing = [conn for pool in self._idle.values() for conn in pool]
        self._idle.clear()
        for conn in closing:
            conn.close()
        for conn in closing:
            with contextlib.suppress(Exception):
                await conn.writer.wait_closed()
