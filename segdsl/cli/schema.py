"""`seg schema pull`: record the warehouse's tables and columns for offline validation."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from segdsl.cli.common import fail
from segdsl.cli.database import database_url, engine_errors, open_engine, progress
from segdsl.diagnostics import Diagnostic
from segdsl.source import Span

if TYPE_CHECKING:
    from segdsl.engines.base import Engine
    from segdsl.project import Project
    from segdsl.semantic.analyze import Analysis

app = typer.Typer(help="Warehouse schemas for validation without a database.", no_args_is_help=True)


@app.command("pull")
def pull(
    path: Annotated[
        list[Path] | None, typer.Argument(help="The project whose tables to record (default: .).")
    ] = None,
    db: Annotated[
        str | None, typer.Option("--db", help="Database URL (default: the settings).")
    ] = None,
    schema: Annotated[
        str | None, typer.Option("--schema", help="Record every table of this schema instead.")
    ] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write here instead of stdout.")
    ] = None,
) -> None:
    """Print tables, columns and types as JSON: `seg schema pull --db URL > warehouse.json`."""
    from segdsl.project import load_project
    from segdsl.schema import WarehouseSchema, declared_sources

    project = load_project(path or [Path(".")])
    url = database_url(db, project.settings, allow_demo=False)
    with (
        engine_errors(),
        open_engine(url, project.settings) as engine,
        progress("reading the schema"),
    ):
        tables: list[tuple[str, ...]]
        if schema is not None:
            tables = [(schema, name) for name in engine.list_tables(schema)]
        else:
            tables = [source for _, source, _ in declared_sources(project.modules)]
        if not tables:
            fail("no tables to record: the project declares none (or use --schema NAME)")
        described = engine.describe_tables(tables)
        recorded = WarehouseSchema(
            engine.dialect, {name: dict(cols) for name, cols in described.items()}
        )
    text = recorded.to_json() + "\n"
    if output is None:
        typer.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        typer.echo(f"{len(recorded.tables)} tables written to {output}", err=True)


def warehouse_diagnostics(
    project: Project,
    analysis: Analysis,
    schema_file: Path | None,
    db: str | None,
    *,
    check_data: bool = False,
) -> list[Diagnostic]:
    """Check the project against a recorded schema file, or against a live database's
    catalog (and, with `check_data`, its rows against every `link … rely`)."""
    from segdsl.schema import WarehouseSchema, declared_sources, schema_diagnostics

    if schema_file is not None:
        try:
            recorded = WarehouseSchema.load(schema_file)
        except (OSError, ValueError, KeyError) as error:
            where = Span(str(schema_file), 1, 1, 1, 1)
            return [Diagnostic("SEG501", f"cannot read the warehouse schema: {error}", where)]
        return schema_diagnostics(project.modules, recorded)
    assert db is not None
    with engine_errors(), open_engine(db, project.settings) as engine:
        sources = [source for _, source, _ in declared_sources(project.modules)]
        described = engine.describe_tables(sources)
        live = WarehouseSchema(
            engine.dialect, {name: dict(cols) for name, cols in described.items()}
        )
        problems = schema_diagnostics(project.modules, live)
        if check_data and not any(d.is_error for d in problems):
            with progress("checking the rows of `rely` links"):
                problems += rely_diagnostics(engine, analysis, project.settings.time_zone)
            problems += key_diagnostics(engine, analysis)
    return problems


def rely_diagnostics(engine: Engine, analysis: Analysis, zone: str) -> list[Diagnostic]:
    """SEG404 for every `link … rely` that rows of the warehouse break."""
    from segdsl.sql.dialects import get_dialect
    from segdsl.sql.rely_checks import OLDER, ORPHANS, ROWS, rely_checks

    dialect = get_dialect(engine.dialect)
    problems = []
    for check in rely_checks(analysis.decls, dialect, zone):
        counts = engine.query(dialect.render(check.query, pretty=False)).to_pylist()[0]
        orphans, older = counts[ORPHANS], counts[OLDER] or 0
        broken = []
        if orphans:
            broken.append(f"{orphans:,} {'has' if orphans == 1 else 'have'} no {check.parent}")
        if older:
            broken.append(
                f"{older:,} {'is older than its' if older == 1 else 'are older than their'} "
                + check.parent
            )
        if broken:
            problems.append(
                Diagnostic(
                    "SEG404",
                    f"`{check.table}` links to `{check.parent}` with `rely`, but of its "
                    f"{counts[ROWS]:,} rows, " + " and ".join(broken),
                    check.span,
                    "fix those rows, or remove `rely` (members are then checked against "
                    f"`{check.parent}`)",
                )
            )
    return problems


def key_diagnostics(engine: Engine, analysis: Analysis) -> list[Diagnostic]:
    """SEG411 when the entity table has rows without a key or repeating one."""
    from segdsl.sql.dialects import get_dialect
    from segdsl.sql.rely_checks import key_check, key_diagnostic

    check = key_check(analysis.decls)
    if check is None:
        return []
    sql = get_dialect(engine.dialect).render(check.query, pretty=False)
    found = key_diagnostic(check, engine.query(sql).to_pylist()[0])
    return [] if found is None else [found]


__all__ = ["app", "warehouse_diagnostics"]
