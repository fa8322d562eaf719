"""The CLI: every command documents an Example, misuse exits 2 with one line, verdicts exit 0/1."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from conformance.cli import main
from tests.conformance.conftest import TOY_SPEC
from tests.conformance.faults import FaultProxy
from tests.conformance.servers import serve


def all_commands(group: click.Group) -> list[tuple[str, click.Command]]:
    found: list[tuple[str, click.Command]] = [("", group)]
    for name, command in group.commands.items():
        found.append((name, command))
    return found


@pytest.mark.parametrize(("name", "command"), all_commands(main))
def test_every_command_has_help_with_an_example(name: str, command: click.Command) -> None:
    result = CliRunner().invoke(main, [*([name] if name else []), "--help"])
    assert result.exit_code == 0
    assert "Example:" in result.output, name
    assert command.help


@pytest.mark.parametrize(
    "args",
    [
        ["run", "--base-url", "http://127.0.0.1:1", "--api-key", "k"],
        ["run", "--base-url", "not-a-url", "--api-key", "k"],
        ["run", "--base-url", "http://127.0.0.1:1"],
        ["run", "--base-url", "http://127.0.0.1:1", "--api-key", "k", "--report", "pdf=x.pdf"],
        ["run", "--base-url", "http://127.0.0.1:1", "--api-key", "k", "--spec", "/no/such/spec.yaml"],
        ["webhook-consumer", "--url", "http://127.0.0.1:1/hooks", "--secret", "nope"],
    ],
)
def test_misuse_exits_2_with_a_message_not_a_traceback(args: list[str]) -> None:
    result = CliRunner().invoke(main, [*args, "--spec", str(TOY_SPEC)] if "--spec" not in args else args)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert "error" in result.output.lower()


def test_conforming_target_exits_0_and_writes_reports(toy_url: str, tmp_path: Path) -> None:
    reports = f"junit={tmp_path / 'j.xml'},json={tmp_path / 'r.json'}"
    result = CliRunner().invoke(
        main,
        [
            "run",
            "--base-url",
            toy_url,
            "--api-key",
            "key-a",
            "--spec",
            str(TOY_SPEC),
            "--report",
            reports,
            "--quiet",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "CONFORMS" in result.output and "Per operation" in result.output and "Per check" in result.output
    assert json.loads((tmp_path / "r.json").read_text())["conforms"] is True


def test_broken_target_exits_1_naming_the_check(toy_url: str) -> None:
    with serve(FaultProxy(toy_url, {"missing_request_id"})) as url:
        result = CliRunner().invoke(
            main,
            [
                "run",
                "--base-url",
                url,
                "--api-key",
                "key-a",
                "--spec",
                str(TOY_SPEC),
                "--layer",
                "custom",
                "--quiet",
            ],
        )
    assert result.exit_code == 1, result.output
    assert "request_id_header" in result.output


def test_python_dash_m_works() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "conformance", "--help"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert done.returncode == 0 and "Example:" in done.stdout


def test_webhook_consumer_command_against_a_careful_receiver() -> None:
    from conformance.checks.webhooks import new_secret
    from conformance.receiver import Receiver

    secret = new_secret()
    with Receiver() as receiver:
        url = receiver.endpoint([secret])
        result = CliRunner().invoke(
            main, ["webhook-consumer", "--url", url, "--secret", secret, "--spec", str(TOY_SPEC)]
        )
    assert result.exit_code == 0, result.output
    assert "consumer_rejects_bad_signature" in result.output and "CONFORMS" in result.output


def test_workers_option_runs(toy_url: str) -> None:
    result = CliRunner().invoke(
        main,
        [
            "run",
            "--base-url",
            toy_url,
            "--api-key",
            "key-a",
            "--spec",
            str(TOY_SPEC),
            "--layer",
            "schemathesis",
            "--workers",
            "2",
            "--quiet",
        ],
    )
    assert result.exit_code == 0, result.output


def test_help_documents_every_exit_code() -> None:
    text = CliRunner().invoke(main, ["run", "--help"], terminal_width=200).output
    for code in ("0 the target conforms", "1 it does not conform", "2 misuse", "3 the kit itself broke"):
        assert code in " ".join(text.split()), code


def test_a_crash_of_the_kit_exits_3_and_still_writes_every_report(
    toy_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from conformance import probes
    from conformance.steps import Step

    def exploding(ctx: object) -> None:
        raise ZeroDivisionError("a bug in a probe")

    monkeypatch.setattr(probes, "PROBES", (Step(exploding, "GET /items", "pagination_invariants"),))
    reports = {name: tmp_path / f"r.{name}" for name in ("json", "junit", "html", "markdown", "har")}
    result = CliRunner().invoke(
        main,
        [
            "run",
            "--base-url",
            toy_url,
            "--api-key",
            "key-a",
            "--spec",
            str(TOY_SPEC),
            "--layer",
            "custom",
            "--report",
            ",".join(f"{name}={path}" for name, path in reports.items()),
        ],
    )
    assert result.exit_code == 3, result.output
    assert "file an issue" in result.output
    assert all(path.exists() and path.stat().st_size for path in reports.values())
    report = json.loads(reports["json"].read_text())
    assert "ZeroDivisionError: a bug in a probe" in report["kit_errors"][0]
