"""Where the sandbox finds its contract: the installed copy, a checkout's root, a path or a URL.

A URL must survive as a URL (``Path("http://x")`` folds it to ``http:/x``), and a server that cannot
load its contract must fail before it creates a database or prints a key.
"""

from __future__ import annotations

import functools
import subprocess
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from mock_server import spec
from mock_server.settings import DEFAULT_SPEC, Settings
from tests.fixtures.fleet import cli, fleet_env


@pytest.fixture
def served_contract(tmp_path: Path) -> Iterator[str]:
    (tmp_path / "openapi.yaml").write_bytes(DEFAULT_SPEC.read_bytes())
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(tmp_path))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/openapi.yaml"
    finally:
        server.shutdown()
        server.server_close()


def test_in_a_checkout_the_bundled_contract_is_the_top_level_file() -> None:
    assert spec.bundled_contract() == DEFAULT_SPEC  # editable install: no second copy to go stale


def test_an_empty_setting_means_the_bundled_contract() -> None:
    assert Settings().spec_path == ""
    assert spec.load("") == spec.load(DEFAULT_SPEC)


def test_a_url_contract_is_fetched_and_equals_the_file(served_contract: str) -> None:
    assert spec.resolve_source(served_contract) == served_contract  # not folded into http:/
    assert spec.load(served_contract) == spec.load(DEFAULT_SPEC)


def test_an_unreachable_url_is_a_contract_error_naming_it() -> None:
    with pytest.raises(spec.ContractError, match=r"http://127\.0\.0\.1:1/openapi\.yaml"):
        spec.load("http://127.0.0.1:1/openapi.yaml")


def test_settings_keep_a_url_from_the_environment_intact() -> None:
    url = "http://contracts.example:8000/v1/openapi.yaml"
    assert Settings.from_env({"CARE_SANDBOX_SPEC_PATH": url}).spec_path == url


def test_default_database_is_in_the_per_user_data_directory_not_the_current_one() -> None:
    import platformdirs

    url = Settings().database_url
    assert url.startswith("sqlite:///") and str(platformdirs.user_data_path("care-sandbox")) in url


def test_serve_with_a_missing_contract_fails_before_a_database_or_a_key(tmp_path: Path) -> None:
    database = tmp_path / "never.sqlite3"
    done = subprocess.run(
        cli(
            "serve",
            "--port",
            "0",
            "--spec",
            str(tmp_path / "missing.yaml"),
            "--database-url",
            f"sqlite:///{database}",
        ),
        env=fleet_env(),
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        check=False,
    )
    assert done.returncode != 0
    assert "contract not found" in done.stderr
    assert "API key" not in done.stdout + done.stderr and "care-sandbox on" not in done.stdout + done.stderr
    assert not database.exists() and list(tmp_path.iterdir()) == []
