"""A reporting period with a day Python cannot hold is a 400 naming it, never a 500.

Why: RFC 3339's full-date (``format: date``) admits year 0000, and the contract's validation lets it
through; the analysis, the population analytics, the PDF report and the report job parsed ``from`` and
``to`` with a bare ``date.fromisoformat`` and answered 500 ``internal_error`` for ``from=0000-01-01``.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.fixtures.sandbox import RunningSandbox
from tests.mock_server.handlers.test_access_control import fully_granted_patient

UNREPRESENTABLE = ["0000-01-01", "0000-12-31"]


@pytest.mark.parametrize("value", UNREPRESENTABLE)
@pytest.mark.parametrize("name", ["from", "to"])
def test_an_unrepresentable_day_is_a_400_naming_it(sandbox: RunningSandbox, name: str, value: str) -> None:
    with sandbox.client() as client:
        patient = fully_granted_patient(client)
        answers: dict[str, Any] = {
            "analysis": client.get(f"/v1/patients/{patient}/analysis", params={name: value}),
            "analytics": client.get("/v1/analytics/population", params={name: value}),
            "pdf": client.get(f"/v1/patients/{patient}/reports/pdf", params={name: value, "lang": "en"}),
            "report job": client.post(f"/v1/patients/{patient}/reports", json={"lang": "en", name: value}),
        }
    for what, resp in answers.items():
        assert resp.status_code == 400, (what, resp.status_code, resp.text)
        error = resp.json()["error"]
        assert error["code"] == "invalid_parameter", (what, error)
        assert error["details"] == {"parameter": name, "value": value}, (what, error)
