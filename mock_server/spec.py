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


CONTRACT_NAME = "openapi.yaml"


def bundled_contract() -> Path:
    """Where the contract is, from any working directory: installed package data first, then a checkout.

    ``mock_server/openapi.yaml`` is a symlink to the top-level contract: a checkout reads the one file
    through it, and a wheel stores its bytes, so an installed package carries an identical copy.
    Neither present means a broken install, and the error says how to go on.
    """
    packaged = Path(__file__).resolve().parent / CONTRACT_NAME
    if packaged.is_file():
        return packaged
    checkout = Path(__file__).resolve().parent.parent / CONTRACT_NAME
    if checkout.is_file():
        return checkout
    raise ContractError(
        f"contract {CONTRACT_NAME} is neither installed with the package ({packaged}) nor in a source "
        "checkout; reinstall care-sandbox or pass --spec PATH_OR_URL"
    )


def is_url(source: str | Path) -> bool:
    """``http(s)://…`` names a served contract; anything else is a file path."""
    return isinstance(source, str) and source.lower().startswith(("http://", "https://"))


def _fetch(url: str) -> str:
    import httpx

    try:
        response = httpx.get(url, follow_redirects=True, timeout=30)
        response.raise_for_status()
    except httpx.HTTPError as exc:
        raise ContractError(f"cannot fetch the contract {url}: {exc}") from exc
    return response.text


@cache
def _load_cached(path: str, mtime: float) -> dict[str, Any]:
    try:
        text = _fetch(path) if is_url(path) else Path(path).read_text(encoding="utf-8")
        raw = yaml.safe_load(text)
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


def resolve_source(source: str | Path | None) -> str | Path:
    """The contract a setting names: empty means the bundled one, a URL stays a string."""
    if source is None or str(source) == "":
        return bundled_contract()
    if is_url(source):
        return str(source)
    return Path(source).expanduser().resolve()


def load(source: str | Path | None = None) -> dict[str, Any]:
    """Read and validate the contract, a path or an http(s) URL (cached per file version or URL).

    Returns a fresh deep copy.
    """
    resolved = resolve_source(source)
    if isinstance(resolved, str):
        return copy.deepcopy(_load_cached(resolved, 0.0))
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
