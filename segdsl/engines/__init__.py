"""Database URL → a connected `Engine` that runs compiled SQL read-only and streams Arrow batches.

Importing this package imports no database driver (nor pyarrow): `connect`
imports only the module of the engine the URL names.

>>> with connect("duckdb:///shop.duckdb") as engine:           # doctest: +SKIP
...     for batch in engine.query_batches(sql):
...         ...
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from segdsl.engines.base import Engine, EngineError, ErrorKind
from segdsl.engines.urls import (
    BigQueryURL,
    DuckDBURL,
    PostgresURL,
    URLError,
    mask,
    parse_url,
)

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["Engine", "EngineError", "ErrorKind", "URLError", "connect", "mask", "parse_url"]


def connect(
    url: str,
    *,
    statement_timeout: float | None = 300.0,
    connect_timeout: float = 15.0,
    maximum_bytes_billed: int | None = None,
    labels: Mapping[str, str] | None = None,
) -> Engine:
    """Open the database ``url`` names.

    ``statement_timeout`` (seconds; None for none) bounds each call to the
    database; ``connect_timeout`` bounds connecting (Postgres) or retrying
    transient errors (BigQuery). ``maximum_bytes_billed`` and ``labels`` apply to
    BigQuery only (the stricter of the URL's and this limit wins). Failures raise
    `EngineError`; a malformed URL raises it with kind ``other``.
    """
    try:
        parsed = parse_url(url)
    except URLError as error:
        raise EngineError("other", str(error)) from None
    if isinstance(parsed, DuckDBURL):
        from segdsl.engines.duckdb_engine import DuckDBEngine

        return DuckDBEngine(parsed, statement_timeout=statement_timeout)
    if isinstance(parsed, PostgresURL):
        from segdsl.engines.postgres_engine import PostgresEngine

        return PostgresEngine(
            parsed, statement_timeout=statement_timeout, connect_timeout=connect_timeout
        )
    if isinstance(parsed, BigQueryURL):
        from segdsl.engines.bigquery_engine import BigQueryEngine

        return BigQueryEngine(
            parsed,
            statement_timeout=statement_timeout,
            maximum_bytes_billed=maximum_bytes_billed,
            connect_timeout=connect_timeout,
            labels=labels,
        )
    raise AssertionError(f"unhandled URL type {type(parsed).__name__}")
