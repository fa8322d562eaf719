"""Shared fixtures live in tests/fixtures/ and load here (schemathesis' layout)."""

pytest_plugins = ["tests.fixtures.sandbox", "tests.fixtures.databases"]
