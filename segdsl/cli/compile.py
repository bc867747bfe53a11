"""`seg compile`: print the SQL of segments for a dialect."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from segdsl.cli.common import (
    AsOfOption,
    ParamOption,
    compiler_for,
    fail_on_compile_error,
    parse_params,
)
from segdsl.project import load_project
from segdsl.settings import DIALECT_NAMES


def compile_command(
    path: Annotated[list[Path], typer.Argument(help="Files or folders of .seg files.")],
    segment: Annotated[
        list[str],
        typer.Option(
            "--segment", "-s", help="A segment, classifier, split or measure (repeatable)."
        ),
    ],
    dialect: Annotated[
        str | None, typer.Option(help="duckdb, postgres, bigquery or clickhouse.")
    ] = None,
    as_of: AsOfOption = None,
    param: ParamOption = None,
) -> None:
    """Print the SQL for one segment's members, or a membership table for several names."""
    if dialect is not None and dialect not in DIALECT_NAMES:
        from segdsl.cli.common import usage_error

        usage_error(f"unknown dialect {dialect!r}; use one of {', '.join(DIALECT_NAMES)}")
    project = load_project(path)
    with fail_on_compile_error(project):
        compiler = compiler_for(project, parse_params(param))
        compiler.as_of(as_of)  # validates the as-of text before compiling
        single = len(segment) == 1 and compiler.definition(segment[0]).kind == "segment"
        if single:
            sql = compiler.members_sql(segment[0], dialect=dialect, as_of=as_of)
        else:
            sql = compiler.table_sql(segment, dialect=dialect, as_of=as_of)
    typer.echo(sql + ";")
