"""Demo data for trying segdsl: a deterministic e-commerce warehouse (DuckDB, Postgres,
ClickHouse)."""

from segdsl.demo.warehouse import (
    DEMO_AS_OF,
    DemoSummary,
    build_demo_database,
    copy_to_clickhouse,
    copy_to_postgres,
)

__all__ = [
    "DEMO_AS_OF",
    "DemoSummary",
    "build_demo_database",
    "copy_to_clickhouse",
    "copy_to_postgres",
]
