"""`seg changes`: the keys that entered and left a definition between two times.

Two ways to the same rows:

- from the history (`seg snapshot`), when both times are recorded as-of times of the
  definition and every run between them recorded today's definition (its hash): the
  membership at a recorded time t is the intervals with valid_from ≤ t < valid_to;
- otherwise by evaluating the definition at both as-of times, in one query (the two
  membership queries as subqueries of one full outer join).

Either way the result has `key` and `change` (`entered`, `left`; for classifiers and
splits also `moved`, with `label_before` and `label_after`), ordered by change and key.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from sqlglot import exp

from segdsl.compiler import Compiler
from segdsl.engines import Engine, EngineError
from segdsl.engines.base import DialectName
from segdsl.history import tables
from segdsl.history.membership import (
    definition_hash,
    label_of,
    request_error,
    single_membership,
)
from segdsl.sql.dialects import get_dialect
from segdsl.timeline import AsOf

Source = Literal["history", "evaluation"]


@dataclass(frozen=True)
class Interval:
    since: AsOf
    until: AsOf
    source: Source
    reason: str  # why this source, for the user


def recorded_times(engine: Engine, schema: str, name: str) -> dict[dt.datetime, str]:
    """The as-of times the history in `schema` recorded for `name`, with the definition
    hash of each; empty when the schema has no history."""
    try:
        if tables.RUNS not in {t.lower() for t in engine.list_tables(schema)}:
            return {}
    except EngineError as error:
        if error.kind == "not_found":
            return {}
        raise
    dialect: DialectName = engine.dialect
    select = (
        exp.select(exp.column("as_of", quoted=True), exp.column("definition_hash", quoted=True))
        .from_(tables.table(history_path(engine, schema), tables.RUNS, dialect))
        .where(exp.EQ(this=exp.column("definition", quoted=True), expression=_s(name)))
    )
    rows = engine.query(get_dialect(dialect).render(select)).to_pylist()
    return {_naive(row["as_of"]): str(row["definition_hash"]) for row in rows}


def history_path(engine: Engine, schema: str) -> tables.SchemaPath:
    """Where the history tables of `schema` are, as table references need it."""

    def first(sql: str) -> object:
        rows = engine.query(sql).to_pylist()
        return next(iter(rows[0].values()))

    return tables.schema_path(schema, engine.dialect, first)


def choose(
    compiler: Compiler,
    name: str,
    since: str,
    until: str | None,
    recorded: Mapping[dt.datetime, str],
    *,
    history: str | None,
) -> Interval:
    """The two times and where their members come from (see the module doc)."""
    zone = compiler.project.settings.zone
    if until is not None:
        end = compiler.as_of(until)
    elif recorded:
        end = AsOf(max(recorded), zone)
    else:
        end = compiler.as_of(None)
    if since.strip().upper() == "LAST":
        earlier = [t for t in recorded if t < end.wall]
        if not earlier:
            where = f"in `{history}`" if history else "(no --history given)"
            raise request_error(
                "SEG566",
                f"no snapshot of `{name}` before {end.wall.isoformat(sep=' ')} {where}",
                "record snapshots with `seg snapshot --into SCHEMA` and pass --history "
                "SCHEMA, or give --since a date or timestamp",
            )
        start = AsOf(max(earlier), zone)
    else:
        start = compiler.as_of(since)
    if not start.wall < end.wall:
        raise request_error(
            "SEG567",
            f"--since ({start}) is not before --until ({end})",
            "changes are counted from an earlier time to a later one",
        )
    current = definition_hash(compiler, name)
    if not recorded:
        reason = "no history" if history is None else f"no snapshots of `{name}` in `{history}`"
        return Interval(start, end, "evaluation", reason)
    missing = [t for t in (start.wall, end.wall) if t not in recorded]
    if missing:
        reason = f"{missing[0].isoformat(sep=' ')} is not a recorded as-of time"
        return Interval(start, end, "evaluation", reason)
    between = [t for t in recorded if start.wall <= t <= end.wall]
    if any(recorded[t] != current for t in between):
        reason = f"`{name}` was recorded with another definition in that time"
        return Interval(start, end, "evaluation", reason)
    return Interval(start, end, "history", f"from the history in `{history}`")


def changes_query(
    compiler: Compiler,
    name: str,
    interval: Interval,
    dialect: DialectName,
    history: tables.SchemaPath | None,
) -> exp.Select:
    """The changes between the interval's two times, by its source."""
    if interval.source == "history":
        assert history is not None
        current = definition_hash(compiler, name)
        before = _at(history, name, current, interval.since, dialect)
        after = _at(history, name, current, interval.until, dialect)
    else:
        before = single_membership(compiler, name, dialect, interval.since)
        after = single_membership(compiler, name, dialect, interval.until)
    return compare(before, after, labelled=label_of(compiler, name))


def _at(
    schema: tables.SchemaPath, name: str, digest: str, moment: AsOf, dialect: DialectName
) -> exp.Select:
    """(key, label) of the definition's members at a recorded as-of time."""
    wall = get_dialect(dialect).wall_literal(moment.wall)
    h = "h"
    return (
        exp.select(_col("key", h), _col("label", h))
        .from_(tables.table(schema, tables.HISTORY, dialect, h))
        .where(
            exp.and_(
                exp.EQ(this=_col("definition", h), expression=_s(name)),
                exp.EQ(this=_col("definition_hash", h), expression=_s(digest)),
                exp.LTE(this=_col("valid_from", h), expression=wall),
                exp.or_(
                    exp.Is(this=_col("valid_to", h), expression=exp.Null()),
                    exp.GT(this=_col("valid_to", h), expression=wall.copy()),
                ),
            )
        )
    )


def compare(before: exp.Select, after: exp.Select, *, labelled: bool) -> exp.Select:
    """Keys in only one of two (key, label) relations, or with different labels."""
    b, a = "b", "a"
    gone = exp.Is(this=_col("key", a), expression=exp.Null())
    new = exp.Is(this=_col("key", b), expression=exp.Null())
    change = exp.Case(
        ifs=[exp.If(this=new, true=_s("entered")), exp.If(this=gone.copy(), true=_s("left"))],
        default=_s("moved"),
    )
    columns: list[exp.Expr] = [
        exp.alias_(
            exp.Coalesce(this=_col("key", a), expressions=[_col("key", b)]), "key", quoted=True
        ),
        exp.alias_(change, "change", quoted=True),
    ]
    if labelled:
        columns += [
            exp.alias_(_col("label", b), "label_before", quoted=True),
            exp.alias_(_col("label", a), "label_after", quoted=True),
        ]
    differs = exp.or_(
        new.copy(),
        gone.copy(),
        exp.Not(this=exp.NullSafeEQ(this=_col("label", b), expression=_col("label", a))),
    )
    return (
        exp.select(*columns)
        .from_(before.subquery(b, copy=False), copy=False)
        .join(
            after.subquery(a, copy=False),
            on=exp.EQ(this=_col("key", b), expression=_col("key", a)),
            join_type="FULL OUTER",
            copy=False,
        )
        .where(differs, copy=False)
        .order_by(exp.column("change", quoted=True), exp.column("key", quoted=True), copy=False)
    )


def _col(name: str, table: str) -> exp.Column:
    return exp.column(name, table=table, quoted=True)


def _s(value: str) -> exp.Literal:
    return exp.Literal.string(value)


def _naive(value: object) -> dt.datetime:
    assert isinstance(value, dt.datetime), value
    return value.replace(tzinfo=None)
