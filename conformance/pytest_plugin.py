"""pytest plugin: run the conformance kit inside a team's own suite.

Registered through the ``pytest11`` entry point, so pytest loads it in *every* run of any project that
has care-sandbox installed. It therefore imports nothing heavy at module level and does nothing at all
unless ``--care-base-url`` is given.
"""

from __future__ import annotations

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    """Declare the options; cheap, and the only thing that happens without ``--care-base-url``."""
    group = parser.getgroup("care-conformance", "care-conformance: check an API implementation")
    group.addoption("--care-base-url", default=None, help="Base URL of the implementation under test.")
    group.addoption("--care-api-key", default=None, help="API key of the workspace under test.")
    group.addoption("--care-second-api-key", default=None, help="API key of a second workspace.")
    group.addoption("--care-spec", default=None, help="Path to openapi.yaml (default: the bundled one).")
    group.addoption("--care-profile", default="quick", choices=["quick", "full"], help="Kit profile.")
    group.addoption("--care-seed", default=None, type=int, help="Seed for reproducible generation.")
