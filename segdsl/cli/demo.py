"""`seg demo`: build the deterministic demo warehouse (DuckDB, optionally copied to Postgres)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from segdsl.cli.database import engine_errors, progress


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
) -> None:
    """Build the demo e-commerce warehouse used by examples/ (as of 2025-07-01)."""
    from segdsl.demo import build_demo_database, copy_to_postgres
    from segdsl.execute import demo_database_path

    target = (path or demo_database_path()).resolve()
    target.parent.mkdir(parents=True, exist_ok=True)
    with progress(f"building the demo warehouse at scale {scale}"):
        summary = build_demo_database(target, scale=scale)
    counts = ", ".join(f"{name} {count:,}" for name, count in summary.row_counts.items())
    typer.echo(f"{target}: {counts} ({summary.seconds:.1f}s)")
    typer.echo(f"run the examples on it: seg run examples --db duckdb:///{target}")
    if postgres:
        with engine_errors(), progress("copying into Postgres"):
            copied = copy_to_postgres(target, postgres)
        typer.echo(
            "copied to Postgres schema shop: " + ", ".join(f"{n} {c:,}" for n, c in copied.items())
        )
