"""`seg list`: every definition of a project with its kind, owner, tags and description."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from segdsl.cli.common import (
    DataFormat,
    DataFormatOption,
    ParamOption,
    SelectOption,
    fail_on_compile_error,
    parse_params,
)
from segdsl.cli.jsonout import emit
from segdsl.cli.terminal import Column, print_table


def list_command(
    path: Annotated[
        list[Path] | None, typer.Argument(help="Files or folders of .seg files (default: .).")
    ] = None,
    segment: SelectOption = None,
    param: ParamOption = None,
    output_format: DataFormatOption = DataFormat.text,
) -> None:
    """List definitions with kind, owner, tags and description (select with -s)."""
    from segdsl.diagnostics import CompileError
    from segdsl.project import load_project
    from segdsl.selection import select

    project = load_project(path or [Path(".")])
    with fail_on_compile_error(project):
        analysis = project.analyze(parse_params(param))
        if not analysis.ok:
            errors = [d for d in analysis.diagnostics if d.is_error]
            raise CompileError(errors, project.source_map)
        definitions = analysis.definitions
        names = select(definitions, segment, project.source_map) if segment else list(definitions)
    rows = []
    for name in names:
        definition = definitions[name]
        span = definition.span
        rows.append(
            {
                "name": name,
                "kind": definition.kind,
                "owner": definition.owner,
                "tags": list(definition.tags),
                "description": definition.description,
                "path": span.path,
                "line": span.line,
            }
        )
    if output_format is DataFormat.json:
        emit({"definitions": rows})
        return
    print_table(
        [
            Column("name"),
            Column("kind"),
            Column("owner"),
            Column("tags"),
            Column("description", wrap=True),
        ],
        [
            [
                str(row["name"]),
                str(row["kind"]),
                str(row["owner"] or ""),
                ", ".join(row["tags"]),  # type: ignore[arg-type]
                str(row["description"] or ""),
            ]
            for row in rows
        ],
    )
