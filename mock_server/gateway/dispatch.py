"""Run one routed operation: authorize, force, parse, replay, call the handler, validate the reply.

This is a Connexion ``RoutedMiddleware``: Connexion's router has already put the operationId on the
scope, and Connexion's resolver has already turned that operationId into our handler function at
start-up (a missing handler fails start-up). Everything per-operation is precomputed in an
:class:`~mock_server.gateway.plan.OperationPlan`; per request we only parse, validate and call.
"""

from __future__ import annotations

import hashlib
import inspect
import logging
from collections.abc import Callable
from typing import Any

import orjson
from connexion.middleware.abstract import RoutedAPI, RoutedMiddleware
from connexion.operations import AbstractOperation
from starlette.types import ASGIApp, Receive, Scope, Send

from mock_server.auth.principals import CHALLENGE
from mock_server.context import ApiRequest, RawJSON, Reply, Services
from mock_server.errors import ApiError, render
from mock_server.gateway import body as body_mod
from mock_server.gateway import params as params_mod
from mock_server.gateway import temporal
from mock_server.gateway.idempotency import (
    IdempotencyStore,
    IdempotentRequest,
    StoredResponse,
    canonical_body,
    fingerprint,
    without_fields,
)
from mock_server.gateway.plan import JSON_TYPES, OperationPlan, build_plan
from mock_server.gateway.prefer import forced_reply, parse_prefer, retry_after_in
from mock_server.middleware.state import RequestState
from mock_server.storage.page_reads import LoopReader, WouldBlock, loop_reads

log = logging.getLogger("care_sandbox.gateway")

_BODY_METHODS = {"POST", "PUT", "PATCH"}
VALID_BODIES_KEPT = 1024  # per operation: digests of response bodies already validated


def required_scopes(plan: OperationPlan) -> frozenset[str]:
    """Scopes a credential must carry. API keys are held to the same scopes as OAuth tokens: the
    contract lists them on the OAuth2 requirement, and a narrower key must not read more than a
    narrower token would."""
    needed: set[str] = set()
    for alternative in plan.scope_alternatives:
        needed |= alternative
    return frozenset(needed)


class OperationRunner:
    def __init__(
        self,
        plan: OperationPlan,
        handler: Callable[[ApiRequest], Any],
        services: Services,
        idempotency: IdempotencyStore,
        loop_reader: LoopReader | None = None,
    ) -> None:
        self.plan = plan
        self.handler = handler
        self.is_async = inspect.iscoroutinefunction(handler)
        if self.is_async and plan.idempotent_post:
            # a keyed call commits the key with the handler's writes in one unit of work on the pool,
            # which only a plain handler can join
            raise TypeError(f"{plan.operation_id} takes an Idempotency-Key: its handler must be a plain def")
        self.own_transactions = bool(getattr(handler, "own_transactions", False))
        # handlers whose work is one bounded read run on the event loop first (see blocking.loop_first)
        self.loop_reader = loop_reader if getattr(handler, "loop_first", False) else None
        self.services = services
        self.idempotency = idempotency
        self.scopes = required_scopes(plan)
        self.validate_responses = services.settings.validate_responses
        self._valid_bodies: dict[tuple[int, str, bytes], None] = {}
        self.max_body = services.settings.max_body_bytes
        self.max_depth = services.settings.max_body_depth

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        state: RequestState = scope["care"]
        state.operation_id = self.plan.operation_id
        reply = await self._reply(scope, receive, state)
        await self._send(reply, state, send)

    def _authorize(self, state: RequestState) -> None:
        if self.plan.public:
            return
        principal = state.principal
        if principal is None:
            raise state.auth_error or ApiError(
                401,
                "invalid_api_key",
                "authentication required: send X-API-Key or Authorization: Bearer <token>",
                headers=dict(CHALLENGE),
            )
        missing = self.scopes - principal.scopes
        if missing:
            raise ApiError(
                403,
                "insufficient_scope",
                f"this credential lacks the scope{'s' if len(missing) > 1 else ''} "
                f"{', '.join(sorted(missing))}",
                {"required": sorted(self.scopes), "granted": sorted(principal.scopes)},
            )

    async def _reply(self, scope: Scope, receive: Receive, state: RequestState) -> Reply:
        plan = self.plan
        self._authorize(state)
        prefer = parse_prefer(state.headers.get("prefer"))
        forced = forced_reply(plan, prefer, state.request_id)
        if forced is not None:
            return forced
        params = params_mod.parse_path(plan, scope.get("path_params", {}))
        strict = prefer.get("handling") == "strict"
        params.update(params_mod.parse_query(plan, scope.get("query_string", b""), strict=strict))
        params.update(params_mod.parse_headers(plan, state.headers))
        raw = b""
        if plan.method in _BODY_METHODS or plan.body_media_types:
            raw = await body_mod.read_body(receive, self.max_body, state.headers.get("content-length"))
        parsed = body_mod.decode_body(plan, raw, state.headers.get("content-type"), self.max_depth)
        temporal.check_query(plan.query_date_times, params)
        temporal.check_body(plan.body_date_times, parsed)
        request = ApiRequest(
            operation_id=plan.operation_id,
            params=params,
            body=parsed,
            principal=state.principal,
            services=self.services,
            request_id=state.request_id,
            headers=state.headers,
            base_url=state.base_url,
            method=plan.method,
            path=scope["path"],
        )
        key = params.get("Idempotency-Key") if plan.idempotent_post else None
        if key is None or state.principal is None:
            return await self._call(request)
        keyed = IdempotentRequest(
            state.principal.workspace_id,
            key,
            plan.method,
            scope["path"],
            fingerprint(plan.method, scope["path"], scope.get("query_string", b""), canonical_body(parsed)),
        )
        # a replay answers with the original response, so it keeps the original request id: the
        # envelope's request_id and the X-Request-Id header must agree
        replayed_id = {"X-Request-Id": state.request_id}
        try:
            if self.own_transactions:
                return await self.services.controls.run(self._keyed_separately, request, keyed, replayed_id)
            # claim, handler and record in one unit of work on the thread pool: opening it here
            # would check a connection out on the event loop, which blocks the whole process once
            # the pool is empty (the connections' holders need the loop to finish)
            return await self.services.blocking.run(self._keyed_in_one_unit, request, keyed, replayed_id)
        except _Refused as wrapped:  # remember the refusal, so a retry gets the same answer
            await self._remember_refusal(keyed, wrapped.error, state, scope, replayed_id)
            raise wrapped.error from None

    async def _remember_refusal(
        self,
        keyed: IdempotentRequest,
        error: ApiError,
        state: RequestState,
        scope: Scope,
        ids: dict[str, str],
    ) -> None:
        body, body_media = render(error, state.request_id, scope["path"])
        headers = {**error.headers, "Content-Type": body_media, **ids}
        await self.services.blocking.run(
            self.idempotency.record_failure, keyed, StoredResponse(error.status, headers, body)
        )

    def _keyed_in_one_unit(self, request: ApiRequest, keyed: IdempotentRequest, ids: dict[str, str]) -> Reply:
        """A keyed call of a sync handler, on the thread pool: the key is claimed, the handler runs
        and its response is stored in one unit of work, so the key commits with the write."""
        with self.services.storage.unit_of_work() as conn:
            stored = self.idempotency.claim(conn, keyed)
            if stored is not None:
                return _replay(stored)
            try:
                reply = self._call_sync(request)  # joins this unit of work
            except ApiError as error:
                raise _Refused(error) from error  # rolls the unit back: no partial write
            data, media = self._encode(reply)
            headers = {**reply.headers, "Content-Type": media, **ids}
            kept = _kept(reply, headers, data)
            if kept is not None:
                self.idempotency.record(conn, keyed, kept)
        return _final(reply, data, media)

    def _keyed_separately(self, request: ApiRequest, keyed: IdempotentRequest, ids: dict[str, str]) -> Reply:
        """A keyed call of an ``own_transactions`` handler: claim, run, record — each committed alone.

        Its chunks cannot share one transaction with the key (that is the point of chunking), so a
        crash mid-request leaves no stored response and a retry runs again; the handlers that do this
        (clock advance, reset) are written to resume, not to repeat, what an interrupted run began.
        """
        storage = self.services.storage
        with storage.unit_of_work() as conn:
            stored = self.idempotency.claim(conn, keyed)
        if stored is not None:
            return _replay(stored)
        try:
            reply = self._result(self.handler(request))
        except ApiError as error:
            raise _Refused(error) from error
        data, media = self._encode(reply)
        headers = {**reply.headers, "Content-Type": media, **ids}
        kept = _kept(reply, headers, data)
        if kept is not None:
            with storage.unit_of_work() as conn:
                self.idempotency.record(conn, keyed, kept)
        return _final(reply, data, media)

    async def _call(self, request: ApiRequest) -> Reply:
        """Run the handler: an async one here, a plain (sync) one on the bounded thread pool.

        Why the pool: a sync handler called on the event loop holds every other request — another
        workspace's, ``/healthz`` — until it returns. Why one unit of work per sync handler: one pooled
        connection per request instead of one per repository call (each checkout costs a pre-ping
        round trip on PostgreSQL), and a request's writes commit together or not at all. Handlers
        marked ``own_transactions`` commit in chunks themselves, and wait on a pool of their own
        (``services.controls``): eight workspaces advancing at once must not take all eight threads.
        Async handlers (health, the PDF) get no unit of work: they hold no connection on the loop, and
        send any database work to a pool themselves.
        Handlers marked ``loop_first`` are one bounded read: tried here first (``storage.page_reads``).
        """
        if self.is_async:
            return self._result(await self.handler(request))
        if self.loop_reader is not None:
            try:
                with loop_reads(self.loop_reader):
                    return self._result(self.handler(request))
            except WouldBlock:
                pass  # over its time budget, or the database was busy: the pool runs it again
        pool = self.services.controls if self.own_transactions else self.services.blocking
        return await pool.run(self._call_sync, request)

    def _call_sync(self, request: ApiRequest) -> Reply:
        if self.own_transactions:
            return self._result(self.handler(request))
        with self.services.storage.unit_of_work():
            return self._result(self.handler(request))

    @staticmethod
    def _result(result: Any) -> Reply:
        return result if isinstance(result, Reply) else Reply(200, result)

    def _encode(self, reply: Reply) -> tuple[bytes, str]:
        media = reply.media_type or reply.headers.pop("Content-Type", None) or self.plan.default_media_type
        body = reply.body
        if body is None:
            return b"", media
        if isinstance(body, RawJSON):
            return body.data, media
        if isinstance(body, bytes):
            return body, media
        if isinstance(body, str) and not media.endswith("json"):
            return body.encode(), media
        return orjson.dumps(body), media

    def _check_contract(self, status: int, media: str, data: bytes, headers: dict[str, Any]) -> None:
        """The reply keeps the contract: a documented status, its required headers with valid values,
        a documented media type, and a body of that type (schema-valid JSON, a real PDF, UTF-8 text)."""
        response = self.plan.responses.get(status)
        if response is None:
            self._violation(f"status {status} is not documented", [])
            return
        if response.required_headers:
            sent = {name.lower(): str(value) for name, value in headers.items()}
            for header in response.required_headers:
                raw = sent.get(header.name.lower())
                if raw is None:
                    self._violation(f"{status} lacks the required header {header.name}", [])
                elif not header.accepts(raw):
                    self._violation(f"{status} header {header.name}: {raw!r} does not match the contract", [])
            wait = sent.get("retry-after")
            if wait is not None and data and media.endswith("json"):
                stated = retry_after_in(orjson.loads(data))
                if stated is not None and str(stated) != wait:
                    self._violation(f"{status} says Retry-After {wait} but its body says {stated}", [])
        if not data:
            if response.media_types:
                self._violation(
                    f"{status} has an empty body; documented: {', '.join(response.media_types)}", []
                )
            return
        base = media.split(";", 1)[0].strip().lower()
        if base not in response.media_types:
            documented = ", ".join(response.media_types) or "no body"
            self._violation(f"{status} is sent as {base}; documented: {documented}", [])
        validator = response.validators.get(base)
        if validator is None:
            self._check_bytes(status, base, data)
            return
        # validation is a pure function of (status, media type, bytes): a body already found valid is
        # not parsed and validated again (polled pages repeat; a 16-byte digest costs ~1/10 of that)
        seen = (status, media, hashlib.blake2b(data, digest_size=16).digest())
        if seen in self._valid_bodies:
            return
        instance = orjson.loads(data)
        if not validator.is_valid(instance):
            violations = [
                {"path": "/" + "/".join(str(p) for p in e.instance_path), "message": e.message}
                for _, e in zip(range(5), validator.iter_errors(instance), strict=False)
            ]
            self._violation(f"{status} body does not match the contract", violations)
        if len(self._valid_bodies) >= VALID_BODIES_KEPT:
            del self._valid_bodies[next(iter(self._valid_bodies))]  # the oldest first
        self._valid_bodies[seen] = None

    def _check_bytes(self, status: int, media: str, data: bytes) -> None:
        """Non-JSON bodies: what a client opening them relies on (a PDF reader, a text decoder)."""
        if media == "application/pdf":
            if not data.startswith(b"%PDF-") or b"%%EOF" not in data[-1024:]:
                self._violation(f"{status} application/pdf body is not a PDF document", [])
        elif media.startswith("text/"):
            try:
                data.decode("utf-8")
            except UnicodeDecodeError:
                self._violation(f"{status} {media} body is not UTF-8 text", [])

    def _violation(self, what: str, violations: list[dict[str, str]]) -> None:
        log.error("contract violation in %s: %s %s", self.plan.operation_id, what, violations)
        raise ApiError(
            500,
            "internal_error",
            f"the sandbox produced a response that violates its own contract ({what})",
            {"operation": self.plan.operation_id, "violations": violations},
        )

    async def _send(self, reply: Reply, state: RequestState, send: Send) -> None:
        data, media = self._encode(reply)
        if self.validate_responses:
            self._check_contract(reply.status, media, data, reply.headers)
        headers = [(b"content-length", str(len(data)).encode())]
        if reply.body is not None:
            headers.append((b"content-type", media.encode("latin-1")))
        headers.extend(
            (k.lower().encode("latin-1"), str(v).encode("latin-1")) for k, v in reply.headers.items()
        )
        await send({"type": "http.response.start", "status": reply.status, "headers": headers})
        await send({"type": "http.response.body", "body": data})


class _Refused(Exception):
    """An ``ApiError`` raised by the handler of a keyed call on the thread pool, carried out of it."""

    def __init__(self, error: ApiError) -> None:
        super().__init__(error.message)
        self.error = error


def _replay(stored: StoredResponse) -> Reply:
    return Reply(stored.status, RawJSON(stored.body), {**stored.headers, "Idempotent-Replayed": "true"})


def _kept(reply: Reply, headers: dict[str, str], data: bytes) -> StoredResponse | None:
    """What an Idempotency-Key stores for replay: the response without its secrets, or nothing at all
    for a response that must never be replayed (see ``gateway.idempotency``)."""
    if not reply.replayable:
        return None
    return StoredResponse(reply.status, headers, without_fields(data, reply.secret_fields))


def _final(reply: Reply, data: bytes, media: str) -> Reply:
    """The reply as stored under its key: already encoded, so it is sent byte for byte."""
    return Reply(reply.status, RawJSON(data) if media in JSON_TYPES else data, reply.headers, media)


class _GatewayAPI(RoutedAPI[OperationRunner]):
    def __init__(self, *args: Any, services: Services, idempotency: IdempotencyStore, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.services = services
        self.idempotency = idempotency
        self.loop_reader = LoopReader.open(services.storage)
        self.add_paths()

    def make_operation(self, operation: AbstractOperation) -> OperationRunner:
        spec = self.specification
        path_item = spec["paths"][operation.path]
        plan = build_plan(operation.method, operation.path, path_item[operation.method], spec.spec, path_item)
        return OperationRunner(plan, operation.function, self.services, self.idempotency, self.loop_reader)


class GatewayMiddleware(RoutedMiddleware[_GatewayAPI]):
    """The innermost Connexion layer: one :class:`OperationRunner` per operationId."""

    api_cls = _GatewayAPI

    def __init__(self, app: ASGIApp) -> None:
        super().__init__(app)

    def runners(self) -> list[OperationRunner]:
        return [op for apis in self.apis.values() for api in apis for op in api.operations.values()]
