"""The console's pages and actions. Each reads or changes state only through the API (``InProcessApi``).

Pages are plain GETs; actions are CSRF-checked form POSTs that call one API operation and redirect
back (Post/Redirect/Get) with a flash message in the query string. ``?partial=1`` returns only a
page's live region, which ``console.js`` polls to show new events and requests without a reload;
only the first page of a list is live (a later page would shift under the reader as rows arrive).
Lists page with the API's ``page`` and ``total``; their Previous/Next links keep the filters.
"""

from __future__ import annotations

import asyncio
import json
import shlex
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode

import jinja2
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from mock_server.console import session
from mock_server.console.api import ApiAnswer, InProcessApi
from mock_server.console.vocabulary import SCOPE_WORDS, Vocabulary, label
from mock_server.timeutil import iso

Page = Callable[[Request, str], Awaitable[Response]]

PENDING_SHOWN = 100  # pending link requests listed above the patients (the newest; the API's largest page)
PER_PAGE = 50  # a console list's page unless the query string asks for another ``per_page``


class Console:
    def __init__(
        self,
        api: InProcessApi,
        vocabulary: Vocabulary,
        *,
        resolve_key: Callable[[str], Any],
        describe_workspace: Callable[[str], dict[str, Any]],
    ) -> None:
        self.api = api
        self.vocabulary = vocabulary
        self.resolve_key = resolve_key  # API key -> Principal | None (the edge's own resolver)
        self.describe_workspace = describe_workspace  # workspace id -> name, tier, keys, clients
        self.templates = jinja2.Environment(
            loader=jinja2.PackageLoader("mock_server.console", "templates"),
            autoescape=jinja2.select_autoescape(["html"]),
            undefined=jinja2.StrictUndefined,
        )
        self.templates.filters["label"] = label
        self.templates.filters["pretty"] = _pretty
        self.templates.filters["epoch"] = _epoch
        self.templates.globals["page_url"] = page_url

    # ------------------------------------------------------------------ plumbing

    def render(self, request: Request, name: str, key: str | None, **context: Any) -> HTMLResponse:
        template = self.templates.get_template(name)
        html = template.render(
            request=request,
            csrf=session.csrf_token(key) if key else "",
            flash=request.query_params.get("flash"),
            flash_error=request.query_params.get("error"),
            signed_in=key is not None,
            vocab=self.vocabulary,
            scope_words=SCOPE_WORDS,
            partial=request.query_params.get("partial") == "1",
            **context,
        )
        return HTMLResponse(
            html,
            headers={
                "Cache-Control": "no-store",
                "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'",
                "X-Content-Type-Options": "nosniff",
                "Referrer-Policy": "same-origin",
            },
        )

    def signed_in_key(self, request: Request) -> str | None:
        key = request.cookies.get(session.COOKIE)
        return key if key and self.resolve_key(key) is not None else None

    @staticmethod
    def back(path: str, *, flash: str | None = None, error: str | None = None) -> RedirectResponse:
        query = urlencode({k: v for k, v in (("flash", flash), ("error", error)) if v})
        return RedirectResponse(
            f"{path}{'&' if '?' in path else '?'}{query}" if query else path, status_code=303
        )

    def missing(
        self, request: Request, key: str, answer: ApiAnswer, what: str, ident: str, listing: str
    ) -> Response:
        """A detail page the API did not answer: 404 for an id it does not know or refuses by pattern
        (400), else back to the list with the API's error (a scope the key lacks, a rate limit)."""
        if answer.status in (400, 404):
            page = self.render(request, "missing.html", key, what=what, ident=ident)
            page.status_code = 404
            return page
        return self.back(listing, error=answer.error)

    def outcome(self, answer: ApiAnswer, path: str, done: str) -> RedirectResponse:
        return self.back(path, flash=done) if answer.ok else self.back(path, error=answer.error)

    async def form(self, request: Request) -> dict[str, list[str]]:
        raw = (await request.body()).decode("utf-8", "replace")
        fields: dict[str, list[str]] = {}
        for name, value in parse_qsl(raw, keep_blank_values=True):
            fields.setdefault(name, []).append(value)
        return fields

    async def checked(self, request: Request, key: str) -> dict[str, list[str]] | None:
        """The posted form if its CSRF token matches the session, else None. Every signed-in POST is
        checked once, where it is routed (``ConsoleMiddleware._signed``), before its view runs."""
        fields = await self.form(request)
        return fields if session.csrf_ok(key, (fields.get(session.CSRF_FIELD) or [""])[0]) else None

    # ------------------------------------------------------------------ sign in / out

    def sign_in_form(self, request: Request, *, status: int = 200, problem: str | None = None) -> Response:
        """The sign-in page, its form bound to the pre-session cookie (set here when the browser has
        none): the sign-in POST is refused unless it carries both (login CSRF, see ``session``)."""
        cookie = request.cookies.get(session.PRE_COOKIE)
        token = session.sign_in_token(cookie)
        page = self.render(request, "sign_in.html", None, problem=problem, sign_in_token=token)
        page.status_code = status
        if token != cookie:
            page.headers.append(
                "Set-Cookie", session.pre_cookie_header(token, secure=request.url.scheme == "https")
            )
        return page

    async def sign_in_page(self, request: Request) -> Response:
        return self.sign_in_form(request)

    async def sign_in(self, request: Request) -> Response:
        fields = await self.form(request)
        sent = (fields.get(session.CSRF_FIELD) or [""])[0]
        if not session.sign_in_ok(request.cookies.get(session.PRE_COOKIE), sent):
            # a form posted from another site, or one older than its cookie: nothing is signed in
            return self.sign_in_form(request, status=403, problem="forged")
        key = (fields.get("api_key") or [""])[0].strip()
        if not key or self.resolve_key(key) is None:
            return self.sign_in_form(request, status=401, problem="key")
        secure = request.url.scheme == "https"
        response = RedirectResponse("/console/patients", status_code=303)
        response.headers.append("Set-Cookie", session.cookie_header(key, secure=secure))
        response.headers.append("Set-Cookie", session.clear_pre_cookie_header())
        return response

    async def sign_out(self, request: Request, key: str) -> Response:
        response = RedirectResponse("/console/sign-in?flash=Signed+out", status_code=303)
        response.headers["Set-Cookie"] = session.clear_cookie_header()
        return response

    # ------------------------------------------------------------------ patients: the patient's phone

    async def patients(self, request: Request, key: str) -> Response:
        """Every sandbox patient with its consent state, and what the patient can do in that state: a
        pending request's consent card (Accept/Decline), a consented patient's check-in form and
        Revoke, or how to ask for consent. Pending requests of patients on other pages show above."""
        filters, page = _listing(request, "consent")
        listing = await self.api.call("GET", "/v1/sandbox/patients", key, query=_api_query(filters, page))
        # the consent cards' words (message, scopes, expiry) are the link requests'
        pending = await self.api.call(
            "GET", "/v1/link-requests", key, query={"status": "pending", "per_page": PENDING_SHOWN}
        )
        # a key without sandbox:manage or patients:read (or rate-limited) is told why, not shown a 500
        refused = list(dict.fromkeys(a.error for a in (listing, pending) if not a.ok))
        rows = listing.body["data"] if listing.ok else []
        requests = {lr["request_id"]: lr for lr in (pending.body["data"] if pending.ok else [])}
        shown = {p["consent"]["link_request_id"] for p in rows}
        if pending.ok:
            # requests of this page's patients older than the newest PENDING_SHOWN: read one by one,
            # or their cards would lose their words (only in a workspace with that many pending)
            older = [rid for rid in shown if rid and rid not in requests]
            answers = await asyncio.gather(
                *(self.api.call("GET", f"/v1/link-requests/{quote(rid)}", key) for rid in older)
            )
            requests.update((a.body["request_id"], a.body) for a in answers if a.ok)
        workspace = self.describe_workspace(self.resolve_key(key).workspace_id)
        return self.render(
            request,
            "patients.html",
            key,
            clinic=workspace["name"],
            patients=rows,
            pagination=listing.body["pagination"] if listing.ok else None,
            filters=filters,
            requests=requests,
            elsewhere=[lr for rid, lr in requests.items() if rid not in shown],
            pending_total=pending.body["pagination"]["total"] if pending.ok else 0,
            pending_shown=PENDING_SHOWN,
            refused=refused,
        )

    async def accept(self, request: Request, key: str) -> Response:
        lr = request.path_params["request_id"]
        answer = await self.api.call("POST", f"/v1/sandbox/link-requests/{quote(lr)}/accept", key)
        return self.outcome(answer, "/console/patients", "Accepted: consent granted")

    async def decline(self, request: Request, key: str) -> Response:
        lr = request.path_params["request_id"]
        answer = await self.api.call("POST", f"/v1/sandbox/link-requests/{quote(lr)}/decline", key)
        return self.outcome(answer, "/console/patients", "Declined")

    async def revoke(self, request: Request, key: str) -> Response:
        patient = request.path_params["patient_id"]
        answer = await self.api.call("POST", f"/v1/sandbox/patients/{quote(patient)}/revoke", key)
        return self.outcome(answer, "/console/patients", "Consent revoked")

    async def check_in(self, request: Request, key: str) -> Response:
        fields = await self.form(request)
        patient = request.path_params["patient_id"]
        try:
            level = int((fields.get("pain_level") or [""])[0])
        except ValueError:
            return self.back("/console/patients", error="pain level must be a whole number from 0 to 10")
        areas = [a for a in fields.get("areas", []) if a in self.vocabulary.body_areas]
        if not areas:
            return self.back("/console/patients", error="choose at least one body area")
        body: dict[str, Any] = {
            "pain_level": level,
            "areas": [{"id": a, "max_intensity": level} for a in areas[:6]],
            "qualities": [
                q for q in dict.fromkeys(fields.get("qualities", [])) if q in self.vocabulary.qualities
            ][:8],
        }
        note = (fields.get("notes") or [""])[0].strip()
        if note:
            body["notes"] = note
        answer = await self.api.call(
            "POST", f"/v1/sandbox/patients/{quote(patient)}/pain-entries", key, json=body
        )
        return self.outcome(answer, "/console/patients", "Check-in saved: pain_entry.created fired")

    async def create_patient(self, request: Request, key: str) -> Response:
        fields = await self.form(request)
        body: dict[str, Any] = {}
        for name in ("condition", "baseline_severity", "locale"):
            value = (fields.get(name) or [""])[0].strip()
            if value:
                body[name] = value
        days = (fields.get("history_days") or [""])[0].strip()
        if days:
            if not days.isdigit():
                return self.back("/console/patients", error="history days must be a whole number")
            body["history_days"] = int(days)
        answer = await self.api.call("POST", "/v1/sandbox/patients", key, json=body)
        done = f"Patient created: {answer.body['email']}" if answer.ok else ""
        return self.outcome(answer, "/console/patients", done)

    # ------------------------------------------------------------------ events

    async def events(self, request: Request, key: str) -> Response:
        filters, page = _listing(request, "type", "patient_id")
        answer = await self.api.call("GET", "/v1/events", key, query=_api_query(filters, page))
        template = "events_live.html" if request.query_params.get("partial") == "1" else "events.html"
        return self.render(request, template, key, answer=answer, filters=filters, live=_first(page))

    async def event(self, request: Request, key: str) -> Response:
        event_id = request.path_params["event_id"]
        answer = await self.api.call("GET", f"/v1/events/{quote(event_id)}", key)
        if not answer.ok:
            return self.missing(request, key, answer, "event", event_id, "/console/events")
        return self.render(request, "event.html", key, answer=answer, event=answer.body)

    async def resend(self, request: Request, key: str) -> Response:
        fields = await self.form(request)
        event_id = request.path_params["event_id"]
        webhook_id = (fields.get("webhook_id") or [""])[0]
        delivery_id = (fields.get("delivery_id") or [""])[0]
        path = f"/v1/webhooks/{quote(webhook_id)}/deliveries/{quote(delivery_id)}/redeliver"
        answer = await self.api.call("POST", path, key)
        return self.outcome(
            answer, f"/console/events/{quote(event_id)}", "Resent: same webhook-id, new delivery"
        )

    # ------------------------------------------------------------------ webhooks

    async def webhooks(self, request: Request, key: str) -> Response:
        answer = await self.api.call("GET", "/v1/webhooks", key, query={"per_page": 100})
        endpoints = []
        for endpoint in answer.body["data"] if answer.ok else []:
            failed = await self.api.call(
                "GET",
                f"/v1/webhooks/{endpoint['id']}/deliveries",
                key,
                query={"status": "failed", "per_page": 1},
            )
            endpoints.append(
                {**endpoint, "failures": failed.body["pagination"]["total"] if failed.ok else None}
            )
        return self.render(
            request, "webhooks.html", key, endpoints=endpoints, answer=answer, secret=None, secret_for=None
        )

    async def create_webhook(self, request: Request, key: str) -> Response:
        fields = await self.form(request)
        # none ticked means every event; the contract has no wildcard, so they are listed (webhook.test
        # left out: the test operation sends it to its one endpoint whatever that endpoint subscribes to)
        events = fields.get("events") or [t for t in self.vocabulary.event_types if t != "webhook.test"]
        body: dict[str, Any] = {"url": (fields.get("url") or [""])[0].strip(), "events": events}
        description = (fields.get("description") or [""])[0].strip()
        if description:
            body["description"] = description
        answer = await self.api.call("POST", "/v1/webhooks", key, json=body)
        if not answer.ok:
            return self.back("/console/webhooks", error=answer.error)
        return await self._show_secret(
            request, key, answer.body["id"], answer.body["secret"], "Endpoint created"
        )

    async def _show_secret(
        self, request: Request, key: str, endpoint_id: str, secret: str, done: str
    ) -> Response:
        """The secret is shown once, in this response only (never in a URL, never stored by the console)."""
        answer = await self.api.call("GET", "/v1/webhooks", key, query={"per_page": 100})
        endpoints = [{**e, "failures": None} for e in answer.body["data"]]
        return self.render(
            request,
            "webhooks.html",
            key,
            endpoints=endpoints,
            answer=answer,
            secret=secret,
            secret_for=endpoint_id,
            done=done,
        )

    async def toggle_webhook(self, request: Request, key: str) -> Response:
        fields = await self.form(request)
        enabled = (fields.get("enabled") or [""])[0] == "true"
        webhook_id = request.path_params["webhook_id"]
        answer = await self.api.call(
            "PATCH", f"/v1/webhooks/{quote(webhook_id)}", key, json={"enabled": enabled}
        )
        return self.outcome(answer, "/console/webhooks", "Enabled" if enabled else "Disabled")

    async def rotate_webhook(self, request: Request, key: str) -> Response:
        webhook_id = request.path_params["webhook_id"]
        answer = await self.api.call("POST", f"/v1/webhooks/{quote(webhook_id)}/rotate-secret", key, json={})
        if not answer.ok:
            return self.back("/console/webhooks", error=answer.error)
        return await self._show_secret(request, key, webhook_id, answer.body["secret"], "Secret rotated")

    async def test_webhook(self, request: Request, key: str) -> Response:
        webhook_id = request.path_params["webhook_id"]
        answer = await self.api.call("POST", f"/v1/webhooks/{quote(webhook_id)}/test", key)
        done = f"Test event {answer.body['event_id']} sent" if answer.ok else ""
        return self.outcome(answer, "/console/webhooks", done)

    # ------------------------------------------------------------------ request log

    async def requests(self, request: Request, key: str) -> Response:
        filters, page = _listing(request, "status", "error_code", "operation")
        answer = await self.api.call("GET", "/v1/sandbox/requests", key, query=_api_query(filters, page))
        template = "requests_live.html" if request.query_params.get("partial") == "1" else "requests.html"
        return self.render(request, template, key, answer=answer, filters=filters, live=_first(page))

    async def request_detail(self, request: Request, key: str) -> Response:
        request_id = request.path_params["request_id"]
        answer = await self.api.call("GET", f"/v1/sandbox/requests/{quote(request_id)}", key)
        if not answer.ok:
            return self.missing(request, key, answer, "request", request_id, "/console/requests")
        entry = answer.body
        return self.render(
            request, "request.html", key, entry=entry, curl=_curl(entry, str(request.base_url))
        )

    # ------------------------------------------------------------------ clock and workspace

    async def clock(self, request: Request, key: str) -> Response:
        clock = await self.api.call("GET", "/v1/sandbox/clock", key)
        principal = self.resolve_key(key)
        workspace = self.describe_workspace(principal.workspace_id)
        limits = {h: clock.headers.get(f"x-ratelimit-{h}") for h in ("limit", "remaining", "reset")}
        return self.render(
            request,
            "clock.html",
            key,
            clock=clock.body if clock.ok else None,
            refused=[] if clock.ok else [clock.error],
            workspace=workspace,
            limits=limits,
        )

    async def advance(self, request: Request, key: str) -> Response:
        fields = await self.form(request)
        try:
            amount = int((fields.get("amount") or ["0"])[0])
        except ValueError:
            return self.back("/console/clock", error="the amount must be a whole number")
        unit = (fields.get("unit") or ["hours"])[0]
        if unit not in ("hours", "days"):
            return self.back("/console/clock", error="the unit must be hours or days")
        body = {"days": amount} if unit == "days" else {"hours": amount}
        answer = await self.api.call("POST", "/v1/sandbox/clock/advance", key, json=body)
        return self.outcome(answer, "/console/clock", f"Clock advanced by {amount} {unit}")

    async def reset(self, request: Request, key: str) -> Response:
        answer = await self.api.call("POST", "/v1/sandbox/reset", key)
        return self.outcome(answer, "/console/clock", "Workspace reset to its seeded state")


def _listing(request: Request, *names: str) -> tuple[dict[str, str | None], str | None]:
    """A list page's filters as its query string gives them (``per_page`` too, unset ones None), and
    the page asked for. Both go to the API as they are: it refuses a bad one (400, shown on the page)."""
    filters = {name: request.query_params.get(name) for name in (*names, "per_page")}
    return filters, request.query_params.get("page")


def _api_query(filters: dict[str, str | None], page: str | None) -> dict[str, str | int | None]:
    return {**filters, "per_page": filters["per_page"] or PER_PAGE, "page": page}


def _first(page: str | None) -> bool:
    """Whether the list shows its first page, the only one kept live."""
    return page in (None, "", "1")


def page_url(path: str, filters: dict[str, Any], page: int) -> str:
    """The list at ``path`` on ``page`` with the same filters (page 1 is the list's plain, live URL)."""
    query = {k: v for k, v in filters.items() if v not in (None, "")}
    if page > 1:
        query["page"] = page
    return f"{path}?{urlencode(query)}" if query else path


def _epoch(value: Any) -> str:
    """Unix seconds (the X-RateLimit-Reset header) as the API's timestamp form."""
    try:
        return iso(datetime.fromtimestamp(int(value), UTC))
    except (TypeError, ValueError):
        return "—"


def _pretty(value: Any) -> str:
    """JSON (or JSON text) indented for reading; any other text unchanged."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return str(value)
    return json.dumps(value, indent=2, ensure_ascii=False)


def _curl(entry: dict[str, Any], console_base: str) -> str:
    """A copyable curl line that repeats the logged request (the key as a shell variable, never inline)."""
    base = console_base.rstrip("/").removesuffix("/console")
    url = f"{base}{entry['path']}" + (f"?{entry['query']}" if entry.get("query") else "")
    parts = ["curl", "-X", entry["method"], shlex.quote(url)]
    if entry["credential"]["kind"] == "api_key":
        parts += ["-H", '"X-API-Key: $CARE_API_KEY"']
    else:
        parts += ["-H", '"Authorization: Bearer $CARE_TOKEN"']
    sent = entry["request_headers"]
    # the headers that choose the answer (a forced outcome, PDF or JSON, an idempotent replay); curl's
    # own Accept (*/*) is its default anyway
    for name, header in (
        ("content-type", "Content-Type"),
        ("accept", "Accept"),
        ("prefer", "Prefer"),
        ("idempotency-key", "Idempotency-Key"),
    ):
        value = sent.get(name)
        if value and not (name == "accept" and value == "*/*"):
            parts += ["-H", shlex.quote(f"{header}: {value}")]
    if entry.get("request_body"):
        parts += ["--data-raw", shlex.quote(entry["request_body"])]
    return " ".join(parts)
