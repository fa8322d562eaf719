"""What a handler receives and returns.

Handlers are plain functions ``def op(req: ApiRequest) -> Reply`` (or ``async def`` for slow work
such as PDF rendering). Plain ones run on the bounded thread pool ``services.blocking``, never on
the event loop, each inside one unit of work unless marked with :func:`own_transactions`. The
gateway has already authenticated the caller, checked scopes, and validated and defaulted every
parameter and the body against the operation's compiled schemas, so handlers only parse meaning,
call the store and shape the reply. Dependencies arrive in ``req.services``, built once in
``app.create_app``; handlers import no globals.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from mock_server.blocking import (
    CONTROL_THREADS,
    DEFAULT_HANDLER_THREADS,
    REPORT_THREADS,
    BlockingPool,
    HeavyWork,
)

if TYPE_CHECKING:
    from mock_server.auth.oauth import OAuthService
    from mock_server.auth.principals import PrincipalResolver
    from mock_server.metrics import Metrics
    from mock_server.middleware.rate_limit import RateLimiter
    from mock_server.requestlog.writer import RequestLogWriter
    from mock_server.secretbox import SecretBox
    from mock_server.settings import Settings
    from mock_server.storage import Storage
    from mock_server.storage.workspaces import WorkspaceRepo
    from mock_server.workspace_clock import WorkspaceClock


@dataclass(frozen=True)
class Principal:
    """The authenticated caller: one partner workspace and the scopes its credential carries."""

    workspace_id: str
    scopes: frozenset[str]
    credential_id: str
    kind: str  # "api_key" | "oauth"
    rate_limit_per_hour: int


class DispatcherWake:
    """``services.wake_dispatcher()``: wake the in-process webhook dispatcher after a write.

    Why an object and not a plain callable field: the services are built (and frozen) before the app's
    lifespan starts the dispatcher; the lifespan then connects the dispatcher's wake-up here, and
    disconnects it when the dispatcher stops. While nothing is connected (the CLI, a HeavyWork child,
    a server whose dispatcher runs in a child process) a wake is a no-op.
    """

    def __init__(self) -> None:
        self._target: Callable[[], None] | None = None

    def connect(self, target: Callable[[], None] | None) -> None:
        self._target = target

    def __call__(self) -> None:
        target = self._target
        if target is not None:
            target()


@dataclass(frozen=True)
class Services:
    """Long-lived collaborators shared by every request, built once by ``app.build_services``.

    Every field is typed and read somewhere: handlers reach what they use as ``req.services.<name>``
    (one request object, no globals, no string-keyed lookups), the app wires the edge from the same
    object. A field is added here and built in ``build_services``, nowhere else.
    """

    settings: Settings
    storage: Storage
    clock: WorkspaceClock
    workspaces: WorkspaceRepo
    oauth: OAuthService
    # resolves X-API-Key / Bearer credentials for the edge; the OAuth handler clears its cache
    principals: PrincipalResolver
    limiter: RateLimiter
    # webhook signing secrets are sealed with it at rest
    secretbox: SecretBox
    metrics: Metrics
    # the request log's own storage (a side file on SQLite; see storage.request_log) and, when the
    # log is on, the background writer filling it
    request_log_storage: Storage
    request_log: RequestLogWriter | None
    wake_dispatcher: DispatcherWake = field(default_factory=DispatcherWake)
    # where sync handlers and other blocking work run, off the event loop (see mock_server.blocking)
    blocking: BlockingPool = field(default_factory=lambda: BlockingPool(DEFAULT_HANDLER_THREADS))
    # where CPU-heavy sandbox controls run (a child process; see mock_server.blocking.HeavyWork)
    heavy: HeavyWork | None = None
    # the threads ``own_transactions`` handlers (advance, reset) wait on: their own small pool, so a
    # queue of them never takes the threads every other request needs
    controls: BlockingPool = field(default_factory=lambda: BlockingPool(CONTROL_THREADS))
    # where PDFs render, for a request or a report job: hundreds of milliseconds each, so a flood of
    # them must not take the threads every workspace's plain handlers run on
    reports: BlockingPool = field(default_factory=lambda: BlockingPool(REPORT_THREADS))


@dataclass
class ApiRequest:
    operation_id: str
    params: dict[str, Any]
    body: Any
    principal: Principal | None
    services: Services
    request_id: str
    headers: Mapping[str, str]
    base_url: str
    method: str = "GET"
    path: str = "/"

    @property
    def workspace_id(self) -> str:
        if self.principal is None:  # only public operations lack a principal
            raise RuntimeError(f"{self.operation_id} needs an authenticated caller")
        return self.principal.workspace_id


@dataclass
class RawJSON:
    """A body that is already JSON bytes (the read path serves stored bodies without re-encoding)."""

    data: bytes


@dataclass
class Reply:
    status: int = 200
    body: Any = None  # JSON-able, RawJSON, bytes or str
    headers: dict[str, str] = field(default_factory=dict)
    media_type: str | None = None  # default: application/json (application/fhir+json on /fhir)
    # Secret-bearing replies (see gateway.idempotency): top-level body fields never stored for an
    # idempotent replay (the replay omits them), or, with replayable=False, nothing stored at all
    secret_fields: tuple[str, ...] = ()
    replayable: bool = True


def ok(body: Any, **headers: str) -> Reply:
    return Reply(200, body, dict(headers))


def created(body: Any, **headers: str) -> Reply:
    return Reply(201, body, dict(headers))


def accepted(body: Any) -> Reply:
    return Reply(202, body)


def no_content() -> Reply:
    return Reply(204, None)


def own_transactions(handler: Callable[[ApiRequest], Any]) -> Callable[[ApiRequest], Any]:
    """Mark a handler that commits its own work in short chunks (clock advance, reset).

    The gateway then runs it without the request-wide unit of work, which would otherwise join every
    chunk into one long transaction and hold SQLite's single writer for seconds.
    """
    handler.own_transactions = True  # type: ignore[attr-defined]
    return handler
