"""Codes are single-use under concurrency: the conditional UPDATE decides, not a read before it.

The HTTP test (tests/mock_server/handlers/test_oauth.py) cannot race two redemptions inside one
server process; here two workers' transactions overlap for real. The first redeemer holds its
transaction open (as a slow worker would) while the second tries: on PostgreSQL the second's UPDATE
waits for the first to commit and then finds ``used_at`` set. Before the fix the second read the
row, waited, and overwrote it: two tokens from one code.
"""

from __future__ import annotations

import contextlib
import threading

import pytest

from mock_server.auth.oauth import OAuthService, pkce_s256
from mock_server.errors import ApiError
from mock_server.settings import Settings
from mock_server.storage import Storage
from mock_server.storage.workspaces import WorkspaceRepo

CALLBACK = "http://127.0.0.1:4000/callback"
VERIFIER = "v" * 64


@pytest.fixture
def oauth(storage: Storage) -> tuple[OAuthService, str, str]:
    made = WorkspaceRepo(storage).create("race", seed=1)
    return OAuthService(storage, Settings()), made.client_id, made.client_secret


def test_two_overlapping_redemptions_yield_one_token(storage: Storage, oauth) -> None:
    service, client_id, secret = oauth
    code = service.create_code(service.client(client_id), CALLBACK, ["pain:read"], pkce_s256(VERIFIER))
    both_in = threading.Barrier(2)
    outcomes: list[str] = []

    def redeem() -> None:
        try:
            with storage.unit_of_work():
                service.exchange_code(client_id, secret, code, CALLBACK, VERIFIER)
                # keep the transaction open until the other worker has tried too
                with contextlib.suppress(threading.BrokenBarrierError):
                    both_in.wait(timeout=2)
            outcomes.append("token")
        except ApiError as error:
            outcomes.append(error.code)

    workers = [threading.Thread(target=redeem) for _ in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=30)
    assert sorted(outcomes) == ["invalid_grant", "token"]


def test_refresh_reuse_revokes_the_family(storage: Storage, oauth) -> None:
    service, client_id, secret = oauth
    code = service.create_code(service.client(client_id), CALLBACK, ["pain:read"], pkce_s256(VERIFIER))
    first = service.exchange_code(client_id, secret, code, CALLBACK, VERIFIER)
    second = service.refresh(client_id, secret, first["refresh_token"], None)
    assert service.principal_for_token(second["access_token"]) is not None
    with pytest.raises(ApiError) as reused:
        service.refresh(client_id, secret, first["refresh_token"], None)
    assert reused.value.code == "invalid_grant"
    for token in (first["access_token"], second["access_token"]):
        assert service.principal_for_token(token) is None
    with pytest.raises(ApiError):
        service.refresh(client_id, secret, second["refresh_token"], None)
