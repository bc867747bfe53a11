"""Database URL → a connected `Engine` that runs compiled SQL read-only and streams `Rows`.

Importing this package imports no database driver (nor pyarrow): `connect`
imports only the module of the engine the URL names. DuckDB is always
installed; the Postgres and BigQuery drivers come with the extras
``segdsl[postgres]`` and ``segdsl[bigquery]``, and a URL whose driver is
missing gets a one-line error naming the extra (`missing_driver`).

>>> with connect("duckdb:///shop.duckdb") as engine:           # doctest: +SKIP
...     for batch in engine.query_batches(sql):
...         ...
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from segdsl.engines.base import Engine, EngineError, ErrorKind
from segdsl.engines.rows import Rows
from segdsl.engines.urls import (
    BigQueryURL,
    ClickHouseURL,
    DuckDBURL,
    PostgresURL,
    SparkURL,
    URLError,
    mask,
    parse_url,
)

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from pathlib import Path

__all__ = [
    "Engine",
    "EngineError",
    "ErrorKind",
    "Rows",
    "URLError",
    "connect",
    "mask",
    "missing_driver",
    "parse_url",
]

# URL scheme → (what is missing, the extra that installs it)
_EXTRAS: dict[str, tuple[str, str]] = {
    "postgres": ("the Postgres driver", "postgres"),
    "bigquery": ("the BigQuery client", "bigquery"),
    "spark": ("pyspark", "spark"),
    "clickhouse": ("the ClickHouse client (clickhouse-connect)", "clickhouse"),
    "chdb": ("the embedded ClickHouse (chdb)", "chdb"),
    "parquet": ("pyarrow", "parquet"),
}


def missing_driver(what: str, need: str, error: ImportError) -> EngineError:
    """The one-line error for a missing optional package: ``need`` is a key of the extras table.

    >>> print(missing_driver("postgres://…", "postgres", ImportError()))
    postgres://… needs the Postgres driver: pip install 'segdsl[postgres]'
    """
    package, extra = _EXTRAS[need]
    if need == "postgres" and ("libpq" in str(error) or "pq wrapper" in str(error)):
        package, extra = "libpq (psycopg is installed but finds no libpq)", "postgres-binary"
    return EngineError("other", f"{what} needs {package}: pip install 'segdsl[{extra}]'")


def connect(
    url: str,
    *,
    statement_timeout: float | None = 300.0,
    connect_timeout: float = 15.0,
    maximum_bytes_billed: int | None = None,
    labels: Mapping[str, str] | None = None,
    read_folders: Sequence[Path] = (),
    spark_tables: Mapping[str, Path] | None = None,
    spark_demo: Path | None = None,
) -> Engine:
    """Open the database ``url`` names.

    ``statement_timeout`` (seconds; None for none) bounds each call to the
    database; ``connect_timeout`` bounds connecting (Postgres) or retrying
    transient errors (BigQuery). ``maximum_bytes_billed`` and ``labels`` apply to
    BigQuery only (the stricter of the URL's and this limit wins). ``read_folders``
    (DuckDB only) are the folders whose files a query may read; nothing else
    outside the database is reachable. ``spark_tables`` (Spark only) are Parquet files
    read as temporary views; ``spark_demo`` (a local Spark session only) is the folder of
    the demo warehouse's Parquet export, its tables become ``shop.<name>``. Failures
    raise `EngineError`; a malformed URL, or one whose driver is not installed, raises it
    with kind ``other``.
    """
    try:
        parsed = parse_url(url)
    except URLError as error:
        raise EngineError("other", str(error)) from None
    if maximum_bytes_billed is not None and maximum_bytes_billed < 1:
        raise EngineError(
            "other",
            f"the maximum bytes billed (--max-bytes) must be at least 1 byte, "
            f"not {maximum_bytes_billed}",
        )
    if isinstance(parsed, DuckDBURL):
        from segdsl.engines.duckdb_engine import DuckDBEngine

        return DuckDBEngine(parsed, statement_timeout=statement_timeout, read_folders=read_folders)
    scheme = url.strip().partition("://")[0] + "://…"
    if isinstance(parsed, PostgresURL):
        try:
            from segdsl.engines.postgres_engine import PostgresEngine
        except ImportError as error:
            raise missing_driver(scheme, "postgres", error) from None

        return PostgresEngine(
            parsed, statement_timeout=statement_timeout, connect_timeout=connect_timeout
        )
    if isinstance(parsed, BigQueryURL):
        try:
            from segdsl.engines.bigquery_engine import BigQueryEngine
        except ImportError as error:
            raise missing_driver(scheme, "bigquery", error) from None

        return BigQueryEngine(
            parsed,
            statement_timeout=statement_timeout,
            maximum_bytes_billed=maximum_bytes_billed,
            connect_timeout=connect_timeout,
            labels=labels,
        )
    if isinstance(parsed, SparkURL):
        try:
            from segdsl.engines.spark_engine import SparkEngine
        except ImportError as error:
            raise missing_driver(scheme, "spark", error) from None

        return SparkEngine(
            parsed, statement_timeout=statement_timeout, tables=spark_tables, demo=spark_demo
        )
    if isinstance(parsed, ClickHouseURL):
        try:
            if parsed.embedded:
                import chdb  # noqa: F401
            else:
                import clickhouse_connect  # noqa: F401
            from segdsl.engines.clickhouse_engine import ClickHouseEngine
        except ImportError as error:
            raise missing_driver(
                scheme, "chdb" if parsed.embedded else "clickhouse", error
            ) from None

        return ClickHouseEngine(
            parsed, statement_timeout=statement_timeout, connect_timeout=connect_timeout
        )
    raise AssertionError(f"unhandled URL type {type(parsed).__name__}")
