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

import contextlib
import copy
import hashlib
import io
import logging
import os
import pickle
import tempfile
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from connexion.spec import OpenAPISpecification

log = logging.getLogger("care_sandbox.spec")


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
        return packaged.resolve()  # in a checkout, the link's target: the top-level file
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


@cache  # once per process, as for a file: ``serve`` reads the contract twice while starting
def _fetch(url: str) -> str:
    import httpx

    try:
        response = httpx.get(url, follow_redirects=True, timeout=30)
        response.raise_for_status()
    except httpx.HTTPError as exc:
        raise ContractError(f"cannot fetch the contract {url}: {exc}") from exc
    return response.text


# PyYAML's C loader (libyaml) parses the contract ~7x faster than the pure-Python one (0.07 s against
# 0.5 s measured on openapi.yaml) into the same objects; wheels without libyaml fall back.
_YAML_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

# Bump when what is cached changes shape; part of the cache key, so old entries are simply not found.
CACHE_FORMAT = 1
CACHE_KEEP = 8  # newest entries kept per cache directory (one per contract version a user runs)

# The validated documents this process has read, by cache key: ``serve`` loads the contract in the CLI
# and again in ``create_app``; the second is a dict lookup.
_MEMO: dict[str, dict[str, Any]] = {}


def _parse(text: str, where: str) -> dict[str, Any]:
    try:
        raw = yaml.load(text, Loader=_YAML_LOADER)  # a safe loader, C or Python
    except yaml.YAMLError as exc:
        raise ContractError(f"cannot read {where}: {exc}") from exc
    if not isinstance(raw, dict) or not str(raw.get("openapi", "")).startswith("3.1"):
        raise ContractError(f"{where} is not an OpenAPI 3.1 document")
    return raw


def _validate(raw: dict[str, Any], where: str) -> None:
    # imported here: the validator and its meta-schemas cost ~0.3 s of imports, paid only on a cache miss
    from openapi_spec_validator import OpenAPIV31SpecValidator

    errors = list(OpenAPIV31SpecValidator(raw).iter_errors())
    if errors:
        first = errors[0]
        location = "/".join(str(part) for part in first.absolute_path)
        raise ContractError(
            f"{where} is not valid OpenAPI 3.1 ({len(errors)} errors); first at {location}: {first.message}"
        )


@cache
def _tool_versions() -> str:
    """What else decides the cached result: this package's parsing and the validator's rules."""
    from importlib.metadata import PackageNotFoundError, version

    parts = [f"format={CACHE_FORMAT}", f"pyyaml={yaml.__version__}"]
    for name in ("care-sandbox", "openapi-spec-validator"):
        try:
            parts.append(f"{name}={version(name)}")
        except PackageNotFoundError:  # a bare source checkout: the format number still guards
            parts.append(f"{name}=?")
    return ";".join(parts)


def cache_key(content: bytes) -> str:
    """sha256 of the contract's bytes and of the versions that parse and validate it."""
    digest = hashlib.sha256(_tool_versions().encode())
    digest.update(b"\0")
    digest.update(content)
    return digest.hexdigest()


class _DocumentUnpickler(pickle.Unpickler):
    """Unpickles plain data only (dicts, lists, strings, numbers, dates): a cache file is never trusted
    to name a class or a function, so a tampered one cannot run code, only fail to load."""

    _ALLOWED = frozenset({("datetime", "date"), ("datetime", "datetime"), ("datetime", "timezone")})
    _ALLOWED |= {("datetime", "timedelta")}

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in self._ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"{module}.{name} is not allowed in a contract cache")


def _cache_file(cache_dir: Path, key: str) -> Path:
    return cache_dir / f"contract-{key}.pickle"


def _read_cache(cache_dir: Path, key: str) -> dict[str, Any] | None:
    """The cached document for ``key``, or None when absent, unreadable, corrupt or not what it claims."""
    path = _cache_file(cache_dir, key)
    try:
        data = path.read_bytes()
    except OSError:
        return None
    try:
        entry = _DocumentUnpickler(io.BytesIO(data)).load()
    except Exception as exc:  # any damage (truncated, foreign, tampered) means: parse again
        log.warning("ignoring the corrupt contract cache %s (%s); it is rebuilt", path, exc)
        return None
    if (
        not isinstance(entry, dict)
        or entry.get("format") != CACHE_FORMAT
        or entry.get("key") != key
        or not isinstance(entry.get("document"), dict)
        or not str(entry["document"].get("openapi", "")).startswith("3.1")
    ):
        log.warning("ignoring the contract cache %s: not an entry for this contract; it is rebuilt", path)
        return None
    document: dict[str, Any] = entry["document"]
    return document


def _write_cache(cache_dir: Path, key: str, document: dict[str, Any]) -> None:
    """Store atomically (a reader sees the whole entry or none); a read-only or full disk is no error,
    the sandbox just parses again next time. Older entries beyond ``CACHE_KEEP`` are removed."""
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        payload = pickle.dumps(
            {"format": CACHE_FORMAT, "key": key, "document": document}, protocol=pickle.HIGHEST_PROTOCOL
        )
        fd, tmp = tempfile.mkstemp(prefix=".contract-", suffix=".tmp", dir=cache_dir)
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(payload)
            os.replace(tmp, _cache_file(cache_dir, key))
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        entries = sorted(cache_dir.glob("contract-*.pickle"), key=lambda p: p.stat().st_mtime, reverse=True)
        for old in entries[CACHE_KEEP:]:
            with contextlib.suppress(OSError):
                old.unlink()
    except OSError as exc:
        log.info("contract cache not written to %s: %s", cache_dir, exc)


def _validated(content: bytes, where: str, cache_dir: Path | None) -> dict[str, Any]:
    """The parsed and validated document for these bytes: from this process, the cache, or built.

    Why a cache: parsing the 300 kB contract and validating it against the OpenAPI 3.1 meta-schema
    took ~1.5 s of every start (issue #16), for a file that rarely changes. The key is the content's
    hash (not a path or an mtime), so an edited file, a different ``--spec`` or an upgrade of
    care-sandbox or of the validator never reads an entry made for something else.
    """
    key = cache_key(content)
    memo = _MEMO.get(key)
    if memo is not None:
        return memo
    document = _read_cache(cache_dir, key) if cache_dir is not None else None
    if document is None:
        try:
            text = content.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ContractError(f"cannot read {where}: {exc}") from exc
        document = _parse(text, where)
        _validate(document, where)
        if cache_dir is not None:
            _write_cache(cache_dir, key, document)
    _MEMO[key] = document
    return document


def resolve_source(source: str | Path | None) -> str | Path:
    """The contract a setting names: empty means the bundled one, a URL stays a string."""
    if source is None or str(source) == "":
        return bundled_contract()
    if is_url(source):
        return str(source)
    return Path(source).expanduser().resolve()


def load(source: str | Path | None = None, *, cache_dir: Path | None = None) -> dict[str, Any]:
    """Read and validate the contract, a path or an http(s) URL. Returns a fresh deep copy.

    ``cache_dir`` (``Settings.contract_cache_dir``; None: no cache) keeps the validated document by
    content hash across processes; within a process the same content is parsed once either way.
    """
    resolved = resolve_source(source)
    if isinstance(resolved, str):
        content = _fetch(resolved).encode("utf-8")
    else:
        if not resolved.exists():
            raise ContractError(f"contract not found: {resolved}")
        try:
            content = resolved.read_bytes()
        except OSError as exc:
            raise ContractError(f"cannot read {resolved}: {exc}") from exc
    return copy.deepcopy(_validated(content, str(resolved), cache_dir))


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
