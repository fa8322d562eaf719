"""Walk paginated lists: pagination invariants and date-filter windows."""

from __future__ import annotations

import math
from datetime import date
from typing import Any

from conformance.checks.filters import CHECK as FILTER_CHECK
from conformance.checks.filters import DATE_FIELDS, item_day, window_count, within_window
from conformance.checks.pagination import CHECK as PAGE_CHECK
from conformance.checks.pagination import Page, pagination_invariants
from conformance.context import Context
from conformance.errors import ConformanceFailure
from conformance.spec import Operation

MAX_ITEMS = 500


def _query_names(ctx: Context, op: Operation) -> set[str]:
    item = ctx.spec.resolve(ctx.spec.document["paths"][op.path])
    params = [*item.get("parameters", []), *item[op.method].get("parameters", [])]
    return {p["name"] for p in (ctx.spec.resolve(p) for p in params) if p.get("in") == "query"}


def _path_names(op: Operation) -> set[str]:
    return {part[1:-1] for part in op.path.split("/") if part.startswith("{")}


def list_operations(ctx: Context) -> list[Operation]:
    """Selected GET operations that take page and per_page and need at most a patient id."""
    result = []
    for op in ctx.spec.operations:
        if op.method != "get" or not ctx.options.selects(op.label, op.operation_id):
            continue
        if {"page", "per_page"} <= _query_names(ctx, op) and _path_names(op) <= {"patient_id"}:
            result.append(op)
    return result


def _fetch(
    ctx: Context, op: Operation, page: int, per_page: int, extra: dict[str, str] | None = None
) -> Page | None:
    params: dict[str, Any] = {"page": page, "per_page": per_page, **(extra or {})}
    exchange = ctx.target.request("GET", op.path, path_params=_path_params(ctx), params=params)
    body = exchange.json()
    if exchange.status != 200 or not isinstance(body, dict):
        return None
    items = body.get("data") if isinstance(body.get("data"), list) else []
    pagination = body.get("pagination") if isinstance(body.get("pagination"), dict) else {}
    return Page(page, per_page, list(items or []), dict(pagination or {}))


def _path_params(ctx: Context) -> dict[str, str]:
    return {"patient_id": ctx.patient_id} if ctx.patient_id else {}


def _walk(ctx: Context, op: Operation, extra: dict[str, str] | None = None) -> tuple[list[Page], bool] | None:
    """Fetch a list page by page; returns the pages and whether the walk passed the end."""
    first = _fetch(ctx, op, 1, 1, extra)
    if first is None:
        return None
    total = first.pagination.get("total")
    if not isinstance(total, int) or total <= 0:
        return [first], False
    max_pages = ctx.options.settings.max_pages
    per_page = min(100, max(1, math.ceil(total / 3)))
    needed = math.ceil(total / per_page)
    if needed >= max_pages:
        per_page = 100
        needed = math.ceil(total / per_page)
    complete = needed < max_pages
    count = needed + 1 if complete else max_pages
    pages = []
    for number in range(1, count + 1):
        page = _fetch(ctx, op, number, per_page, extra)
        if page is None:
            return None
        pages.append(page)
    return pages, complete


def pagination(ctx: Context) -> None:
    """Pages disjoint, union = the set, total exact, per_page respected — for every list operation."""
    for op in list_operations(ctx):
        if "{patient_id}" in op.path and not ctx.needs_patient(op.label, PAGE_CHECK):
            continue
        walked = _walk(ctx, op)
        if walked is None:
            ctx.skip(op.label, PAGE_CHECK, "the list did not answer 200 to a plain request")
            continue
        pages, complete = walked
        if len(pages) == 1 and not pages[0].items:
            ctx.skip(op.label, PAGE_CHECK, "the list is empty")
            continue
        try:
            pagination_invariants(op.label, pages, complete=complete)
        except ConformanceFailure as failure:
            ctx.fail(failure, op.label)
        else:
            ctx.passed(op.label, PAGE_CHECK)


def _date_params(ctx: Context, op: Operation) -> tuple[str, str] | None:
    names = _query_names(ctx, op)
    for pair in (("from", "to"), ("start_date", "end_date")):
        if set(pair) <= names:
            return pair
    return None


def _date_field(items: list[Any]) -> str | None:
    for name in DATE_FIELDS:
        if items and all(item_day(item, name) is not None for item in items[:5]):
            return name
    return None


def date_filters(ctx: Context) -> None:
    """Ask for the middle half of the observed dates; nothing outside, nothing missing."""
    for op in list_operations(ctx):
        params = _date_params(ctx, op)
        if params is None:
            continue
        if "{patient_id}" in op.path and not ctx.needs_patient(op.label, FILTER_CHECK):
            continue
        walked = _walk(ctx, op)
        items = [item for page in walked[0] for item in page.items] if walked else []
        field = _date_field(items)
        days = sorted({day for item in items if (day := item_day(item, field or "")) is not None})
        if walked is None or field is None or len(days) < 3:
            ctx.skip(op.label, FILTER_CHECK, "fewer than three distinct days of data to filter")
            continue
        start, end = days[len(days) // 4], days[(3 * len(days)) // 4]
        filtered = _walk(ctx, op, {params[0]: start.isoformat(), params[1]: end.isoformat()})
        if filtered is None:
            ctx.fail(
                ConformanceFailure(
                    FILTER_CHECK,
                    f"{op.label} with {params[0]}={start} {params[1]}={end} did not answer 200",
                    "200 with the items inside the window",
                    operation=op.label,
                )
            )
            continue
        try:
            inside = [item for page in filtered[0] for item in page.items]
            within_window(op.label, inside, field, start, end)
            if walked[1] and filtered[1]:
                expected = sum(1 for item in items if start <= (item_day(item, field) or date.min) <= end)
                window_count(op.label, int(filtered[0][0].pagination.get("total", -1)), expected, start, end)
        except ConformanceFailure as failure:
            ctx.fail(failure, op.label)
        else:
            ctx.passed(op.label, FILTER_CHECK)
