"""Refuse ``date-time`` values that are valid RFC 3339 but name no representable UTC instant.

``format: date-time`` admits any offset, so ``0001-01-01T00:00:00+01:00`` passes schema validation
although it lies before year 1 in UTC (and ``9999-12-31T23:59:59-01:00`` after year 9999). Handlers
convert every time to UTC; without this check such a value is an ``OverflowError`` deep inside a
handler (a 500). The fields are found in the operation's own schemas once, at start-up, so every
operation is covered, and the 400 names the field the way schema errors do.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from mock_server.errors import ApiError, invalid_parameter
from mock_server.timeutil import parse_iso

Path = tuple[str, ...]  # a JSON path into the body; "*" stands for every item of an array


def _body_paths(schema: Any, path: Path, depth: int = 0) -> Iterator[Path]:
    if not isinstance(schema, dict) or depth > 12:
        return
    if schema.get("format") == "date-time" and path:
        yield path
    for name, sub in (schema.get("properties") or {}).items():
        yield from _body_paths(sub, (*path, name), depth + 1)
    if isinstance(schema.get("items"), dict):
        yield from _body_paths(schema["items"], (*path, "*"), depth + 1)
    for key in ("anyOf", "oneOf", "allOf"):
        for branch in schema.get(key) or ():
            yield from _body_paths(branch, path, depth + 1)


def body_date_times(schema: dict[str, Any] | None) -> tuple[Path, ...]:
    """Every ``format: date-time`` field of a (``$ref``-inlined) request body schema."""
    return tuple(dict.fromkeys(_body_paths(schema, ()))) if schema else ()


def is_date_time(schema: dict[str, Any]) -> bool:
    items = schema.get("items")
    return schema.get("format") == "date-time" or (
        isinstance(items, dict) and items.get("format") == "date-time"
    )


def _values(node: Any, path: Path, where: Path = ()) -> Iterator[tuple[Path, Any]]:
    if not path:
        yield where, node
        return
    head, rest = path[0], path[1:]
    if head == "*":
        if isinstance(node, list):
            for index, item in enumerate(node):
                yield from _values(item, rest, (*where, str(index)))
    elif isinstance(node, dict) and head in node:
        yield from _values(node[head], rest, (*where, head))


def _representable(text: Any) -> bool:
    if not isinstance(text, str):
        return True  # not a string: the schema validator has already refused or allowed it
    try:
        parse_iso(text)
    except ValueError:
        return False
    return True


def check_query(names: tuple[str, ...], params: dict[str, Any]) -> None:
    for name in names:
        value = params.get(name)
        for item in value if isinstance(value, list) else [value]:
            if item is not None and not _representable(item):
                raise invalid_parameter(name, item, f"'{name}' ({item}) is outside years 0001-9999 in UTC")


def check_body(paths: tuple[Path, ...], body: Any) -> None:
    for path in paths:
        for where, value in _values(body, path):
            if not _representable(value):
                pointer = "/" + "/".join(where)
                message = f"'{path[-1]}' ({value}) is outside years 0001-9999 in UTC"
                raise ApiError(
                    400,
                    "validation_error",
                    f"request body is invalid: {message}",
                    {"errors": [{"path": pointer, "field": path[-1], "message": message}]},
                )
