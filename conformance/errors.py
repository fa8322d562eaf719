"""The kit's two kinds of bad news, kept apart on purpose.

```
Exception
├── ConformanceFailure   the API under test is wrong: names the check, says what was received and
│                        what the spec documents. Collected into the report; exit code 1.
└── KitError             the kit was misused or cannot work: bad arguments, unreadable spec,
                         unreachable server, rejected credentials. Stops the run; exit code 2.
```

Anything else escaping a layer is a bug in the kit itself: the runner records it, finishes the run,
writes every report, and the CLI exits 3 with a pointer to file the bug (`BUG_POINTER`).

A CI pipeline must be able to tell "the partner's server broke the contract" from "the pipeline passed
the wrong URL", so the two never share a type.
"""

from __future__ import annotations

EXIT_OK, EXIT_FAILED, EXIT_MISUSE, EXIT_KIT_BUG = 0, 1, 2, 3
# Where a kit bug goes: the project's issue tracker, with what a maintainer needs to replay it.
BUG_POINTER = (
    "This is a bug in care-conformance, not in the target: please file an issue with the care-sandbox "
    "project (label care-conformance), attaching the command line, the JSON report and this message."
)


class KitError(Exception):
    """The kit cannot judge the target: the message says what to fix on the caller's side."""


class ConformanceFailure(AssertionError):
    """The API under test does not conform; rendered as ``check: Received … / Documented …``.

    It subclasses ``AssertionError`` so that plain check functions read like tests (``raise`` on the
    first broken invariant) and so Schemathesis treats one raised inside a custom check as a failure.
    """

    def __init__(
        self, check: str, received: str, documented: str, *, operation: str = "", reproduce: str = ""
    ) -> None:
        self.check = check
        self.received = received
        self.documented = documented
        self.operation = operation
        self.reproduce = reproduce  # a curl line replaying the request that showed the failure
        super().__init__(self.message)

    @property
    def message(self) -> str:
        """Human-readable text used in every report format."""
        return f"[{self.check}] Received: {self.received}\nDocumented: {self.documented}"
