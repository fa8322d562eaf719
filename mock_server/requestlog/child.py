"""The request log's child process: redaction and inserts off the server's GIL.

Why a process: the server's event loop and a writer thread share one GIL, and the writer's ~80 µs of
pure-Python work per request (redaction, row building, the insert) stalled the loop far beyond its own
cost — bench/bench_read_path.py measured the log at 30 % of read throughput on a thread, against a
budget of 5 %. A child competes only for a CPU, which the OS shares.

What stays in the server is small, and the hand-off thread does next to nothing with the GIL held.
On the event loop, each entry's small fields are pickled (a :class:`Captured` holds only built-in
types, so about 2 µs) and its bodies kept by reference, never copied; every ``GATHER_SECONDS`` the
hand-off thread lists the parts and writes them with one ``writev`` per 256 entries, which runs without
the GIL and copies the bodies straight from the objects the response was made of. Measured with
bench/bench_read_path.py, the alternatives cost more: pickling whole batches on the hand-off thread (a
GIL hold of milliseconds every 100 ms, which the loop waits out each time it gives the GIL up for I/O)
20 % of read throughput; framing each entry on the thread instead of the loop 13 to 16 %.

The wire is a socket pair carrying frames: three 4-byte big-endian lengths, then a pickle of a tuple
and the request and response bodies. The child reads the socket in large chunks and cuts the frames
out itself. Messages, handled strictly in order: :class:`Captured`'s fields but the bodies are one
entry to store (the child stores what has arrived, in batches of up to ``BATCH``); ``("sync", n)`` is
answered ``("synced", n)`` on the socket once everything sent before it is stored; ``("stop",)`` ends
the child. End-of-file (the server died) ends it too. A child that dies is replaced by the next batch;
the entries it held are lost and counted, as the log is a debugging aid.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import pickle
import select
import signal
import struct
import time
from functools import partial
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any

from mock_server.requestlog.writer import BATCH, STARTUP_WAIT, TRIM_EVERY, Captured, LogStore, guarded
from mock_server.storage import Storage
from mock_server.storage.engine import build_engine

log = logging.getLogger("care_sandbox.request_log")

Frame = tuple[bytes, bytes, bytes, bytes]  # header (three lengths), meta, request body, response body
_HEADER = struct.Struct("!III")
_IOV_MAX = 1024  # buffers per writev (Linux's IOV_MAX); a frame is four
_BODIES = (Captured._fields.index("request_body"), Captured._fields.index("response_body"))


_READ_CHUNK = 1 << 20


def frame(message: tuple[Any, ...], request_body: bytes = b"", response_body: bytes = b"") -> Frame:
    """A message on the wire. The bodies travel as they are (``writev`` sends them from the very
    objects the response was made of): only the small rest is pickled."""
    meta = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    return _HEADER.pack(len(meta), len(request_body), len(response_body)), meta, request_body, response_body


def entry_frame(entry: Captured) -> Frame:
    req, resp = _BODIES
    return frame(
        entry[:req] + entry[req + 1 : resp] + entry[resp + 1 :], entry.request_body, entry.response_body
    )


def entry_from(meta: tuple[Any, ...], request_body: bytes, response_body: bytes) -> Captured:
    req, resp = _BODIES
    fields = (*meta[:req], request_body, *meta[req : resp - 1], response_body, *meta[resp - 1 :])
    return Captured._make(fields)


class FrameReader:
    """Cuts frames out of what the socket delivers, reading up to a megabyte per system call."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self._data = b""  # what was read and not yet taken; ``_at`` is where the next frame starts
        self._at = 0

    def ready(self, timeout: float) -> bool:
        """A whole frame is buffered, or the socket has data (or end-of-file) within ``timeout``."""
        if self._complete():
            return True
        return bool(select.select([self.fd], [], [], timeout)[0])

    def _complete(self) -> bool:
        available = len(self._data) - self._at
        if available < _HEADER.size:
            return False
        return bool(available >= _HEADER.size + sum(_HEADER.unpack_from(self._data, self._at)))

    def next(self) -> tuple[tuple[Any, ...], bytes, bytes]:
        """The next message and its two bodies; blocks until it has arrived whole. EOFError when the
        peer is gone."""
        while not self._complete():
            data = os.read(self.fd, _READ_CHUNK)
            if not data:
                raise EOFError
            # only the unfinished frame is copied, never what was already taken
            self._data = self._data[self._at :] + data if self._at < len(self._data) else data
            self._at = 0
        meta_size, request_size, response_size = _HEADER.unpack_from(self._data, self._at)
        start = self._at + _HEADER.size
        request_at = start + meta_size
        response_at = request_at + request_size
        self._at = response_at + response_size
        view = memoryview(self._data)
        message: tuple[Any, ...] = pickle.loads(view[start:request_at])
        return message, self._data[request_at:response_at], self._data[response_at : self._at]


def write_all(fd: int, buffers: list[bytes]) -> None:
    """Write every buffer, in order, with as few ``writev`` calls as the kernel allows."""
    for start in range(0, len(buffers), _IOV_MAX):
        chunk: list[bytes | memoryview] = list(buffers[start : start + _IOV_MAX])
        while chunk:
            written = os.writev(fd, chunk)
            while chunk and written >= len(chunk[0]):  # drop what went out whole
                written -= len(chunk[0])
                chunk.pop(0)
            if chunk and written:
                chunk[0] = memoryview(chunk[0])[written:]


class ChildSink:
    """A :class:`~mock_server.requestlog.writer.Sink` that stores batches in a child process.

    Used only from the writer's hand-off thread, so it needs no lock of its own."""

    def __init__(self, url: str, *, keep: int, retention_days: int, body_limit: int) -> None:
        self._args = (url, keep, retention_days, body_limit)
        self._process: BaseProcess | None = None
        self._conn: Connection | None = None
        self._sequence = 0
        self._ready = False  # the child said it has opened its storage
        self.lost = 0  # entries a dead child took with it, or that could not be sent

    @property
    def starting(self) -> bool:
        """No child has said it is ready yet (none started, or one still starting): a spawned
        interpreter importing the server's modules takes a second or two (more on a busy machine),
        which a sync must wait out rather than time out on, or the first read of the log after a start
        shows nothing. Only a bound: a sync returns as soon as it is answered."""
        return not self._ready

    def _ensure(self) -> Connection:
        if self._conn is not None and self._process is not None and self._process.is_alive():
            return self._conn
        if self._process is not None:
            log.warning(
                "the request log's writer process exited (code %s); starting another", self._process.exitcode
            )
            self._discard()
        context = multiprocessing.get_context("spawn")  # no fork of a process with threads and a loop
        ours, theirs = context.Pipe(duplex=True)
        process = context.Process(
            target=child_main, args=(theirs, *self._args), name="care-request-log", daemon=True
        )
        process.start()
        theirs.close()
        self._process, self._conn, self._ready = process, ours, False
        return ours

    @staticmethod
    def prepare(entry: Captured) -> Frame:
        """On the event loop: the entry's frame, its small fields pickled and its bodies by reference."""
        return entry_frame(entry)

    def write(self, items: list[Frame]) -> None:
        """On the hand-off thread, which only lists the parts and calls ``writev`` (without the GIL):
        any Python work here would be taken from the event loop (see the module doc)."""
        conn = self._ensure()
        try:
            write_all(conn.fileno(), [part for item in items for part in item])
        except OSError:  # the child died between the check and the write
            self.lost += len(items)
            self._discard()
            raise

    def idle(self) -> None:
        """The child trims on its own clock: nothing to do here."""

    def sync(self, timeout: float) -> None:
        if self._process is None:
            return  # nothing was ever written
        conn = self._ensure()
        self._sequence += 1
        wanted = self._sequence
        deadline = time.monotonic() + timeout + (STARTUP_WAIT if self.starting else 0.0)
        try:
            write_all(conn.fileno(), list(frame(("sync", wanted))))
            while (left := deadline - time.monotonic()) > 0 and conn.poll(left):
                answer = conn.recv()
                if answer == ("ready",):
                    self._ready = True
                elif answer == ("synced", wanted):  # an answer to an earlier sync that timed out is skipped
                    self._ready = True
                    return
        except (OSError, EOFError):
            self._discard()
            raise

    def close(self, timeout: float) -> None:
        process, conn = self._process, self._conn
        if process is None or conn is None:
            return
        with contextlib.suppress(OSError):  # already gone: nothing left to stop
            write_all(conn.fileno(), list(frame(("stop",))))
        process.join(timeout)
        self._discard()

    def _discard(self) -> None:
        process, conn = self._process, self._conn
        self._process = self._conn = None
        if conn is not None:
            conn.close()
        if process is not None:
            if process.is_alive():
                process.terminate()
                process.join(1)
            process.close()


def child_main(conn: Connection, url: str, keep: int, retention_days: int, body_limit: int) -> None:
    """The child's loop: store entries in batches, answer syncs, trim when idle, until told to stop or
    orphaned. A batch is what has arrived by the time the socket runs dry (at most ``BATCH``)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole group; the server stops us
    with contextlib.suppress(OSError):
        os.nice(_NICENESS)
    storage = Storage(engine=build_engine(url, pool_size=1), url=url)
    store = LogStore(storage, keep=keep, retention_days=retention_days, body_limit=body_limit)
    reader = FrameReader(conn.fileno())
    conn.send(("ready",))
    pending: list[Captured] = []

    def store_pending() -> None:
        if pending:
            guarded(partial(store.write, list(pending)))
            pending.clear()

    try:
        while True:
            if not pending:
                guarded(store.idle)  # a clock check unless a trim fell due (syncs may never pause)
                if not reader.ready(TRIM_EVERY):
                    continue
            # the server writes a batch every GATHER_SECONDS: wait a moment for the rest of it, so a
            # batch is one transaction rather than one per read of the socket
            if pending and (len(pending) >= BATCH or not reader.ready(_SETTLE_SECONDS)):
                store_pending()
                continue
            try:
                message, request_body, response_body = reader.next()
            except EOFError:  # the server is gone: keep what it sent
                store_pending()
                return
            if len(message) == _ENTRY_FIELDS - 2:
                pending.append(entry_from(message, request_body, response_body))
                continue
            store_pending()  # everything sent before a control message is stored first
            if message[0] == "sync":
                conn.send(("synced", message[1]))
            elif message[0] == "stop":
                guarded(partial(store.close, 0.0))
                return
    finally:
        storage.engine.dispose()


_ENTRY_FIELDS = len(Captured._fields)
_SETTLE_SECONDS = 0.01
_NICENESS = 19  # the log yields the CPU to requests (and to the load generator of a benchmark)
