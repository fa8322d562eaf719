"""Pagination invariants over pages the kit fetched itself.

Schemathesis sees one page at a time and cannot know that page 2 repeats page 1 or that `total` lies;
these invariants need the whole walk.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from conformance.errors import ConformanceFailure

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
