"""OAuthRepo keeps the same contract on SQLite and PostgreSQL."""

from __future__ import annotations

import orjson

from mock_server.storage import Storage
from mock_server.storage.oauth import OAuthRepo
from mock_server.storage.workspaces import NewWorkspace
from tests.mock_server.storage.rows import workspace

T0 = "2026-05-01T00:00:00Z"


def _grant(
    storage: Storage, made: NewWorkspace, token_hash: str, kind: str, family: str | None = None
) -> None:
    with storage.unit_of_work() as conn:
        OAuthRepo().insert_grant(
            conn,
            token_hash=token_hash,
            kind=kind,
            client_id=made.client_id,
            workspace_id=made.workspace.id,
            scopes_json='["pain:read"]',
            expires_at="2026-05-01T01:00:00Z",
            created_at=T0,
            family_id=family,
            redirect_uri="http://127.0.0.1/cb" if kind == "code" else None,
            code_challenge="c" * 43 if kind == "code" else None,
        )


def test_clients_and_bearer_tokens_are_found(storage: Storage) -> None:
    repo = OAuthRepo()
    made = workspace(storage)
    _grant(storage, made, "h_access", "access")
    with storage.read() as conn:
        client = repo.client(conn, made.client_id)
        assert client.workspace_id == made.workspace.id and not client.public
        assert repo.client(conn, "cli_nobody") is None
        token = repo.access_token(conn, "h_access")
        assert (token.ws, token.client_id, token.revoked) == (made.workspace.id, made.client_id, False)
        assert orjson.loads(token.scopes) == ["pain:read"] and token.tier == "standard"
        assert repo.access_token(conn, "h_unknown") is None
        assert repo.grant(conn, "h_access", "refresh") is None  # found by hash *and* kind


def test_a_code_is_used_exactly_once_and_reuse_can_revoke_its_family(storage: Storage) -> None:
    repo = OAuthRepo()
    made = workspace(storage)
    _grant(storage, made, "h_code", "code", family="fam_1")
    _grant(storage, made, "h_refresh", "refresh", family="fam_1")
    _grant(storage, made, "h_other", "access", family="fam_2")
    with storage.unit_of_work() as conn:
        code = repo.grant(conn, "h_code", "code")
        assert (code.redirect_uri, code.used_at, code.family_id) == ("http://127.0.0.1/cb", None, "fam_1")
        assert repo.mark_used(conn, "h_code", T0) is True
        assert repo.mark_used(conn, "h_code", T0) is False  # the second presentation loses
        repo.revoke_family(conn, "fam_1")
    with storage.read() as conn:
        assert repo.grant(conn, "h_code", "code").used_at == T0
        assert repo.grant(conn, "h_refresh", "refresh").revoked is True
        assert repo.grant(conn, "h_other", "access").revoked is False  # another family untouched
        assert repo.refresh_owner(conn, "h_refresh") == made.client_id
        assert repo.refresh_owner(conn, "h_code") is None  # not a refresh token
