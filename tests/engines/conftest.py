"""Fixtures for the execution-layer tests: a DuckDB file, a Postgres schema, the BigQuery emulator.

Postgres: a uniquely named schema per session, dropped at the end; a server that
cannot be reached fails the tests when ``CI`` is set and skips them otherwise.

BigQuery emulator (tests marked ``bigquery_emulator``): its virtualenv is made on
first use (``SEGDSL_BQEMU_SETUP=0`` forbids that); if it cannot be made or the
emulator does not start, the tests fail when ``CI`` is set and skip otherwise.
The process is stopped by its pid at the end of the session.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import duckdb
import psycopg
import pytest

from tests.engines import bqemu
from tests.support.availability import require_postgres, running_in_ci
from tests.support.runners import DEFAULT_POSTGRES_DSN

POSTGRES_DSN = os.environ.get("SEGDSL_TEST_POSTGRES", DEFAULT_POSTGRES_DSN)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "bigquery_emulator: needs the local BigQuery emulator (bqemulator)"
    )


# ---------------------------------------------------------------- DuckDB

ORDERS_SQL = """
CREATE TABLE customers AS
SELECT range AS customer_id, 'customer ' || range AS name,
       DATE '2024-01-01' + (range % 365)::INTEGER AS signed_up
FROM range(50);
CREATE TABLE orders AS
SELECT range AS order_id, range % 50 AS customer_id,
       (range % 97 * 1.25)::DECIMAL(10, 2) AS amount,
       TIMESTAMPTZ '2024-01-01 00:00:00+00' + to_seconds(range * 3600) AS ordered_at
FROM range(1000);
"""


@pytest.fixture
def duckdb_file(tmp_path: Path) -> Path:
    """A DuckDB file with ``customers`` (50 rows) and ``orders`` (1000 rows)."""
    path = tmp_path / "shop.duckdb"
    con = duckdb.connect(str(path))
    con.execute(ORDERS_SQL)
    con.close()
    return path


# ---------------------------------------------------------------- Postgres


@pytest.fixture(scope="session")
def pg_schema() -> Iterator[str]:
    """A fresh schema with ``customers`` and ``orders``, dropped after the session."""
    require_postgres(POSTGRES_DSN)
    schema = f"segdsl_engines_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(POSTGRES_DSN, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
        conn.execute(
            f'CREATE TABLE "{schema}".customers AS '
            "SELECT g AS customer_id, 'customer ' || g AS name, "
            "DATE '2024-01-01' + g AS signed_up FROM generate_series(0, 49) AS g"
        )
        conn.execute(
            f'CREATE TABLE "{schema}".orders AS '
            "SELECT g AS order_id, g % 50 AS customer_id, "
            "((g % 97) * 1.25)::numeric(10, 2) AS amount, "
            "TIMESTAMPTZ '2024-01-01 00:00:00+00' + g * INTERVAL '1 hour' AS ordered_at "
            "FROM generate_series(0, 999) AS g"
        )
    try:
        yield schema
    finally:
        with psycopg.connect(POSTGRES_DSN, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.fixture(scope="session")
def pg_dsn(pg_schema: str) -> str:
    return POSTGRES_DSN


# ---------------------------------------------------------------- BigQuery emulator


def _unavailable(reason: str) -> None:
    if running_in_ci():
        pytest.fail(f"BigQuery emulator unavailable (CI is set): {reason}", pytrace=False)
    pytest.skip(f"BigQuery emulator unavailable: {reason}")


@pytest.fixture(scope="session")
def bq_emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[bqemu.Emulator]:
    """The emulator, started once per session (its virtualenv made on first use)."""
    create = os.environ.get("SEGDSL_BQEMU_SETUP", "1").strip().lower() not in ("0", "no", "false")
    try:
        venv = bqemu.ensure_venv(create=create)
        emulator = bqemu.start(venv, tmp_path_factory.mktemp("bqemu") / "emulator.log")
    except bqemu.EmulatorUnavailable as error:
        _unavailable(str(error))
        raise AssertionError("unreachable") from error
    try:
        yield emulator
    finally:
        emulator.stop()
