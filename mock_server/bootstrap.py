"""First-start setup: the demo workspace, and creating workspaces with their sandbox population.

The demo workspace's API key is derived from the seed (or set with ``CARE_SANDBOX_DEMO_API_KEY``), so
``make serve`` can print a working key on every start even though keys are stored only as hashes —
acceptable for a local sandbox key, never done for workspaces created with ``workspace create``.

A derived key is predictable (anyone who knows the seed knows it), so it is only served on a loopback
bind. On a public bind (the Docker image binds ``0.0.0.0``) without a configured key, the demo
workspace gets a random key, printed once; a derived key left from an earlier loopback run is revoked
and replaced.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from mock_server.app import build_services
from mock_server.auth.credentials import API_KEY_PREFIX, new_api_key
from mock_server.scopes import ALL_SCOPES, TIERS
from mock_server.seeding import seed_workspace
from mock_server.settings import Settings
from mock_server.storage import Storage
from mock_server.storage.workspaces import NewWorkspace, WorkspaceRepo

DEMO_WORKSPACE = "demo"


@dataclass(frozen=True)
class DemoInfo:
    """What ``serve`` says about the demo workspace: a key that works, or how to get one."""

    api_key: str | None
    created: bool
    seed: int
    note: str = ""

    @property
    def message(self) -> str:
        verb = "created" if self.created else "ready"
        if self.api_key is None:
            return f"{verb} · {self.note}"
        text = f"{verb} (seed {self.seed}) · test API key [bold cyan]{self.api_key}[/]"
        return f"{text}  {self.note}" if self.note else text


def demo_key(settings: Settings) -> str:
    if settings.demo_api_key:
        return settings.demo_api_key
    return (
        API_KEY_PREFIX
        + "demo_"
        + hashlib.sha256(f"care-sandbox-demo:{settings.seed}".encode()).hexdigest()[:24]
    )


def create_workspace(
    settings: Settings,
    storage: Storage,
    name: str,
    *,
    tier: str = "standard",
    scopes: tuple[str, ...] | None = None,
    rate_limit: int | None = None,
    api_key: str | None = None,
    seed_patients: bool = True,
    seed: int | None = None,
) -> NewWorkspace:
    services = build_services(settings, storage)
    repo = services.workspaces
    digest = hashlib.sha256(f"{settings.seed}:{name}".encode()).digest()
    # 31 bits: the column is a signed 32-bit INTEGER, and PostgreSQL (unlike SQLite) refuses more
    workspace_seed = seed if seed is not None else int.from_bytes(digest[:4], "big") & 0x7FFFFFFF
    made = repo.create(
        name,
        seed=workspace_seed,
        tier=tier,
        scopes=scopes or ALL_SCOPES,
        rate_limit_per_hour=rate_limit,
        api_key=api_key,
    )
    if seed_patients:
        seed_workspace(services, made.workspace, services.clock.now(made.workspace.id))
    return made


def ensure_demo(settings: Settings, storage: Storage) -> DemoInfo:
    """Create the demo workspace on first start (enterprise tier, so exploring never hits 429).

    On a database that has it already, the key is derived from the seed *stored with the workspace*
    (not today's ``--seed``, which only applies to a new database) and checked against the stored
    hash, so the key printed is one that answers 200. When it cannot be derived (the workspace was
    made with ``CARE_SANDBOX_DEMO_API_KEY`` and that is no longer set, or its key was revoked), the
    message says how to get a working key instead of printing one that answers 401.

    On a public bind without ``CARE_SANDBOX_DEMO_API_KEY`` the key is random (see the module doc).
    """
    repo = WorkspaceRepo(storage)
    random_key = settings.public_bind and not settings.demo_api_key
    existing = repo.by_name(DEMO_WORKSPACE)
    if existing is None:
        key = new_api_key() if random_key else demo_key(settings)
        seed = settings.seed
        create_workspace(settings, storage, DEMO_WORKSPACE, tier="enterprise", api_key=key, seed=seed)
        assert TIERS["enterprise"] >= 100_000
        return DemoInfo(key, created=True, seed=settings.seed)
    key = demo_key(settings.replace(seed=existing.seed))
    if random_key:
        if repo.revoke_api_key(existing.id, key):
            replacement = repo.add_api_key(existing.id, existing.scopes)
            note = "(the predictable seed-derived key was revoked: public bind)"
            return DemoInfo(replacement, created=False, seed=existing.seed, note=note)
        note = (
            "its random API key was printed when it was created (set CARE_SANDBOX_DEMO_API_KEY to choose one)"
        )
        return DemoInfo(None, created=False, seed=existing.seed, note=note)
    principal = repo.principal_for_api_key(key)
    if principal is None or principal.workspace_id != existing.id:
        return DemoInfo(
            None,
            created=False,
            seed=existing.seed,
            note=(
                "its key is not derivable from this database (set CARE_SANDBOX_DEMO_API_KEY to the key it "
                "was created with, create a workspace with `care-sandbox workspace create NAME`, or "
                "start on a new --database-url)"
            ),
        )
    note = ""
    if existing.seed != settings.seed:
        note = f"(--seed {settings.seed} applies to a new database; this one was seeded with {existing.seed})"
    return DemoInfo(key, created=False, seed=existing.seed, note=note)
