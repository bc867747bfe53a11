"""A test case's rows → the tables of an empty database, shaped as the model declares them.

`Layout` reads the model: every warehouse table the entity and the base tables read,
with its physical columns and their types. `Layout.rows` checks a case's `given` rows
against it (tables and columns by their declared names; rows of a derived table such
as `cart_add_events = events where name = "add_to_cart"` go to its base table with the
filter's values filled in) and `Layout.statements` builds the CREATE TABLE and INSERT
statements as sqlglot trees. The tables live in one schema of their own (`TEST_SCHEMA`):
`retarget` points a compiled query's tables there, so the warehouse's own tables are
never read or written.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from sqlglot import exp

from segdsl import ir
from segdsl import types as t
from segdsl.diagnostics import Diagnostic, did_you_mean
from segdsl.semantic.declarations import Declarations
from segdsl.source import Span
from segdsl.syntax import nodes

TEST_SCHEMA = "segdsl_case"

Value = str | int | float | bool | Decimal | dt.date | dt.datetime | None


@dataclass
class FixtureColumn:
    """A physical column of a test table; `type` None: untyped key or link (from the rows)."""

    name: str
    type: t.Type | None
    storage: t.Storage | None = None


@dataclass
class FixtureTable:
    """A warehouse table the model reads, under the declared name tests use for it."""

    name: str
    source: tuple[str, ...]
    columns: dict[str, FixtureColumn] = field(default_factory=dict)  # physical name →
    declared: dict[str, str] = field(default_factory=dict)  # declared column name → physical

    def add(self, declared: str, column: FixtureColumn) -> None:
        known = self.columns.get(column.name)
        if known is None or known.type is None:
            self.columns[column.name] = column
        self.declared.setdefault(declared, column.name)


class Layout:
    """The tables a project's model reads, and the rows of a case loaded into them."""

    def __init__(self, decls: Declarations, zone: ZoneInfo, *, schema: str = TEST_SCHEMA) -> None:
        entity = decls.entity
        assert entity is not None
        self.zone = zone
        self.schema = schema
        self.entity = entity
        self.tables: dict[tuple[str, ...], FixtureTable] = {}
        self.names: dict[str, FixtureTable] = {}  # declared name → its warehouse table
        self.fill: dict[str, dict[str, object]] = {}  # derived table → physical column values
        self.derived: dict[str, str] = {}  # derived table → why its rows cannot be given
        self.entity_links: list[tuple[tuple[str, ...], str]] = []  # (table, link to the key)
        people = self._table(entity.name, entity.source)
        people.add(entity.key.name, FixtureColumn(entity.key.name, _typed(entity.key)))
        if entity.time is not None:
            people.add(entity.time.name, _column(entity.time))
        for name, column in decls.attributes.items():
            people.add(name, _column(column))
        for name, info in decls.tables.items():
            if info.base is not None or info.grouped is not None:
                continue
            hop = info.source.hops[0]
            table = self._table(name, hop.source)
            table.add(hop.link, FixtureColumn(hop.link, None))
            if hop.parent_key is None:
                self.entity_links.append((hop.source, hop.link))
            for (qualifier, declared), (index, column) in info.columns.items():
                if index == 0 and qualifier in ("", name):
                    table.add(declared, _column(column))
            time = info.source.time
            if time is not None and time.hop == 0:
                table.add(time.column.name, _column(time.column))
        for name, info in decls.tables.items():
            if info.base is not None or info.grouped is not None:
                self._derive(name, decls)

    def _table(self, name: str, source: tuple[str, ...]) -> FixtureTable:
        table = self.tables.setdefault(source, FixtureTable(name, source))
        self.names[name] = table
        return table

    def _derive(self, name: str, decls: Declarations) -> None:
        """A derived table's rows go to its base with its filter's columns filled in, where
        the filter is equalities (`name = "add_to_cart"`, joined by `and`) all the way down."""
        values: dict[str, object] = {}
        current = decls.tables[name]
        while current.base is not None or current.grouped is not None:
            if current.grouped is not None:
                self.derived[name] = (
                    f"`{current.name}` groups the rows of `{current.grouped_base}`: its rows are "
                    f"made from those; give the rows of `{_root(decls, name)}` instead"
                )
                return
            for part in _conjuncts(current.where):
                match part:
                    case nodes.Compare(op="=", left=nodes.Name(parts=(ident,)), right=right) if (
                        isinstance(right, (nodes.StringLit, nodes.NumberLit, nodes.BoolLit))
                    ):
                        found = current.columns.get(("", ident.text))
                        if found is None:
                            break
                        values.setdefault(found[1].name, _literal(right))
                    case _:
                        self.derived[name] = (
                            f"`{name}` filters `{current.base}` by more than equalities; "
                            f"give the rows of `{_root(decls, name)}` instead"
                        )
                        return
            assert current.base is not None
            current = decls.tables[current.base]
        self.names[name] = self.tables[current.source.hops[0].source]
        self.fill[name] = values

    # ------------------------------------------------------------ rows

    def rows(
        self,
        given: Mapping[str, Sequence[Mapping[str, object]]],
        place: Callable[[str, str | None], Span],
    ) -> tuple[dict[tuple[str, ...], list[dict[str, Value]]], list[Diagnostic]]:
        """The case's rows per warehouse table (physical columns, typed values), and problems
        (at `place(table, column)`)."""
        out: dict[tuple[str, ...], list[dict[str, Value]]] = {path: [] for path in self.tables}
        problems: list[Diagnostic] = []
        for name, rows in given.items():
            if name in self.derived:
                problems.append(_problem(place(name, None), self.derived[name], None))
                continue
            table = self.names.get(name)
            if table is None:
                known = sorted(self.names)
                problems.append(
                    _problem(
                        place(name, None),
                        f"no table or entity called `{name}` in the model",
                        did_you_mean(name, known) or "tables: " + ", ".join(known),
                    )
                )
                continue
            for row in rows:
                physical: dict[str, Value] = dict(self.fill.get(name, {}))  # type: ignore[arg-type]
                for column_name, value in row.items():
                    target = table.declared.get(column_name) or (
                        column_name if column_name in table.columns else None
                    )
                    if target is None:
                        problems.append(
                            _problem(
                                place(name, column_name),
                                f"`{name}` has no column `{column_name}`",
                                did_you_mean(column_name, table.declared)
                                or "columns: " + ", ".join(sorted(table.declared)),
                            )
                        )
                        continue
                    try:
                        physical[target] = self._value(table.columns[target], value)
                    except _BadValue as error:
                        problems.append(
                            _problem(
                                place(name, column_name), f"`{name}.{column_name}`: {error}", None
                            )
                        )
                out[table.source].append(physical)
        if not given.get(self.entity.name):
            self._fill_entity(out)
        return out, problems

    def _fill_entity(self, rows: dict[tuple[str, ...], list[dict[str, Value]]]) -> None:
        """No entity rows given: one per key that rows linked straight to it name."""
        keys: dict[Value, None] = {}
        for path, link in self.entity_links:
            for row in rows[path]:
                if row.get(link) is not None:
                    keys.setdefault(row[link])
        rows[self.entity.source] = [{self.entity.key.name: key} for key in keys]

    def _value(self, column: FixtureColumn, value: object) -> Value:
        """A TOML value as the column's type (`_BadValue` if it is not one)."""
        kind = column.type.kind if column.type is not None else None
        try:
            if kind is None:  # untyped key or link: whatever the rows say
                if isinstance(value, (int, str)) and not isinstance(value, bool):
                    return value
            elif kind is t.Kind.STRING:
                if isinstance(value, str):
                    return value
            elif kind is t.Kind.INTEGER:
                if isinstance(value, int) and not isinstance(value, bool):
                    return value
            elif kind in (t.Kind.NUMBER, t.Kind.DECIMAL):
                if isinstance(value, (int, float, str)) and not isinstance(value, bool):
                    number = Decimal(str(value))
                    if number.is_finite():
                        return number
            elif kind is t.Kind.BOOLEAN:
                if isinstance(value, bool):
                    return value
            elif kind is t.Kind.DATE:
                if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
                    return value
                if isinstance(value, str):
                    return dt.date.fromisoformat(value)
            elif kind is t.Kind.TIMESTAMP:
                moment = _timestamp(value)
                if moment is not None:
                    if column.storage == "timestamptz" and moment.tzinfo is None:
                        moment = moment.replace(tzinfo=self.zone)
                    if column.storage != "timestamptz" and moment.tzinfo is not None:
                        moment = moment.astimezone(self.zone).replace(tzinfo=None)
                    return moment
        except (ValueError, InvalidOperation):
            pass
        wanted = "a key (a number or a string)" if kind is None else f"a {kind}"
        raise _BadValue(f"{value!r} is not {wanted}")

    # ------------------------------------------------------------ statements

    def statements(
        self, rows: Mapping[tuple[str, ...], Sequence[Mapping[str, Value]]]
    ) -> list[exp.Expr]:
        """CREATE SCHEMA, one CREATE TABLE per warehouse table, INSERTs of the rows."""
        out: list[exp.Expr] = [
            exp.Create(this=exp.to_identifier(self.schema, quoted=True), kind="SCHEMA")
        ]
        for path, table in self.tables.items():
            target = self._test_table(table)
            defs = [
                exp.ColumnDef(
                    this=exp.to_identifier(name, quoted=True),
                    kind=_sql_type(column, [row.get(name) for row in rows.get(path, ())]),
                )
                for name, column in table.columns.items()
            ]
            out.append(exp.Create(this=exp.Schema(this=target, expressions=defs), kind="TABLE"))
            if rows.get(path):
                names = list(table.columns)
                values = [
                    exp.Tuple(expressions=[_literal_value(row.get(name)) for name in names])
                    for row in rows[path]
                ]
                out.append(
                    exp.Insert(
                        this=exp.Schema(
                            this=self._test_table(table),
                            expressions=[exp.to_identifier(n, quoted=True) for n in names],
                        ),
                        expression=exp.Values(expressions=values),
                    )
                )
        return out

    def _test_table(self, table: FixtureTable) -> exp.Table:
        """Where a warehouse table's test rows live: the test schema, the path joined by `__`."""
        return exp.Table(
            this=exp.to_identifier("__".join(table.source), quoted=True),
            db=exp.to_identifier(self.schema, quoted=True),
        )

    def retarget(self, query: exp.Expr) -> exp.Expr:
        """The query with every warehouse table it reads replaced by its test table."""

        def swap(node: exp.Expr) -> exp.Expr:
            if isinstance(node, exp.Table) and node.name:
                path = tuple(part.name for part in node.parts)
                table = self.tables.get(path)
                if table is not None:
                    swapped = self._test_table(table)
                    if node.alias:
                        swapped.set("alias", node.args.get("alias"))
                    return swapped
            return node

        return query.transform(swap)


class _BadValue(ValueError):
    """A given value that is not of its column's type."""


def _typed(column: ir.Column) -> t.Type | None:
    """The key is declared without a type; its values decide (`None`)."""
    return None if column.type.kind is t.Kind.ERROR else column.type


def _column(column: ir.Column) -> FixtureColumn:
    return FixtureColumn(column.name, column.type, column.storage)


def _sql_type(column: FixtureColumn, values: Sequence[object]) -> exp.DataType:
    if column.type is None or column.type.kind not in _TYPES:
        present = [v for v in values if v is not None]
        numeric = all(isinstance(v, int) for v in present)
        return exp.DataType.build("BIGINT" if numeric else "TEXT")
    if column.type.kind is t.Kind.TIMESTAMP and column.storage == "timestamptz":
        return exp.DataType.build("TIMESTAMPTZ")
    return exp.DataType.build(_TYPES[column.type.kind])


_TYPES = {
    t.Kind.STRING: "TEXT",
    t.Kind.INTEGER: "BIGINT",
    t.Kind.NUMBER: "DOUBLE",
    t.Kind.DECIMAL: "DECIMAL(18, 4)",
    t.Kind.BOOLEAN: "BOOLEAN",
    t.Kind.DATE: "DATE",
    t.Kind.TIMESTAMP: "TIMESTAMP",
}


def _literal_value(value: object) -> exp.Expr:
    if value is None:
        return exp.Null()
    if isinstance(value, bool):
        return exp.Boolean(this=value)
    if isinstance(value, (int, float, Decimal)):
        return exp.Literal.number(str(value))
    if isinstance(value, dt.datetime):
        kind = "TIMESTAMPTZ" if value.tzinfo is not None else "TIMESTAMP"
        return exp.cast(exp.Literal.string(value.isoformat(sep=" ")), kind)
    if isinstance(value, dt.date):
        return exp.cast(exp.Literal.string(value.isoformat()), "DATE")
    return exp.Literal.string(str(value))


def _timestamp(value: object) -> dt.datetime | None:
    if isinstance(value, dt.datetime):
        return value
    if isinstance(value, dt.date):
        return dt.datetime.combine(value, dt.time())
    if isinstance(value, str):
        return dt.datetime.fromisoformat(value)
    return None


def _literal(node: nodes.Expr) -> object:
    match node:
        case nodes.StringLit(value=value) | nodes.BoolLit(value=value):
            return value
        case nodes.NumberLit(value=value):
            return value
    return None


def _conjuncts(expr: nodes.Expr | None) -> list[nodes.Expr]:
    if expr is None:
        return []
    if isinstance(expr, nodes.And):
        return [*_conjuncts(expr.left), *_conjuncts(expr.right)]
    return [expr]


def _root(decls: Declarations, name: str) -> str:
    """The warehouse table a derived or grouped table's rows come from."""
    while True:
        info = decls.tables[name]
        base = info.base if info.base is not None else info.grouped_base
        if base is None:
            return name
        name = base


def _problem(where: Span, message: str, help: str | None) -> Diagnostic:
    return Diagnostic("SEG581", message, where, help)
