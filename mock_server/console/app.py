"""The console as an ASGI layer: ``/console`` paths are served here, everything else passes through.

It sits outermost, so the API stack below it (``self.app``) is exactly what an integrator calls; the
console's own API calls (``InProcessApi``) enter that stack too, flagged so the request log skips them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from importlib import resources
from typing import Any

from starlette.middleware.exceptions import ExceptionMiddleware
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route, Router
from starlette.types import ASGIApp, Receive, Scope, Send

from mock_server.console.api import InProcessApi
from mock_server.console.views import Console
from mock_server.console.vocabulary import Vocabulary

STATIC = {"console.css": "text/css; charset=utf-8", "console.js": "text/javascript; charset=utf-8"}


class ConsoleMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        document: dict[str, Any],
        resolve_key: Callable[[str], Any],
        describe_workspace: Callable[[str], dict[str, Any]],
    ) -> None:
        self.app = app
        self.console = Console(
            InProcessApi(app),
            Vocabulary.from_contract(document),
            resolve_key=resolve_key,
            describe_workspace=describe_workspace,
        )
        self.static = {
            name: (resources.files("mock_server.console").joinpath("static", name).read_bytes(), media)
            for name, media in STATIC.items()
        }
        # the router raises HTTPException for an unknown path or method when mounted under an app (the
        # scope carries one); answered here as 404/405 rather than escaping as a 500
        self.router = ExceptionMiddleware(Router(routes=self._routes()))

    def _routes(self) -> list[Route]:
        c = self.console
        signed: list[tuple[str, Callable[[Request, str], Awaitable[Response]], str]] = [
            ("/console/patients", c.patients, "GET"),
            ("/console/patients", c.create_patient, "POST"),
            ("/console/link-requests/{request_id}/accept", c.accept, "POST"),
            ("/console/link-requests/{request_id}/decline", c.decline, "POST"),
            ("/console/patients/{patient_id}/revoke", c.revoke, "POST"),
            ("/console/patients/{patient_id}/check-in", c.check_in, "POST"),
            ("/console/events", c.events, "GET"),
            ("/console/events/{event_id}", c.event, "GET"),
            ("/console/events/{event_id}/resend", c.resend, "POST"),
            ("/console/webhooks", c.webhooks, "GET"),
            ("/console/webhooks", c.create_webhook, "POST"),
            ("/console/webhooks/{webhook_id}/enabled", c.toggle_webhook, "POST"),
            ("/console/webhooks/{webhook_id}/rotate", c.rotate_webhook, "POST"),
            ("/console/webhooks/{webhook_id}/test", c.test_webhook, "POST"),
            ("/console/requests", c.requests, "GET"),
            ("/console/requests/{request_id}", c.request_detail, "GET"),
            ("/console/clock", c.clock, "GET"),
            ("/console/clock/advance", c.advance, "POST"),
            ("/console/clock/reset", c.reset, "POST"),
            ("/console/sign-out", c.sign_out, "POST"),
        ]
        routes = [
            Route("/console", self._home, methods=["GET"]),
            Route("/console/", self._home, methods=["GET"]),
            Route("/console/sign-in", c.sign_in_page, methods=["GET"]),
            Route("/console/sign-in", c.sign_in, methods=["POST"]),
            Route("/console/static/{name}", self._static, methods=["GET"]),
        ]
        routes += [Route(path, self._signed(view), methods=[method]) for path, view, method in signed]
        return routes

    def _signed(
        self, view: Callable[[Request, str], Awaitable[Response]]
    ) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            key = self.console.signed_in_key(request)
            if key is None:
                return RedirectResponse("/console/sign-in", status_code=303)
            # every form a signed-in page posts carries the session's CSRF token; the view reads the
            # same (cached) body again
            if request.method == "POST" and await self.console.checked(request, key) is None:
                return Response("CSRF token missing or wrong", status_code=403)
            return await view(request, key)

        return endpoint

    async def _home(self, request: Request) -> Response:
        signed = self.console.signed_in_key(request) is not None
        return RedirectResponse("/console/patients" if signed else "/console/sign-in", status_code=303)

    async def _static(self, request: Request) -> Response:
        found = self.static.get(request.path_params["name"])
        if found is None:
            return Response("not found", status_code=404)
        return Response(found[0], media_type=found[1], headers={"Cache-Control": "max-age=300"})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and (scope["path"] == "/console" or scope["path"].startswith("/console/")):
            await self.router(scope, receive, send)
            return
        await self.app(scope, receive, send)
