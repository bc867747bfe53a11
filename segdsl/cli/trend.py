"""`seg trend`: sizes of segments and label counts at every step from one time to another."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from segdsl.cli.common import (
    DatabaseOption,
    DataFormat,
    DataFormatOption,
    ParamOption,
)
from segdsl.cli.database import on_database, progress
from segdsl.cli.rows import no_leftover_part

if TYPE_CHECKING:
    from segdsl.trend import Trend

BAR_WIDTH = 30
COLUMNS = ["as_of", "population", "definition", "label", "size"]
TYPES = ["TIMESTAMP", "BIGINT", "VARCHAR", "VARCHAR", "BIGINT"]


def trend(
    path: Annotated[list[Path], typer.Argument(help="Files or folders of .seg files.")],
    segment: Annotated[
        list[str],
        typer.Option("--segment", "-s", help="Segment, classifier or split (repeatable)."),
    ],
    start: Annotated[str, typer.Option("--from", help="The first as-of time (date or timestamp).")],
    end: Annotated[str, typer.Option("--to", help="The last as-of time at most (inclusive).")],
    every: Annotated[
        str, typer.Option("--every", help="Step length: 1d, 1w, 1mo, 1y, 6h, 30min, …")
    ] = "1w",
    db: DatabaseOption = None,
    param: ParamOption = None,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Write the steps to .csv, .parquet or .jsonl."),
    ] = None,
    output_format: DataFormatOption = DataFormat.text,
) -> None:
    """Sizes and label counts at every step from --from to --to, in one query."""
    from segdsl import execute
    from segdsl.trend import run_trend, steps

    with on_database(path, db, param) as opened:
        compiler = opened.compiler
        names = execute.resolve_names(compiler, segment)
        at = steps(compiler, start, end, every)
        with (
            opened.open_engine() as engine,
            progress(f"{len(names)} definitions at {len(at)} steps"),
        ):
            result = run_trend(compiler, engine, names, at)
    if output is not None:
        from segdsl.engines.export import export_rows
        from segdsl.engines.rows import Rows

        rows = Rows.of(COLUMNS, [[r[c] for c in COLUMNS] for r in result.rows()], TYPES)
        with no_leftover_part(output):
            written = export_rows(rows, output)
        typer.echo(f"{written} rows written to {output}", err=True)
        return
    if output_format is DataFormat.json:
        _emit_json(result)
        return
    _print_chart(result, bars="█" if sys.stdout.isatty() else "#")


def _emit_json(result: Trend) -> None:
    from segdsl.cli.jsonout import emit, iso_time
    from segdsl.timeline import AsOf

    emit(
        {
            "time_zone": result.zone.key,
            "steps": [
                {
                    "as_of": iso_time(AsOf(step, result.zone)),
                    "population": result.population[i],
                    "segments": {name: sizes[i] for name, sizes in result.segments.items()},
                    "labels": {
                        name: {str(k): v[i] for k, v in labels.items() if k is not None}
                        for name, labels in result.labels.items()
                    },
                    "unlabelled": {
                        name: labels[None][i]
                        for name, labels in result.labels.items()
                        if None in labels
                    },
                }
                for i, step in enumerate(result.steps)
            ],
        }
    )


def _print_chart(result: Trend, *, bars: str) -> None:
    """One block per series: a line per step, its size and a bar scaled to the largest."""
    series: list[tuple[str, list[int]]] = list(result.segments.items())
    for name, labels in result.labels.items():
        for label, sizes in labels.items():
            series.append((f"{name} = {'(none)' if label is None else label}", sizes))
    times = [step.isoformat(sep=" ") for step in result.steps]
    width = max(len(t) for t in times)
    typer.echo(f"{len(result.steps)} steps ({result.zone.key})")
    for title, sizes in series:
        top = max(sizes) or 1
        typer.echo(f"\n{title}")
        for when, size in zip(times, sizes, strict=True):
            bar = bars * round(BAR_WIDTH * size / top)
            typer.echo(f"  {when:<{width}}  {size:>10,}  {bar}")
