"""`seg snapshot` (record membership in a warehouse history) and `seg changes` (who
entered and left between two times)."""

from __future__ import annotations

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
from segdsl.cli.database import OnDatabase, on_database, progress
from segdsl.cli.freshness import is_pinned, note_unpinned
from segdsl.cli.jsonout import emit, iso_time
from segdsl.cli.rows import write_rows

if TYPE_CHECKING:
    from segdsl.engines import Engine

SegmentsOption = Annotated[
    list[str] | None,
    typer.Option(
        "--segment", "-s", help="Segment, classifier or split (repeatable; default: all)."
    ),
]


def snapshot(
    path: Annotated[list[Path], typer.Argument(help="Files or folders of .seg files.")],
    into: Annotated[
        str, typer.Option("--into", help="Schema holding the history (created if missing).")
    ],
    segment: SegmentsOption = None,
    db: DatabaseOption = None,
    as_of: AsOfOption = None,
    param: ParamOption = None,
    backfill: Annotated[
        bool,
        typer.Option("--backfill", help="Allow an as-of time earlier than the last recorded."),
    ] = False,
    output_format: DataFormatOption = DataFormat.text,
) -> None:
    """Record who is in each segment and classifier at the as-of time, in the warehouse.

    The history keeps validity intervals (segdsl_history) and one row per definition and
    run (segdsl_runs). The same as-of time twice changes nothing; all or nothing is written.
    """
    from segdsl import execute
    from segdsl.history.membership import check_kinds
    from segdsl.history.snapshot import snapshot as record

    with on_database(path, db, param) as opened:
        compiler = opened.compiler
        moment = compiler.as_of(as_of)
        names = execute.resolve_names(compiler, segment or [])
        check_kinds(compiler, names)
        if not names:
            usage_error("the project has no segments, classifiers or splits")
        if not is_pinned(as_of, opened.project.settings):
            note_unpinned(moment)
        recording = progress(f"recording {len(names)} definitions at {moment}")
        with _writer_engine(opened, into) as engine, recording:
            result = record(compiler, engine, names, into, moment, backfill=backfill)
    if output_format is DataFormat.json:
        emit(
            {
                "as_of": iso_time(moment),
                "run_id": result.run_id,
                "definitions": [
                    {
                        "name": run.name,
                        "kind": run.kind,
                        "hash": run.hash,
                        "mode": run.mode,
                        "definition_changed": run.changed,
                        "members": run.members,
                        "entered": run.entered,
                        "left": run.left,
                    }
                    for run in result.definitions
                ],
            }
        )
        return
    if not result.written:
        typer.echo(f"already recorded at {moment}: nothing changed", err=True)
        return
    typer.echo(f"run {result.run_id} as of {moment} into {into}")
    width = max([len(run.name) for run in result.definitions] + [10])
    typer.echo(f"\n{'definition':<{width}}  {'members':>8}  {'entered':>8}  {'left':>8}  note")
    for run in result.definitions:
        note = {
            "skip": "already recorded",
            "backfill": "backfilled",
            "append": "definition changed: new history" if run.changed else "",
        }[run.mode]
        typer.echo(
            f"{run.name:<{width}}  {_n(run.members):>8}  {_n(run.entered):>8}  "
            f"{_n(run.left):>8}  {note}".rstrip()
        )


def _writer_engine(opened: OnDatabase, schema: str) -> Engine:
    """The engine to write with; a DuckDB file another process holds open for writing
    (another snapshot) is SEG562, like a lock held on Postgres."""
    from segdsl.engines import EngineError
    from segdsl.history.membership import request_error

    try:
        return opened.open_engine()
    except EngineError as error:
        if opened.url.startswith("duckdb:") and "lock" in error.message.lower():
            raise request_error(
                "SEG562",
                f"another snapshot is writing into `{schema}` (the database file is locked "
                "by another process)",
                "wait for it to finish and run this one again; nothing was written",
            ) from None
        raise


def _n(value: int | None) -> str:
    return "-" if value is None else f"{value:,}"


def changes(
    path: Annotated[list[Path], typer.Argument(help="Files or folders of .seg files.")],
    segment: Annotated[str, typer.Option("--segment", "-s", help="Segment, classifier or split.")],
    since: Annotated[
        str,
        typer.Option("--since", help="LAST (the snapshot before --until) or a date or timestamp."),
    ],
    until: Annotated[
        str | None,
        typer.Option(
            "--until",
            help="Date or timestamp (default: the last snapshot, else the as-of time).",
        ),
    ] = None,
    history: Annotated[
        str | None,
        typer.Option("--history", help="Schema of the history `seg snapshot` keeps."),
    ] = None,
    db: DatabaseOption = None,
    param: ParamOption = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write rows to .csv, .parquet or .jsonl.")
    ] = None,
    materialize: Annotated[
        str | None,
        typer.Option("--materialize", help="Create this table with the rows (or replace its own)."),
    ] = None,
    replace: Annotated[
        bool,
        typer.Option(
            "--replace", help="With --materialize: replace a table segdsl did not create."
        ),
    ] = False,
    output_format: DataFormatOption = DataFormat.text,
) -> None:
    """Keys that entered and left a segment (classifiers: moved label to label) between
    two times: from the history when it has both, else by evaluating both as-of times."""
    from segdsl.history.changes import changes_query, choose, history_path, recorded_times
    from segdsl.history.membership import check_kinds

    if output is not None and materialize is not None:
        usage_error("use either --output or --materialize")
    with on_database(path, db, param) as opened:
        compiler = opened.compiler
        check_kinds(compiler, [segment])
        with opened.open_engine() as engine:
            recorded = recorded_times(engine, history, segment) if history else {}
            interval = choose(compiler, segment, since, until, recorded, history=history)
            typer.echo(
                f"{segment}: changes from {interval.since} to {interval.until} "
                f"({'by evaluating both times: ' if interval.source == 'evaluation' else ''}"
                f"{interval.reason})",
                err=True,
            )
            where = None
            if history is not None and interval.source == "history":
                where = history_path(engine, history)
            query = changes_query(compiler, segment, interval, engine.dialect, where)
            sql = compiler.dialect(engine.dialect).render(query)
            write_rows(
                engine,
                sql,
                materialize=materialize,
                view=False,
                replace=replace,
                output=output,
                output_format=output_format,
            )
