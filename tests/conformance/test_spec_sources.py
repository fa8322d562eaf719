"""The kit's `--spec` takes a path or a URL, and the default is the contract installed with the kit."""

from __future__ import annotations

import functools
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from click.testing import CliRunner

from conformance.cli import main
from conformance.errors import KitError
from conformance.spec import Spec, default_spec_path

TOP_LEVEL = Path(__file__).resolve().parents[2] / "openapi.yaml"


@pytest.fixture
def served(tmp_path: Path) -> Iterator[str]:
    (tmp_path / "openapi.yaml").write_bytes(TOP_LEVEL.read_bytes())
    server = ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(SimpleHTTPRequestHandler, directory=str(tmp_path))
    )
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/openapi.yaml"
    finally:
        server.shutdown()
        server.server_close()


def test_the_default_is_the_top_level_contract_in_a_checkout() -> None:
    assert default_spec_path() == TOP_LEVEL


def test_a_url_loads_the_same_document_as_the_file(served: str) -> None:
    by_url = Spec.load(served)
    assert by_url.path == served
    assert by_url.document == Spec.load(TOP_LEVEL).document


def test_an_unreachable_url_is_kit_misuse_that_names_the_url() -> None:
    with pytest.raises(KitError, match=r"http://127\.0\.0\.1:1/openapi\.yaml"):
        Spec.load("http://127.0.0.1:1/openapi.yaml")


def test_the_cli_passes_the_url_through_unmangled() -> None:
    result = CliRunner().invoke(
        main,
        [
            "run",
            "--base-url",
            "http://127.0.0.1:1",
            "--api-key",
            "p2c_test_unused",
            "--spec",
            "http://127.0.0.1:1/openapi.yaml",
            "--layer",
            "spec",
        ],
    )
    assert result.exit_code == 2, result.output
    assert "http://127.0.0.1:1/openapi.yaml" in result.output and "http:/127" not in result.output
