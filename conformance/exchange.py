"""A transport-neutral record of one request/response pair.

Checks take an `Exchange` rather than an httpx or Schemathesis response so that the same plain
function judges traffic from Schemathesis' engine, from the kit's own probes and scenarios, and from
crafted responses in unit tests.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

_NO_JSON = object()


@dataclass(frozen=True)
class Exchange:
    """One HTTP exchange as the checks see it (header names lower-case, body as raw bytes)."""

    method: str
    url: str
    status: int
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""
    operation: str = ""
    elapsed: float = 0.0
    request_headers: Mapping[str, str] = field(default_factory=dict)
    reproduce: str = ""  # a curl line replaying the request (secrets as $CARE_API_KEY / $CARE_TOKEN)

    @property
    def path(self) -> str:
        """The URL path, which the checks use to tell FHIR paths from the rest."""
        return urlsplit(self.url).path

    @property
    def content_type(self) -> str:
        """Media type without parameters, lower-case ('' when absent)."""
        return self.headers.get("content-type", "").split(";", 1)[0].strip().lower()

    def header(self, name: str) -> str | None:
        """Header value by case-insensitive name."""
        return self.headers.get(name.lower())

    def json(self) -> Any:
        """The body parsed as JSON, or the module's `NO_JSON` sentinel when it is not JSON."""
        try:
            return json.loads(self.body)
        except (ValueError, UnicodeDecodeError):
            return NO_JSON

    def describe(self) -> str:
        """Short `METHOD path -> status` used at the head of failure messages."""
        return f"{self.method.upper()} {self.path} -> {self.status}"


NO_JSON: Any = _NO_JSON


def lower_headers(items: Mapping[str, Any]) -> dict[str, str]:
    """Normalise a header mapping (values may be lists, as in Schemathesis) to lower-case name → str."""
    result: dict[str, str] = {}
    for name, value in items.items():
        if isinstance(value, list | tuple):
            value = ", ".join(str(item) for item in value)
        result[name.lower()] = str(value)
    return result
