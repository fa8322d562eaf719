"""Every 401 names its challenge in ``WWW-Authenticate``, whichever credential was missing or wrong.

Why: RFC 9110 section 15.5.2 says a 401 MUST carry a ``WWW-Authenticate`` challenge (RFC 6750 section
3 gives the Bearer one); only a rejected bearer token had one, so a request with no credential, an
unknown ``X-API-Key`` or a non-Bearer ``Authorization`` got a bare 401, which HTTP and OAuth client
libraries treat as malformed.
"""

from __future__ import annotations

import pytest

from tests.fixtures.sandbox import RunningSandbox

CREDENTIALS = {
    "none": {},
    "unknown key": {"X-API-Key": "p2c_test_not_a_key"},
    "basic": {"Authorization": "Basic Zm9vOmJhcg=="},
    "unknown token": {"Authorization": "Bearer at_not_a_token"},
}


@pytest.mark.parametrize("path", ["/v1/patients", "/fhir/r4/Observation"])
@pytest.mark.parametrize("credential", sorted(CREDENTIALS))
def test_every_401_carries_a_bearer_challenge(sandbox: RunningSandbox, path: str, credential: str) -> None:
    with sandbox.client() as client:
        client.headers.clear()
        resp = client.get(path, headers=CREDENTIALS[credential])
    assert resp.status_code == 401, resp.text
    challenge = resp.headers.get("www-authenticate", "")
    assert challenge.startswith("Bearer"), (credential, dict(resp.headers))
