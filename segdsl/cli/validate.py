"""`seg validate`: check files against the language (and optionally the warehouse)."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from segdsl.cli.common import (
    EXIT_FINDINGS,
    OutputFormat,
    parse_params,
    print_diagnostics,
    usage_error,
)
from segdsl.cli.jsonout import dumps, emit
from segdsl.diagnostics import sort_key
from segdsl.project import Project, load_project
from segdsl.sql.support import project_diagnostics


class ValidateFormat(StrEnum):
    text = "text"
    json = "json"
    github = "github"
    sarif = "sarif"


def validate(
    paths: Annotated[list[Path], typer.Argument(help="Files or folders of .seg files.")],
    output: Annotated[
        ValidateFormat, typer.Option("--format", help="text, json, github or sarif.")
    ] = ValidateFormat.text,
    param: Annotated[
        list[str] | None, typer.Option("--param", help="Override a parameter: NAME=VALUE.")
    ] = None,
    schema: Annotated[
        Path | None, typer.Option("--schema", help="A warehouse schema from `seg schema pull`.")
    ] = None,
    db: Annotated[
        str | None, typer.Option("--db", help="Check columns against this warehouse.")
    ] = None,
    check_data: Annotated[
        bool,
        typer.Option(
            "--check-data", help="With --db: count the rows that break each `link … rely`."
        ),
    ] = False,
) -> None:
    """Check .seg files: syntax, names, types (and warehouse columns with --schema/--db).

    Exit status: 0 clean, 1 findings, 2 usage error.
    """
    if check_data and (db is None or schema is not None):
        usage_error("--check-data reads the warehouse's rows: give --db URL, not --schema")
    project = load_project(paths)
    analysis = project.analyze(parse_params(param))
    diagnostics = project_diagnostics(project, analysis, project.settings.dialect)
    if (schema is not None or db is not None) and analysis.ok:
        from segdsl.cli.schema import warehouse_diagnostics

        diagnostics.extend(
            warehouse_diagnostics(project, analysis, schema, db, check_data=check_data)
        )
    diagnostics.sort(key=sort_key)
    errors = sum(1 for d in diagnostics if d.is_error)
    files = len(project.sources)
    summary = (
        f"checked {files} file{'s' if files != 1 else ''}: "
        f"{errors} error{'s' if errors != 1 else ''}, {len(diagnostics) - errors} warning"
        f"{'s' if len(diagnostics) - errors != 1 else ''}"
    )
    if output is ValidateFormat.sarif:
        from segdsl.cli.sarif import repository_root, sarif_log

        typer.echo(dumps(sarif_log(diagnostics, repository_root(_project_root(project, paths)))))
    elif output is ValidateFormat.json:
        settings = project.settings.path
        emit(
            {
                "diagnostics": [d.to_dict() for d in diagnostics],
                "errors": errors,
                "warnings": len(diagnostics) - errors,
                "files": files,
                "projects": [None if settings is None else str(settings.parent)],
            }
        )
    else:
        print_diagnostics(
            diagnostics, project.source_map, OutputFormat(output.value), summary=summary
        )
    if errors:
        raise typer.Exit(EXIT_FINDINGS)


def _project_root(project: Project, paths: list[Path]) -> Path:
    """Where SARIF paths start when no git repository is found: the settings' folder."""
    if project.settings.path is not None:
        return project.settings.path.parent
    first = paths[0] if paths else Path(".")
    return first if first.is_dir() else first.parent
