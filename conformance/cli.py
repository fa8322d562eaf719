"""`care-conformance`: judge any implementation of the partner API, or a partner's webhook receiver.

Exit codes: 0 everything conforms, 1 the target does not conform, 2 the kit was misused (bad arguments,
unreadable spec, unreachable server, rejected credentials) — a one-line message, never a traceback —
and 3 the kit itself broke (a bug to file; the reports are still written).
"""

from __future__ import annotations

import sys
import traceback
from pathlib import Path

import click

from conformance.errors import BUG_POINTER, EXIT_FAILED, EXIT_KIT_BUG, EXIT_MISUSE, EXIT_OK, KitError
from conformance.options import LAYERS, PROFILES, RunOptions, parse_reports

EXIT_CODES = """Exit codes: 0 the target conforms; 1 it does not conform (failures in the reports);
2 misuse or an unreachable target (bad arguments, unreadable spec, wrong URL, rejected credentials);
3 the kit itself broke (a bug in care-conformance: please file it; the reports are still written)."""


class KitCommand(click.Command):
    """Click reports usage errors with exit code 2 already; `KitError` maps to 2, any other crash to 3."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except KitError as exc:
            click.echo(f"care-conformance: error: {exc}", err=True)
            ctx.exit(EXIT_MISUSE)
        except (click.exceptions.Exit, click.ClickException, SystemExit, KeyboardInterrupt):
            raise
        except Exception as exc:
            last = traceback.extract_tb(exc.__traceback__)[-1:]
            where = f" at {last[0].filename}:{last[0].lineno}" if last else ""
            click.echo(f"care-conformance: internal error: {type(exc).__name__}: {exc}{where}", err=True)
            click.echo(BUG_POINTER, err=True)
            ctx.exit(EXIT_KIT_BUG)


@click.group(context_settings={"help_option_names": ["-h", "--help"]}, epilog=EXIT_CODES)
@click.version_option(package_name="care-sandbox", prog_name="care-conformance")
def main() -> None:
    """Conformance kit for the patient-consented health-data partner API.

    Example:

        care-conformance run --base-url http://127.0.0.1:8080 --api-key p2c_test_…
    """


@main.command(cls=KitCommand, epilog=EXIT_CODES)
@click.option("--base-url", required=True, help="Base URL of the implementation under test.")
@click.option("--api-key", help="API key of the workspace under test (X-API-Key).")
@click.option("--client-id", help="OAuth client id (client_credentials); enables the scope checks.")
@click.option("--client-secret", help="OAuth client secret, with --client-id.")
@click.option("--second-api-key", help="API key of a second workspace; enables the tenant-isolation checks.")
@click.option(
    "--spec",
    "spec_path",
    metavar="PATH_OR_URL",
    help="OpenAPI 3.1 file or http(s) URL (default: the openapi.yaml installed with the kit).",
)
@click.option(
    "--profile",
    type=click.Choice(list(PROFILES)),
    default="quick",
    show_default=True,
    help="quick for CI steps, full for nightly runs.",
)
@click.option(
    "--seed", type=int, default=1, show_default=True, help="Seed: the same seed replays the same cases."
)
@click.option(
    "--workers", type=click.IntRange(1, 64), default=1, show_default=True, help="Schemathesis worker threads."
)
@click.option("--include", multiple=True, help="Only operations matching this glob (label or operationId).")
@click.option("--exclude", multiple=True, help="Skip operations matching this glob (label or operationId).")
@click.option(
    "--layer",
    "layers",
    multiple=True,
    type=click.Choice(list(LAYERS)),
    help="Run only these layers (repeatable; default: all).",
)
@click.option(
    "--report",
    "reports",
    multiple=True,
    metavar="FORMAT=FILE[,…]",
    help="Write reports: junit=FILE,json=FILE,markdown=FILE,html=FILE,har=FILE (HAR 1.2, secrets redacted).",
)
@click.option(
    "--read-only",
    is_flag=True,
    help="Send only GET/HEAD: nothing on the target changes (for production-like targets).",
)
@click.option(
    "--allow-clock",
    is_flag=True,
    help="Run the sandbox-clock scenario, which moves the workspace's test clock forward for good.",
)
@click.option(
    "--request-timeout", type=float, default=10.0, show_default=True, help="Per-request timeout (s)."
)
@click.option(
    "--webhook-timeout",
    type=float,
    default=15.0,
    show_default=True,
    help="How long to wait for a webhook delivery (s).",
)
@click.option(
    "--receiver-host",
    default="127.0.0.1",
    show_default=True,
    help="Interface the kit's webhook receiver listens on.",
)
@click.option("--receiver-url", help="Public URL of the receiver, when the target cannot reach loopback.")
@click.option("--quiet", is_flag=True, help="No progress, only the summary.")
def run(
    base_url: str,
    api_key: str | None,
    client_id: str | None,
    client_secret: str | None,
    second_api_key: str | None,
    spec_path: str | None,
    profile: str,
    seed: int,
    workers: int,
    include: tuple[str, ...],
    exclude: tuple[str, ...],
    layers: tuple[str, ...],
    reports: tuple[str, ...],
    request_timeout: float,
    webhook_timeout: float,
    receiver_host: str,
    receiver_url: str | None,
    quiet: bool,
    read_only: bool,
    allow_clock: bool,
) -> None:
    """Run the conformance kit against an implementation of the API.

    Layers: the spec itself (OpenAPI 3.1), Schemathesis stateless and stateful phases, this API's own
    checks (error envelope, headers, pagination, date filters, scopes, tenant isolation, idempotency),
    scenarios (consent lifecycle, webhook delivery, report PDF, FHIR search) and webhook signatures.
    What it changes on the target: by default it creates its own patients, link requests, webhooks and
    reports, removes what the contract lets it remove at the end, and never touches what existed before;
    the test clock moves only with --allow-clock; --read-only sends nothing but GET and HEAD.

    Example:

    \b
        care-conformance run --base-url http://127.0.0.1:8080 \\
            --api-key p2c_test_… --second-api-key p2c_test_… \\
            --report junit=reports/junit.xml,html=reports/conformance.html
    """
    from rich.console import Console

    from conformance.console import LiveProgress, quiet_third_parties, render_summary
    from conformance.reporting import write_reports
    from conformance.runner import run as run_kit

    options = RunOptions(
        base_url=base_url.rstrip("/"),
        api_key=api_key,
        client_id=client_id,
        client_secret=client_secret,
        second_api_key=second_api_key,
        spec_path=spec_path,
        profile=profile,
        seed=seed,
        workers=workers,
        include=include,
        exclude=exclude,
        reports=parse_reports(reports),
        layers=layers or LAYERS,
        request_timeout=request_timeout,
        webhook_timeout=webhook_timeout,
        receiver_host=receiver_host,
        receiver_url=receiver_url,
        read_only=read_only,
        allow_clock=allow_clock,
    )
    console = Console()
    with quiet_third_parties(), LiveProgress(console, enabled=not quiet and console.is_terminal) as progress:
        report = run_kit(options, progress)
    for path in write_reports(report, options.reports):
        console.print(f"report written: {path}")
    render_summary(report, console)
    if report.kit_errors:
        click.echo(BUG_POINTER, err=True)
        sys.exit(EXIT_KIT_BUG)
    sys.exit(EXIT_OK if report.conforms else EXIT_FAILED)


@main.command("webhook-consumer", cls=KitCommand, epilog=EXIT_CODES)
@click.option("--url", required=True, help="The partner's webhook receiver URL.")
@click.option("--secret", required=True, help="The whsec_… secret the receiver verifies with.")
@click.option("--spec", "spec_path", metavar="PATH_OR_URL", help="OpenAPI 3.1 file or URL with webhooks:.")
@click.option(
    "--deadline",
    type=float,
    default=5.0,
    show_default=True,
    help="Seconds a valid delivery may take to be acknowledged.",
)
@click.option("--report", "reports", multiple=True, metavar="FORMAT=FILE[,…]", help="As for `run`.")
def webhook_consumer(
    url: str, secret: str, spec_path: str | None, deadline: float, reports: tuple[str, ...]
) -> None:
    """Check a partner's webhook receiver with signed deliveries built from the spec's examples.

    It must accept valid deliveries with 2xx within the deadline, reject bad signatures and stale
    timestamps with 4xx, accept a duplicate webhook-id twice, and accept out-of-order events.

    Example:

        care-conformance webhook-consumer --url https://partner.example/hooks --secret whsec_…
    """
    from rich.console import Console

    from conformance.console import render_summary
    from conformance.consumer import check_consumer
    from conformance.reporting import write_reports

    targets = parse_reports(reports)
    report = check_consumer(url, secret, spec_path=spec_path, deadline=deadline)
    console = Console()
    render_summary(report, console)
    for path in write_reports(report, targets):
        console.print(f"report written: {path}")
    sys.exit(EXIT_OK if report.conforms else EXIT_FAILED)


@main.command("proxy", cls=KitCommand, epilog=EXIT_CODES)
@click.option("--upstream", required=True, help="Base URL of the implementation the traffic goes to.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface the proxy listens on.")
@click.option("--port", type=click.IntRange(0, 65535), default=0, show_default=True, help="0: any free port.")
@click.option("--spec", "spec_path", type=click.Path(path_type=Path), help="OpenAPI 3.1 file.")
@click.option(
    "--report",
    "reports",
    multiple=True,
    metavar="FORMAT=FILE[,…]",
    help="Written on SIGINT/SIGTERM: junit=FILE,json=FILE,markdown=FILE,html=FILE,har=FILE.",
)
def proxy(upstream: str, host: str, port: int, spec_path: Path | None, reports: tuple[str, ...]) -> None:
    """Validating reverse proxy: judge live traffic between a real client and a real server.

    Point your client at the printed address instead of the server. Every request and response is
    checked against the contract (openapi-core) and by the kit's header, error-envelope and pagination
    checks; each violation prints as one line with its request id. PDFs and streams pass through
    untouched; GET /healthz is answered by the proxy itself. Stop it with Ctrl-C or SIGTERM: it then writes
    the reports and exits 1 if it saw any violation, else 0.

    Example:

        care-conformance proxy --upstream https://staging.example --port 8081 --report har=traffic.har
    """
    from conformance.proxy import serve
    from conformance.reporting import write_reports

    if not upstream.startswith(("http://", "https://")):
        raise KitError(f"--upstream must be an http(s) URL, got {upstream!r}.")
    targets = parse_reports(reports)

    def say(line: str) -> None:
        click.echo(line)
        sys.stdout.flush()

    try:
        report = serve(upstream, host=host, port=port, spec_path=spec_path, reports=targets, printer=say)
    except OSError as exc:
        raise KitError(f"Cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    for path in write_reports(report, targets):
        say(f"report written: {path}")
    violations = int(report.stats.get("violations", 0))
    say(f"care-conformance proxy: {report.stats.get('exchanges', 0)} exchange(s), {violations} violation(s)")
    sys.exit(EXIT_FAILED if violations else EXIT_OK)
