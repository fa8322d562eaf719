"""``care-sandbox``: serve the sandbox, manage workspaces, migrate, run webhook workers.

Every command reads the one :class:`Settings` (flags > ``CARE_SANDBOX_*`` > defaults) and turns
domain errors into a one-line message and a non-zero exit — users never see a traceback.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import socket
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from functools import wraps
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from mock_server import spec as contract
from mock_server.bootstrap import DEMO_WORKSPACE, ensure_demo
from mock_server.settings import Settings, SettingsError, parse_schedule
from mock_server.spec import ContractError
from mock_server.storage import Storage
from mock_server.storage.errors import DatabaseError
from mock_server.storage.workspaces import WorkspaceError, WorkspaceRepo

console = Console(stderr=True, soft_wrap=True)


def _friendly(func: Callable[..., Any]) -> Callable[..., Any]:
    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except (SettingsError, ContractError, WorkspaceError, ValueError, OSError) as exc:
            raise click.ClickException(str(exc)) from exc
        except DatabaseError as exc:  # one line, not a traceback: the database said no
            reason = str(getattr(exc, "orig", None) or exc).strip()[:500]
            raise click.ClickException(f"database error: {reason}") from exc

    return wrapper


def _settings(**flags: Any) -> Settings:
    schedule = flags.pop("webhook_retry_schedule", None)
    if schedule is not None:
        flags["webhook_retry_schedule"] = parse_schedule(schedule)
    return Settings.from_env(**flags)


def _bind(host: str, port: int) -> socket.socket:
    """Listen before anything is printed: a port in use is one clear line, not a banner and a key
    that point at somebody else's server. Port 0 picks a free port (the socket keeps it)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        reason = "address already in use" if exc.errno == errno.EADDRINUSE else exc.strerror or str(exc)
        raise click.ClickException(
            f"cannot listen on {host}:{port}: {reason} (choose another --port, or --port 0 for a free one)"
        ) from exc
    sock.set_inheritable(True)
    return sock


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="care-sandbox", prog_name="care-sandbox")
def main() -> None:
    """care-sandbox: the sandbox of the patient-consented health-data partner API.

    Example: care-sandbox serve --port 8080
    """


@main.command()
@click.option("--host", default=None, help="Interface to bind (default 127.0.0.1).")
@click.option("--port", type=int, default=None, help="Port (default 8080; 0 picks a free one).")
@click.option(
    "--database-url",
    default=None,
    help="sqlite:///path.sqlite3 or postgresql://… (default: SQLite in the per-user data directory).",
)
@click.option(
    "--spec",
    "spec_path",
    default=None,
    metavar="PATH_OR_URL",
    help="The contract, a file or an http(s) URL (default: the openapi.yaml installed with the package).",
)
@click.option("--seed", type=int, default=None, help="Seed of the demo data (default 42).")
@click.option("--workers", type=int, default=None, help="Server processes (PostgreSQL for more than 1).")
@click.option("--webhook-retry-schedule", default=None, help="Comma-separated retry delays in seconds.")
@click.option("--no-dispatcher", is_flag=True, default=False, help="Do not deliver webhooks in this process.")
@click.option("--no-demo", is_flag=True, default=False, help="Do not create the demo workspace.")
@click.option(
    "--forwarded-allow-ips",
    default=None,
    help="Proxies whose X-Forwarded-For is believed (comma-separated IPs/CIDRs, '*' any; default none).",
)
@click.option(
    "--cors-origins",
    default=None,
    help='Origins browsers may call from: "*" (default, any), a comma-separated list, or "" (CORS off).',
)
@click.option("--access-log", is_flag=True, default=False, help="One log line per request, with its id.")
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
    spec_path: str | None,
    seed: int | None,
    workers: int | None,
    webhook_retry_schedule: str | None,
    no_dispatcher: bool,
    no_demo: bool,
    forwarded_allow_ips: str | None,
    cors_origins: str | None,
    access_log: bool,
    allow_private_webhook_targets: bool | None,
) -> None:
    """Start the sandbox (creating the demo workspace on first start) and print a test API key.

    Example: care-sandbox serve --port 8080 --spec https://api.example/openapi.yaml
    """
    import gc

    # What is loaded by now (modules, the contract's libraries) lives as long as the server: out of the
    # collector's generations, the collections that seeding the demo workspace and building the app
    # trigger stop walking it (~0.08 s of a first start, issue #16). asgi freezes the app the same way.
    gc.freeze()

    settings = _settings(
        host=host,
        port=port,
        database_url=database_url,
        spec_path=spec_path,
        seed=seed,
        workers=workers,
        webhook_retry_schedule=webhook_retry_schedule,
        dispatcher=False if no_dispatcher else None,
        demo=False if no_demo else None,
        forwarded_allow_ips=forwarded_allow_ips,
        cors_origins=cors_origins,
        access_log=True if access_log else None,
        webhook_allow_private_targets=allow_private_webhook_targets,
    )
    if settings.workers > 1 and settings.database_url.startswith("sqlite"):
        raise click.ClickException("--workers > 1 needs PostgreSQL (--database-url postgresql://…)")
    # The contract first: a server that cannot load it must fail before it binds, creates a database,
    # a workspace or prints a key that leads nowhere.
    contract.load(settings.spec_path, cache_dir=settings.contract_cache_dir)
    sock = _bind(settings.host, settings.port)
    settings = settings.replace(port=int(sock.getsockname()[1]))
    storage = Storage.open(settings.database_url)
    demo = ensure_demo(settings, storage) if settings.demo else None
    storage.close()
    _announce(settings, demo.message if demo is not None else None)
    logging.basicConfig(level=settings.log_level.upper(), format="%(levelname)s %(name)s: %(message)s")
    for noisy in ("connexion", "fontTools", "matplotlib", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    _export(settings)
    _run_uvicorn(settings, sock)


def _announce(settings: Settings, demo_message: str | None) -> None:
    """What a user needs first: where the sandbox answers, whether webhooks may reach private
    addresses, and the demo workspace's key (on its first start)."""
    url = f"http://{settings.host}:{settings.port}"
    console.print(f"[bold green]care-sandbox[/] on [link={url}]{url}[/]  ·  Swagger UI {url}/ui/")
    allowed = "allowed" if settings.private_webhook_targets_allowed else "refused"
    console.print(f"private and loopback webhook targets: {allowed}")
    if demo_message is not None:
        console.print(f"workspace [bold]{DEMO_WORKSPACE}[/]: {demo_message}")


def _run_uvicorn(settings: Settings, sock: socket.socket) -> None:
    """Serve on the socket bound before the demo workspace was made (so the printed port is the real
    one), in this process or, with ``--workers``, in uvicorn's supervised children."""
    import uvicorn

    config = uvicorn.Config(
        "mock_server.asgi:app",
        host=settings.host,
        port=settings.port,
        **uvicorn_proxy_options(settings),
        workers=settings.workers,
        factory=False,
        log_level="warning",
        access_log=False,  # ours (--access-log) carries the request id
        loop="uvloop",
        http="httptools",
    )
    server = uvicorn.Server(config)
    if settings.workers > 1:
        from uvicorn.supervisors import Multiprocess

        Multiprocess(config, sockets=[sock]).run()
    else:
        server.run(sockets=[sock])
        if not server.started:
            raise click.ClickException("the sandbox failed to start; see the log above")


def uvicorn_proxy_options(settings: Settings) -> dict[str, Any]:
    """Whom uvicorn believes about the client address.

    uvicorn's own default trusts ``X-Forwarded-For`` from 127.0.0.1, so any local caller could claim
    a fresh address per request and get a fresh rate-limit bucket. Headers are believed only from the
    proxies configured in ``--forwarded-allow-ips``; with none, proxy headers are ignored altogether.
    """
    allowed = settings.forwarded_allow_ips.strip()
    return {"proxy_headers": bool(allowed), "forwarded_allow_ips": allowed or ""}


def _export(settings: Settings) -> None:
    """Hand the resolved settings (flags included) to uvicorn's worker processes through the environment;
    the workers do not create the demo workspace again."""
    import os

    os.environ.update(settings.replace(demo=False).to_env())


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
@click.option(
    "--dataset",
    metavar="DIR_OR_URL",
    default=None,
    help="Load this care-synth dataset (ndjson, parquet or sqlite) instead of seeding patients.",
)
@click.option(
    "--consent",
    type=click.Choice(["granted", "pending", "none"]),
    default="granted",
    show_default=True,
    help="With --dataset: the patients consent at once, get a pending link request, or neither.",
)
@click.option(
    "--consent-scopes",
    default=None,
    help="With --dataset: scopes the patients grant (default: all data scopes).",
)
@_friendly
def workspace_create(
    name: str,
    scopes: str | None,
    tier: str,
    rate_limit: int | None,
    database_url: str | None,
    no_seed: bool,
    dataset: str | None,
    consent: str,
    consent_scopes: str | None,
) -> None:
    """Create a workspace with sandbox patients; print its test API key and OAuth client once.

    Example: care-sandbox workspace create ci-second --scopes "patients:read pain:read"
    """
    from mock_server.bootstrap import create_workspace

    if dataset is None:
        context = click.get_current_context()
        given = [
            f"--{name.replace('_', '-')}"
            for name in ("consent", "consent_scopes")
            if context.get_parameter_source(name) is not click.core.ParameterSource.DEFAULT
        ]
        if given:
            raise click.UsageError(
                f"{' and '.join(given)} {'apply' if len(given) > 1 else 'applies'} only with --dataset "
                "(to the dataset's patients)"
            )
    settings = _settings(database_url=database_url)
    storage = Storage.open(settings.database_url)
    chosen = tuple(s for s in (scopes or "").replace(",", " ").split() if s) or None
    if dataset is None:
        made = create_workspace(
            settings,
            storage,
            name,
            tier=tier,
            scopes=chosen,
            rate_limit=rate_limit,
            seed_patients=not no_seed,
        )
        _print_secrets(made)
        return
    from mock_server.datasets import validate_dataset

    with _local_dataset(dataset) as directory:
        plan = validate_dataset(directory, settings.spec_path)  # manifest and patients, before anything
        # The workspace and its dataset commit together: a bad record found while loading leaves no
        # half-made workspace behind.
        with storage.unit_of_work():
            made = create_workspace(
                settings, storage, name, tier=tier, scopes=chosen, rate_limit=rate_limit, seed_patients=False
            )
            _load(settings, storage, made.workspace, directory, consent, consent_scopes, plan)
        _print_secrets(made)


def _print_secrets(made: Any) -> None:
    click.echo(f"workspace_id={made.workspace.id}")
    click.echo(f"api_key={made.api_key}")
    click.echo(f"client_id={made.client_id}")
    click.echo(f"client_secret={made.client_secret}")


@workspace.command("add-client")
@click.argument("name")
@click.option("--public", is_flag=True, default=False, help="A public client: no secret, PKCE required.")
@click.option("--redirect-uri", "redirect_uris", multiple=True, help="Registered redirect URI (repeatable).")
@click.option("--scopes", default=None, help="Space- or comma-separated scopes (default: the workspace's).")
@click.option("--database-url", default=None, help="Database of the sandbox.")
@_friendly
def workspace_add_client(
    name: str, public: bool, redirect_uris: tuple[str, ...], scopes: str | None, database_url: str | None
) -> None:
    """Register another OAuth client for a workspace; print its id (and secret, once, if confidential).

    Redirect URIs match exactly; loopback ones (127.0.0.1, [::1], localhost) on any port.

    Example: care-sandbox workspace add-client acme-clinic --public --redirect-uri http://127.0.0.1/callback
    """
    settings = _settings(database_url=database_url)
    repo = WorkspaceRepo(Storage.open(settings.database_url))
    found = repo.by_name(name)
    if found is None:
        raise click.ClickException(f"no workspace named {name!r}")
    chosen = tuple(s for s in (scopes or "").replace(",", " ").split() if s) or None
    client_id, secret = repo.add_client(found.id, public=public, redirect_uris=redirect_uris, scopes=chosen)
    click.echo(f"client_id={client_id}")
    click.echo("client_type=public" if secret is None else f"client_secret={secret}")


@contextlib.contextmanager
def _local_dataset(location: str) -> Iterator[Path]:
    """A dataset directory, or a URL (`s3://…`, `file://…`) copied to a temporary directory first."""
    if "://" not in location:
        yield Path(location)
        return
    if location.startswith("file://"):
        yield Path(location.removeprefix("file://"))
        return
    try:
        import fsspec
    except ImportError:
        raise click.ClickException("a dataset URL needs fsspec: pip install 'care-sandbox[dask]'") from None
    try:
        fs, root = fsspec.core.url_to_fs(location)
        found = fs.isdir(root)
    except (ImportError, ValueError, OSError) as exc:  # no filesystem for the scheme (s3fs…), unreachable
        raise click.ClickException(f"cannot read {location}: {exc}") from None
    if not found:
        raise click.ClickException(f"{location}: no such directory")
    with tempfile.TemporaryDirectory(prefix="care-dataset-") as tmp:
        fs.get(root.rstrip("/") + "/", tmp + "/", recursive=True)
        try:
            yield Path(tmp)
        except Exception as exc:  # messages name the copy; the user knows the URL
            if tmp not in str(exc):
                raise
            raise click.ClickException(str(exc).replace(tmp, location.rstrip("/"))) from None


def _load(
    settings: Settings,
    storage: Storage,
    workspace: Any,
    directory: Path,
    consent: str,
    consent_scopes: str | None,
    plan: Any = None,
) -> None:
    from mock_server.app import build_services
    from mock_server.datasets import load_dataset

    scopes = [s for s in (consent_scopes or "").replace(",", " ").split() if s] or None
    started = time.perf_counter()
    with _load_progress(directory, workspace.name) as advance:
        report = load_dataset(
            build_services(settings, storage),
            workspace,
            directory,
            consent=consent,
            scopes=scopes,
            plan=plan,
            on_progress=advance,
        )
    records = sum(report.counts.values())
    per_series = ", ".join(f"{k} {v:,}" for k, v in report.counts.items())
    console.print(
        f"loaded {report.patients:,} patients and {records:,} records ({per_series}) "
        f"in {time.perf_counter() - started:.1f} s; "
        f"consent: {report.consent}; test clock at {report.clock}"
    )


@contextlib.contextmanager
def _load_progress(directory: Path, workspace_name: str) -> Iterator[Callable[[str, int], None]]:
    """A records bar on a terminal (a large load takes a minute: the bar says how far and how long),
    gone when done; nothing when stderr is not a terminal (CI logs, pipes). The total comes from the
    dataset's manifest (its counts), unknown without one."""
    from mock_server.dataset_rows import manifest_records
    from synthetic_data.dataset import read_manifest
    from synthetic_data.progress import progress_bar

    total = manifest_records(read_manifest(directory))
    label = f"loading into {workspace_name}"
    progress = progress_bar(console, label, "records", disable=not console.is_terminal)
    task = progress.add_task("records", total=total or None)
    with progress:
        yield lambda _series, rows: progress.advance(task, rows)


@workspace.command("load")
@click.argument("name")
@click.argument("dataset", metavar="DIR_OR_URL")
@click.option(
    "--consent",
    type=click.Choice(["granted", "pending", "none"]),
    default="granted",
    show_default=True,
    help="The patients consent at once, get a pending link request, or neither.",
)
@click.option("--consent-scopes", default=None, help="Scopes the patients grant (default: all data scopes).")
@click.option("--database-url", default=None, help="Database of the sandbox.")
@_friendly
def workspace_load(
    name: str, dataset: str, consent: str, consent_scopes: str | None, database_url: str | None
) -> None:
    """Load a care-synth dataset (ndjson, parquet or sqlite) into an existing workspace.

    The dataset is validated first (a bad row is named with its file); then everything is written in
    one transaction, and the workspace's test clock moves to the dataset's end.

    Example: care-sandbox workspace load acme-clinic data/ --consent pending
    """
    settings = _settings(database_url=database_url)
    storage = Storage.open(settings.database_url)
    found = WorkspaceRepo(storage).by_name(name)
    if found is None:
        raise click.ClickException(f"no workspace named {name!r} (care-sandbox workspace list)")
    with _local_dataset(dataset) as directory:
        _load(settings, storage, found, directory, consent, consent_scopes)


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
        from mock_server.webhook_tools.cli import webhooks
    except ImportError:  # pragma: no cover - the webhooks tools are part of the package
        return
    main.add_command(webhooks)


_attach_optional_groups()

if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
