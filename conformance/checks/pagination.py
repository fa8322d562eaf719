"""Pagination invariants over pages the kit fetched itself.

Schemathesis sees one page at a time and cannot know that page 2 repeats page 1 or that `total` lies;
these invariants need the whole walk.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from conformance.errors import ConformanceFailure
from conformance.exchange import Exchange

CHECK = "pagination_invariants"


@dataclass(frozen=True)
class Page:
    """One fetched page: what was asked (`number`, `per_page`) and what came back."""

    number: int
    per_page: int
    items: list[Any]
    pagination: dict[str, Any]


def item_key(item: Any) -> str:
    """Identity of a list item: its id (or request_id, or nested data.id), else its canonical JSON."""
    if isinstance(item, dict):
        for key in ("id", "request_id"):
            if isinstance(item.get(key), str):
                return str(item[key])
        data = item.get("data")
        if isinstance(data, dict) and isinstance(data.get("id"), str):
            return f"{item.get('type', '')}:{data['id']}"
    return json.dumps(item, sort_keys=True)


def pagination_invariants(operation: str, pages: list[Page], *, complete: bool) -> None:
    """Raise on the first broken invariant; `complete` means the walk reached one page past the end."""

    def fail(received: str, documented: str) -> ConformanceFailure:
        return ConformanceFailure(CHECK, f"{operation}: {received}", documented, operation=operation)

    totals = {json.dumps(page.pagination.get("total")) for page in pages}
    if len(totals) != 1:
        raise fail(f"pagination.total differs between pages: {sorted(totals)}", "one exact total for the set")
    total = pages[0].pagination.get("total")
    if not isinstance(total, int) or isinstance(total, bool) or total < 0:
        raise fail(f"pagination.total = {total!r}", "a non-negative integer")
    seen: dict[str, int] = {}
    for page in pages:
        if page.pagination.get("page") != page.number:
            raise fail(
                f"page={page.number} answered pagination.page = {page.pagination.get('page')!r}",
                "pagination.page equal to the requested page",
            )
        if page.pagination.get("per_page") != page.per_page:
            raise fail(
                f"per_page={page.per_page} answered pagination.per_page = "
                f"{page.pagination.get('per_page')!r}",
                "pagination.per_page equal to the requested per_page",
            )
        if len(page.items) > page.per_page:
            raise fail(
                f"page {page.number} holds {len(page.items)} items with per_page={page.per_page}",
                "at most per_page items per page",
            )
        for item in page.items:
            key = item_key(item)
            if key in seen:
                raise fail(
                    f"item {key} on page {seen[key]} and again on page {page.number}",
                    "pages are disjoint (a stable order)",
                )
            seen[key] = page.number
    if not complete:
        return
    if len(seen) != total:
        raise fail(
            f"walking every page yields {len(seen)} items but pagination.total = {total}",
            "the union of all pages is the whole set, of size total",
        )
    non_empty = [page for page in pages if page.items]
    for page in non_empty[:-1]:
        if len(page.items) != page.per_page:
            raise fail(
                f"page {page.number} holds {len(page.items)} items before the last page",
                "every page but the last is full",
            )


def _int_param(query: dict[str, str], name: str) -> int | None:
    try:
        return int(query[name]) if name in query else None
    except ValueError:
        return None


def page_consistent(exchange: Exchange) -> bool:
    """One page on its own (what a proxy can judge): it echoes page/per_page, holds at most per_page
    items, a total that is a non-negative integer, and is full unless it is the last page.

    Applies to 200 JSON bodies with `data` (a list) and `pagination` (an object); False otherwise.
    """
    if exchange.status != 200 or exchange.method.upper() != "GET":
        return False
    body = exchange.json()
    if not isinstance(body, dict) or not isinstance(body.get("data"), list):
        return False
    pagination = body.get("pagination")
    if not isinstance(pagination, dict):
        return False
    query = dict(parse_qsl(urlsplit(exchange.url).query))
    where = exchange.describe()
    items = body["data"]

    def fail(received: str, documented: str) -> ConformanceFailure:
        return ConformanceFailure(CHECK, f"{where}: {received}", documented, operation=exchange.operation)

    total, page, per_page = pagination.get("total"), pagination.get("page"), pagination.get("per_page")
    if not isinstance(total, int) or isinstance(total, bool) or total < 0:
        raise fail(f"pagination.total = {total!r}", "a non-negative integer")
    asked_page, asked_per_page = _int_param(query, "page"), _int_param(query, "per_page")
    if asked_page is not None and page != asked_page:
        raise fail(f"page={asked_page} answered pagination.page = {page!r}", "the requested page")
    if asked_per_page is not None and 1 <= asked_per_page <= 100 and per_page != asked_per_page:
        raise fail(
            f"per_page={asked_per_page} answered pagination.per_page = {per_page!r}", "the requested per_page"
        )
    if isinstance(per_page, int) and per_page > 0:
        if len(items) > per_page:
            raise fail(f"{len(items)} items with per_page={per_page}", "at most per_page items")
        if isinstance(page, int) and page * per_page <= total and len(items) != per_page:
            raise fail(
                f"page {page} of a {total}-item set holds {len(items)} items with per_page={per_page}",
                "every page but the last is full",
            )
    return True
