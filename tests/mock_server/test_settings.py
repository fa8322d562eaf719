"""Settings: defaults < environment < flags, strict casting that names the variable."""

from __future__ import annotations

import pytest

from mock_server.settings import Settings, SettingsError, parse_schedule


def test_environment_then_overrides() -> None:
    settings = Settings.from_env(
        {
            "CARE_SANDBOX_PORT": "9001",
            "CARE_SANDBOX_DEMO": "no",
            "CARE_SANDBOX_WEBHOOK_RETRY_SCHEDULE": "0,1,2",
        },
        port=9002,
    )
    assert settings.port == 9002 and settings.demo is False
    assert settings.webhook_retry_schedule == (0.0, 1.0, 2.0)
    assert Settings.from_env({}).port == 8080


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("CARE_SANDBOX_PORT", "eighty"),
        ("CARE_SANDBOX_DEMO", "maybe"),
        ("CARE_SANDBOX_WEBHOOK_RETRY_SCHEDULE", "1,-2"),
    ],
)
def test_bad_values_name_the_variable(key: str, value: str) -> None:
    with pytest.raises(SettingsError, match=key):
        Settings.from_env({key: value})


def test_schedule_parser() -> None:
    assert parse_schedule("0, 5,300") == (0.0, 5.0, 300.0)
    with pytest.raises(SettingsError):
        parse_schedule("")
