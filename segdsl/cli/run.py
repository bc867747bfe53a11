"""`seg run`: execute segments on a database — sizes, members, exports, materialised tables."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from segdsl.cli.common import (
    AsOfOption,
    DatabaseOption,
    DataFormat,
    DataFormatOption,
    ParamOption,
    usage_error,
)
from segdsl.cli.database import on_database, progress
from segdsl.cli.freshness import is_pinned, note_as_of, report_spent, stale_check_sql
from segdsl.cli.jsonout import emit, iso_time
from segdsl.cli.rows import write_rows
from segdsl.cli.terminal import rich_layout, share_table, share_text, show, table

if TYPE_CHECKING:
    from segdsl.execute import Sizes
    from segdsl.timeline import AsOf


def run(
    path: Annotated[list[Path], typer.Argument(help="Files or folders of .seg files.")],
    segment: Annotated[
        list[str] | None,
        typer.Option(
            "--segment",
            "-s",
            help="Definitions: a name, a glob (`cart_*`), tag:T, owner:O or kind:K (repeatable).",
        ),
    ] = None,
    all_: Annotated[
        bool, typer.Option("--all", help="Every segment, classifier and split, in one pass.")
    ] = False,
    db: DatabaseOption = None,
    as_of: AsOfOption = None,
    param: ParamOption = None,
    members: Annotated[
        bool, typer.Option("--members", help="List member keys instead of sizes.")
    ] = False,
    attributes: Annotated[
        str | None,
        typer.Option("--attributes", help="Comma-separated attributes to add to member rows."),
    ] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write rows to .csv, .parquet or .jsonl.")
    ] = None,
    limit: Annotated[int | None, typer.Option("--limit", min=1, help="At most N rows.")] = None,
    materialize: Annotated[
        str | None,
        typer.Option("--materialize", help="Create this table with the rows (or replace its own)."),
    ] = None,
    view: Annotated[
        bool, typer.Option("--view", help="With --materialize: a view instead of a table.")
    ] = False,
    replace: Annotated[
        bool,
        typer.Option(
            "--replace", help="With --materialize: replace a table segdsl did not create."
        ),
    ] = False,
    max_bytes: Annotated[
        int | None,
        typer.Option("--max-bytes", help="BigQuery: refuse queries that would process more bytes."),
    ] = None,
    output_format: DataFormatOption = DataFormat.text,
) -> None:
    """Run segments: sizes by default; member rows with --members, --output or --materialize."""
    if view and not materialize:
        usage_error("--view goes with --materialize")
    if all_ and segment:
        usage_error("use either --all or --segment")
    if as_of is not None and as_of.strip().lower() == "param":
        usage_error("--as-of param is for `seg compile` (SQL a scheduler runs with a parameter)")
    wants_rows = members or output is not None or materialize is not None or attributes is not None
    with on_database(path, db, param) as opened:
        from segdsl import execute

        compiler = opened.compiler
        moment = compiler.as_of(as_of)
        names = execute.resolve_names(compiler, segment or [])
        with opened.open_engine(maximum_bytes_billed=max_bytes) as engine:
            compiler = execute.fit_to_warehouse(compiler, engine, names)
            pinned = is_pinned(as_of, opened.project.settings)
            billed = engine.spent is not None
            freshness = (
                [stale_check_sql(compiler, names, engine.dialect)] if billed and not pinned else []
            )
            if not wants_rows:
                measures = [n for n in names if compiler.definition(n).kind == "measure"]
                if measures:
                    usage_error(
                        f"`{measures[0]}` is a measure: it has values, not a size; "
                        "list them with --members"
                    )
                if billed:  # an engine that bills: all queries dry-run first
                    queries = execute.size_queries(compiler, names, engine.dialect, moment)
                    engine.reserve([sql for sql in [*freshness, *queries] if sql])
                note_as_of(engine, compiler, names, moment, pinned=pinned)
                with progress(f"sizing {len(names)} definitions"):
                    sizes = execute.run_sizes(compiler, engine, names, moment)
                _print_sizes(sizes, moment, engine, output_format)
                if output_format is not DataFormat.json:
                    report_spent(engine)
                return
            if (
                members
                and len(names) != 1
                and output is None
                and materialize is None
                and not all_
                and not segment
            ):
                usage_error(
                    "--members needs one --segment (or --all / --output for a membership table)"
                )
            columns = [a.strip() for a in attributes.split(",") if a.strip()] if attributes else []
            # a view with `--as-of now` computes its as-of time whenever it is read
            moving = compiler.moving_as_of(as_of) if view else None
            sql = execute.rows_sql(
                compiler, names, engine.dialect, moving or moment, attributes=columns, limit=limit
            )
            engine.reserve([query for query in [*freshness, sql] if query])
            note_as_of(engine, compiler, names, moment, pinned=pinned)
            with contextlib.ExitStack() as finally_:
                finally_.callback(report_spent, engine)  # also after a partial export
                write_rows(
                    engine,
                    sql,
                    materialize=materialize,
                    view=view,
                    replace=replace,
                    output=output,
                    output_format=output_format,
                )


def _print_sizes(sizes: object, moment: AsOf, engine: object, output_format: DataFormat) -> None:
    from segdsl.engines import Engine
    from segdsl.execute import Sizes

    assert isinstance(sizes, Sizes) and isinstance(engine, Engine)
    dialect = engine.dialect
    if output_format is DataFormat.json:
        payload: dict[str, object] = {
            "as_of": iso_time(moment),
            "population": sizes.population,
            "segments": sizes.segments,
            "labels": {
                name: {str(k): v for k, v in counts.items() if k is not None}
                for name, counts in sizes.labels.items()
            },
            # entities without a label: outside a split's segment
            "unlabelled": {
                name: counts[None] for name, counts in sizes.labels.items() if None in counts
            },
        }
        if engine.spent is not None:  # BigQuery: what the queries cost
            payload["cost"] = engine.spent.to_json()
        emit(payload)
        return
    total = sizes.population
    if rich_layout():
        _show_sizes(sizes, f"as of {moment} on {dialect}: population {total:,}")
        return
    typer.echo(f"as of {moment} on {dialect}: population {total:,}")
    width = max([len(n) for n in [*sizes.segments, *sizes.labels]] + [7])
    if sizes.segments:
        typer.echo(f"\n{'segment':<{width}}  {'members':>10}  {'share':>6}")
        for name, count in sizes.segments.items():
            typer.echo(f"{name:<{width}}  {count:>10,}  {share_text(count, total):>6}")
    for name, counts in sizes.labels.items():
        typer.echo(f"\n{name:<{width}}  {'members':>10}  {'share':>6}")
        for label, count in counts.items():
            shown = "(none)" if label is None else str(label)
            typer.echo(f"  {shown:<{width - 2}}  {count:>10,}  {share_text(count, total):>6}")


def _show_sizes(sizes: Sizes, heading: str) -> None:
    """Sizes as rich tables: one for the segments, one per classifier or split, each
    row with a bar for its share of the population."""
    from rich.text import Text

    show(Text(heading, style="bold"))
    if sizes.segments:
        show(Text(""))
        show(share_table("segment", list(sizes.segments.items()), sizes.population))
    for name, counts in sizes.labels.items():
        rows = [("(none)" if label is None else str(label), n) for label, n in counts.items()]
        show(Text(""))
        show(share_table(name, rows, sizes.population))


def overlap(
    path: Annotated[list[Path], typer.Argument(help="Files or folders of .seg files.")],
    segment: Annotated[
        list[str] | None,
        typer.Option(
            "--segment", "-s", help="Segments: names, globs, tag:T, owner:O (default: all)."
        ),
    ] = None,
    db: DatabaseOption = None,
    as_of: AsOfOption = None,
    param: ParamOption = None,
    output_format: DataFormatOption = DataFormat.text,
) -> None:
    """How many members every pair of segments shares, from one pass over the data."""
    from segdsl import execute

    with on_database(path, db, param) as opened:
        compiler = opened.compiler
        moment = compiler.as_of(as_of)
        resolved = execute.resolve_names(compiler, segment or [])
        names = [n for n in resolved if compiler.definition(n).kind == "segment"]
        # a name given as such must be a segment; a glob, tag or owner may bring others
        others = [n for n in resolved if n not in names and n in (segment or [])]
        if others:
            kind = compiler.definition(others[0]).kind
            usage_error(f"`{others[0]}` is a {kind}; overlap compares segments")
        if len(names) < 2:
            usage_error("overlap needs at least two segments")
        with opened.open_engine() as engine:
            compiler = execute.fit_to_warehouse(compiler, engine, names)
            pinned = is_pinned(as_of, opened.project.settings)
            if engine.spent is not None:  # an engine that bills: all queries dry-run first
                fresh = None if pinned else stale_check_sql(compiler, names, engine.dialect)
                query = execute.overlap_sql(compiler, names, engine.dialect, moment)
                engine.reserve([sql for sql in (fresh, query) if sql])
            note_as_of(engine, compiler, names, moment, pinned=pinned)
            with progress(f"overlapping {len(names)} segments"):
                population, matrix = execute.run_overlap(compiler, engine, names, moment)
            report_spent(engine)
    if output_format is DataFormat.json:
        emit({"as_of": iso_time(moment), "population": population, "overlap": matrix})
        return
    heading = f"as of {moment}: population {population:,}; row ∩ column (diagonal: size)"
    if rich_layout():
        _show_overlap(heading, names, matrix)
        return
    typer.echo(heading + "\n")
    width = max(len(n) for n in names)
    cells = [max(len(n), 8) for n in names]
    typer.echo(
        " " * width + "  " + "  ".join(f"{n:>{w}}" for n, w in zip(names, cells, strict=True))
    )
    for name in names:
        row = "  ".join(
            f"{matrix[name][other]:>{w},}" for other, w in zip(names, cells, strict=True)
        )
        typer.echo(f"{name:<{width}}  {row}")


def _show_overlap(heading: str, names: list[str], matrix: dict[str, dict[str, int]]) -> None:
    """The overlap matrix as a rich table; a cell is shaded by the share of the row's
    segment it holds, the diagonal (the sizes) in bold."""
    from rich.text import Text

    show(Text(heading, style="bold"))
    show(Text(""))
    matrix_table = table()
    matrix_table.add_column("", no_wrap=True, style="bold")
    for name in names:
        matrix_table.add_column(name, justify="right", no_wrap=True)
    for row in names:
        size = matrix[row][row]
        cells = []
        for column in names:
            count = matrix[row][column]
            if column == row:
                cells.append(Text(f"{count:,}", style="bold"))
                continue
            share = count / size if size else 0.0
            cells.append(Text(f"{count:,}", style=_shade(share)))
        matrix_table.add_row(row, *cells)
    show(matrix_table)


def _shade(share: float) -> str:
    """Darker for a larger share of the row's members (four steps)."""
    return ("dim", "", "cyan", "bold cyan")[min(int(share * 4), 3)]
