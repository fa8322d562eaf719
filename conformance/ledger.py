"""Leave the target as it was: what existed before the run, what the run created, and the clean-up.

Partners point the kit at staging workspaces that hold their own webhooks, link requests and consents.
The ledger lists those before anything is sent (`snapshot`), and from then on:

- every resource the run creates — by the kit's probes and scenarios or by Schemathesis — is noted
  from the 2xx answer of its create operation (`created`), and removed at the end (`clean_up`) with the
  operation the contract documents for it (cancel a pending link request, delete a webhook, revoke the
  consent of a patient the kit linked itself);
- Schemathesis never sends a state-changing request naming a pre-existing id: `guard_path_parameters`
  swaps such an id for one that cannot exist, so the stateful phase may follow links from list
  responses without deleting a partner's webhook or revoking a partner's consent.

`RESOURCES` is the table to extend when the contract grows a new kind of resource.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from conformance.exchange import Exchange
    from conformance.target import Target

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
PROTECTED_PLACEHOLDER = "care-conformance-not-yours"
MAX_SNAPSHOT_PAGES = 10


@dataclass(frozen=True)
class Resource:
    """One kind of resource: where it is listed, how it is created, and how the kit removes its own."""

    kind: str
    list_path: str
    id_key: str
    create: tuple[str, str]  # (METHOD, path template) whose 2xx body carries the new id under `id_key`
    remove: tuple[str, str, str] | None  # (METHOD, path template, path parameter) or None: cannot remove
    only_if: tuple[str, str] | None = None  # (dotted field, value) the item must have to be removable
    item: str | None = None  # GET path template of one item, read to decide `only_if`


RESOURCES: tuple[Resource, ...] = (
    Resource(
        "webhook",
        "/v1/webhooks",
        "id",
        ("POST", "/v1/webhooks"),
        ("DELETE", "/v1/webhooks/{webhook_id}", "webhook_id"),
    ),
    Resource(
        "link_request",
        "/v1/link-requests",
        "request_id",
        ("POST", "/v1/link-requests"),
        ("DELETE", "/v1/link-requests/{request_id}", "request_id"),
        only_if=("status", "pending"),
        item="/v1/link-requests/{request_id}",
    ),
    Resource(
        "patient",
        "/v1/patients",
        "id",
        ("POST", "/v1/sandbox/link-requests/{request_id}/accept"),
        ("POST", "/v1/sandbox/patients/{patient_id}/revoke", "patient_id"),
        only_if=("consent.status", "active"),
        item="/v1/patients/{patient_id}",
    ),
    Resource("report", "/v1/reports", "id", ("POST", "/v1/patients/{patient_id}/reports"), None),
)


def _new_id(resource: Resource, body: Any) -> str | None:
    """The id in a create answer; accepting a link request answers {link_request, consent}."""
    if not isinstance(body, dict):
        return None
    if resource.kind == "patient":
        consent = body.get("consent")
        value = consent.get("patient_id") if isinstance(consent, dict) else None
    else:
        value = body.get(resource.id_key)
    return value if isinstance(value, str) else None


@dataclass
class Ledger:
    """Pre-existing ids (never touched) and the run's own resources (removed at the end)."""

    existing: dict[str, set[str]] = field(default_factory=dict)
    mine: dict[str, list[str]] = field(default_factory=dict)
    cleaned: list[str] = field(default_factory=list)
    left: list[str] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def protected(self) -> frozenset[str]:
        with self._lock:
            return frozenset(ident for ids in self.existing.values() for ident in ids)

    def snapshot(self, target: Target) -> None:
        """List every documented resource kind once, before the run changes anything."""
        for resource in RESOURCES:
            if target.spec.operation("GET", resource.list_path) is None:
                continue
            ids: set[str] = set()
            for page in range(1, MAX_SNAPSHOT_PAGES + 1):
                exchange = target.request(
                    "GET", resource.list_path, params={"page": page, "per_page": 100}, validate=False
                )
                body = exchange.json()
                data = body.get("data") if isinstance(body, dict) else None
                if exchange.status != 200 or not isinstance(data, list) or not data:
                    break
                ids.update(
                    str(item[resource.id_key])
                    for item in data
                    if isinstance(item, dict) and isinstance(item.get(resource.id_key), str)
                )
                if len(data) < 100:
                    break
            with self._lock:
                self.existing[resource.kind] = ids

    @staticmethod
    def tracks(method: str, template: str) -> bool:
        """Whether an answer to this operation can create or remove a resource the ledger follows."""
        key = (method.upper(), template)
        return any(key == r.create or (r.remove is not None and key == r.remove[:2]) for r in RESOURCES)

    def created(
        self, method: str, template: str, exchange: Exchange, path_params: Mapping[str, str] | None = None
    ) -> None:
        """Note a resource the run created (or removed), from a 2xx answer."""
        ident = next(iter((path_params or {}).values()), None)
        self.note(method, template, exchange.status, exchange.json(), str(ident) if ident else None)

    def note(self, method: str, template: str, status: int, body: Any, ident: str | None = None) -> None:
        """Record a 2xx create (its id from `body`), or forget a resource the run already removed."""
        if not 200 <= status < 300:
            return
        for resource in RESOURCES:
            if (
                ident is not None
                and resource.remove is not None
                and resource.remove[:2]
                == (
                    method.upper(),
                    template,
                )
            ):
                with self._lock:
                    bucket = self.mine.get(resource.kind, [])
                    if ident in bucket:
                        bucket.remove(ident)
                continue
            if resource.create != (method.upper(), template):
                continue
            ident = _new_id(resource, body)
            if ident is None:
                continue
            with self._lock:
                if ident not in self.existing.get(resource.kind, set()):
                    bucket = self.mine.setdefault(resource.kind, [])
                    if ident not in bucket:
                        bucket.append(ident)

    def guard_path_parameters(self, method: str, parameters: Mapping[str, Any]) -> dict[str, Any] | None:
        """Path parameters with pre-existing ids swapped out of state-changing requests; None if unchanged."""
        if method.upper() in SAFE_METHODS or not parameters:
            return None
        protected = self.protected
        if not any(isinstance(value, str) and value in protected for value in parameters.values()):
            return None
        return {
            name: (PROTECTED_PLACEHOLDER if isinstance(value, str) and value in protected else value)
            for name, value in parameters.items()
        }

    def clean_up(self, target: Target) -> None:
        """Remove what the run created, newest first, with the operation the contract documents."""
        from conformance.errors import ConformanceFailure

        with self._lock:
            mine = {kind: list(ids) for kind, ids in self.mine.items()}
        for resource in RESOURCES:
            for ident in reversed(mine.get(resource.kind, [])):
                label = f"{resource.kind} {ident}"
                if resource.remove is None or target.spec.operation(*resource.remove[:2]) is None:
                    self.left.append(f"{label} (the contract documents no way to remove it)")
                    continue
                method, path, param = resource.remove
                try:
                    if resource.only_if is not None and not self._removable(target, resource, ident):
                        continue
                    answer = target.request(method, path, path_params={param: ident})
                except ConformanceFailure:
                    self.left.append(f"{label} (the clean-up request failed)")
                    continue
                if answer.status < 300 or answer.status in (404, 410):
                    self.cleaned.append(label)
                else:
                    self.left.append(f"{label} ({answer.describe()})")

    def _removable(self, target: Target, resource: Resource, ident: str) -> bool:
        assert resource.only_if is not None and resource.remove is not None
        item_path = resource.item
        if item_path is None or target.spec.operation("GET", item_path) is None:
            return True
        body = target.request("GET", item_path, path_params={resource.remove[2]: ident}).json()
        dotted, value = resource.only_if
        for key in dotted.split("."):
            body = body.get(key) if isinstance(body, dict) else None
        return bool(body == value)
