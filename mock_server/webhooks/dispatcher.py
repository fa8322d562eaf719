"""The dispatcher: claims due deliveries, sends them in parallel, records every attempt.

It runs for ``care-sandbox serve`` (the app lifespan calls ``run`` and ``wake``; by default the work
happens in a child process, see ``sidecar``) and as separate ``care-sandbox worker`` processes
(``run_forever``); any number may share one database, because the queue hands each delivery to one
worker at a time under a lease (see ``claims``).

Why it is shaped like this:

- Latency: a handler that emitted an event calls ``wake()`` right after its commit, so delivery starts
  within milliseconds instead of at the next poll. On PostgreSQL, workers in other processes are woken
  by ``LISTEN``/``NOTIFY``; polling (``dispatcher_poll_seconds``) is only the safety net.
- Fairness: at most ``webhook_endpoint_inflight`` attempts per endpoint and
  ``webhook_workspace_inflight`` per workspace are in flight (counted over every worker's leases),
  and free slots go round-robin over workspaces (``claims.claim``), so one workspace's dead or
  hanging endpoints cannot hold the slots another workspace's deliveries need.
- Throughput: up to ``concurrency`` attempts are in flight at once over one lean keep-alive httpx
  transport (``transport``: httpx's default one costs too much CPU per POST); database work runs
  on two threads (claims, records) so the event loop never blocks on it, and finished attempts are
  written in batches, one transaction per batch.
- Crashes: an attempt's result is written only after the receiver answered; a process killed in
  between leaves the delivery leased, the lease expires, and it is sent again with the same
  ``webhook-id``. A clean stop waits briefly for attempts in flight and hands back the rest.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import signal
import socket
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any, TypeVar

import httpx

from mock_server.secretbox import SecretBox
from mock_server.settings import Settings
from mock_server.storage import Storage, locking
from mock_server.storage.outbox import DeliveryQueue
from mock_server.timeutil import parse_iso
from mock_server.webhooks import claims, notify, sidecar
from mock_server.webhooks.attempt import attempt
from mock_server.webhooks.claims import Job, Outcome
from mock_server.webhooks.transport import LeanTransport

log = logging.getLogger("care_sandbox.webhooks")
T = TypeVar("T")

DEFAULT_CONCURRENCY = 32
STOP_GRACE_SECONDS = 5.0
RECORD_BATCH = 256
RECORD_COALESCE_SECONDS = 0.01


def lease_seconds(settings: Settings) -> float:
    """How long a claim lasts: the attempt's timeout plus room to record it, so only the dead lose it."""
    return 2 * settings.webhook_timeout_seconds + 1.0


class Dispatcher:
    """Deliver webhooks from ``storage`` until told to stop. One instance per process."""

    def __init__(
        self,
        storage: Storage,
        settings: Settings,
        *,
        concurrency: int = DEFAULT_CONCURRENCY,
        worker_id: str | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        process: bool | None = None,
    ) -> None:
        """``process``: deliver from a child process (see ``sidecar``). Default: yes, unless a test
        transport is injected or the database is in memory (a child could not share it)."""
        self.storage = storage
        self.settings = settings
        self.concurrency = concurrency
        self.worker_id = worker_id or f"{socket.gethostname()}:{os.getpid()}:{random.getrandbits(32):08x}"
        self._transport = transport
        self.process = process if process is not None else transport is None and storage.shareable
        self._pipe: sidecar.Pipe | None = None
        self._queue = DeliveryQueue(storage.engine)
        self._box = SecretBox.from_settings(settings.secrets_key, settings.secrets_key_file)
        self._rng = random.Random()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wakeup: asyncio.Event | None = None
        self._woken_early = False
        self._nudged = False
        self._claimer: ThreadPoolExecutor | None = None
        self._recorder: ThreadPoolExecutor | None = None
        self._inflight: dict[str, asyncio.Task[Outcome]] = {}
        self._capped = False  # due work is waiting for a slot within its endpoint's/workspace's cap

    # -- called from anywhere -------------------------------------------------------------------

    def wake(self) -> None:
        """Look for due deliveries now. Thread-safe; cheap; a no-op once stopped."""
        pipe = self._pipe
        if pipe is not None and pipe.poke():
            return
        self._nudged = True  # something was just committed: skip the read-only probe
        loop, wakeup = self._loop, self._wakeup
        if loop is None or wakeup is None:
            self._woken_early = True
            return
        with contextlib.suppress(RuntimeError):  # the loop closed under us: nothing left to wake
            loop.call_soon_threadsafe(wakeup.set)

    # -- the loop --------------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        """Deliver until ``stop`` is set, then wind down (at most ~``STOP_GRACE_SECONDS``).

        By default the work runs in a child process (``sidecar``) that ``wake()`` reaches through a
        pipe, so deliveries use the machine's other core instead of the server's; if the child cannot
        be kept running, the work falls back to this process. There it runs on the dispatcher's own
        thread and event loop (uvloop when available), not on the caller's: inside ``serve`` that is
        uvicorn's loop, busy with requests, and each step of a delivery would queue behind them.

        Measured with bench/bench_webhooks.py at 200 check-ins/s on 2 cores, interleaved 20-second
        runs (the quietest pair): check-in → delivery p50 4.2 ms / p99 15.0 ms with the child process,
        4.6 / 35.0 ms on a thread; an earlier interleaved set gave p50 4.7 ms on the own loop against
        7.1 ms sharing uvicorn's. Noisier pairs varied more between runs than between designs.
        """
        if self.process and await sidecar.supervise(self.settings, self.concurrency, stop, self._attach):
            return  # stopped; otherwise the child could not be kept alive: deliver from here
        outer = asyncio.get_running_loop()
        inner = _new_loop()
        inner_stop = asyncio.Event()
        finished: asyncio.Future[BaseException | None] = outer.create_future()

        def report(error: BaseException | None) -> None:
            if not finished.done():
                finished.set_result(error)

        def main() -> None:
            error: BaseException | None = None
            try:
                inner.run_until_complete(self._serve(inner_stop))
            except BaseException as exc:  # handed to the caller's loop below
                error = exc
            finally:
                inner.close()
                with contextlib.suppress(RuntimeError):  # the caller's loop is gone: nobody to tell
                    outer.call_soon_threadsafe(report, error)

        thread = threading.Thread(target=main, name="webhook-dispatcher", daemon=True)
        thread.start()
        stopping: asyncio.Future[Any] = asyncio.ensure_future(stop.wait())
        waiting: set[asyncio.Future[Any]] = {stopping, finished}
        try:
            await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopping.cancel()
            with contextlib.suppress(RuntimeError):
                inner.call_soon_threadsafe(inner_stop.set)
        error = await finished
        if error is not None:
            raise error

    def _attach(self, pipe: sidecar.Pipe | None) -> None:
        self._pipe = pipe

    async def _serve(self, stop: asyncio.Event, wake_fd: int | None = None) -> None:
        """The dispatcher proper, on whatever loop runs it; ``wake_fd``: a sidecar's pipe."""
        self._loop = asyncio.get_running_loop()
        if wake_fd is not None:
            sidecar.watch(self._loop, wake_fd, on_wake=self.wake, on_eof=stop.set)
        wakeup = self._wakeup = asyncio.Event()
        if self._woken_early:
            wakeup.set()
        self._queue = locking.dispatcher_queue(self.storage)
        # one thread each, so a record waiting for the database's write lock never holds up a claim
        self._claimer = ThreadPoolExecutor(1, thread_name_prefix="webhook-claim")
        self._recorder = ThreadPoolExecutor(1, thread_name_prefix="webhook-record")
        results: asyncio.Queue[Outcome | None] = asyncio.Queue()
        listening = threading.Event()
        relay = asyncio.create_task(_relay(stop, wakeup))
        notifier = notify.start_listener(self.storage, self.wake, listening)
        transport = self._transport or LeanTransport(max_idle_per_origin=self.concurrency)
        try:
            async with transport:
                recorder = asyncio.create_task(self._record_loop(results))
                try:
                    await self._claim_loop(transport, stop, results)
                finally:
                    await self._wind_down(results)
                    await recorder
        finally:
            relay.cancel()
            listening.set()
            if notifier is not None:
                notifier.join(timeout=2.0)
            self._claimer.shutdown(wait=True)
            self._recorder.shutdown(wait=True)
            self._queue.close()
            self._loop = self._wakeup = None

    async def _claim_loop(
        self, transport: httpx.AsyncBaseTransport, stop: asyncio.Event, results: asyncio.Queue[Outcome | None]
    ) -> None:
        assert self._wakeup is not None
        poll = self.settings.dispatcher_poll_seconds
        lease = lease_seconds(self.settings)
        while not stop.is_set():
            self._wakeup.clear()
            self._capped = False
            free = self.concurrency - len(self._inflight)
            jobs: list[Job] = []
            sleep = poll
            if free > 0:
                probe, self._nudged = not self._nudged, False
                try:
                    jobs = await self._db(
                        claims.claim,
                        self._queue,
                        box=self._box,
                        worker_id=self.worker_id,
                        now=datetime.now(UTC),
                        limit=free,
                        lease_seconds=lease,
                        probe=probe,
                        per_endpoint=self.settings.webhook_endpoint_inflight,
                        per_workspace=self.settings.webhook_workspace_inflight,
                    )
                    if len(jobs) < free:
                        sleep = await self._idle_sleep(poll)
                except Exception:  # the database may be away for a while; the dispatcher must outlive it
                    log.exception("claiming webhook deliveries failed; retrying in %.1f s", poll)
            for job in jobs:
                self._start(transport, job, results)
            if jobs and len(jobs) == free:
                continue  # there may be more due right now
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), timeout=sleep)

    async def _idle_sleep(self, poll: float) -> float:
        """Sleep until the next known due time, but never longer than the poll interval.

        Work already due that the claim left alone is waiting for a slot within its endpoint's or
        workspace's cap: then sleep until an attempt in flight finishes (it wakes the loop), instead
        of spinning on a claim that cannot take it.
        """
        due = await self._db(claims.next_due, self._queue)
        if due is None:
            return poll
        wait = (parse_iso(due) - datetime.now(UTC)).total_seconds()
        if wait <= 0 and self._inflight:
            self._capped = True
            return poll
        return min(max(wait, 0.001), poll)

    def _start(
        self, transport: httpx.AsyncBaseTransport, job: Job, results: asyncio.Queue[Outcome | None]
    ) -> None:
        task = asyncio.create_task(
            attempt(
                transport,
                job,
                schedule=self.settings.webhook_retry_schedule,
                timeout=self.settings.webhook_timeout_seconds,
                allow_private=self.settings.private_webhook_targets_allowed,
                rng=self._rng,
            )
        )
        self._inflight[job.delivery_id] = task

        def finished(done: asyncio.Task[Outcome]) -> None:
            saturated = len(self._inflight) >= self.concurrency
            self._inflight.pop(job.delivery_id, None)
            if done.cancelled():
                return
            exc = done.exception()
            if exc is not None:  # a bug, not the receiver: let the lease expire and retry later
                log.error("webhook attempt for %s crashed", job.delivery_id, exc_info=exc)
                return
            results.put_nowait(done.result())
            if (saturated or self._capped) and self._wakeup is not None:
                self._wakeup.set()

        task.add_done_callback(finished)

    async def _record_loop(self, results: asyncio.Queue[Outcome | None]) -> None:
        """Write finished attempts in batches until the ``None`` sentinel arrives.

        After the first result it waits ``RECORD_COALESCE_SECONDS`` for others, so under load one
        write transaction records many attempts instead of each taking the database's write lock
        (which requests need too). The lease makes the delay safe: a crash before recording only
        means the attempt is made again.
        """
        running = True
        while running:
            batch: list[Outcome] = []
            item = await results.get()
            if item is not None and results.empty():
                await asyncio.sleep(RECORD_COALESCE_SECONDS)
            while item is not None:
                batch.append(item)
                if results.empty() or len(batch) >= RECORD_BATCH:
                    break
                item = results.get_nowait()
            running = item is not None
            if batch:
                await self._record(batch)

    async def _record(self, batch: list[Outcome]) -> None:
        """Write a batch of outcomes, retrying through a database outage while the leases still hold.

        Why keep trying: these receivers already have their webhooks. Giving up means the leases
        expire and the deliveries are sent again — a duplicate for every receiver just because the
        database restarted. The leases outlive the attempt timeout by ``webhook_timeout_seconds + 1``,
        so retrying for that long never records over another worker's claim.
        """
        clock = asyncio.get_running_loop()
        deadline = clock.time() + self.settings.webhook_timeout_seconds
        tries = 0
        while True:
            try:
                await self._db(
                    claims.record,
                    self._queue,
                    batch,
                    worker_id=self.worker_id,
                    disable_after=self.settings.webhook_disable_after_failures,
                )
                break
            except Exception:
                tries += 1
                if clock.time() >= deadline:
                    log.exception("recording %d webhook attempts failed %d times", len(batch), tries)
                    return  # leases expire, deliveries are retried: late, duplicated at worst, never lost
                log.warning("recording %d webhook attempts failed (try %d); retrying", len(batch), tries)
                await asyncio.sleep(min(0.2 * tries, 1.0))
        loop, wakeup = self._loop, self._wakeup
        if loop is not None and wakeup is not None:
            for outcome in batch:
                retry_at = outcome.retry_at
                if retry_at is not None and not outcome.succeeded:
                    loop.call_later(max((retry_at - datetime.now(UTC)).total_seconds(), 0.0), wakeup.set)

    async def _wind_down(self, results: asyncio.Queue[Outcome | None]) -> None:
        """Let attempts in flight finish briefly, hand back the rest, flush the recorder."""
        inflight = dict(self._inflight)
        if inflight:
            _done, pending = await asyncio.wait(inflight.values(), timeout=STOP_GRACE_SECONDS)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
            unfinished = [delivery_id for delivery_id, task in inflight.items() if task in pending]
            with contextlib.suppress(locking.DatabaseError):
                await self._db(
                    claims.release,
                    self._queue,
                    unfinished,
                    worker_id=self.worker_id,
                    now=datetime.now(UTC),
                )
        results.put_nowait(None)

    async def _db(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run a ``claims`` function off the loop: records on their own thread, the rest on another."""
        executor = self._recorder if fn is claims.record else self._claimer
        assert self._loop is not None and executor is not None
        return await self._loop.run_in_executor(executor, lambda: locking.retrying(fn, *args, **kwargs))

    # -- the worker process ----------------------------------------------------------------------

    def run_forever(self, wake_fd: int | None = None) -> None:
        """Run until SIGINT or SIGTERM (the ``care-sandbox worker`` process), or, for a sidecar,
        until the server closes ``wake_fd``."""

        async def main() -> None:
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, stop.set)
            await self._serve(stop, wake_fd)  # a worker process has its loop to itself

        loop = _new_loop()
        try:
            loop.run_until_complete(main())
        finally:
            loop.close()


def _new_loop() -> asyncio.AbstractEventLoop:
    """uvloop when installed (uvicorn's standard extra brings it): less CPU per delivery."""
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    loop: asyncio.AbstractEventLoop = uvloop.new_event_loop()
    return loop


async def _relay(stop: asyncio.Event, wakeup: asyncio.Event) -> None:
    await stop.wait()
    wakeup.set()


def main(argv: list[str] | None = None) -> None:
    """A bare worker process: ``python -m mock_server.webhooks.dispatcher --database-url …``.

    ``care-sandbox worker`` is the supported entry point; this one needs nothing but the database and
    exists for tests and debugging.
    """
    import argparse

    from mock_server.settings import parse_schedule

    parser = argparse.ArgumentParser(
        prog="python -m mock_server.webhooks.dispatcher", description=main.__doc__
    )
    parser.add_argument("--database-url")
    parser.add_argument("--webhook-retry-schedule", type=parse_schedule)
    parser.add_argument("--webhook-timeout-seconds", type=float)
    parser.add_argument("--dispatcher-poll-seconds", type=float)
    parser.add_argument("--concurrency", type=int, default=DEFAULT_CONCURRENCY)
    parser.add_argument("--wake-fd", type=int, default=None, help="set by care-sandbox serve (sidecar)")
    args = parser.parse_args(argv)
    settings = Settings.from_env(
        database_url=args.database_url,
        webhook_retry_schedule=args.webhook_retry_schedule,
        webhook_timeout_seconds=args.webhook_timeout_seconds,
        dispatcher_poll_seconds=args.dispatcher_poll_seconds,
    )
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    storage = Storage.open(settings.database_url)
    try:
        Dispatcher(storage, settings, concurrency=args.concurrency, process=False).run_forever(args.wake_fd)
    finally:
        storage.close()


if __name__ == "__main__":
    main()
