"""How fresh the data is: the newest row of each timed table some definitions read.

One query, `SELECT (SELECT MAX(time) FROM t1) AS newest_0, …`, lets the CLI warn when
the as-of time (now, when nothing pins it) is long after the data ends, so sizes of
"last 30 days" segments computed on a stale copy do not pass for current ones.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlglot import exp

from segdsl import ir
from segdsl.sql.builder import table_ref

STALE_AFTER = dt.timedelta(days=30)
ALIAS = "rows"


@dataclass(frozen=True)
class TimedTable:
    """A warehouse table read with its time column."""

    name: str  # as declared
    source: tuple[str, ...]
    column: str  # physical name of its time column


def timed_tables(expressions: Iterable[object]) -> list[TimedTable]:
    """The tables with a time that the IR `expressions` read (each once, in order)."""
    found: dict[tuple[tuple[str, ...], str], TimedTable] = {}
    seen: set[int] = set()
    pending = list(expressions)
    while pending:
        node = pending.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        # a grouped table's time is its groups': its base table's (in `grouping`) is read
        if isinstance(node, ir.RowSource) and node.time is not None and node.grouping is None:
            hop = node.hops[node.time.hop]
            key = (hop.source, node.time.column.name)
            found.setdefault(key, TimedTable(hop.table, hop.source, node.time.column.name))
        if isinstance(node, (tuple, list)):
            pending.extend(reversed(node))
        elif dataclasses.is_dataclass(node) and not isinstance(node, type):
            fields = dataclasses.fields(node)
            pending.extend(getattr(node, f.name) for f in reversed(fields))
    return sorted(found.values(), key=lambda t: (t.name, t.column))


def newest_rows_query(tables: list[TimedTable]) -> exp.Select:
    """One row: `newest_<i>` = the largest time of `tables[i]` (NULL for no rows)."""
    columns = []
    for index, table in enumerate(tables):
        newest = exp.Max(this=exp.column(table.column, ALIAS, quoted=True))
        inner = exp.select(newest).from_(table_ref(table.source, ALIAS))
        columns.append(exp.alias_(exp.Subquery(this=inner), f"newest_{index}", quoted=True))
    return exp.select(*columns)


def wall_time(value: object, zone: ZoneInfo) -> dt.datetime | None:
    """A database time as a wall-clock time in `zone` (dates at midnight)."""
    if isinstance(value, dt.datetime):
        return value.astimezone(zone).replace(tzinfo=None) if value.tzinfo else value
    if isinstance(value, dt.date):
        return dt.datetime.combine(value, dt.time())
    return None
