"""What the kit knows about the API: the OpenAPI 3.1 document, and nothing else.

The kit never imports the sandbox; it derives operations, security schemes, error codes and webhook
payload schemas from the spec it is given, so a partner's re-implementation is judged exactly like ours.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from conformance.errors import KitError

if TYPE_CHECKING:
    from openapi_core import OpenAPI

HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


CONTRACT_NAME = "openapi.yaml"


def is_url(source: str | Path) -> bool:
    """`http(s)://…` names a served document; anything else is a file path."""
    return isinstance(source, str) and source.lower().startswith(("http://", "https://"))


def default_spec_path() -> Path:
    """The contract the kit ships with, from any working directory.

    `conformance/openapi.yaml` is a symlink to the top-level contract, so an installed wheel carries the
    file's bytes as package data and a source checkout reads the top-level file through the link. The
    package copy wins so an installed kit never judges against some unrelated file in the current
    directory. Neither present is a broken install: say so instead of a bare "file not found".
    """
    packaged = Path(__file__).resolve().parent / CONTRACT_NAME
    if packaged.is_file():
        return packaged.resolve()  # in a checkout, the link's target: the top-level file
    checkout = Path(__file__).resolve().parent.parent / CONTRACT_NAME
    if checkout.is_file():
        return checkout
    raise KitError(
        f"The contract {CONTRACT_NAME} is neither installed with the kit ({packaged}) nor in a source "
        "checkout; reinstall care-sandbox or pass --spec PATH_OR_URL."
    )


def read_source(source: str | Path) -> str:
    """The text of a spec given as a path or an `http(s)://` URL (fetched once, redirects followed)."""
    if is_url(source):
        import httpx

        try:
            response = httpx.get(str(source), follow_redirects=True, timeout=30)
            response.raise_for_status()
        except httpx.HTTPError as exc:
            raise KitError(f"Cannot fetch the spec {source}: {exc}. Pass --spec PATH_OR_URL.") from None
        return response.text
    try:
        return Path(source).read_text(encoding="utf-8")
    except OSError as exc:
        raise KitError(
            f"Cannot read the spec {source}: {exc.strerror or exc}. Pass --spec PATH_OR_URL."
        ) from None


@dataclass(frozen=True)
class Operation:
    """One documented operation, labelled as Schemathesis labels it (`GET /v1/patients`)."""

    method: str
    path: str
    operation_id: str
    secured: bool
    scopes: tuple[str, ...]

    @property
    def label(self) -> str:
        return f"{self.method.upper()} {self.path}"


@dataclass(frozen=True)
class Webhook:
    """One `webhooks:` entry: the event name, its body schema and its documented examples."""

    name: str
    schema: dict[str, Any]
    examples: tuple[Any, ...]


class Spec:
    """A loaded OpenAPI document with the lookups the kit needs."""

    def __init__(self, path: Path | str, document: dict[str, Any]) -> None:
        self.path = path
        self.document = document

    @classmethod
    def load(cls, path: Path | str | None = None) -> Spec:
        """Read and parse the spec (a path or a URL; default: the bundled contract).

        A missing, unreachable or unparsable spec is kit misuse, not an API failure.
        """
        resolved: Path | str
        if path is None:
            resolved = default_spec_path()
        elif is_url(path):
            resolved = str(path)
        else:
            resolved = Path(path)
        text = read_source(resolved)
        try:
            document = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
        except yaml.YAMLError as exc:
            raise KitError(f"The spec {resolved} is not valid YAML/JSON: {exc}") from None
        if not isinstance(document, dict) or "openapi" not in document:
            raise KitError(f"{resolved} is not an OpenAPI document (no `openapi` key).")
        return cls(resolved, document)

    @property
    def version(self) -> str:
        return str(self.document.get("openapi", ""))

    @property
    def patient_data_scopes(self) -> tuple[str, ...]:
        """What a link request may ask a patient for: the contract's ``PatientDataScope`` enum.

        Read from the contract, not typed out, so the kit cannot drift from it (and stays independent
        of the sandbox's own list); empty when the contract has no such schema.
        """
        schema = self.document.get("components", {}).get("schemas", {}).get("PatientDataScope", {})
        return tuple(str(scope) for scope in schema.get("enum", ()))

    def validation_errors(self, limit: int = 20) -> list[str]:
        """Problems found by openapi-spec-validator's 3.1 validator (empty when the document is valid)."""
        from openapi_spec_validator import OpenAPIV31SpecValidator

        if not self.version.startswith("3.1."):
            return [f"openapi: {self.version!r}; the contract is OpenAPI 3.1.x"]
        errors = []
        for error in OpenAPIV31SpecValidator(self.document).iter_errors():
            location = "/".join(str(part) for part in getattr(error, "path", ()))
            errors.append(f"{location or '<root>'}: {getattr(error, 'message', error)}")
            if len(errors) >= limit:
                break
        return errors

    def resolve(self, node: Any) -> Any:
        """Follow local `$ref`s (`#/components/...`) until a concrete node."""
        seen = 0
        while isinstance(node, dict) and isinstance(node.get("$ref"), str) and node["$ref"].startswith("#/"):
            target: Any = self.document
            for part in node["$ref"][2:].split("/"):
                target = target[part.replace("~1", "/").replace("~0", "~")]
            node = target
            seen += 1
            if seen > 50:
                raise KitError(f"Circular $ref in {self.path}")
        return node

    @cached_property
    def operations(self) -> tuple[Operation, ...]:
        """Every documented operation in document order."""
        result = []
        global_security = self.document.get("security", [])
        for path, item in (self.document.get("paths") or {}).items():
            item = self.resolve(item)
            for method in HTTP_METHODS:
                if method not in item:
                    continue
                op = item[method]
                security = op.get("security", global_security) or []
                scopes = sorted(
                    {scope for requirement in security for values in requirement.values() for scope in values}
                )
                result.append(
                    Operation(method, path, str(op.get("operationId", "")), bool(security), tuple(scopes))
                )
        return tuple(result)

    def operation(self, method: str, path: str) -> Operation | None:
        """The documented operation for a method and path template, if any."""
        for op in self.operations:
            if op.method == method.lower() and op.path == path:
                return op
        return None

    @cached_property
    def _matchers(self) -> list[tuple[re.Pattern[str], Operation]]:
        """Per operation a regex of its path template; literal templates first (fewest parameters)."""
        items = []
        for op in self.operations:
            pattern = "^" + re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(op.path)) + "$"
            items.append((op.path.count("{"), re.compile(pattern), op))
        items.sort(key=lambda item: item[0])
        return [(pattern, op) for _, pattern, op in items]

    def match(self, method: str, path: str) -> Operation | None:
        """The documented operation a concrete request (`GET /v1/patients/pt_1`) belongs to, if any."""
        method = method.lower()
        for pattern, op in self._matchers:
            if op.method == method and pattern.match(path):
                return op
        return None

    def has_path(self, path: str) -> bool:
        return path in (self.document.get("paths") or {})

    def security_schemes(self) -> dict[str, dict[str, Any]]:
        schemes = (self.document.get("components") or {}).get("securitySchemes") or {}
        return {name: self.resolve(scheme) for name, scheme in schemes.items()}

    def api_key_scheme(self) -> tuple[str, str] | None:
        """(scheme name, header name) of the header API-key scheme, if the spec declares one."""
        for name, scheme in self.security_schemes().items():
            if scheme.get("type") == "apiKey" and scheme.get("in") == "header":
                return name, str(scheme.get("name", "X-API-Key"))
        return None

    def token_path(self) -> str:
        """Path of the OAuth token endpoint, from the client-credentials flow if declared."""
        for scheme in self.security_schemes().values():
            flows = scheme.get("flows") or {}
            url = (flows.get("clientCredentials") or {}).get("tokenUrl")
            if isinstance(url, str) and url.startswith("/"):
                return url
        return "/oauth/token"

    @cached_property
    def _envelope_enums(self) -> dict[str, frozenset[str]]:
        """`error.code` enums of every schema shaped like the envelope, keyed by schema name."""
        found: dict[str, frozenset[str]] = {}
        schemas = (self.document.get("components") or {}).get("schemas") or {}
        for name, schema in schemas.items():
            schema = self.resolve(schema)
            error = (
                self.resolve((schema.get("properties") or {}).get("error"))
                if isinstance(schema, dict)
                else None
            )
            if not isinstance(error, dict):
                continue
            code = self.resolve((error.get("properties") or {}).get("code"))
            if isinstance(code, dict) and isinstance(code.get("enum"), list):
                found[name] = frozenset(str(item) for item in code["enum"])
        return found

    @property
    def error_codes(self) -> frozenset[str]:
        """The documented `error.code` enum of the main envelope (`Error`, else the first envelope found)."""
        enums = self._envelope_enums
        return enums.get("Error") or next(iter(enums.values()), frozenset())

    @cached_property
    def rfc6749_error_paths(self) -> frozenset[str]:
        """Paths whose documented JSON errors are RFC 6749 section 5.2 bodies (`{"error": "<code>"}`).

        Found by the shape of the documented 4xx schemas (`error` a string, not an object), so the kit
        names no path of its own: any OAuth endpoint a contract documents that way is judged that way.
        """
        found = set()
        for path, item in (self.document.get("paths") or {}).items():
            for operation in (self.resolve(item) or {}).values():
                if not isinstance(operation, dict):
                    continue
                for status, response in (operation.get("responses") or {}).items():
                    if not str(status).startswith("4"):
                        continue
                    content = (self.resolve(response) or {}).get("content") or {}
                    schema = self.resolve((content.get("application/json") or {}).get("schema"))
                    error = self.resolve(((schema or {}).get("properties") or {}).get("error"))
                    if isinstance(error, dict) and error.get("type") == "string":
                        found.add(path)
        return frozenset(found)

    def error_codes_for(self, path: str) -> frozenset[str]:
        """Codes allowed on `path`: OAuth endpoints add the RFC 6749 codes of their own envelope."""
        if path.startswith("/oauth") or path.startswith("/.well-known"):
            return frozenset().union(*self._envelope_enums.values())
        return self.error_codes

    def _walk_schemas(self) -> Iterator[dict[str, Any]]:
        for schema in ((self.document.get("components") or {}).get("schemas") or {}).values():
            schema = self.resolve(schema)
            if isinstance(schema, dict):
                yield schema

    @cached_property
    def webhooks(self) -> dict[str, Webhook]:
        """`webhooks:` entries keyed by name, with their JSON body schema and examples."""
        result: dict[str, Webhook] = {}
        for name, item in (self.document.get("webhooks") or {}).items():
            item = self.resolve(item)
            op: dict[str, Any] = item.get("post") or next((item[m] for m in HTTP_METHODS if m in item), {})
            body = self.resolve(op.get("requestBody") or {})
            media = (body.get("content") or {}).get("application/json") or {}
            examples: list[Any] = []
            if "example" in media:
                examples.append(media["example"])
            for example in (media.get("examples") or {}).values():
                example = self.resolve(example)
                if isinstance(example, dict) and "value" in example:
                    examples.append(example["value"])
            schema = self.resolve(media.get("schema") or {})
            if not examples and isinstance(schema, dict):
                if "example" in schema:
                    examples.append(schema["example"])
                examples.extend(schema.get("examples") or [])
            result[name] = Webhook(name, media.get("schema") or {}, tuple(examples))
        return result

    def openapi_core(self, base_url: str) -> OpenAPI:
        """An openapi-core validator whose only server is `base_url`, so any host can be judged."""
        from openapi_core import OpenAPI

        document = copy.deepcopy(self.document)
        document["servers"] = [{"url": base_url.rstrip("/") or "/"}]
        for item in (document.get("paths") or {}).values():
            if isinstance(item, dict):
                item.pop("servers", None)
                for method in HTTP_METHODS:
                    if isinstance(item.get(method), dict):
                        item[method].pop("servers", None)
        # Deliveries authenticate by signature, which the kit verifies itself; a global `security`
        # requirement must not make openapi-core demand an API key on them.
        for item in (document.get("webhooks") or {}).values():
            for method in HTTP_METHODS:
                if isinstance(item, dict) and isinstance(item.get(method), dict):
                    item[method]["security"] = []
        from openapi_core import Config
        from openapi_core.deserializing.media_types.util import json_loads

        # openapi-core only parses application/json as JSON; FHIR's application/fhir+json is JSON too.
        json_types: dict[str, Any] = {
            media: json_loads for media in self.media_types() if media.endswith("+json")
        }
        return OpenAPI.from_dict(document, config=Config(extra_media_type_deserializers=json_types))

    def media_types(self) -> set[str]:
        """Every media type named under a `content:` anywhere in the document."""
        found: set[str] = set()

        def walk(node: Any) -> None:
            if isinstance(node, dict):
                content = node.get("content")
                if isinstance(content, dict):
                    found.update(str(key) for key in content)
                for value in node.values():
                    walk(value)
            elif isinstance(node, list):
                for value in node:
                    walk(value)

        walk(self.document)
        return found
