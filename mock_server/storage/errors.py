"""What the database can raise, as seen from outside storage: the one base class and the one test
for "a retry can cure this".

Why here: the edge (503 instead of 500) and the CLI (one line instead of a traceback) need to tell
database failures apart, and only ``storage`` may know that the database is SQLAlchemy's.
"""

from __future__ import annotations

from sqlalchemy import exc as sa_exc

DatabaseError = sa_exc.SQLAlchemyError
"""Every error the storage layer raises from the database or the driver."""


def database_unavailable(exc: BaseException) -> bool:
    """A failure a retry can cure: the database restarting, unreachable, busy, or the pool exhausted.

    Such a request changed nothing (its transaction rolled back), so the client is told 503 with
    ``Retry-After`` rather than a 500 that reads like a bug in the sandbox.
    """
    if isinstance(exc, sa_exc.OperationalError | sa_exc.InterfaceError | sa_exc.TimeoutError):
        return True
    return isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated
