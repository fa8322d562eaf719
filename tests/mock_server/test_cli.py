"""The care-sandbox CLI: every command has help with an example; errors are one clean line."""

from __future__ import annotations

from pathlib import Path

import click
from click.testing import CliRunner

from mock_server.cli import main


def _commands(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], click.Command]]:
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
    created = runner.invoke(main, ["workspace", "create", "ci-second", "--database-url", url, "--no-seed",
                                   "--scopes", "patients:read pain:read"])
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
    result = runner.invoke(main, ["workspace", "create", "y", "--tier", "gold", "--no-seed",
                                  "--database-url", f"sqlite:///{tmp_path / 'x.sqlite3'}"])
    assert result.exit_code != 0 and "unknown tier" in result.output
