"""Run options and profiles: the one object every layer of a run reads its settings from."""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from conformance.errors import KitError

LAYERS = ("spec", "schemathesis", "custom", "scenarios")
REPORT_FORMATS = ("junit", "json", "markdown", "html", "har")

# Sandbox controls that wipe or move the whole workspace: letting the fuzzer call them would make later
# cases fail for reasons that are not bugs (a created resource vanishing after a reset), so Schemathesis
# never gets them; the scenarios call the clock controls deliberately.
NEVER_FUZZED = ("POST /v1/sandbox/reset", "POST /v1/sandbox/clock/advance")
# Operations no layer calls by design, with the reason the reports give (coverage leaves them out).
NEVER_CALLED = {
    "POST /v1/sandbox/reset": "wipes the whole workspace; the kit leaves the target as it found it",
}
CLOCK_ADVANCE = "POST /v1/sandbox/clock/advance"
CLOCK_REASON = (
    "moves the workspace's test clock, which cannot be moved back; "
    "pass --allow-clock to run the clock scenario"
)


@dataclass(frozen=True)
class Profile:
    """How hard each layer works; `quick` fits a CI step, `full` is for nightly runs."""

    name: str
    max_examples: int
    coverage_phase: bool
    stateful_steps: int
    stateful_examples: int
    max_pages: int


PROFILES = {
    "quick": Profile(
        "quick", max_examples=5, coverage_phase=False, stateful_steps=5, stateful_examples=5, max_pages=6
    ),
    "full": Profile(
        "full", max_examples=50, coverage_phase=True, stateful_steps=10, stateful_examples=30, max_pages=20
    ),
}


@dataclass(frozen=True)
class RunOptions:
    """Everything `care-conformance run` (or the pytest plugin) was asked to do."""

    base_url: str
    api_key: str | None = None
    client_id: str | None = None
    client_secret: str | None = None
    second_api_key: str | None = None
    spec_path: Path | str | None = None  # a file or an http(s) URL; None: the bundled contract
    profile: str = "quick"
    seed: int = 1
    workers: int = 1
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    reports: dict[str, Path] = field(default_factory=dict)
    layers: tuple[str, ...] = LAYERS
    request_timeout: float = 10.0
    webhook_timeout: float = 15.0
    receiver_host: str = "127.0.0.1"
    receiver_url: str | None = None
    read_only: bool = False  # only safe methods: for production-like targets
    allow_clock: bool = False  # the clock scenario moves the target's clock for good

    def __post_init__(self) -> None:
        if not self.base_url.startswith(("http://", "https://")):
            raise KitError(f"--base-url must be an http(s) URL, got {self.base_url!r}.")
        if self.api_key is None and not (self.client_id and self.client_secret):
            raise KitError("Give --api-key KEY, or both --client-id and --client-secret.")
        if bool(self.client_id) != bool(self.client_secret):
            raise KitError("--client-id and --client-secret go together.")
        if self.profile not in PROFILES:
            raise KitError(f"Unknown profile {self.profile!r}; choose one of {', '.join(PROFILES)}.")
        if self.workers < 1:
            raise KitError("--workers must be at least 1.")
        unknown = [layer for layer in self.layers if layer not in LAYERS]
        if unknown:
            raise KitError(f"Unknown layer(s) {', '.join(unknown)}; choose from {', '.join(LAYERS)}.")
        bad = [fmt for fmt in self.reports if fmt not in REPORT_FORMATS]
        if bad:
            raise KitError(
                f"Unknown report format(s) {', '.join(bad)}; choose from {', '.join(REPORT_FORMATS)}."
            )

    @property
    def settings(self) -> Profile:
        return PROFILES[self.profile]

    def deliberately_skipped(self, method: str, label: str) -> str | None:
        """Why this run never calls an operation on purpose (None when it may call it)."""
        if label in NEVER_CALLED:
            return NEVER_CALLED[label]
        if self.read_only and method.upper() not in ("GET", "HEAD", "OPTIONS"):
            return "changes state; not called under --read-only"
        if label == CLOCK_ADVANCE and not self.allow_clock:
            return CLOCK_REASON
        return None

    def selects(self, label: str, operation_id: str = "") -> bool:
        """Whether an operation is in scope under --include/--exclude (globs on the label or operationId)."""
        if self.include and not _matches(self.include, label, operation_id):
            return False
        return not _matches(self.exclude, label, operation_id)


def _matches(patterns: Iterable[str], label: str, operation_id: str) -> bool:
    for pattern in patterns:
        if fnmatch.fnmatchcase(label.upper(), pattern.upper()) or (operation_id and pattern == operation_id):
            return True
    return False


def parse_reports(values: Iterable[str]) -> dict[str, Path]:
    """Parse `--report junit=FILE,json=FILE` (repeatable, comma-separated) into {format: path}."""
    reports: dict[str, Path] = {}
    for value in values:
        for item in value.split(","):
            item = item.strip()
            if not item:
                continue
            name, sep, target = item.partition("=")
            name = name.strip().lower()
            if not sep or not target.strip():
                raise KitError(f"--report expects FORMAT=FILE, got {item!r}.")
            if name not in REPORT_FORMATS:
                raise KitError(f"Unknown report format {name!r}; choose from {', '.join(REPORT_FORMATS)}.")
            reports[name] = Path(target.strip())
    return reports
