"""The bounded thread pool where blocking work runs, so the event loop keeps answering.

Why: Connexion/Starlette run plain ``def`` handlers wherever they are called; the gateway used to
call them on the event loop, so one workspace's 365-day clock advance (seconds of generation and
SQLite writes) held every other request — ``/healthz`` included — until it finished. Every sync
handler, and the blocking parts of async ones (PDF rendering), now run here instead.

The pool is bounded (``Settings.handler_threads``): under a flood of heavy requests they queue for
a thread rather than each starting one, and the pool's size also caps the database connections
handlers hold at once. The caller's context variables (the unit of work) travel with the call.

The exception: handlers marked :func:`loop_first` (the lists of patient data) are tried on the event
loop first, because their whole work is one bounded read (``storage.page_reads``) that costs less
than the hop to a thread and back; a read that would take long is stopped and goes to the pool.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import multiprocessing
import os
import threading
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

from mock_server.storage.engine import shareable

if TYPE_CHECKING:
    from mock_server.settings import Settings

DEFAULT_HANDLER_THREADS = 8
CONTROL_THREADS = 2
# where PDFs render (``reports.pdf`` and report jobs): the size of asyncio's default executor, where they
# rendered before they had a pool of their own
REPORT_THREADS = min(32, (os.cpu_count() or 1) + 4)
P = ParamSpec("P")
T = TypeVar("T")


def loop_first(handler: Callable[P, T]) -> Callable[P, T]:
    """Mark a handler the gateway runs on the event loop first, falling back to the pool.

    Only for handlers whose every database access goes through ``storage.page_reads.consented_page``
    (which, on the loop, uses the loop's own SQLite connection under a time budget and raises
    ``WouldBlock`` rather than wait) and that do nothing else that blocks. On PostgreSQL the mark is
    ignored: a read there is a network round trip, and it runs on the pool like any handler.
    """
    handler.loop_first = True  # type: ignore[attr-defined]
    return handler


class BlockingPool:
    """``await pool.run(fn, *args)``: ``fn`` on one of ``size`` threads, with the caller's context."""

    def __init__(self, size: int) -> None:
        if size < 1:
            raise ValueError(f"the handler thread pool needs at least one thread, got {size}")
        self.size = size
        self._executor = ThreadPoolExecutor(size, thread_name_prefix="care-handler")

    async def run(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
        context = contextvars.copy_context()
        call = functools.partial(context.run, fn, *args, **kwargs)
        return await asyncio.get_running_loop().run_in_executor(self._executor, call)

    def submit(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> Future[T]:
        """``fn`` on one of the pool's threads without waiting for it: for background work (a report
        job), and callable from any thread, the event loop's or a handler's."""
        return self._executor.submit(fn, *args, **kwargs)

    def close(self, *, wait: bool = False) -> None:
        """Drop the work not started; with ``wait``, return once the work running has finished."""
        self._executor.shutdown(wait=wait, cancel_futures=True)


_CHILD: Any = None  # the child process's own Services (see HeavyWork)


def _child_init(settings: Settings) -> None:
    """In a HeavyWork child: open the database and build the services once."""
    global _CHILD
    from mock_server.app import build_services
    from mock_server.storage import Storage

    storage = Storage.open(
        settings.database_url,
        run_migrations=False,
        pool_size=2,
        wal_limit_bytes=settings.sqlite_wal_limit_bytes,
    )
    _CHILD = build_services(settings, storage)


def _in_child(fn: Callable[..., T], *args: Any) -> T:
    try:
        return fn(_CHILD, *args)
    finally:
        # an idle child holds no database connections: they count against the server's bound
        _CHILD.storage.engine.dispose()


class HeavyWork:
    """CPU-heavy sandbox controls (a 365-day advance, a reset) in a child process.

    Why a process and not only a thread: generating a year of data is pure-Python CPU work, and a
    CPU-bound thread holds the GIL, so the event loop thread — which gives it up at every socket
    call and waits up to ``sys.getswitchinterval()`` (5 ms) to get it back each time — slows to a
    crawl: measured with ``bench/bench_tenants.py``, other workspaces' ``/healthz`` took seconds while a
    thread generated. A child process competes only for the CPU, which the OS shares fairly.

    ``fn(services, *args)`` must be a module-level function with picklable arguments and result; it
    gets the child's own services (its own database connections). With ``processes=0``, or a
    database another process cannot open (in-memory SQLite), it runs in the calling thread with
    the caller's services. Call from a thread of :class:`BlockingPool`, never from the event loop.
    """

    def __init__(self, settings: Settings, processes: int) -> None:
        self.settings = settings
        self.processes = processes if shareable(settings.database_url) else 0
        self._executor: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()

    def call(self, services: Any, fn: Callable[..., T], *args: Any) -> T:
        if self.processes <= 0:
            return fn(services, *args)
        with self._lock:
            if self._executor is None:
                self._executor = ProcessPoolExecutor(
                    self.processes,
                    mp_context=multiprocessing.get_context("spawn"),
                    initializer=_child_init,
                    initargs=(self.settings,),
                )
            executor = self._executor
        try:
            return executor.submit(_in_child, fn, *args).result()
        except BrokenProcessPool:
            # the child died (killed, out of memory): the next call starts a new one; an advance it
            # left half-way is resumed by that call or at the next start (see sandbox_work)
            with self._lock:
                if self._executor is executor:
                    self._executor = None
            raise

    def close(self) -> None:
        with self._lock:
            if self._executor is not None:
                self._executor.shutdown(wait=False, cancel_futures=True)
                self._executor = None
