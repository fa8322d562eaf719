"""Date-filter invariants: every listed item inside the requested window, and none left out."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from conformance.errors import ConformanceFailure

CHECK = "date_filter_respected"
DATE_FIELDS = ("logged_at", "measured_at", "recorded_at", "completed_at", "at", "date", "created_at")


def item_day(item: Any, field: str) -> date | None:
    """The UTC calendar day of an item's timestamp (or date) field; None when absent or unparsable."""
    value = item.get(field) if isinstance(item, dict) else None
    if not isinstance(value, str):
        return None
    try:
        if len(value) == 10:
            return date.fromisoformat(value)
        return datetime.fromisoformat(value.replace("Z", "+00:00")).date()
    except ValueError:
        return None


def within_window(operation: str, items: list[Any], field: str, start: date, end: date) -> None:
    """Every item's day lies in [start, end] (inclusive dates, as the contract defines from/to)."""
    for item in items:
        day = item_day(item, field)
        if day is None or not start <= day <= end:
            shown = item.get(field) if isinstance(item, dict) else item
            raise ConformanceFailure(
                CHECK,
                f"{operation} with from={start} to={end} listed an item with {field} = {shown!r}",
                f"only items with {start} <= {field} <= {end} (inclusive dates, UTC)",
                operation=operation,
            )


def window_count(operation: str, filtered_total: int, expected: int, start: date, end: date) -> None:
    """The filtered total equals the number of items of the unfiltered set inside the window."""
    if filtered_total != expected:
        raise ConformanceFailure(
            CHECK,
            f"{operation} with from={start} to={end}: pagination.total = {filtered_total}",
            f"{expected}, the number of items of the unfiltered list inside the window",
            operation=operation,
        )
