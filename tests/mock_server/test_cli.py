"""The care-sandbox CLI: every command has help with an example; errors are one clean line."""

from __future__ import annotations

from pathlib import Path

import click
from click.testing import CliRunner

from mock_server.cli import main


def _commands(
    group: click.Group, prefix: tuple[str, ...] = ()
) -> list[tuple[tuple[str, ...], click.Command]]:
    found: list[tuple[tuple[str, ...], click.Command]] = []
    for name, command in group.commands.items():
        found.append(((*prefix, name), command))
        if isinstance(command, click.Group):
            found.extend(_commands(command, (*prefix, name)))
    return found


def test_every_command_has_help_with_an_example() -> None:
    runner = CliRunner()
    for path, _ in [((), main), *_commands(main)]:
        result = runner.invoke(main, [*path, "--help"])
        assert result.exit_code == 0, (path, result.output)
        assert "Example:" in result.output, path


def test_workspace_create_and_list(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cli.sqlite3'}"
    runner = CliRunner()
    created = runner.invoke(
        main,
        [
            "workspace",
            "create",
            "ci-second",
            "--database-url",
            url,
            "--no-seed",
            "--scopes",
            "patients:read pain:read",
        ],
    )
    assert created.exit_code == 0, created.output
    assert "api_key=p2c_test_" in created.output and "client_secret=" in created.output
    listed = runner.invoke(main, ["workspace", "list", "--database-url", url])
    assert "ci-second" in listed.output and "p2c_test_" not in listed.output
    duplicate = runner.invoke(main, ["workspace", "create", "ci-second", "--database-url", url, "--no-seed"])
    assert duplicate.exit_code != 0 and "already exists" in duplicate.output
    assert "Traceback" not in duplicate.output


def test_bad_input_is_one_line_not_a_traceback(tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(main, ["workspace", "create", "x", "--database-url", "mysql://nope", "--no-seed"])
    assert result.exit_code != 0 and "Traceback" not in result.output
    result = runner.invoke(
        main,
        [
            "workspace",
            "create",
            "y",
            "--tier",
            "gold",
            "--no-seed",
            "--database-url",
            f"sqlite:///{tmp_path / 'x.sqlite3'}",
        ],
    )
    assert result.exit_code != 0 and "unknown tier" in result.output


def test_workspace_create_keys_hold_sandbox_manage_unless_narrowed(tmp_path: Path) -> None:
    from mock_server.storage import Storage
    from mock_server.storage.workspaces import WorkspaceRepo

    url = f"sqlite:///{tmp_path / 'cli.sqlite3'}"
    runner = CliRunner()
    full = runner.invoke(main, ["workspace", "create", "full", "--database-url", url, "--no-seed"])
    narrow = runner.invoke(
        main, ["workspace", "create", "narrow", "--database-url", url, "--no-seed", "--scopes", "pain:read"]
    )
    assert full.exit_code == 0 and narrow.exit_code == 0, (full.output, narrow.output)

    def key(output: str) -> str:
        return next(line.split("=", 1)[1] for line in output.splitlines() if line.startswith("api_key="))

    storage = Storage.open(url)
    try:
        repo = WorkspaceRepo(storage)
        full_principal, narrow_principal = (repo.principal_for_api_key(key(o.output)) for o in (full, narrow))
    finally:
        storage.close()
    assert full_principal is not None and "sandbox:manage" in full_principal.scopes
    assert narrow_principal is not None and narrow_principal.scopes == frozenset({"pain:read"})


def test_serve_and_worker_take_the_private_targets_flag() -> None:
    runner = CliRunner()
    for command in ("serve", "worker"):
        result = runner.invoke(main, [command, "--help"])
        assert "--allow-private-webhook-targets" in result.output
        assert "--refuse-private-webhook-targets" in result.output
