"""pytest helpers for tests that need external services (currently Postgres).

Policy: when the ``CI`` environment variable is set (to anything but empty, ``0``,
``false`` or ``no``) a missing Postgres is a test *failure*; elsewhere the test is
skipped, so local runs without a database stay green.
"""

from __future__ import annotations

import functools
import os

import pytest

from tests.support.runners import DEFAULT_POSTGRES_DSN, postgres_available


def running_in_ci() -> bool:
    """True when the ``CI`` environment variable is set to a truthy value."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


@functools.cache
def _postgres_reachable(dsn: str) -> bool:
    return postgres_available(dsn)


def require_postgres(dsn: str = DEFAULT_POSTGRES_DSN) -> str:
    """Return ``dsn`` if Postgres answers there; otherwise fail (CI) or skip the test.

    The reachability probe runs once per DSN and process.
    """
    if _postgres_reachable(dsn):
        return dsn
    message = f"PostgreSQL is not reachable at {dsn}"
    if running_in_ci():
        pytest.fail(f"{message} (CI is set, so Postgres tests must not be skipped)", pytrace=False)
    pytest.skip(message)
