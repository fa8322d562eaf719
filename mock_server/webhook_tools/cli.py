"""``care-sandbox webhooks …``: the integrator's tools — a verifying local receiver and event triggers.

The group is attached to the ``care-sandbox`` CLI by ``mock_server.cli``; it also runs on its own as
``python -m mock_server.webhook_tools.cli``. Errors become one clean line and a non-zero exit.
"""

from __future__ import annotations

import click
from rich.console import Console

from mock_server.webhook_tools import listener
from mock_server.webhook_tools.trigger import TRIGGERS, TriggerError, trigger
from mock_server.webhooks.event_types import EVENT_TYPES

DEFAULT_BASE_URL = "http://127.0.0.1:8080"


@click.group("webhooks", context_settings={"help_option_names": ["-h", "--help"]})
def webhooks() -> None:
    """Receive, verify and trigger the sandbox's webhooks.

    Example: care-sandbox webhooks listen --api-key $KEY
    """


@webhooks.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option(
    "--port", type=int, default=8787, show_default=True, help="Port to listen on (0 picks a free one)."
)
@click.option(
    "--secret",
    "secrets",
    multiple=True,
    help="Endpoint secret (whsec_…) to verify with; repeat it during a rotation.",
)
@click.option(
    "--forward-to", default=None, help="Also POST each verified delivery, headers intact, to this URL."
)
@click.option("--print-json", is_flag=True, default=False, help="Print each payload in full.")
@click.option(
    "--api-key", default=None, help="Register this listener as an endpoint of the sandbox while it runs."
)
@click.option("--base-url", default=DEFAULT_BASE_URL, show_default=True, help="The sandbox, for --api-key.")
@click.option(
    "--events",
    default=",".join(e for e in EVENT_TYPES if e != "webhook.test"),
    show_default=True,
    help="Comma-separated event types to subscribe to, for --api-key.",
)
def listen(
    host: str,
    port: int,
    secrets: tuple[str, ...],
    forward_to: str | None,
    print_json: bool,
    api_key: str | None,
    base_url: str,
    events: str,
) -> None:
    """Run a local receiver that verifies both signatures and prints each event.

    A delivery is answered 200 only when it is fresh (webhook-timestamp within 5 minutes) and both
    X-P2C-Signature and webhook-signature verify; otherwise 400, so the sandbox retries and its
    delivery log shows why. With --api-key the listener subscribes itself and needs no --secret.

    \b
    Example: care-sandbox webhooks listen --api-key $KEY --forward-to http://localhost:3000/hooks
    """
    registration = None
    if api_key:
        registration = listener.Registration(
            base_url, api_key, [e.strip() for e in events.split(",") if e.strip()]
        )
    try:
        listener.run(
            host=host,
            port=port,
            secrets=list(secrets),
            console=Console(),
            forward_to=forward_to,
            print_json=print_json,
            registration=registration,
        )
    except (RuntimeError, OSError) as exc:
        raise click.ClickException(str(exc)) from exc


@webhooks.command("trigger")
@click.argument("event", type=click.Choice(sorted(TRIGGERS)), metavar="EVENT")
@click.option(
    "--patient",
    default=None,
    help="Who: a p2c_anon_… id for data and revoke events; a sandbox patient id or email for"
    " consent.granted and link_request.*. Default: any suitable patient.",
)
@click.option("--base-url", default=DEFAULT_BASE_URL, show_default=True, help="The running sandbox.")
@click.option("--api-key", required=True, help="A workspace API key of that sandbox.")
def trigger_command(event: str, patient: str | None, base_url: str, api_key: str) -> None:
    """Make a running sandbox emit EVENT now, by driving its own API.

    consent.granted: link request to a free sandbox patient, accepted. link_request.declined: the
    same, declined. consent.revoked: the patient revokes. pain_entry.created, wellbeing.completed:
    the patient checks in. vitals.received: a device pushes a reading. report.completed: a PDF report
    is requested (the event follows when it is rendered). webhook.test: a test event to every enabled
    endpoint. link_request.expired ADVANCES THE WORKSPACE'S TEST CLOCK by 31 days, which also
    generates those days of data (and their events) for consented patients.

    \b
    Example: care-sandbox webhooks trigger pain_entry.created --api-key $KEY
    """
    try:
        done = trigger(event, base_url=base_url, api_key=api_key, patient=patient)
    except TriggerError as exc:
        raise click.ClickException(str(exc)) from exc
    console = Console()
    console.print(f"[green]✓[/] [bold]{done.event}[/]: {done.summary}", highlight=False)
    for name, value in done.ids.items():
        console.print(f"  {name}: {value}", highlight=False)


@webhooks.command("events")
def events_command() -> None:
    """List the event types the sandbox emits.

    \b
    Example: care-sandbox webhooks events
    """
    for name in EVENT_TYPES:
        click.echo(name)


if __name__ == "__main__":
    webhooks()
