"""`seg demo`: build the deterministic demo warehouse (DuckDB, optionally copied to Postgres
or ClickHouse)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from segdsl.cli.common import fail, usage_error
from segdsl.cli.database import progress
from segdsl.engines.urls import mask

if TYPE_CHECKING:
    from segdsl.engines.urls import PostgresURL


def demo(
    path: Annotated[
        Path | None, typer.Option("--path", help="DuckDB file (default: the demo location).")
    ] = None,
    scale: Annotated[
        float, typer.Option("--scale", min=0.001, help="1 = 10,000 customers, ~230k events.")
    ] = 1.0,
    postgres: Annotated[
        str | None,
        typer.Option("--postgres", help="Also copy it into this Postgres database (schema shop)."),
    ] = None,
    clickhouse: Annotated[
        str | None,
        typer.Option(
            "--clickhouse",
            help="Also copy it into this ClickHouse (database shop): a server or a chdb folder.",
        ),
    ] = None,
) -> None:
    """Build the demo e-commerce warehouse used by examples/ (as of 2025-07-01)."""
    from segdsl.demo import build_demo_database
    from segdsl.execute import demo_database_path

    copy_to = _postgres_url(postgres) if postgres else None  # refused before building
    if clickhouse:
        _clickhouse_url(clickhouse)
    target = (path or demo_database_path()).resolve()
    target.parent.mkdir(parents=True, exist_ok=True)
    with progress(f"building the demo warehouse at scale {scale}"):
        summary = build_demo_database(target, scale=scale)
    counts = ", ".join(f"{name} {count:,}" for name, count in summary.row_counts.items())
    typer.echo(f"{target}: {counts} ({summary.seconds:.1f}s)")
    typer.echo(f"run the examples on it: seg run examples --db duckdb:///{target}")
    if copy_to is not None:
        copied = _copy(target, copy_to)
        typer.echo(
            "copied to Postgres schema shop: " + ", ".join(f"{n} {c:,}" for n, c in copied.items())
        )
    if clickhouse:
        copied = _copy_clickhouse(target, clickhouse)
        typer.echo(
            "copied to ClickHouse database shop: "
            + ", ".join(f"{n} {c:,}" for n, c in copied.items())
        )
        typer.echo(f"run the examples on it: seg run examples --db {mask(clickhouse)}")


def _postgres_url(url: str) -> PostgresURL:
    from segdsl.engines.urls import PostgresURL, URLError, parse_url

    try:
        parsed = parse_url(url)
    except URLError as error:
        usage_error(str(error))
    if not isinstance(parsed, PostgresURL):
        usage_error("--postgres needs a postgresql://user@host:port/database URL")
    return parsed


def _clickhouse_url(url: str) -> None:
    from segdsl.engines.urls import ClickHouseURL, URLError, parse_url

    try:
        parsed = parse_url(url)
    except URLError as error:
        usage_error(str(error))
    if not isinstance(parsed, ClickHouseURL) or (parsed.embedded and parsed.path is None):
        usage_error(
            "--clickhouse needs a clickhouse://user@host:port URL or a chdb folder "
            "(clickhouse:///folder)"
        )


def _copy_clickhouse(target: Path, url: str) -> dict[str, int]:
    """Copy the demo into ClickHouse; errors are one line, with passwords masked."""
    from segdsl.demo import copy_to_clickhouse
    from segdsl.engines import EngineError

    try:
        with progress("copying into ClickHouse"):
            return copy_to_clickhouse(target, url)
    except EngineError as error:
        fail(str(error))


def _copy(target: Path, url: PostgresURL) -> dict[str, int]:
    """Copy the demo into Postgres; errors are one line, with passwords masked."""
    import psycopg
    from psycopg.conninfo import make_conninfo

    from segdsl.demo import copy_to_postgres
    from segdsl.engines.urls import redact, secrets_of

    try:
        with progress("copying into Postgres"):
            return copy_to_postgres(target, make_conninfo(**url.connect_kwargs()))
    except psycopg.Error as error:
        first_line = (str(error).strip().splitlines() or [type(error).__name__])[0]
        fail(f"postgres: {redact(first_line, secrets_of(url))}")
