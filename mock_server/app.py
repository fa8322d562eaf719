"""``create_app(settings)``: the sandbox as one ASGI application.

Connexion is the spine — it reads ``openapi.yaml``, routes requests to operations, resolves each
``operationId`` to ``mock_server.handlers.<module>.<function>`` (a missing handler fails start-up) and
serves Swagger UI at ``/ui/``. Its per-request security and validation layers are replaced by ours
(see ``gateway``), because they rebuild validators on every call and cannot read OpenAPI 3.1. The
stack, outermost first::

    CORSMiddleware      preflights and Access-Control-* headers (``--cors-origins``; off when empty)
    ConsoleMiddleware   /console/: server-rendered pages that call the API below, in process
    RequestLogMiddleware  what each workspace's clients sent and got, queued for the request log
    EdgeMiddleware      request id, credentials, rate limit, common headers, the one error path
    SwaggerUIMiddleware /ui/ and /openapi.json
    RoutingMiddleware   path + method -> operationId (Starlette router), 404/405
    LifespanMiddleware  start-up/shut-down: the in-process webhook dispatcher
    GatewayMiddleware   scopes, Prefer, params, body, idempotency, handler, response validation
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import pathlib
from collections.abc import AsyncIterator
from functools import partial
from typing import Any

from connexion.middleware.lifespan import LifespanMiddleware
from connexion.middleware.main import API, ConnexionMiddleware
from connexion.middleware.routing import RoutingMiddleware
from connexion.middleware.swagger_ui import SwaggerUIMiddleware
from connexion.options import SwaggerUIOptions
from connexion.resolver import RelativeResolver

from mock_server import sandbox_work, spec, swagger_ui
from mock_server.auth.oauth import OAuthService
from mock_server.auth.principals import PrincipalResolver
from mock_server.blocking import BlockingPool, HeavyWork
from mock_server.console.app import ConsoleMiddleware
from mock_server.context import Services
from mock_server.gateway.dispatch import GatewayMiddleware
from mock_server.gateway.idempotency import IdempotencyStore
from mock_server.metrics import Metrics
from mock_server.middleware.cors import cors_middleware
from mock_server.middleware.edge import EdgeMiddleware, allowed_methods_from, not_found_app
from mock_server.middleware.rate_limit import build_limiter
from mock_server.middleware.request_log import RequestLogMiddleware
from mock_server.requestlog.child import ChildSink
from mock_server.requestlog.writer import LogStore, RequestLogWriter, Sink
from mock_server.secretbox import SecretBox
from mock_server.settings import Settings
from mock_server.storage import Storage
from mock_server.storage.credentials import workspace_overview
from mock_server.storage.request_log import request_log_storage
from mock_server.storage.workspaces import WorkspaceRepo
from mock_server.workspace_clock import WorkspaceClock

log = logging.getLogger("care_sandbox")


class SandboxConnexion(ConnexionMiddleware):
    """ConnexionMiddleware that accepts an already validated OpenAPI 3.1 document."""

    services: Services

    def add_api(
        self, specification: Any, *, base_path: str | None = None, name: str | None = None, **kwargs: Any
    ) -> None:
        if not isinstance(specification, dict):
            raise TypeError("pass the loaded, validated document (mock_server.spec.load)")
        document = spec.OpenAPI31Specification(specification)
        options = self.options.replace(**{k: kwargs.pop(k) for k in list(kwargs) if hasattr(self.options, k)})
        self.apis.append(API(document, base_path=base_path, name=name, **options.__dict__, **kwargs))


def build_services(settings: Settings, storage: Storage | None = None) -> Services:
    """Every long-lived collaborator, built once (``create_app``, the CLI, a HeavyWork child).

    Nothing here starts a thread or opens a connection yet: the writer, the limiter's flusher and the
    pools start on first use, so a CLI command building services to seed a workspace pays nothing for
    the parts it does not use.
    """
    storage = storage or Storage.open(
        settings.database_url,
        pool_size=settings.db_pool_size,
        wal_limit_bytes=settings.sqlite_wal_limit_bytes,
    )
    workspaces = WorkspaceRepo(storage)
    oauth = OAuthService(storage, settings)
    log_storage = request_log_storage(storage)
    metrics = Metrics()
    request_log = _request_log_writer(settings, log_storage)
    if request_log is not None:
        metrics.count_request_log_losses(lambda: request_log.not_stored)
    return Services(
        settings=settings,
        storage=storage,
        clock=WorkspaceClock(storage),
        workspaces=workspaces,
        oauth=oauth,
        principals=PrincipalResolver(workspaces.principal_for_api_key, oauth.principal_for_token),
        limiter=build_limiter(storage, settings.rate_limit_backend, settings.workers),
        secretbox=SecretBox.from_settings(settings.secrets_key, settings.secrets_key_file),
        metrics=metrics,
        request_log_storage=log_storage,
        request_log=request_log,
        blocking=BlockingPool(settings.handler_threads),
        heavy=HeavyWork(settings, settings.sandbox_processes),
    )


def _request_log_writer(settings: Settings, log_storage: Storage) -> RequestLogWriter | None:
    """The log's writer; its sink in a child process unless the database is in memory (or the setting
    says a thread), since only there does the writer's CPU stay off the event loop's GIL."""
    if not settings.request_log:
        return None
    bounds = {
        "keep": settings.request_log_keep,
        "retention_days": settings.request_log_retention_days,
        "body_limit": settings.request_log_body_bytes,
    }
    sink: Sink
    if (
        settings.request_log_process
        and log_storage.shareable
        and not multiprocessing.current_process().daemon
    ):
        sink = ChildSink(log_storage.url, **bounds)
    else:
        sink = LogStore(log_storage, **bounds)
    return RequestLogWriter(sink)


async def _upkeep(services: Services, stop: asyncio.Event) -> None:
    """Background housekeeping on the thread pool: finish clock advances a crash interrupted, then
    checkpoint SQLite's WAL every ``sqlite_checkpoint_seconds`` so it stays bounded."""
    blocking = services.blocking
    try:
        resumed = await blocking.run(sandbox_work.resume_pending, services)
        if resumed:
            log.info("resumed %d interrupted clock advance(s)", resumed)
    except Exception:  # the server must start regardless; the next advance of the workspace resumes it
        log.exception("resuming interrupted clock advances failed")
    period = services.settings.sqlite_checkpoint_seconds
    if period <= 0 or services.storage.is_postgres:
        return
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=period)
        if stop.is_set():
            return
        try:
            result = await blocking.run(services.storage.checkpoint)
            log.debug("wal checkpoint: %s", result)
        except Exception:
            log.exception("WAL checkpoint failed; trying again in %.0f s", period)


def create_app(settings: Settings, *, services: Services | None = None) -> SandboxConnexion:
    """Build the ASGI app. ``services`` may be passed in so a test or the CLI can share them."""
    services = services or build_services(settings)
    document = spec.load(settings.spec_path, cache_dir=settings.contract_cache_dir)
    app = SandboxConnexion(
        not_found_app,
        import_name=__name__,
        specification_dir=_specification_dir(settings.spec_path),
        lifespan=partial(_lifespan, services),
        middlewares=_middlewares(settings, services, document),  # type: ignore[arg-type]
        swagger_ui_options=SwaggerUIOptions(
            swagger_ui_path="/ui",
            swagger_ui_template_dir=str(swagger_ui.DIRECTORY),
            swagger_ui_template_arguments={"ui_path": "/ui"},
        ),
    )
    app.add_api(
        document,
        resolver=RelativeResolver("mock_server.handlers"),
        services=services,
        idempotency=IdempotencyStore(services.storage, settings.idempotency_ttl_seconds),
    )
    app.services = services
    return app


@contextlib.asynccontextmanager
async def _lifespan(services: Services, _app: Any) -> AsyncIterator[None]:
    """While the app serves: the in-process dispatcher (when on) and upkeep; on the way out, let the
    report jobs running finish and write what the request log and a shared rate limiter still hold."""
    settings = services.settings
    stop = asyncio.Event()
    task = None
    if settings.dispatcher:
        from mock_server.webhooks.dispatcher import Dispatcher

        dispatcher = Dispatcher(services.storage, settings)
        wake, storage_ = dispatcher.wake, services.storage
        # inside a unit of work the wake-up waits for the commit, so it never runs ahead of data
        services.wake_dispatcher.connect(lambda: storage_.after_commit(wake))
        task = asyncio.create_task(dispatcher.run(stop))
    upkeep = asyncio.create_task(_upkeep(services, stop))
    try:
        yield
    finally:
        stop.set()
        upkeep.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await upkeep
        if services.heavy is not None:
            services.heavy.close()
        # report jobs in flight finish before the storage they write to closes (queued ones stay
        # queued), as when they ran on asyncio's default executor, which asyncio.run waits for
        await asyncio.to_thread(services.reports.close, wait=True)
        if task is not None:
            services.wake_dispatcher.connect(None)  # no wake-ups for a stopped dispatcher's loop
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait_for(task, timeout=10)
        if services.request_log is not None:  # write what is still queued
            services.request_log.close()
        close = getattr(services.limiter, "close", None)
        if close is not None:  # a shared limiter writes the hits it still holds
            with contextlib.suppress(Exception):
                close()


def _middlewares(settings: Settings, services: Services, document: dict[str, Any]) -> list[Any]:
    """The stack of the module docstring, outermost first."""
    resolver = services.principals
    cors = cors_middleware(settings.cors_origins)
    # outermost: preflights never reach the router's 405; then /console, served here (everything else
    # passes through); then the request log, which sees what the client sent and got, errors included
    middlewares: list[Any] = [
        *([cors] if cors is not None else []),
        partial(
            ConsoleMiddleware,
            document=document,
            resolve_key=lambda key: resolver.resolve({"x-api-key": key})[0],
            describe_workspace=partial(workspace_overview, services.storage),
        ),
    ]
    if services.request_log is not None:
        capture = 4 * settings.request_log_body_bytes  # redaction runs before the cut
        middlewares.append(partial(RequestLogMiddleware, writer=services.request_log, capture_bytes=capture))
    return [
        *middlewares,
        partial(
            EdgeMiddleware,
            resolver=resolver,
            limiter=services.limiter,
            default_limit=settings.default_rate_limit_per_hour,
            public_base_url=settings.public_base_url,
            observe=services.metrics.observe,
            allowed_methods=allowed_methods_from(document),
            access_log=settings.access_log,
        ),
        SwaggerUIMiddleware,
        RoutingMiddleware,
        LifespanMiddleware,
        GatewayMiddleware,
    ]


def _specification_dir(source: str | pathlib.Path) -> pathlib.Path:
    """Connexion wants a directory for relative references; a URL contract has none (all refs are local)."""
    resolved = spec.resolve_source(source)
    return resolved.parent if isinstance(resolved, pathlib.Path) else pathlib.Path.cwd()
