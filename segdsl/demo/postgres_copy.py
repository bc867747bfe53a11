"""Copy the demo warehouse: a DuckDB file's ``shop`` tables → a PostgreSQL schema.

Rows are fetched from DuckDB batch by batch and sent with ``COPY ... FROM STDIN``
(psycopg writes each row in COPY's text format), so memory does not grow with the table
size. The target tables are dropped and recreated inside one transaction. Needs the
Postgres driver (``segdsl[postgres]``), not pyarrow.
"""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import psycopg
from psycopg import sql

from segdsl.demo.warehouse import connect_quietly

__all__ = ["copy_to_postgres", "postgres_type"]

SOURCE_SCHEMA = "shop"
_TABLE_ORDER: tuple[str, ...] = ("customers", "orders", "order_items", "events")
_SIMPLE_TYPES: dict[str, str] = {
    "BIGINT": "BIGINT",
    "INTEGER": "INTEGER",
    "SMALLINT": "SMALLINT",
    "BOOLEAN": "BOOLEAN",
    "VARCHAR": "TEXT",
    "DATE": "DATE",
    "TIMESTAMP": "TIMESTAMP",
    "DOUBLE": "DOUBLE PRECISION",
}
_READ_MEMORY_LIMIT = "128MB"
_DECIMAL = re.compile(r"DECIMAL\((\d+),(\d+)\)")


def postgres_type(duckdb_type: str) -> str:
    """The PostgreSQL column type for a DuckDB column type name.

    >>> postgres_type("DECIMAL(12,2)")
    'NUMERIC(12,2)'
    >>> postgres_type("VARCHAR")
    'TEXT'
    """
    t = duckdb_type.upper().replace(" ", "")
    if t in _SIMPLE_TYPES:
        return _SIMPLE_TYPES[t]
    m = _DECIMAL.fullmatch(t)
    if m:
        return f"NUMERIC({m.group(1)},{m.group(2)})"
    raise ValueError(f"no PostgreSQL type for DuckDB type {duckdb_type!r}")


def copy_to_postgres(
    duckdb_path: Path | str,
    dsn: str,
    schema: str = "shop",
    *,
    batch_rows: int = 100_000,
) -> dict[str, int]:
    """Copy every table of the DuckDB file's ``shop`` schema into ``schema`` on ``dsn``.

    Existing tables of the same names are replaced; the copies are vacuumed and analysed.
    Returns the rows copied per table.
    """
    if batch_rows < 1:
        raise ValueError("batch_rows must be at least 1")
    src = connect_quietly(str(duckdb_path), read_only=True)
    try:
        # a plain scan needs little; the cap keeps DuckDB's cache from growing with the file
        src.execute(f"SET memory_limit = '{_READ_MEMORY_LIMIT}'")
        tables = _source_tables(src)
        copied: dict[str, int] = {}
        with psycopg.connect(dsn) as pg, pg.cursor() as cur:
            cur.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))
            for table in tables:
                copied[table] = _copy_table(src, cur, schema, table, batch_rows)
            # commit happens when the connection block exits without error
        with psycopg.connect(dsn, autocommit=True) as pg:  # VACUUM needs autocommit
            for table in tables:
                # statistics and hint bits now, not whenever autovacuum gets to it: plans
                # made before that guess row counts and change halfway through a run
                pg.execute(sql.SQL("VACUUM (ANALYZE) {}").format(sql.Identifier(schema, table)))
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


def _copy_table(
    src: duckdb.DuckDBPyConnection,
    cur: psycopg.Cursor[tuple[object, ...]],
    schema: str,
    table: str,
    batch_rows: int,
) -> int:
    columns = src.execute(
        "SELECT column_name, data_type FROM duckdb_columns() "
        "WHERE schema_name = ? AND table_name = ? ORDER BY column_index",
        [SOURCE_SCHEMA, table],
    ).fetchall()
    pk_rows = src.execute(
        "SELECT constraint_column_names FROM duckdb_constraints() "
        "WHERE schema_name = ? AND table_name = ? AND constraint_type = 'PRIMARY KEY'",
        [SOURCE_SCHEMA, table],
    ).fetchall()
    target = sql.Identifier(schema, table)
    col_defs = sql.SQL(", ").join(
        sql.SQL("{} {}").format(sql.Identifier(str(name)), sql.SQL(postgres_type(str(dtype))))
        for name, dtype in columns
    )
    col_names = sql.SQL(", ").join(sql.Identifier(str(name)) for name, _ in columns)
    cur.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(target))
    cur.execute(sql.SQL("CREATE TABLE {} ({})").format(target, col_defs))

    src.execute(f'SELECT * FROM "{SOURCE_SCHEMA}"."{table}"')
    rows = 0
    copy_stmt = sql.SQL("COPY {} ({}) FROM STDIN (FREEZE true)").format(target, col_names)
    with cur.copy(copy_stmt) as copy:
        while batch := src.fetchmany(batch_rows):
            for row in batch:
                copy.write_row(row)
            rows += len(batch)
    for (pk_columns,) in pk_rows:
        cur.execute(
            sql.SQL("ALTER TABLE {} ADD PRIMARY KEY ({})").format(
                target, sql.SQL(", ").join(sql.Identifier(str(c)) for c in pk_columns)
            )
        )
    cur.execute(sql.SQL("ANALYZE {}").format(target))
    return rows
