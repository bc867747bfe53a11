"""A query's rows into a table or view (materialised), a file, or standard output."""

from __future__ import annotations

import contextlib
import glob
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from segdsl.cli.common import DataFormat
from segdsl.cli.database import progress
from segdsl.cli.jsonout import emit_line

if TYPE_CHECKING:
    from segdsl.engines import Engine


def write_rows(
    engine: Engine,
    sql: str,
    *,
    materialize: str | None,
    view: bool,
    replace: bool,
    output: Path | None,
    output_format: DataFormat,
) -> None:
    """Rows into a table or view, a file, or standard output."""
    if materialize is not None:
        with progress(f"materialising {materialize}"):
            engine.materialize(sql, materialize, kind="view" if view else "table", replace=replace)
        typer.echo(f"{'view' if view else 'table'} {materialize} created", err=True)
        return
    if output is not None:
        from segdsl.engines.export import export_query

        with progress(f"writing {output}"), no_leftover_part(output):
            written = export_query(engine, sql, output)
        typer.echo(f"{written} rows written to {output}", err=True)
        return
    print_rows(engine, sql, output_format)


@contextlib.contextmanager
def no_leftover_part(output: Path) -> Iterator[None]:
    """When an export stops (an error, Ctrl-C, SIGTERM), its hidden `.NAME.*.part` file
    goes too, even if the interrupt came before the writer could remove it."""
    pattern = f".{glob.escape(output.name)}.*.part"
    before = set(output.parent.glob(pattern))
    try:
        yield
    except BaseException:
        for part in set(output.parent.glob(pattern)) - before:
            part.unlink(missing_ok=True)
        raise


def print_rows(engine: Engine, sql: str, output_format: DataFormat) -> None:
    """The query's rows on standard output: tab-separated with a header, or JSON lines."""
    first = True
    for batch in engine.query_batches(sql):
        rows = batch.to_pylist()
        if output_format is DataFormat.json:
            for row in rows:
                emit_line(row)
            continue
        if first:
            typer.echo("\t".join(batch.schema.names))
            first = False
        for row in rows:
            typer.echo("\t".join("" if v is None else str(v) for v in row.values()))
