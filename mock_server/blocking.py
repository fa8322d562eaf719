"""The bounded thread pool where blocking work runs, so the event loop keeps answering.

Why: Connexion/Starlette run plain ``def`` handlers wherever they are called; the gateway used to
call them on the event loop, so one workspace's 365-day clock advance (seconds of generation and
SQLite writes) held every other request — ``/healthz`` included — until it finished. Every sync
handler, and the blocking parts of async ones (PDF rendering), now run here instead.

The pool is bounded (``Settings.handler_threads``): under a flood of heavy requests they queue for
a thread rather than each starting one, and the pool's size also caps the database connections
handlers hold at once. The caller's context variables (the unit of work) travel with the call.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

DEFAULT_HANDLER_THREADS = 8
P = ParamSpec("P")
T = TypeVar("T")


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

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
