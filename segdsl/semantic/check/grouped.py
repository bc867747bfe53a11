"""Grouped tables: `table purchase_days = purchases per day { value = sum(amount) }`.

The collector declares a grouped table with no columns (their types come from checking
the aggregates); `resolve_grouped_tables` checks each one's aggregates over its base
table and gives it (and the derived tables built on it) its rows and columns.
"""

from __future__ import annotations

from dataclasses import replace

from segdsl import ir
from segdsl import types as t
from segdsl.diagnostics import did_you_mean
from segdsl.plan import internal_name
from segdsl.semantic.check.base import CheckerBase
from segdsl.semantic.declarations import TableInfo
from segdsl.syntax import nodes

UNITS: dict[str, ir.CalendarUnit] = {
    "day": "day",
    "week": "week",
    "month": "month",
    "quarter": "quarter",
    "year": "year",
}
# one value per group from its rows: plain aggregates (first/last without a value are
# the group's earliest and latest times)
GROUP_AGGREGATES = ("count", "sum", "avg", "min", "max", "exists", "first", "last")

Columns = dict[tuple[str, str], tuple[int, ir.Column]]


def _column(name: str, type_: t.Type) -> ir.Column:
    """A column of the grouped rows; times are wall-clock times there."""
    storage: t.Storage | None = None
    if type_.kind is t.Kind.TIMESTAMP:
        storage = "timestamp"
    elif type_.kind is t.Kind.DATE:
        storage = "date"
    return ir.Column(name, type_, storage)


class Grouped(CheckerBase):
    """Grouped tables' rows and columns."""

    def resolve_grouped_tables(self) -> None:
        """Give every grouped table, and every table derived from one, its columns and
        rows (tables are declared bases first, so each base is final when reached)."""
        remade: set[str] = set()
        for name, info in list(self.decls.tables.items()):
            if info.grouped is not None:
                assert info.grouped_base is not None
                made = self.grouped_table(info, info.grouped, self.decls.tables[info.grouped_base])
            elif info.base is not None and info.base in remade:
                base = self.decls.tables[info.base]
                columns = dict(base.columns)
                for (qualifier, column_name), entry in base.columns.items():
                    if qualifier == base.name:
                        columns[(name, column_name)] = entry
                made = replace(info, source=base.source, columns=columns)
            else:
                continue
            self.decls.tables[name] = made
            remade.add(name)

    def grouped_table(
        self, info: TableInfo, decl: nodes.GroupedTableDecl, base: TableInfo
    ) -> TableInfo:
        errors_before = len(self.diagnostics)
        name = info.name
        numbers = iter(range(1, 10_000))
        columns: Columns = {}

        def add(ident: nodes.Ident, column: ir.Column) -> None:
            if ("", ident.text) in columns:
                self.error(
                    "SEG102",
                    f"the column `{ident.text}` is declared twice in `{name}`",
                    ident.span,
                )
                return
            columns[("", ident.text)] = (0, column)
            columns[(name, ident.text)] = (0, column)

        base_time = base.source.time
        by_text = decl.by.text
        found_by = base.columns.get(("", by_text))
        unit: ir.CalendarUnit | None = None
        by: ir.Expr
        time: ir.Column | None = None
        if found_by is not None:
            hop, by_source = found_by
            by = ir.RowColumn(hop, by_source, span=decl.by.span)
            by_column = _column(internal_name("c", next(numbers), by_text), by_source.type)
            if base_time is not None:
                time_type = t.DATE if base_time.column.storage == "date" else t.TIMESTAMP
                time = _column(internal_name("c", next(numbers), "time"), time_type)
        elif by_text in UNITS:
            unit = UNITS[by_text]
            if base_time is None:
                self.error(
                    "SEG214",
                    f"`{base.name}` has no time column, so its rows have no {by_text}",
                    decl.by.span,
                    "declare it inside the table, e.g. `time ordered_at`, or group by a column",
                )
                by = ir.Invalid(t.ERROR)
            else:
                by = ir.TruncateTime(unit, base_time, t.DATE, span=decl.by.span)
            by_column = _column(internal_name("c", next(numbers), by_text), t.TIMESTAMP)
            time = by_column
        else:
            visible = sorted({column for qualifier, column in base.columns if not qualifier})
            self.error(
                "SEG212",
                f"`{base.name}` has no column `{by_text}` and it is not a calendar unit",
                decl.by.span,
                did_you_mean(by_text, [*visible, *UNITS])
                or "group by a column of the table or by day, week, month, quarter or year",
            )
            by, by_column = ir.Invalid(t.ERROR), _column("c0", t.ERROR)
        add(decl.by, by_column)
        base_filter = self.table_filter(base)
        aggregates: list[tuple[str, ir.Aggregation]] = []
        for member in decl.columns:
            aggregation = self.group_aggregate(member, decl, base, base_filter)
            type_ = t.ERROR if aggregation is None else aggregation[1]
            physical = internal_name("c", next(numbers), member.name.text)
            add(member.name, _column(physical, type_))
            if aggregation is not None:
                aggregates.append((physical, aggregation[0]))
        if len(self.diagnostics) > errors_before:
            return replace(info, columns=columns)
        grouping = ir.Grouping(
            base.source,
            base_filter,
            by,
            unit,
            by_column.name,
            None if time is None else time.name,
            tuple(aggregates),
        )
        source = ir.RowSource(
            info.source.hops, None if time is None else ir.RowColumn(0, time), grouping
        )
        return replace(info, source=source, columns=columns)

    def group_aggregate(
        self,
        column: nodes.GroupColumn,
        decl: nodes.GroupedTableDecl,
        base: TableInfo,
        base_filter: ir.Expr | None,
    ) -> tuple[ir.Aggregation, t.Type] | None:
        """One column's aggregate over a group's rows, without the base's own filter
        (the grouped rows are made of rows that pass it)."""
        func = column.func
        if func not in GROUP_AGGREGATES or (func in ("first", "last") and column.arg is not None):
            self.error(
                "SEG213",
                f"`{func}{'(…)' if column.arg is not None else ''}` is not a value of a group",
                column.span,
                "a group's columns are count, count distinct(…), sum, avg, min, max, exists, "
                "and first or last (its earliest or latest time)",
            )
            return None
        node = nodes.Aggregate(
            func,
            decl.base,
            None if column.arg is None else (column.arg,),
            column.distinct,
            span=column.span,
        )
        checked = self.row_aggregate(node, base, None, None)
        if not isinstance(checked, ir.AggregateRef):
            return None
        aggregation = checked.aggregation
        own = aggregation.filter
        if base_filter is not None and own is not None:
            if own == base_filter:
                own = None
            elif isinstance(own, ir.And) and own.items[0] == base_filter:
                rest = own.items[1:]
                own = rest[0] if len(rest) == 1 else ir.And(rest)
        return replace(aggregation, filter=own), checked.type
