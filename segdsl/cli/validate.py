"""`seg validate`: check files against the language (and optionally the warehouse)."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from segdsl.cli.common import (
    EXIT_FINDINGS,
    OutputFormat,
    parse_params,
    print_diagnostics,
    usage_error,
)
from segdsl.cli.jsonout import dumps, emit
from segdsl.diagnostics import Diagnostic, sort_key
from segdsl.source import SourceFile

if TYPE_CHECKING:
    from segdsl.project import Project


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
    whole_project: Annotated[
        bool,
        typer.Option(
            "--whole-project",
            help="Report every file of the projects of the given files, not just those files.",
        ),
    ] = False,
) -> None:
    """Check .seg files: syntax, names, types (and warehouse columns with --schema/--db).

    Exit status: 0 clean, 1 findings, 2 usage error.
    """
    if check_data and (db is None or schema is not None):
        usage_error("--check-data reads the warehouse's rows: give --db URL, not --schema")
    from segdsl.project import load_projects

    params = parse_params(param)
    diagnostics: list[Diagnostic] = []
    sources: dict[str, SourceFile] = {}
    files = 0
    elsewhere: list[tuple[Project, int]] = []  # errors in files of a project not asked about
    projects = load_projects(paths)
    for project in projects:
        found = _check(project, params, schema, db, check_data)
        shown = found if whole_project else [d for d in found if _asked_about(d, project)]
        hidden = sum(1 for d in found if d.is_error) - sum(1 for d in shown if d.is_error)
        if hidden:
            elsewhere.append((project, hidden))
        diagnostics.extend(shown)
        sources.update(project.source_map)
        files += (
            len(project.sources) if whole_project or project.named is None else len(project.named)
        )
    diagnostics.sort(key=sort_key)
    errors = sum(1 for d in diagnostics if d.is_error)
    summary = (
        f"checked {files} file{'s' if files != 1 else ''}: "
        f"{errors} error{'s' if errors != 1 else ''}, {len(diagnostics) - errors} warning"
        f"{'s' if len(diagnostics) - errors != 1 else ''}"
    )
    if output is ValidateFormat.sarif:
        from segdsl.cli.sarif import repository_root, sarif_log

        typer.echo(dumps(sarif_log(diagnostics, repository_root(_start(projects, paths)))))
    elif output is ValidateFormat.json:
        emit(
            {
                "diagnostics": [d.to_dict() for d in diagnostics],
                "errors": errors,
                "warnings": len(diagnostics) - errors,
                "files": files,
                "projects": [None if p.root is None else str(p.root) for p in projects],
            }
        )
    else:
        print_diagnostics(diagnostics, sources, OutputFormat(output.value), summary=summary)
    for project, count in elsewhere:
        typer.echo(
            f"note: {count} error{'s' if count != 1 else ''} in other files of the project "
            f"{project.root} (`seg validate {project.root}` shows them)",
            err=True,
        )
    if errors:
        raise typer.Exit(EXIT_FINDINGS)


def _check(
    project: Project,
    params: dict[str, str],
    schema: Path | None,
    db: str | None,
    check_data: bool,
) -> list[Diagnostic]:
    from segdsl.sql.support import project_diagnostics

    analysis = project.analyze(params)
    diagnostics = project_diagnostics(project, analysis, project.settings.dialect)
    if (schema is not None or db is not None) and analysis.ok:
        from segdsl.cli.schema import warehouse_diagnostics

        diagnostics.extend(
            warehouse_diagnostics(project, analysis, schema, db, check_data=check_data)
        )
    return diagnostics


def _asked_about(diagnostic: Diagnostic, project: Project) -> bool:
    """A diagnostic is shown for the files named, and for anything that is not one of the
    project's other .seg files (its settings, a missing path)."""
    path = diagnostic.span.path
    if project.named is None or path in project.named:
        return True
    return path not in project.source_map


def _start(projects: list[Project], paths: list[Path]) -> Path:
    """Where to look for the repository SARIF paths are relative to (else: this folder)."""
    for project in projects:
        if project.root is not None:
            return project.root
    first = paths[0] if paths else Path(".")
    return first if first.is_dir() else first.parent
