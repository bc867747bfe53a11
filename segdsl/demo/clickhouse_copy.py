"""Copy the demo warehouse: a DuckDB file's ``shop`` tables → a ClickHouse database.

Rows travel as Arrow record batches (DuckDB reads them, the ClickHouse engine inserts
them: chdb's ``Python()`` table function or clickhouse-connect's Arrow insert), so memory
does not grow with the table size. Every column is Nullable, so a missing value stays
NULL (a non-Nullable ClickHouse column would store 0 or '' in its place); times are
``DateTime64(6)`` wall-clock times, as in DuckDB.
"""

from __future__ import annotations

import re
from pathlib import Path

import duckdb

from segdsl.demo.warehouse import connect_quietly
from segdsl.engines.clickhouse_engine import ClickHouseEngine

__all__ = ["clickhouse_type", "copy_to_clickhouse"]

SOURCE_SCHEMA = "shop"
_TABLE_ORDER: tuple[str, ...] = ("customers", "orders", "order_items", "events")
_SIMPLE_TYPES: dict[str, str] = {
    "BIGINT": "Int64",
    "INTEGER": "Int32",
    "SMALLINT": "Int16",
    "BOOLEAN": "Bool",
    "VARCHAR": "String",
    "DATE": "Date32",
    "TIMESTAMP": "DateTime64(6)",
    "DOUBLE": "Float64",
}
_DECIMAL = re.compile(r"DECIMAL\((\d+),(\d+)\)")
_READ_MEMORY_LIMIT = "128MB"


def clickhouse_type(duckdb_type: str) -> str:
    """The (Nullable) ClickHouse column type for a DuckDB column type name.

    >>> clickhouse_type("DECIMAL(12,2)")
    'Nullable(Decimal(12, 2))'
    >>> clickhouse_type("TIMESTAMP")
    'Nullable(DateTime64(6))'
    """
    t = duckdb_type.upper().replace(" ", "")
    if t in _SIMPLE_TYPES:
        return f"Nullable({_SIMPLE_TYPES[t]})"
    m = _DECIMAL.fullmatch(t)
    if m:
        return f"Nullable(Decimal({m.group(1)}, {m.group(2)}))"
    raise ValueError(f"no ClickHouse type for DuckDB type {duckdb_type!r}")


def copy_to_clickhouse(
    duckdb_path: Path | str,
    engine: ClickHouseEngine,
    database: str = "shop",
    *,
    batch_rows: int = 100_000,
) -> dict[str, int]:
    """Copy every table of the DuckDB file's ``shop`` schema into ``database``.

    Existing tables of the same names are replaced. Returns the rows copied per table.
    """
    if batch_rows < 1:
        raise ValueError("batch_rows must be at least 1")
    src = connect_quietly(str(duckdb_path), read_only=True)
    try:
        src.execute(f"SET memory_limit = '{_READ_MEMORY_LIMIT}'")
        copied: dict[str, int] = {}
        for table in _source_tables(src):
            columns = src.execute(
                "SELECT column_name, data_type FROM duckdb_columns() "
                "WHERE schema_name = ? AND table_name = ? ORDER BY column_index",
                [SOURCE_SCHEMA, table],
            ).fetchall()
            definitions = [f"`{name}` {clickhouse_type(str(kind))}" for name, kind in columns]
            reader = src.sql(f'SELECT * FROM "{SOURCE_SCHEMA}"."{table}"').to_arrow_reader(
                batch_rows
            )
            assert reader is not None  # a SELECT has a result
            copied[table] = engine.load_arrow(database, table, definitions, reader)
        return copied
    finally:
        src.close()


def _source_tables(src: duckdb.DuckDBPyConnection) -> list[str]:
    rows = src.execute(
        "SELECT table_name FROM duckdb_tables() WHERE schema_name = ? ORDER BY table_name",
        [SOURCE_SCHEMA],
    ).fetchall()
    names = [str(r[0]) for r in rows]
    known = [t for t in _TABLE_ORDER if t in names]
    return known + [t for t in names if t not in known]
