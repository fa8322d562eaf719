"""Fixtures of the conformance-kit tests: the toy spec and a running toy target."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from conformance.spec import Spec
from tests.conformance.servers import serve
from tests.conformance.toy.app import create_app

TOY_SPEC = Path(__file__).parent / "toy" / "openapi.yaml"


@pytest.fixture(scope="session")
def toy_spec() -> Spec:
    return Spec.load(TOY_SPEC)


@pytest.fixture(scope="session")
def toy_url() -> Iterator[str]:
    """A conformant toy implementation (workspace keys `key-a` and `key-b`)."""
    with serve(create_app()) as url:
        yield url
