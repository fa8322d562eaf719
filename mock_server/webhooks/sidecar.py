"""The dispatcher of ``care-sandbox serve`` as a child process, woken through a pipe.

Why a process: a Python server process runs one thread of Python at a time. At 200 check-ins a
second the API alone keeps ``serve`` busy most of one core on a 2-core machine (measured ~80 % with
the dispatcher inside); a dispatcher in the same process adds its CPU to that core and waits for it.
As a child process it runs on the other core, and the server keeps its headroom for requests (figures
in ``Dispatcher.run``).

How it stays simple and safe:

- ``wake()`` in any server thread writes one byte to a non-blocking pipe (a few microseconds; a full
  pipe already means "wake up", so the byte is dropped). The child turns readable bytes into its own
  ``wake()``.
- The pipe is also the child's lifeline: when the server exits — cleanly or by ``kill -9`` — the
  kernel closes the write end, the child reads end-of-file, winds down (in-flight attempts finish,
  unsent ones are handed back) and exits. No orphan keeps running.
- The child gets the server's exact settings through ``CARE_SANDBOX_*`` variables, and is restarted
  with backoff if it dies unexpectedly. Leases make a restart safe at any moment.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import subprocess
import sys
import threading
from collections.abc import Callable

from mock_server.settings import Settings

log = logging.getLogger("care_sandbox.webhooks")

STOP_WAIT_SECONDS = 8.0  # the child's own wind-down is ~5 s at most
MAX_BACKOFF_SECONDS = 30.0
YOUNG_SECONDS = 10.0
GIVE_UP_AFTER = 3


class Pipe:
    """The write end of the wake-up pipe, safe to poke from any thread while it is being closed."""

    def __init__(self, fd: int) -> None:
        os.set_blocking(fd, False)
        self._fd: int | None = fd
        self._lock = threading.Lock()

    def poke(self) -> bool:
        """Wake the child; False once the pipe is closed."""
        with self._lock:
            if self._fd is None:
                return False
            with contextlib.suppress(BlockingIOError, BrokenPipeError):
                os.write(self._fd, b"\x01")
            return True

    def close(self) -> None:
        with self._lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None


def start(settings: Settings, concurrency: int) -> tuple[subprocess.Popen[bytes], Pipe]:
    """Spawn ``python -m mock_server.webhooks.dispatcher --wake-fd N`` with the server's settings."""
    read_end, write_end = os.pipe()
    try:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "mock_server.webhooks.dispatcher",
                "--wake-fd",
                str(read_end),
                "--concurrency",
                str(concurrency),
            ],
            pass_fds=(read_end,),
            env={**os.environ, **settings.to_env()},
        )
    except BaseException:
        os.close(write_end)
        raise
    finally:
        os.close(read_end)
    return proc, Pipe(write_end)


async def supervise(
    settings: Settings, concurrency: int, stop: asyncio.Event, attach: Callable[[Pipe | None], None]
) -> bool:
    """Keep a child dispatcher running until ``stop``; ``attach`` receives each child's pipe (or None).

    Returns True once stopped, False when children keep dying young (``GIVE_UP_AFTER`` in a row, each
    within ``YOUNG_SECONDS``): a broken environment, where the caller had better deliver itself.
    """
    backoff, young_deaths = 0.5, 0
    while not stop.is_set():
        try:
            proc, pipe = start(settings, concurrency)
        except OSError:
            log.exception("cannot start the webhook dispatcher process")
            return False
        born = asyncio.get_running_loop().time()
        attach(pipe)
        pipe.poke()  # whatever was queued before the child existed
        try:
            while not stop.is_set() and proc.poll() is None:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=0.5)
        finally:
            attach(None)
            pipe.close()  # end-of-file: the child winds down and exits
        if stop.is_set():
            await _reap(proc)
            return True
        young_deaths = young_deaths + 1 if asyncio.get_running_loop().time() - born < YOUNG_SECONDS else 0
        if young_deaths >= GIVE_UP_AFTER:
            log.error(
                "the webhook dispatcher process keeps exiting (%s); delivering in-process", proc.returncode
            )
            return False
        log.error(
            "the webhook dispatcher process exited with %s; restarting in %.1f s", proc.returncode, backoff
        )
        await asyncio.sleep(backoff)
        backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)
    return True


async def _reap(proc: subprocess.Popen[bytes]) -> None:
    deadline = asyncio.get_running_loop().time() + STOP_WAIT_SECONDS
    while proc.poll() is None and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.05)
    if proc.poll() is None:
        log.warning("the webhook dispatcher process did not stop in %.0f s; killing it", STOP_WAIT_SECONDS)
        proc.kill()
        proc.wait()


def watch(
    loop: asyncio.AbstractEventLoop, fd: int, on_wake: Callable[[], None], on_eof: Callable[[], None]
) -> None:
    """In the child: bytes on ``fd`` call ``on_wake``; end-of-file (the server is gone) ``on_eof``."""

    def readable() -> None:
        try:
            data = os.read(fd, 4096)
        except BlockingIOError:
            return
        if data:
            on_wake()
            return
        loop.remove_reader(fd)
        on_eof()

    os.set_blocking(fd, False)
    loop.add_reader(fd, readable)
