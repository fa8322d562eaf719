"""The one settings object: defaults < ``CARE_SANDBOX_*`` environment < command-line flags.

No other module reads ``os.environ``; tests build ``Settings(...)`` directly. Casting is strict and
every error names the variable, because a typo in a CI environment should fail loudly at start-up,
not silently fall back to a default.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import platformdirs

PREFIX = "CARE_SANDBOX_"
REPO_ROOT = Path(__file__).resolve().parent.parent
# The contract in a source checkout (tests read it directly); installed tools find theirs through
# ``mock_server.spec.bundled_contract()``, which an empty ``spec_path`` means.
DEFAULT_SPEC = REPO_ROOT / "openapi.yaml"
DEFAULT_RETRY_SCHEDULE = (0.0, 5.0, 300.0, 1800.0, 7200.0, 18000.0, 36000.0, 36000.0)


def default_data_dir() -> Path:
    """The per-user data directory (``~/.local/share/care-sandbox`` on Linux): the default database and
    the key that seals webhook secrets live there, so a sandbox started from any directory finds its
    data again and leaves nothing behind in the current one."""
    return platformdirs.user_data_path("care-sandbox")


def default_cache_dir() -> Path:
    """The per-user cache directory (``$XDG_CACHE_HOME/care-sandbox``, ``~/.cache/care-sandbox`` on
    Linux): things the sandbox can always rebuild, such as the validated contract."""
    return platformdirs.user_cache_path("care-sandbox")


def default_database_url() -> str:
    return f"sqlite:///{default_data_dir() / 'care_sandbox.sqlite3'}"


class SettingsError(ValueError):
    """A setting could not be read; the message names the variable or flag."""


def parse_schedule(text: str) -> tuple[float, ...]:
    """Parse a comma-separated retry schedule in seconds, e.g. ``0,1,2``."""
    try:
        values = tuple(float(part) for part in text.split(",") if part.strip())
    except ValueError as exc:
        raise SettingsError(f"retry schedule must be comma-separated seconds, got {text!r}") from exc
    if not values or any(v < 0 for v in values):
        raise SettingsError(f"retry schedule must be non-empty and non-negative, got {text!r}")
    return values


@dataclass(frozen=True)
class Settings:
    """Everything the sandbox can be told. Field docs are the CLI/env documentation."""

    host: str = "127.0.0.1"
    port: int = 8080  # 0 picks a free port
    database_url: str = field(default_factory=default_database_url)
    seed: int = 42
    workers: int = 1
    db_pool_size: int = 5  # PostgreSQL connections each server process keeps (+2 overflow); see README
    spec_path: str = ""  # a file or an http(s) URL of the contract; empty: the one installed with the package
    # keep the parsed, validated contract in the per-user cache directory, by content hash (a start
    # skips ~1.5 s of parsing and validation); off: parse and validate on every start
    contract_cache: bool = True
    public_base_url: str = ""  # how links (download_url, FHIR paging) name the server; derived if empty
    demo: bool = True  # create the demo workspace with patients on first start
    demo_api_key: str = ""  # fixed demo key (else one is generated and printed once)
    validate_responses: bool = True
    max_body_bytes: int = 1_048_576
    max_body_depth: int = 32  # nesting of JSON arrays/objects; the deepest body the contract takes is ~5
    default_rate_limit_per_hour: int = 1000
    rate_limit_backend: str = "auto"  # memory | database | auto (database when workers > 1)
    token_ttl_seconds: int = 3600
    refresh_token_ttl_seconds: int = 30 * 24 * 3600
    idempotency_ttl_seconds: int = 24 * 3600
    link_request_ttl_days: int = 30
    webhook_retry_schedule: tuple[float, ...] = DEFAULT_RETRY_SCHEDULE
    webhook_timeout_seconds: float = 15.0
    webhook_disable_after_failures: int = 20
    # private/loopback webhook targets: None = allowed only while the server binds a loopback address
    # (a laptop's receivers run on localhost; a public bind must not reach the host's network)
    webhook_allow_private_targets: bool | None = None
    webhook_secret_grace_seconds: int = 24 * 3600
    dispatcher: bool = True  # run the webhook dispatcher inside the server process
    dispatcher_poll_seconds: float = 0.5
    # fairness between workspaces (issue 13): one tenant's work never holds up another's
    handler_threads: int = 8  # the bounded pool sync handlers and blocking work run on
    sandbox_processes: int = 1  # child processes for clock advances and resets (0: in a handler thread)
    webhook_endpoint_inflight: int = 8  # attempts in flight per endpoint, across workers (0: no cap)
    webhook_workspace_inflight: int = 16  # per workspace: its fair share of the dispatcher's 32 slots
    sandbox_chunk_rows: int = 500  # rows a clock advance or reset writes per committed transaction
    sqlite_wal_limit_bytes: int = 32 * 1024 * 1024  # journal_size_limit; checkpoints truncate to it
    sqlite_checkpoint_seconds: float = 30.0  # how often the server runs wal_checkpoint(TRUNCATE)
    quota_records: int = 2_000_000  # stored records (pain, wellbeing, gauges, vitals) per workspace
    quota_webhook_endpoints: int = 50  # webhook endpoints per workspace
    quota_clock_days: int = 3660  # how far a workspace's test clock may run ahead of real time
    request_log: bool = True  # keep the per-workspace request log (GET /v1/sandbox/requests)
    request_log_keep: int = 1000  # requests kept per workspace (newest)
    request_log_retention_days: int = 7  # and none older than this (wall clock)
    request_log_body_bytes: int = 16_384  # each stored body is cut to this size, after redaction
    # store the log from a child process (off: a thread of the server, whose GIL the event loop needs;
    # an in-memory database always uses the thread)
    request_log_process: bool = True
    log_level: str = "info"
    # key that encrypts webhook signing secrets at rest; empty: read (or create) secrets_key_file.
    # Every process sharing one database needs the same key (set it on a hosted deployment).
    secrets_key: str = ""
    secrets_key_file: Path = field(default_factory=lambda: default_data_dir() / "secrets.key")
    # proxies whose X-Forwarded-For / X-Forwarded-Proto uvicorn believes (comma-separated IPs or
    # CIDRs, "*" for any); empty: none, so a caller cannot pick its own rate-limit bucket
    forwarded_allow_ips: str = ""
    cors_origins: str = "*"  # comma-separated origins browsers may call from; "*" any (local use), "" off
    access_log: bool = False  # one line per request with its request id (off: uvicorn is quiet)
    extra: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Read ``CARE_SANDBOX_<FIELD>`` variables, then apply non-None ``overrides`` (CLI flags)."""
        environ = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for f in fields(cls):
            if f.name == "extra":
                continue
            key = PREFIX + f.name.upper()
            if key in environ:
                values[f.name] = _cast(key, environ[key], f.type)
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **changes)

    def to_env(self) -> dict[str, str]:
        """``CARE_SANDBOX_*`` variables that make :meth:`from_env` rebuild these settings exactly.

        The one serializer: child processes (uvicorn's workers, the webhook dispatcher's sidecar) get
        the parent's resolved settings this way, CLI flags included.
        """
        env: dict[str, str] = {}
        for f in fields(self):
            if f.name == "extra":
                continue
            value = getattr(self, f.name)
            if value is None:
                text = ""  # an optional setting left unset ("auto"), read back as None
            elif isinstance(value, bool):
                text = "true" if value else "false"
            elif isinstance(value, tuple):
                text = ",".join(repr(float(v)) for v in value)
            else:
                text = str(value)
            env[PREFIX + f.name.upper()] = text
        return env

    @property
    def contract_cache_dir(self) -> Path | None:
        """Where ``spec.load`` keeps validated contracts; None when ``contract_cache`` is off."""
        return default_cache_dir() / "contracts" if self.contract_cache else None

    @property
    def private_webhook_targets_allowed(self) -> bool:
        """Whether webhooks may go to private and loopback addresses (see ``webhooks.targets``)."""
        if self.webhook_allow_private_targets is not None:
            return self.webhook_allow_private_targets
        return binds_loopback(self.host)

    @property
    def public_bind(self) -> bool:
        """The server listens on a non-loopback address (a container, a shared host)."""
        return not binds_loopback(self.host)


def binds_loopback(host: str) -> bool:
    """Whether binding ``host`` is reachable from this machine only (``0.0.0.0`` and ``::`` are not)."""
    if host.strip().lower() in {"localhost", "localhost."}:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a name: it may resolve to anything, so treat it as public


def _cast(key: str, raw: str, annotation: Any) -> Any:
    kind = str(annotation)
    try:
        if kind == "bool | None":
            if raw.strip().lower() in {"", "auto"}:
                return None
            kind = "bool"
        if kind == "bool":
            lowered = raw.strip().lower()
            if lowered in {"1", "true", "yes", "on"}:
                return True
            if lowered in {"0", "false", "no", "off"}:
                return False
            raise ValueError(raw)
        if kind == "int":
            return int(raw)
        if kind == "float":
            return float(raw)
        if kind == "Path":
            return Path(raw)
        if kind.startswith("tuple"):
            return parse_schedule(raw)
    except (ValueError, SettingsError) as exc:
        raise SettingsError(f"{key}: cannot read {raw!r} as {kind}") from exc
    return raw
