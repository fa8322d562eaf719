"""The care-sandbox CLI: every command has help with an example; errors are one clean line."""

from __future__ import annotations

from pathlib import Path

import click
import pytest
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


def _dataset_error(tmp_path: Path, location: str) -> str:
    """`workspace create --dataset LOCATION` refused: its one-line message (and nothing created)."""
    url = f"sqlite:///{tmp_path / 'ds.sqlite3'}"
    runner = CliRunner()
    result = runner.invoke(main, ["workspace", "create", "qa", "--dataset", location, "--database-url", url])
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    listed = runner.invoke(main, ["workspace", "list", "--database-url", url])
    assert " qa " not in listed.output
    return lines[0]


def test_a_dataset_url_that_does_not_exist_is_named(tmp_path: Path) -> None:
    message = _dataset_error(tmp_path, "memory://care-cli-no-such-dataset")
    assert "memory://care-cli-no-such-dataset" in message and "no such" in message


def test_a_dataset_url_that_holds_no_dataset_is_named_not_its_temporary_copy(tmp_path: Path) -> None:
    import fsspec

    fsspec.filesystem("memory").pipe("/care-cli-not-a-dataset/readme.txt", b"hello\n")
    message = _dataset_error(tmp_path, "memory://care-cli-not-a-dataset")
    assert "memory://care-cli-not-a-dataset holds no care-synth dataset" in message
    assert "care-dataset-" not in message  # the temporary directory it was copied to


def test_a_dataset_url_whose_filesystem_is_not_installed_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import fsspec

    def missing(url: str) -> None:
        raise ImportError("Install s3fs to access S3")

    monkeypatch.setattr(fsspec.core, "url_to_fs", missing)
    message = _dataset_error(tmp_path, "s3://bucket/cohort")
    assert "s3://bucket/cohort" in message and "Install s3fs" in message


def test_consent_options_without_a_dataset_are_refused_not_ignored(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'c.sqlite3'}"
    result = CliRunner().invoke(
        main, ["workspace", "create", "qa", "--consent", "pending", "--database-url", url]
    )
    assert result.exit_code == 2 and "--consent applies only with --dataset" in result.stderr
    listed = CliRunner().invoke(main, ["workspace", "list", "--database-url", url])
    assert " qa " not in listed.output
