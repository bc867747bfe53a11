"""Queries that count the rows breaking a `link … rely` promise (`seg validate --check-data`).

`rely` promises that every row has its parent and is not older than it; the generator
then reads such a table instead of the entity (see `plan.relied_on`). Each query here
reads one table left-joined to its parent and counts the rows without a parent and the
rows older than their parent (only where both declare their own time).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlglot import exp

from segdsl import ir
from segdsl.semantic.declarations import Declarations
from segdsl.source import Span
from segdsl.sql.dialects import Dialect
from segdsl.sql.generate import table_ref

ROWS, ORPHANS, OLDER = "rows", "orphans", "older"


@dataclass(frozen=True)
class RelyCheck:
    table: str
    parent: str
    span: Span  # its `link … rely`
    query: exp.Select  # one row: ROWS, ORPHANS, OLDER (NULL when times are not compared)


def rely_checks(decls: Declarations, dialect: Dialect, zone: str) -> list[RelyCheck]:
    """One check per declared table whose link says `rely`."""
    entity = decls.entity
    if entity is None:
        return []
    checks = []
    for name, info in decls.tables.items():
        hop = info.source.hops[0]
        if info.base is not None or not hop.rely:
            continue
        own_time = _own_time(info.source, 0)
        if hop.parent_key is None:
            parent, parent_key, parent_time = entity.name, entity.key.name, entity.time
            parent_source = entity.source
        else:
            above = info.source.hops[1]
            parent, parent_key, parent_source = above.table, hop.parent_key, above.source
            parent_time = _own_time(decls.tables[above.table].source, 0)
        query = _query(
            dialect,
            zone,
            (hop.source, hop.link, own_time),
            (parent_source, parent_key, parent_time),
        )
        checks.append(RelyCheck(name, parent, info.link_span or info.span, query))
    return checks


def _own_time(source: ir.RowSource, hop: int) -> ir.Column | None:
    time = source.time
    return time.column if time is not None and time.hop == hop else None


def _query(
    dialect: Dialect,
    zone: str,
    child: tuple[tuple[str, ...], str, ir.Column | None],
    parent: tuple[tuple[str, ...], str, ir.Column | None],
) -> exp.Select:
    (child_source, link, child_time), (parent_source, key, parent_time) = child, parent
    parent_key = exp.column(key, "parent", quoted=True)
    orphan = exp.Is(this=parent_key, expression=exp.Null())
    older: exp.Expr = exp.Null()
    if child_time is not None and parent_time is not None:
        earlier = exp.LT(
            this=_wall(exp.column(child_time.name, "row", quoted=True), child_time, dialect, zone),
            expression=_wall(
                exp.column(parent_time.name, "parent", quoted=True), parent_time, dialect, zone
            ),
        )
        older = _count_where(earlier)
    join_on = exp.EQ(this=parent_key, expression=exp.column(link, "row", quoted=True))
    return (
        exp.select(
            exp.alias_(exp.Count(this=exp.Star()), ROWS, quoted=True),
            exp.alias_(_count_where(orphan), ORPHANS, quoted=True),
            exp.alias_(older, OLDER, quoted=True),
        )
        .from_(table_ref(child_source, "row"))
        .join(table_ref(parent_source, "parent"), on=join_on, join_type="LEFT")
    )


def _count_where(condition: exp.Expr) -> exp.Expr:
    return exp.Count(this=exp.Case(ifs=[exp.If(this=condition, true=exp.Literal.number(1))]))


def _wall(raw: exp.Expr, column: ir.Column, dialect: Dialect, zone: str) -> exp.Expr:
    """A time column as wall-clock time, whatever its storage, so that two compare."""
    if column.storage == "timestamptz":
        return dialect.wall_clock(raw, zone)
    if column.storage == "date":
        return dialect.date_to_wall(raw)
    return raw
