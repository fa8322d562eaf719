"""Pagination and date-filter invariants, with Hypothesis: a correct paginator always passes."""

from __future__ import annotations

import math
from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conformance.checks.filters import item_day, window_count, within_window
from conformance.checks.pagination import Page, item_key, pagination_invariants
from conformance.errors import ConformanceFailure

OP = "GET /v1/things"


def paginate(items: list[dict[str, str]], per_page: int, total: int | None = None) -> list[Page]:
    count = math.ceil(len(items) / per_page) + 1
    return [
        Page(
            n,
            per_page,
            items[(n - 1) * per_page : n * per_page],
            {"total": len(items) if total is None else total, "page": n, "per_page": per_page},
        )
        for n in range(1, count + 1)
    ]


@given(size=st.integers(1, 120), per_page=st.integers(1, 100))
def test_correct_pagination_passes(size: int, per_page: int) -> None:
    items = [{"id": f"pe_{i}"} for i in range(size)]
    pagination_invariants(OP, paginate(items, per_page), complete=True)


@given(size=st.integers(2, 60), per_page=st.integers(1, 20), data=st.data())
def test_a_repeated_item_is_caught(size: int, per_page: int, data: st.DataObject) -> None:
    items = [{"id": f"pe_{i}"} for i in range(size)]
    victim = data.draw(st.integers(1, size - 1))
    broken = [*items[:victim], items[victim - 1], *items[victim + 1 :]]
    with pytest.raises(ConformanceFailure) as info:
        pagination_invariants(OP, paginate(broken, per_page, total=size), complete=True)
    assert info.value.check == "pagination_invariants"


def test_wrong_total_and_oversized_pages_are_caught() -> None:
    items = [{"id": f"x{i}"} for i in range(7)]
    with pytest.raises(ConformanceFailure, match="total"):
        pagination_invariants(OP, paginate(items, 3, total=8), complete=True)
    pages = paginate(items, 3)
    pages[0] = Page(1, 3, items[:4], pages[0].pagination)
    with pytest.raises(ConformanceFailure, match="at most per_page"):
        pagination_invariants(OP, pages, complete=False)
    pages = paginate(items, 3)
    pages[1] = Page(2, 3, items[3:6], {**pages[1].pagination, "per_page": 50})
    with pytest.raises(ConformanceFailure, match="per_page"):
        pagination_invariants(OP, pages, complete=False)


def test_item_key_prefers_ids() -> None:
    assert item_key({"id": "a"}) == "a"
    assert item_key({"request_id": "lr_1"}) == "lr_1"
    assert item_key({"type": "vital", "data": {"id": "vt_1"}}) == "vital:vt_1"
    assert item_key({"x": 1}) == '{"x": 1}'


def test_item_day_reads_dates_and_timestamps() -> None:
    assert item_day({"at": "2026-05-04T23:59:59Z"}, "at") == date(2026, 5, 4)
    assert item_day({"date": "2026-05-04"}, "date") == date(2026, 5, 4)
    assert item_day({"at": "garbage"}, "at") is None


@given(offsets=st.lists(st.integers(0, 60), min_size=1, max_size=30))
def test_window_accepts_items_inside_and_rejects_outside(offsets: list[int]) -> None:
    start = date(2026, 3, 1)
    items = [{"logged_at": f"{start + timedelta(days=o)}T12:00:00Z"} for o in offsets]
    end = start + timedelta(days=max(offsets))
    within_window(OP, items, "logged_at", start, end)
    narrower = (start, end - timedelta(days=1)) if max(offsets) else (start + timedelta(days=1), end)
    with pytest.raises(ConformanceFailure) as info:
        within_window(OP, items, "logged_at", *narrower)
    assert info.value.check == "date_filter_respected"


def test_window_count() -> None:
    window_count(OP, 5, 5, date(2026, 1, 1), date(2026, 1, 2))
    with pytest.raises(ConformanceFailure, match=r"pagination\.total = 9"):
        window_count(OP, 9, 5, date(2026, 1, 1), date(2026, 1, 2))
