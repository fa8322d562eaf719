"""Per-request state the edge computes before routing and the gateway reads after it."""

from __future__ import annotations

from dataclasses import dataclass

from mock_server.context import Principal
from mock_server.errors import ApiError


@dataclass
class RequestState:
    request_id: str
    headers: dict[str, str]  # lower-cased names; the last value wins
    base_url: str
    principal: Principal | None = None
    auth_error: ApiError | None = None  # a credential was sent but is not valid
    operation_id: str | None = None
