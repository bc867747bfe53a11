"""Queries that count the rows breaking a `link … rely` promise, and the entity rows
without a key or repeating one (`seg validate --check-data`).

`rely` promises that every row has its parent and is not older than it; the generator
then reads such a table instead of the entity (see `plan.relied_on`). Each query here
reads one table left-joined to its parent and counts the rows without a parent and the
rows older than their parent (where the table has a time of its own and the parent a
time, its own or one it inherits).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlglot import exp

from segdsl import ir
from segdsl.diagnostics import Diagnostic, Severity
from segdsl.semantic.declarations import Declarations
from segdsl.source import Span
from segdsl.sql.builder import table_ref
from segdsl.sql.dialects import Dialect

ROWS, ORPHANS, OLDER = "rows", "orphans", "older"
KEYED, KEYS = "keyed", "keys"


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
        rows = exp.select().from_(table_ref(hop.source, "row"))
        parent_time: exp.Expr | None = None
        if hop.parent_key is None:
            parent, parent_key = entity.name, entity.key.name
            _left_join(rows, entity.source, "parent", parent_key, hop.link, "row")
            if entity.time is not None:
                parent_time = _wall(_col(entity.time.name, "parent"), entity.time, dialect, zone)
        else:
            above = decls.tables[info.source.hops[1].table].source
            parent, parent_key = above.name, hop.parent_key
            _left_join(rows, above.hops[0].source, "parent", parent_key, hop.link, "row")
            parent_time = _time_of(rows, above, dialect, zone)
        older: exp.Expr = exp.Null()
        own_time = info.source.time
        if own_time is not None and own_time.hop == 0 and parent_time is not None:
            own = _wall(_col(own_time.column.name, "row"), own_time.column, dialect, zone)
            older = _count_where(exp.LT(this=own, expression=parent_time))
        orphan = exp.Is(this=_col(parent_key, "parent"), expression=exp.Null())
        query = rows.select(
            exp.alias_(exp.Count(this=exp.Star()), ROWS, quoted=True),
            exp.alias_(_count_where(orphan), ORPHANS, quoted=True),
            exp.alias_(older, OLDER, quoted=True),
            copy=False,
        )
        checks.append(RelyCheck(name, parent, info.link_span or info.span, query))
    return checks


def _time_of(
    rows: exp.Select, parent: ir.RowSource, dialect: Dialect, zone: str
) -> exp.Expr | None:
    """The parent row's time; when the parent inherits it from a table above, `rows`
    joins up the parent's links to it (as `parent_1`, `parent_2`, …)."""
    if parent.time is None:
        return None
    alias = "parent"
    for index in range(1, parent.time.hop + 1):
        below, hop = parent.hops[index - 1], parent.hops[index]
        assert below.parent_key is not None
        _left_join(rows, hop.source, f"parent_{index}", below.parent_key, below.link, alias)
        alias = f"parent_{index}"
    column = parent.time.column
    return _wall(_col(column.name, alias), column, dialect, zone)


def _left_join(
    rows: exp.Select, path: tuple[str, ...], alias: str, key: str, link: str, child: str
) -> None:
    """`rows` LEFT JOIN the table at `path` AS `alias` ON alias.key = child.link."""
    on = exp.EQ(this=_col(key, alias), expression=_col(link, child))
    rows.join(table_ref(path, alias), on=on, join_type="LEFT", copy=False)


def _col(name: str, table: str) -> exp.Column:
    return exp.column(name, table, quoted=True)


def _count_where(condition: exp.Expr) -> exp.Expr:
    return exp.Count(this=exp.Case(ifs=[exp.If(this=condition, true=exp.Literal.number(1))]))


def _wall(raw: exp.Expr, column: ir.Column, dialect: Dialect, zone: str) -> exp.Expr:
    """A time column as wall-clock time, whatever its storage, so that two compare."""
    if column.storage == "timestamptz":
        return dialect.wall_clock(raw, zone)
    if column.storage == "date":
        return dialect.date_to_wall(raw)
    return raw


@dataclass(frozen=True)
class KeyCheck:
    entity: str
    span: Span  # the entity's declaration
    query: exp.Select  # one row: ROWS, KEYED (rows with a key), KEYS (distinct keys)
    relied_on: bool = False  # `key … rely`: a repeated key breaks a promise


def key_check(decls: Declarations) -> KeyCheck | None:
    """The entity table's rows, rows with a key and distinct keys (None without an entity)."""
    entity = decls.entity
    if entity is None or decls.entity_span is None:
        return None
    key = _col(entity.key.name, "entity")
    query = exp.select(
        exp.alias_(exp.Count(this=exp.Star()), ROWS, quoted=True),
        exp.alias_(exp.Count(this=key.copy()), KEYED, quoted=True),
        exp.alias_(exp.Count(this=exp.Distinct(expressions=[key])), KEYS, quoted=True),
    ).from_(table_ref(entity.source, "entity"))
    return KeyCheck(entity.name, decls.entity_span, query, entity.unique_key)


def key_diagnostic(check: KeyCheck, counts: dict[str, object]) -> Diagnostic | None:
    """SEG411 (a warning) when the entity table has rows without a key or repeating one;
    SEG404 (an error) for a repeated key of an entity whose key relies (`key id rely`)."""
    rows, keyed, keys = (int(str(counts[name])) for name in (ROWS, KEYED, KEYS))
    missing, repeated = rows - keyed, keyed - keys
    if repeated and check.relied_on:
        return Diagnostic(
            "SEG404",
            f"the entity `{check.entity}` declares `key … rely`, but {repeated:,} of its "
            f"{rows:,} rows {'repeats' if repeated == 1 else 'repeat'} another row's key",
            check.span,
            "members would be counted once per row: give the entity one row per key, or "
            "remove `rely` from its key",
        )
    if not missing and not repeated:
        return None
    parts = []
    if missing:
        parts.append(f"{missing:,} {'has' if missing == 1 else 'have'} no key")
    if repeated:
        parts.append(f"{repeated:,} {'repeats' if repeated == 1 else 'repeat'} another row's key")
    return Diagnostic(
        "SEG411",
        f"the entity `{check.entity}` has {rows:,} rows for {keys:,} distinct keys: of them, "
        + " and ".join(parts),
        check.span,
        "members are distinct keys: a row without a key is no member, and a repeated key "
        "counts once (a member when one of its rows qualifies); give the entity one row "
        "per key",
        Severity.WARNING,
    )
