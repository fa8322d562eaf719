"""The one settings object: defaults < ``CARE_SANDBOX_*`` environment < command-line flags.

No other module reads ``os.environ``; tests build ``Settings(...)`` directly. Casting is strict and
every error names the variable, because a typo in a CI environment should fail loudly at start-up,
not silently fall back to a default.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

PREFIX = "CARE_SANDBOX_"
REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SPEC = REPO_ROOT / "openapi.yaml"
DEFAULT_RETRY_SCHEDULE = (0.0, 5.0, 300.0, 1800.0, 7200.0, 18000.0, 36000.0, 36000.0)


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
    database_url: str = "sqlite:///var/care_sandbox.sqlite3"
    seed: int = 42
    workers: int = 1
    db_pool_size: int = 5  # PostgreSQL connections each server process keeps (+2 overflow); see README
    spec_path: Path = DEFAULT_SPEC
    public_base_url: str = ""  # how links (download_url, FHIR paging) name the server; derived if empty
    demo: bool = True  # create the demo workspace with patients on first start
    demo_api_key: str = ""  # fixed demo key (else one is generated and printed once)
    validate_responses: bool = True
    max_body_bytes: int = 1_048_576
    default_rate_limit_per_hour: int = 1000
    rate_limit_backend: str = "auto"  # memory | database | auto (database when workers > 1)
    token_ttl_seconds: int = 3600
    refresh_token_ttl_seconds: int = 30 * 24 * 3600
    idempotency_ttl_seconds: int = 24 * 3600
    link_request_ttl_days: int = 30
    webhook_retry_schedule: tuple[float, ...] = DEFAULT_RETRY_SCHEDULE
    webhook_timeout_seconds: float = 15.0
    webhook_disable_after_failures: int = 20
    webhook_allow_private_targets: bool = True  # sandbox on a laptop delivers to localhost
    webhook_secret_grace_seconds: int = 24 * 3600
    dispatcher: bool = True  # run the webhook dispatcher inside the server process
    dispatcher_poll_seconds: float = 0.5
    request_log: bool = True  # keep the per-workspace request log (GET /v1/sandbox/requests)
    request_log_keep: int = 1000  # requests kept per workspace (newest)
    request_log_retention_days: int = 7  # and none older than this (wall clock)
    request_log_body_bytes: int = 16_384  # each stored body is cut to this size, after redaction
    log_level: str = "info"
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


def _cast(key: str, raw: str, annotation: Any) -> Any:
    kind = str(annotation)
    try:
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
