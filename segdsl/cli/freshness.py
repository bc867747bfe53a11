"""The as-of time of a run that nobody pinned: say so, and warn when the data is older."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

import typer

from segdsl.cli.jsonout import iso_time

if TYPE_CHECKING:
    from segdsl.compiler import Compiler
    from segdsl.engines import Engine
    from segdsl.settings import Settings
    from segdsl.timeline import AsOf


def is_pinned(option: str | None, settings: Settings) -> bool:
    """Whether `--as-of` or the `as_of` setting chose the as-of time (else: now)."""
    return bool(option) or bool(settings.as_of)


def note_unpinned(moment: AsOf) -> None:
    typer.echo(
        f"note: as-of time not pinned: using now, {iso_time(moment)}; "
        "pin it with --as-of or as_of in seg.toml",
        err=True,
    )


def note_as_of(
    engine: Engine, compiler: Compiler, names: Iterable[str], moment: AsOf, *, pinned: bool
) -> None:
    """Unless the as-of time is `pinned`, say it is now and warn when the data is older."""
    if not pinned:
        note_unpinned(moment)
        warn_if_stale(engine, compiler, names, moment)


def stale_check_sql(compiler: Compiler, names: Iterable[str], dialect_name: str) -> str | None:
    """The query `warn_if_stale` sends (None: no timed table), so a command can count
    it among the queries it will send before sending any."""
    from segdsl.sql.dialects import get_dialect
    from segdsl.sql.freshness import newest_rows_query, timed_tables

    tables = timed_tables(compiler.definition(name).expr for name in names)
    if not tables:
        return None
    return get_dialect(dialect_name).render(newest_rows_query(tables), pretty=False)


def warn_if_stale(engine: Engine, compiler: Compiler, names: Iterable[str], moment: AsOf) -> None:
    """One query for the newest row of each timed table `names` read; a warning on stderr
    for each that ends more than STALE_AFTER before the as-of time. The check never
    stops the command: if it cannot run, the command's own query reports why."""
    from segdsl.engines import EngineError
    from segdsl.sql.freshness import STALE_AFTER, timed_tables, wall_time

    names = list(names)
    sql = stale_check_sql(compiler, names, engine.dialect)
    if sql is None:
        return
    tables = timed_tables(compiler.definition(name).expr for name in names)
    try:
        row = engine.query(sql).to_pylist()
    except EngineError:
        return
    values = row[0] if row else {}
    for index, table in enumerate(tables):
        newest = wall_time(values.get(f"newest_{index}"), moment.zone)
        if newest is None or moment.wall - newest <= STALE_AFTER:
            continue
        days = (moment.wall - newest).days
        typer.echo(
            f"warning: newest row of `{table.name}` is {newest.date().isoformat()}, "
            f"{days} days before the as-of time",
            err=True,
        )


def report_spent(engine: Engine) -> None:
    """BigQuery: what the command's queries processed and were billed for, on stderr."""
    spent = engine.spent
    if spent is None or not spent.queries:
        return
    from segdsl.engines.bigquery_engine import format_bytes

    typer.echo(
        f"{engine.dialect}: {format_bytes(spent.bytes_processed)} processed, "
        f"{format_bytes(spent.bytes_billed)} billed "
        f"({spent.queries} {'query' if spent.queries == 1 else 'queries'})",
        err=True,
    )
