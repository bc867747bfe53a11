"""`seg compile`: print the SQL of segments for a dialect."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from segdsl.cli.common import (
    ParamOption,
    compiler_for,
    fail_on_compile_error,
    parse_params,
    usage_error,
)

if TYPE_CHECKING:
    from segdsl.compiler import MomentInput


def compile_command(
    path: Annotated[list[Path], typer.Argument(help="Files or folders of .seg files.")],
    segment: Annotated[
        list[str],
        typer.Option(
            "--segment",
            "-s",
            help="Definitions: a name, a glob (`cart_*`), tag:T, owner:O or kind:K (repeatable).",
        ),
    ],
    dialect: Annotated[
        str | None, typer.Option(help="duckdb, postgres, bigquery, spark or clickhouse.")
    ] = None,
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of",
            help="Date or ISO timestamp; `now`: computed when the SQL runs; "
            "`param`: the query parameter as_of.",
        ),
    ] = None,
    param: ParamOption = None,
    dbt: Annotated[
        Path | None,
        typer.Option(
            "--dbt",
            help="Write dbt models (one per name and a membership table), sources.yml and "
            "schema.yml into this folder instead of printing SQL.",
        ),
    ] = None,
) -> None:
    """Print the SQL for one segment's members, or a membership table for several names."""
    from segdsl.project import load_project
    from segdsl.settings import DIALECT_NAMES

    if dialect is not None and dialect not in DIALECT_NAMES:
        usage_error(f"unknown dialect {dialect!r}; use one of {', '.join(DIALECT_NAMES)}")
    project = load_project(path)
    with fail_on_compile_error(project):
        compiler = compiler_for(project, parse_params(param))
        names = compiler.select(segment)
        if dbt is not None:
            from segdsl.dbt import write_dbt

            if as_of is not None:
                usage_error("--dbt takes the as-of time from the dbt var segdsl_as_of")
            chosen = compiler.dialect(dialect).name
            written = write_dbt(compiler, names, chosen, dbt)
            typer.echo(f"{len(written)} files written to {dbt}", err=True)
            return
        moment: MomentInput = compiler.moving_as_of(as_of)
        if moment is None:
            moment = compiler.as_of(as_of)  # validates the as-of text before compiling
        single = len(names) == 1 and compiler.definition(names[0]).kind == "segment"
        if single:
            sql = compiler.members_sql(names[0], dialect=dialect, as_of=moment)
        else:
            sql = compiler.table_sql(names, dialect=dialect, as_of=moment)
    typer.echo(sql + ";")
