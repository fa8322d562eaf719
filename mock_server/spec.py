"""Load ``openapi.yaml`` as OpenAPI 3.1 and hand it to Connexion past its 3.0-only check.

Connexion 3.3 validates every document against the OpenAPI 3.0 meta-schema and its validators are
Draft 4 (upstream issue spec-first/connexion#1396), so a 3.1 document is rejected at start-up. We keep
the contract at 3.1: it is validated here with openapi-spec-validator's 3.1 validator, its local
``$ref``s are inlined once, and Connexion receives a :class:`OpenAPI31Specification` whose only change
is that it trusts the validation already done. Connexion still routes from it, resolves operationIds
to handlers and serves Swagger UI; request and response validation are ours (``gateway``), compiled
once per operation with Draft 2020-12.
"""

from __future__ import annotations

import copy
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from connexion.spec import OpenAPISpecification
from openapi_spec_validator import OpenAPIV31SpecValidator


class ContractError(RuntimeError):
    """openapi.yaml is missing, unparsable or not valid OpenAPI 3.1; the sandbox refuses to start."""


class OpenAPI31Specification(OpenAPISpecification):
    """Connexion's OpenAPI specification, minus the 3.0 meta-schema check (done by :func:`load`)."""

    @classmethod
    def _validate_spec(cls, spec: Any) -> None:
        return None

    @property
    def base_path(self) -> str:
        return str(super().base_path)

    @base_path.setter
    def base_path(self, base_path: str) -> None:
        """The servers list of the served ``/openapi.json``: the host serving it, as a relative URL.

        Connexion writes ``[{"url": ""}]`` here, which leaves Swagger UI's Servers dropdown empty; a
        relative ``/`` (or the proxy's prefix) resolves against whatever host served the page, so
        Try it out calls this sandbox whether it runs on port 8080, a free port or behind a proxy.
        """
        url = base_path.rstrip("/") or "/"
        servers = [{"url": url, "description": "this sandbox (the host serving this document)"}]
        self._raw_spec["servers"] = servers
        self._spec["servers"] = servers


@cache
def _load_cached(path: str, mtime: float) -> dict[str, Any]:
    try:
        raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ContractError(f"cannot read {path}: {exc}") from exc
    if not isinstance(raw, dict) or not str(raw.get("openapi", "")).startswith("3.1"):
        raise ContractError(f"{path} is not an OpenAPI 3.1 document")
    errors = list(OpenAPIV31SpecValidator(raw).iter_errors())
    if errors:
        first = errors[0]
        location = "/".join(str(part) for part in first.absolute_path)
        raise ContractError(
            f"{path} is not valid OpenAPI 3.1 ({len(errors)} errors); first at {location}: {first.message}"
        )
    return raw


def load(path: Path) -> dict[str, Any]:
    """Read and validate the contract (cached per file version). Returns a fresh deep copy."""
    resolved = path.resolve()
    if not resolved.exists():
        raise ContractError(f"contract not found: {resolved}")
    return copy.deepcopy(_load_cached(str(resolved), resolved.stat().st_mtime))


def inline_refs(document: dict[str, Any]) -> dict[str, Any]:
    """Replace every local ``$ref`` with the object it names (the contract has no recursion).

    Siblings of a ``$ref`` (allowed in 3.1, e.g. a ``description``) are merged over the target.
    """

    def lookup(ref: str) -> Any:
        if not ref.startswith("#/"):
            raise ContractError(f"only local $refs are supported, found {ref!r}")
        node: Any = document
        for part in ref[2:].split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
        return node

    def walk(node: Any, seen: tuple[str, ...]) -> Any:
        if isinstance(node, dict):
            if "$ref" in node and isinstance(node["$ref"], str):
                ref = node["$ref"]
                if ref in seen:
                    raise ContractError(f"recursive $ref {ref!r} is not supported")
                target = walk(lookup(ref), (*seen, ref))
                siblings = {k: walk(v, seen) for k, v in node.items() if k != "$ref"}
                return {**target, **siblings} if isinstance(target, dict) else target
            return {k: walk(v, seen) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v, seen) for v in node]
        return node

    resolved: dict[str, Any] = walk(document, ())
    return resolved
