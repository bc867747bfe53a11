"""`seg docs`: the project catalogue as a static HTML site (segdsl/site/)."""

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
from segdsl.cli.database import engine_errors, open_engine, progress


def docs(
    path: Annotated[list[Path], typer.Argument(help="Files or folders of .seg files.")],
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Folder to write the site into (index.html).")
    ],
    db: Annotated[
        str | None,
        typer.Option("--db", help="Add sizes, trends, funnels and overlap from this database."),
    ] = None,
    as_of: AsOfOption = None,
    param: ParamOption = None,
) -> None:
    """A static HTML catalogue of every definition, with charts; open OUT/index.html."""
    from segdsl.project import load_project
    from segdsl.site import gather, measure, write_site

    project = load_project(path)
    with fail_on_compile_error(project), engine_errors():
        compiler = compiler_for(project, parse_params(param))
        moment = compiler.as_of(as_of)
        title = project.root.resolve().name if project.root else "segments"
        catalogue = gather(compiler, moment, title)
        if db is not None:
            measuring = progress(f"measuring {len(catalogue.entries)} definitions")
            with open_engine(db, project.settings) as engine, measuring:
                catalogue.numbers = measure(compiler, engine, catalogue)
        pages = write_site(catalogue, out)
    typer.echo(f"{pages} pages written to {out}; open {out / 'index.html'}")
