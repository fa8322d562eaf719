"""Partner workspaces and their credentials (API keys, OAuth clients).

A workspace is one partner's private sandbox: its own patients, consents, webhooks and test clock.
Every credential belongs to exactly one workspace, which is how isolation is enforced everywhere else.
"""

from __future__ import annotations

import builtins
import secrets
from dataclasses import dataclass

import orjson
from sqlalchemy import Connection, func, select, update

from mock_server.auth.credentials import digest, display_prefix, new_api_key, new_secret
from mock_server.auth.redirects import DEFAULT_REDIRECT_URIS, DEFAULT_REDIRECTS_JSON, RedirectRefused
from mock_server.auth.redirects import check_redirect_uri as _check_redirect_uri
from mock_server.context import Principal
from mock_server.scopes import ALL_SCOPES, TIERS
from mock_server.storage import Storage, schema
from mock_server.timeutil import iso, utcnow

W = schema.workspaces


@dataclass(frozen=True)
class Workspace:
    id: str
    name: str
    tier: str
    rate_limit_per_hour: int
    scopes: tuple[str, ...]
    seed: int
    clock_offset_seconds: float
    salt: str
    created_at: str


@dataclass(frozen=True)
class NewWorkspace:
    """A freshly created workspace with its secrets, which are shown exactly once."""

    workspace: Workspace
    api_key: str
    client_id: str
    client_secret: str


class WorkspaceError(ValueError):
    """Bad input when creating a workspace (unknown tier or scope, duplicate name)."""


def _workspace(row: object) -> Workspace:
    r = row._mapping  # type: ignore[attr-defined]
    limit = r["rate_limit_per_hour"] or TIERS.get(r["tier"], TIERS["standard"])
    return Workspace(
        r["id"],
        r["name"],
        r["tier"],
        int(limit),
        tuple(orjson.loads(r["scopes"])),
        int(r["seed"]),
        float(r["clock_offset_seconds"] or 0.0),
        r["salt"],
        r["created_at"],
    )


class WorkspaceRepo:
    """Owns ``workspaces``, and creates the first ``api_keys`` and ``oauth_clients`` row with each.

    Unit of work: the methods taking ``conn`` run in the caller's (the storage rule). The older ones
    without it (``create``, ``add_api_key``, ``add_client``, ``revoke_api_key``, ``get``, ``by_name``,
    ``list``, ``key_count``, ``principal_for_api_key``, ``pending_advances``) open their own through
    the compatibility ``begin()``/``connect()``, which join an enclosing unit of work (the CLI makes a
    workspace and loads its dataset in one); their callers outside this package are not all moved yet.
    """

    def __init__(self, db: Storage) -> None:
        self.db = db

    def create(
        self,
        name: str,
        *,
        seed: int,
        tier: str = "standard",
        scopes: tuple[str, ...] | None = None,
        rate_limit_per_hour: int | None = None,
        api_key: str | None = None,
    ) -> NewWorkspace:
        if tier not in TIERS:
            raise WorkspaceError(f"unknown tier {tier!r}; choose one of {', '.join(TIERS)}")
        chosen = tuple(scopes) if scopes else ALL_SCOPES
        unknown = sorted(set(chosen) - set(ALL_SCOPES))
        if unknown:
            raise WorkspaceError(f"unknown scope(s) {', '.join(unknown)}; known: {' '.join(ALL_SCOPES)}")
        if self.by_name(name) is not None:
            raise WorkspaceError(f"a workspace named {name!r} already exists")
        now = iso(utcnow())
        workspace_id = f"ws_{secrets.token_hex(8)}"
        key = api_key or new_api_key()
        client_id = f"cli_{secrets.token_hex(10)}"
        client_secret = new_secret("cs_test_")
        scopes_json = orjson.dumps(list(chosen)).decode()
        with self.db.unit_of_work() as conn:
            conn.execute(
                W.insert().values(
                    id=workspace_id,
                    name=name,
                    tier=tier,
                    rate_limit_per_hour=rate_limit_per_hour,
                    scopes=scopes_json,
                    seed=seed,
                    clock_offset_seconds=0.0,
                    salt=secrets.token_hex(16),
                    created_at=now,
                )
            )
            conn.execute(
                schema.api_keys.insert().values(
                    id=f"key_{secrets.token_hex(8)}",
                    workspace_id=workspace_id,
                    key_hash=digest(key),
                    display_prefix=display_prefix(key),
                    scopes=scopes_json,
                    created_at=now,
                )
            )
            conn.execute(
                schema.oauth_clients.insert().values(
                    client_id=client_id,
                    workspace_id=workspace_id,
                    secret_hash=digest(client_secret),
                    redirect_uris=DEFAULT_REDIRECTS_JSON,
                    scopes=scopes_json,
                    created_at=now,
                )
            )
        workspace = self.get(workspace_id)
        assert workspace is not None
        return NewWorkspace(workspace, key, client_id, client_secret)

    def add_api_key(self, workspace_id: str, scopes: tuple[str, ...]) -> str:
        key = new_api_key()
        with self.db.unit_of_work() as conn:
            conn.execute(
                schema.api_keys.insert().values(
                    id=f"key_{secrets.token_hex(8)}",
                    workspace_id=workspace_id,
                    key_hash=digest(key),
                    display_prefix=display_prefix(key),
                    scopes=orjson.dumps(list(scopes)).decode(),
                    created_at=iso(utcnow()),
                )
            )
        return key

    def add_client(
        self,
        workspace_id: str,
        *,
        public: bool = False,
        redirect_uris: tuple[str, ...] = (),
        scopes: tuple[str, ...] | None = None,
    ) -> tuple[str, str | None]:
        """Register another OAuth client; returns (client_id, secret), the secret None for a public one.

        A public client (a native or browser app that cannot keep a secret) authenticates with its
        client_id alone and must use PKCE; a confidential one gets a secret, shown once.
        """
        workspace = self.get(workspace_id)
        if workspace is None:
            raise WorkspaceError(f"no workspace {workspace_id!r}")
        chosen = tuple(scopes) if scopes else workspace.scopes
        outside = sorted(set(chosen) - set(workspace.scopes))
        if outside:
            raise WorkspaceError(f"scope(s) {', '.join(outside)} not held by the workspace")
        uris = list(redirect_uris) or list(DEFAULT_REDIRECT_URIS)
        for uri in uris:
            try:
                _check_redirect_uri(uri, [uri])
            except RedirectRefused as refused:
                raise WorkspaceError(f"{uri}: {refused}") from refused
        client_id = f"cli_{secrets.token_hex(10)}"
        secret = None if public else new_secret("cs_test_")
        with self.db.unit_of_work() as conn:
            conn.execute(
                schema.oauth_clients.insert().values(
                    client_id=client_id,
                    workspace_id=workspace_id,
                    # a public client has no secret: the hash of a random value nobody holds
                    secret_hash=digest(secret or secrets.token_urlsafe(32)),
                    redirect_uris=orjson.dumps(uris).decode(),
                    scopes=orjson.dumps(list(chosen)).decode(),
                    created_at=iso(utcnow()),
                    public=public,
                )
            )
        return client_id, secret

    def revoke_api_key(self, workspace_id: str, key: str) -> bool:
        """Revoke ``key`` if it is a live key of this workspace; whether it was."""
        K = schema.api_keys
        with self.db.unit_of_work() as conn:
            done = conn.execute(
                update(K)
                .where(
                    K.c.workspace_id == workspace_id, K.c.key_hash == digest(key), K.c.revoked_at.is_(None)
                )
                .values(revoked_at=iso(utcnow()))
            )
        return bool(done.rowcount)

    def get(self, workspace_id: str) -> Workspace | None:
        with self.db.read() as conn:
            row = conn.execute(select(W).where(W.c.id == workspace_id)).first()
        return _workspace(row) if row else None

    def by_name(self, name: str) -> Workspace | None:
        with self.db.read() as conn:
            row = conn.execute(select(W).where(W.c.name == name)).first()
        return _workspace(row) if row else None

    def list(self) -> list[Workspace]:
        with self.db.read() as conn:
            rows = conn.execute(select(W).order_by(W.c.created_at, W.c.name)).all()
        return [_workspace(r) for r in rows]

    def key_count(self, workspace_id: str) -> int:
        with self.db.read() as conn:
            rows = conn.execute(
                select(schema.api_keys.c.id).where(
                    schema.api_keys.c.workspace_id == workspace_id, schema.api_keys.c.revoked_at.is_(None)
                )
            ).all()
        return len(rows)

    def principal_for_api_key(self, key: str) -> Principal | None:
        K = schema.api_keys
        with self.db.read() as conn:
            row = conn.execute(
                select(K.c.id, K.c.scopes, W.c.id.label("ws"), W.c.tier, W.c.rate_limit_per_hour)
                .join(W, W.c.id == K.c.workspace_id)
                .where(K.c.key_hash == digest(key), K.c.revoked_at.is_(None))
            ).first()
        if row is None:
            return None
        limit = row.rate_limit_per_hour or TIERS.get(row.tier, TIERS["standard"])
        return Principal(row.ws, frozenset(orjson.loads(row.scopes)), row.id, "api_key", int(limit))

    def name_of(self, conn: Connection, workspace_id: str) -> str | None:
        """The workspace's display name (what the OAuth consent page calls its clients)."""
        name = conn.execute(select(W.c.name).where(W.c.id == workspace_id)).scalar()
        return None if name is None else str(name)

    def clock_offset(self, conn: Connection, workspace_id: str) -> float:
        """The served test-clock offset in seconds (0 for an unknown workspace)."""
        query = select(W.c.clock_offset_seconds).where(W.c.id == workspace_id)
        return float(conn.execute(query).scalar() or 0.0)

    def set_clock(self, conn: Connection, workspace_id: str, offset_seconds: float) -> None:
        """Put the test clock at ``offset_seconds`` from the real clock (a loaded dataset's end; the
        offset may be negative when the dataset ends in the past)."""
        conn.execute(update(W).where(W.c.id == workspace_id).values(clock_offset_seconds=offset_seconds))

    def advance_clock(self, conn: Connection, workspace_id: str, seconds: float) -> float:
        """Move the test clock forward in the database and return the new offset.

        ``offset = offset + step`` in SQL, not read-then-write in Python: two advances from two worker
        processes both count, and the row lock this takes serializes whatever the caller does next in
        the same transaction (generating the days that passed) until it commits.
        """
        column = W.c.clock_offset_seconds
        moved = update(W).where(W.c.id == workspace_id).values(clock_offset_seconds=column + seconds)
        return float(conn.execute(moved.returning(column)).scalar_one())

    # -- chunked clock advances (issue 13) ---------------------------------------------------------

    def begin_advance(self, conn: Connection, workspace_id: str, seconds: float) -> float:
        """Record an advance as pending and return the offset it moves to once generated.

        The served clock (``clock_offset_seconds``) does not move yet: until every day up to the
        target is written, the workspace still reads as before the advance, so a crash midway never
        leaves a half-advanced clock that looks done. Two advances add up (the second extends the
        pending target), whichever process runs them.
        """
        target = func.coalesce(W.c.clock_target_seconds, W.c.clock_offset_seconds) + seconds
        moved = update(W).where(W.c.id == workspace_id).values(clock_target_seconds=target)
        return float(conn.execute(moved.returning(W.c.clock_target_seconds)).scalar_one())

    def clock_state(self, conn: Connection, workspace_id: str) -> tuple[float, float | None]:
        """``(served offset, pending target or None)``."""
        row = conn.execute(
            select(W.c.clock_offset_seconds, W.c.clock_target_seconds).where(W.c.id == workspace_id)
        ).first()
        if row is None:
            return 0.0, None
        target = None if row[1] is None else float(row[1])
        return float(row[0] or 0.0), target

    def finish_advance(self, conn: Connection, workspace_id: str, target: float) -> bool:
        """Serve the pending target once its days are written; False if it moved meanwhile."""
        done = (
            update(W)
            .where(W.c.id == workspace_id, W.c.clock_target_seconds == target)
            .values(clock_offset_seconds=target, clock_target_seconds=None)
        )
        return bool(conn.execute(done).rowcount)

    def pending_advances(self) -> builtins.list[str]:
        """Workspaces whose advance was interrupted (a crash, a restart): resumed at start-up."""
        with self.db.read() as conn:
            rows = conn.execute(select(W.c.id).where(W.c.clock_target_seconds.is_not(None))).all()
        return [r[0] for r in rows]
