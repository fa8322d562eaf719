"""``context``: the services are typed and frozen, and the dispatcher wake-up is connected late."""

from __future__ import annotations

import dataclasses
import typing

import pytest

from mock_server.app import build_services
from mock_server.context import DispatcherWake, Services
from mock_server.settings import Settings


def test_a_wake_before_the_dispatcher_is_connected_is_a_no_op_and_after_it_wakes() -> None:
    wake = DispatcherWake()
    wake()  # the CLI, a HeavyWork child: nothing to wake, nothing fails
    woken: list[int] = []
    wake.connect(lambda: woken.append(1))
    wake()
    wake()
    assert woken == [1, 1]
    wake.connect(None)
    wake()
    assert woken == [1, 1]


def test_services_are_frozen_and_every_field_is_typed(tmp_path: typing.Any) -> None:
    services = build_services(Settings(database_url=f"sqlite:///{tmp_path / 'ctx.sqlite3'}", demo=False))
    try:
        with pytest.raises(dataclasses.FrozenInstanceError):
            services.metrics = None  # type: ignore[misc]
        for field in dataclasses.fields(Services):
            assert "Any" not in str(field.type) and "dict[str" not in str(field.type), field.name
            assert getattr(services, field.name) is not None or field.name in {"request_log", "heavy"}
    finally:
        services.storage.close()
