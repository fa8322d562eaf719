"""``care-sandbox``: serve the sandbox, manage workspaces, migrate, run webhook workers.

Every command reads the one :class:`Settings` (flags > ``CARE_SANDBOX_*`` > defaults) and turns
domain errors into a one-line message and a non-zero exit — users never see a traceback.
"""

from __future__ import annotations

import logging
import socket
import sys
from collections.abc import Callable
from functools import wraps
from typing import Any

import click
from rich.console import Console
from rich.table import Table
from sqlalchemy.exc import SQLAlchemyError

from mock_server.bootstrap import DEMO_WORKSPACE, ensure_demo
from mock_server.settings import Settings, SettingsError, parse_schedule
from mock_server.spec import ContractError
from mock_server.storage import Storage
from mock_server.storage.workspaces import WorkspaceError, WorkspaceRepo

console = Console(stderr=True, soft_wrap=True)


def _friendly(func: Callable[..., Any]) -> Callable[..., Any]:
    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except (SettingsError, ContractError, WorkspaceError, ValueError, OSError) as exc:
            raise click.ClickException(str(exc)) from exc
        except SQLAlchemyError as exc:  # one line, not a traceback: the database said no
            reason = str(getattr(exc, "orig", None) or exc).strip()[:500]
            raise click.ClickException(f"database error: {reason}") from exc

    return wrapper


def _settings(**flags: Any) -> Settings:
    schedule = flags.pop("webhook_retry_schedule", None)
    if schedule is not None:
        flags["webhook_retry_schedule"] = parse_schedule(schedule)
    return Settings.from_env(**flags)


def _free_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """care-sandbox: the sandbox of the patient-consented health-data partner API.

    Example: care-sandbox serve --port 8080
    """


@main.command()
@click.option("--host", default=None, help="Interface to bind (default 127.0.0.1).")
@click.option("--port", type=int, default=None, help="Port (default 8080; 0 picks a free one).")
@click.option("--database-url", default=None, help="sqlite:///path.sqlite3 (default) or postgresql://…")
@click.option("--seed", type=int, default=None, help="Seed of the demo data (default 42).")
@click.option("--workers", type=int, default=None, help="Server processes (PostgreSQL for more than 1).")
@click.option("--webhook-retry-schedule", default=None, help="Comma-separated retry delays in seconds.")
@click.option("--no-dispatcher", is_flag=True, default=False, help="Do not deliver webhooks in this process.")
@click.option("--no-demo", is_flag=True, default=False, help="Do not create the demo workspace.")
@click.option(
    "--allow-private-webhook-targets/--refuse-private-webhook-targets",
    default=None,
    help="Webhooks to private/loopback addresses (default: allowed only on a loopback bind).",
)
@_friendly
def serve(
    host: str | None,
    port: int | None,
    database_url: str | None,
    seed: int | None,
    workers: int | None,
    webhook_retry_schedule: str | None,
    no_dispatcher: bool,
    no_demo: bool,
    allow_private_webhook_targets: bool | None,
) -> None:
    """Start the sandbox (creating the demo workspace on first start) and print a test API key.

    Example: care-sandbox serve --port 8080 --database-url sqlite:///var/care_sandbox.sqlite3
    """
    import uvicorn

    settings = _settings(
        host=host,
        port=port,
        database_url=database_url,
        seed=seed,
        workers=workers,
        webhook_retry_schedule=webhook_retry_schedule,
        dispatcher=False if no_dispatcher else None,
        demo=False if no_demo else None,
        webhook_allow_private_targets=allow_private_webhook_targets,
    )
    if settings.workers > 1 and settings.database_url.startswith("sqlite"):
        raise click.ClickException("--workers > 1 needs PostgreSQL (--database-url postgresql://…)")
    if settings.port == 0:
        settings = settings.replace(port=_free_port(settings.host))
    storage = Storage.open(settings.database_url)
    demo = ensure_demo(settings, storage) if settings.demo else None
    storage.close()
    url = f"http://{settings.host}:{settings.port}"
    console.print(f"[bold green]care-sandbox[/] on [link={url}]{url}[/]  ·  Swagger UI {url}/ui/")
    allowed = "allowed" if settings.private_webhook_targets_allowed else "refused"
    console.print(f"private and loopback webhook targets: {allowed}")
    if demo is not None:
        console.print(f"workspace [bold]{DEMO_WORKSPACE}[/]: {demo.message}")
    logging.basicConfig(level=settings.log_level.upper(), format="%(levelname)s %(name)s: %(message)s")
    for noisy in ("connexion", "fontTools", "matplotlib"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    _export(settings)
    uvicorn.run(
        "mock_server.asgi:app",
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        factory=False,
        log_level="warning",
        loop="uvloop",
        http="httptools",
    )


def _export(settings: Settings) -> None:
    """Hand the resolved settings to uvicorn's worker processes through the environment."""
    import os

    for key, value in {
        "database_url": settings.database_url,
        "seed": settings.seed,
        "workers": settings.workers,
        "host": settings.host,
        "port": settings.port,
        "demo": "false",
        "dispatcher": str(settings.dispatcher).lower(),
        "webhook_retry_schedule": ",".join(str(v) for v in settings.webhook_retry_schedule),
        "webhook_allow_private_targets": str(settings.private_webhook_targets_allowed).lower(),
    }.items():
        os.environ[f"CARE_SANDBOX_{key.upper()}"] = str(value)


@main.command()
@click.option("--database-url", default=None, help="Database to migrate.")
@_friendly
def migrate(database_url: str | None) -> None:
    """Apply pending schema migrations once (safe to run from several processes at once).

    Example: care-sandbox migrate --database-url postgresql://postgres@127.0.0.1/test
    """
    from mock_server.storage.engine import build_engine
    from mock_server.storage.migrations import migrate as run

    settings = _settings(database_url=database_url)
    applied = run(build_engine(settings.database_url))
    click.echo(f"applied migrations: {applied}" if applied else "schema is up to date")


@main.group()
def workspace() -> None:
    """Create and list partner workspaces.

    Example: care-sandbox workspace create acme-clinic --tier professional
    """


@workspace.command("create")
@click.argument("name")
@click.option("--scopes", default=None, help="Space- or comma-separated scopes (default: all).")
@click.option("--tier", default="standard", show_default=True, help="standard, professional or enterprise.")
@click.option("--rate-limit", type=int, default=None, help="Requests per hour (overrides the tier).")
@click.option("--database-url", default=None, help="Database of the sandbox.")
@click.option("--no-seed", is_flag=True, default=False, help="Create it without sandbox patients.")
@_friendly
def workspace_create(
    name: str, scopes: str | None, tier: str, rate_limit: int | None, database_url: str | None, no_seed: bool
) -> None:
    """Create a workspace with sandbox patients; print its test API key and OAuth client once.

    Example: care-sandbox workspace create ci-second --scopes "patients:read pain:read"
    """
    from mock_server.bootstrap import create_workspace

    settings = _settings(database_url=database_url)
    storage = Storage.open(settings.database_url)
    chosen = tuple(s for s in (scopes or "").replace(",", " ").split() if s) or None
    made = create_workspace(
        settings, storage, name, tier=tier, scopes=chosen, rate_limit=rate_limit, seed_patients=not no_seed
    )
    click.echo(f"workspace_id={made.workspace.id}")
    click.echo(f"api_key={made.api_key}")
    click.echo(f"client_id={made.client_id}")
    click.echo(f"client_secret={made.client_secret}")


@workspace.command("list")
@click.option("--database-url", default=None, help="Database of the sandbox.")
@_friendly
def workspace_list(database_url: str | None) -> None:
    """List workspaces (never their secrets).

    Example: care-sandbox workspace list
    """
    settings = _settings(database_url=database_url)
    repo = WorkspaceRepo(Storage.open(settings.database_url))
    table = Table("id", "name", "tier", "limit/h", "keys", "created")
    for ws in repo.list():
        table.add_row(
            ws.id, ws.name, ws.tier, str(ws.rate_limit_per_hour), str(repo.key_count(ws.id)), ws.created_at
        )
    Console().print(table)


@main.command()
@click.option("--database-url", default=None, help="Database shared with the servers.")
@click.option("--webhook-retry-schedule", default=None, help="Comma-separated retry delays in seconds.")
@click.option(
    "--allow-private-webhook-targets/--refuse-private-webhook-targets",
    default=None,
    help="Webhooks to private/loopback addresses (default: as CARE_SANDBOX_HOST's bind would allow).",
)
@_friendly
def worker(
    database_url: str | None, webhook_retry_schedule: str | None, allow_private_webhook_targets: bool | None
) -> None:
    """Run a webhook delivery worker (start several against PostgreSQL to scale out).

    Example: care-sandbox worker --database-url postgresql://postgres@127.0.0.1/test
    """
    from mock_server.webhooks.dispatcher import Dispatcher

    settings = _settings(
        database_url=database_url,
        webhook_retry_schedule=webhook_retry_schedule,
        webhook_allow_private_targets=allow_private_webhook_targets,
    )
    storage = Storage.open(settings.database_url)
    logging.basicConfig(level=settings.log_level.upper(), format="%(levelname)s %(name)s: %(message)s")
    console.print(f"[bold]care-sandbox worker[/] delivering webhooks from {_redact(settings.database_url)}")
    # in this process (the worker *is* the delivery process); stops cleanly on SIGINT/SIGTERM
    Dispatcher(storage, settings, process=False).run_forever()


def _redact(url: str) -> str:
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://…@{rest.split('@', 1)[1]}"
    return url


def _attach_optional_groups() -> None:
    try:
        from mock_server.webhooks.cli import webhooks
    except ImportError:  # pragma: no cover - the webhooks tools are part of the package
        return
    main.add_command(webhooks)


_attach_optional_groups()

if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
