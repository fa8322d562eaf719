"""pytest plugin: the conformance kit as test items inside a team's own suite.

Registered through the ``pytest11`` entry point, so pytest loads it in *every* run of any project that
has care-sandbox installed. It therefore imports nothing heavy at module level and does nothing at all
unless ``--care-base-url`` is given. Then it adds one item per operation of the spec (plus the spec
itself, the scenarios and the webhook events): the kit runs once, on the first item, and each item
fails with the Received/Documented messages of its own operation.

    pytest --care-base-url http://127.0.0.1:8080 --care-api-key p2c_test_… --care-second-api-key p2c_test_…
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from conformance.results import RunReport

SCENARIOS = (
    "scenario: consent lifecycle",
    "scenario: report job",
    "scenario: FHIR search",
    "scenario: webhook delivery",
    "scenario: sandbox clock",
    "scenario: report access after revocation",
)
OTHER = "other results"
_STASH: pytest.StashKey[dict[str, Any]] = pytest.StashKey()


def pytest_addoption(parser: pytest.Parser) -> None:
    """Declare the options; cheap, and the only thing that happens without ``--care-base-url``."""
    group = parser.getgroup("care-conformance", "care-conformance: check an API implementation")
    group.addoption("--care-base-url", default=None, help="Base URL of the implementation under test.")
    group.addoption("--care-api-key", default=None, help="API key of the workspace under test.")
    group.addoption("--care-client-id", default=None, help="OAuth client id (enables scope checks).")
    group.addoption("--care-client-secret", default=None, help="OAuth client secret.")
    group.addoption("--care-second-api-key", default=None, help="API key of a second workspace.")
    group.addoption(
        "--care-spec", default=None, help="Path or URL of openapi.yaml (default: the bundled one)."
    )
    group.addoption("--care-profile", default="quick", choices=["quick", "full"], help="Kit profile.")
    group.addoption("--care-seed", default=1, type=int, help="Seed for reproducible generation.")
    group.addoption("--care-include", action="append", default=[], help="Only operations matching this glob.")
    group.addoption("--care-exclude", action="append", default=[], help="Skip operations matching this glob.")


class CareItem(pytest.Item):
    """One operation (or scenario) of the kit's run; passes when none of its checks failed."""

    def __init__(self, *, label: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.label = label

    def runtest(self) -> None:
        report = _report(self.config)
        from conformance.results import Outcome

        mine = (
            [r for r in report.results if r.operation == self.label]
            if self.label != OTHER
            else [r for r in report.results if r.operation not in self.config.stash[_STASH]["labels"]]
        )
        failing = [r for r in mine if r.outcome in (Outcome.FAILED, Outcome.ERROR)]
        if self.label == OTHER and report.kit_errors:
            from conformance.errors import BUG_POINTER

            raise CareFailure("\n\n".join([*report.kit_errors, BUG_POINTER]))
        if failing:
            raise CareFailure(
                "\n\n".join(f"{r.check}: {r.messages[0] if r.messages else r.outcome}" for r in failing)
            )
        if not any(r.outcome is Outcome.PASSED for r in mine):
            reasons = sorted({r.skip_reason for r in mine if r.skip_reason})
            pytest.skip("; ".join(reasons) or "not exercised by the kit")

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, CareFailure):
            return str(excinfo.value)
        return str(super().repr_failure(excinfo))

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, 0, f"care-conformance: {self.label}"


class CareFailure(AssertionError):
    """The operation does not conform; the message lists each failing check."""


def _options(config: pytest.Config) -> Any:
    from conformance.options import RunOptions

    spec = config.getoption("care_spec")
    return RunOptions(
        base_url=str(config.getoption("care_base_url")).rstrip("/"),
        api_key=config.getoption("care_api_key"),
        client_id=config.getoption("care_client_id"),
        client_secret=config.getoption("care_client_secret"),
        second_api_key=config.getoption("care_second_api_key"),
        spec_path=spec or None,  # a path or a URL, untouched (Path() would fold `http://` into `http:/`)
        profile=config.getoption("care_profile"),
        seed=config.getoption("care_seed"),
        include=tuple(config.getoption("care_include")),
        exclude=tuple(config.getoption("care_exclude")),
    )


def _report(config: pytest.Config) -> RunReport:
    state = config.stash[_STASH]
    if "report" not in state:
        from conformance.errors import KitError
        from conformance.runner import run

        try:
            state["report"] = run(state["options"])
        except KitError as exc:
            state["report"] = exc
    report = state["report"]
    if isinstance(report, Exception):
        # Kit misuse (unreachable server, rejected key…) is not a test failure: stop with exit code 2.
        pytest.exit(f"care-conformance: {report}", returncode=pytest.ExitCode.USAGE_ERROR)
    return report  # type: ignore[no-any-return]


def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    """Append the kit's items when --care-base-url is given; otherwise leave the collection alone."""
    if not config.getoption("care_base_url"):
        return
    from conformance.errors import KitError
    from conformance.spec import Spec

    try:
        options = _options(config)
        spec = Spec.load(options.spec_path)
    except KitError as exc:
        raise pytest.UsageError(f"care-conformance: {exc}") from None
    labels = ["<spec>"] + [op.label for op in spec.operations if options.selects(op.label, op.operation_id)]
    labels += list(SCENARIOS)
    config.stash[_STASH] = {"options": options, "labels": set(labels)}
    grouped = config.pluginmanager.hasplugin("xdist")
    for label in [*labels, OTHER]:
        item = CareItem.from_parent(session, name=f"care-conformance[{label}]", label=label)
        if grouped:  # with `-n N --dist loadgroup`, one worker runs the kit once for all its items
            item.add_marker(pytest.mark.xdist_group("care-conformance"))
        items.append(item)
