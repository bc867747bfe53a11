"""The rows of a grouped table (`purchases per day { value = sum(amount) }`): a subquery
of the base table's rows, up to the as-of time and in the base's own filter, grouped by
entity key and group, one column per aggregate. Every read of the grouped table reads
it in place of a warehouse table (`Reading._from_source`). In a trend, each step's
groups of the rows up to it: grouped by step too, with the step as a column."""

from __future__ import annotations

from sqlglot import exp

from segdsl import ir
from segdsl.plan import KEY
from segdsl.sql.builder.aggregates import Aggregates
from segdsl.sql.builder.common import GROUPS_STEP, STEP, STEPS, _and_once, _col


class GroupedRows(Aggregates):
    """`SELECT key, group, time, aggregates … GROUP BY key, group` of a base table."""

    def _grouped_rows(self, source: ir.RowSource) -> exp.Select:
        grouping = source.grouping
        assert grouping is not None
        base = grouping.base
        select, key = self._from_source(base)
        # rows after the as-of time are left out before grouping: a group holds only rows
        # up to it (an as-of time at noon does not count that afternoon's rows)
        filters = [f for f in (self._cap(base),) if f is not None]
        if grouping.filter is not None:
            filters.append(self.condition(grouping.filter, base))
        group = self.value(grouping.by, base)
        filters.append(exp.Not(this=exp.Is(this=group.copy(), expression=exp.Null())))
        # grouped by what is shown (a period's start as a time: BigQuery wants the SELECT's
        # expression itself in GROUP BY, not one it is computed from)
        shown = group.copy() if grouping.unit is None else self.dialect.date_to_wall(group.copy())
        columns: list[exp.Expr] = [
            exp.alias_(key.copy(), KEY, quoted=True, copy=False),
            exp.alias_(shown, grouping.by_column, quoted=True, copy=False),
        ]
        if grouping.unit is None and grouping.time_column is not None:
            assert base.time is not None
            first = ir.Aggregation("min", base, base.time)
            columns.append(
                exp.alias_(self._aggregate(first), grouping.time_column, quoted=True, copy=False)
            )
        for name, aggregation in grouping.columns:
            value = self._zero_rows(aggregation, self._aggregate(aggregation, aggregation.filter))
            columns.append(exp.alias_(value, name, quoted=True, copy=False))
        group_by = [key, shown.copy()]
        if self.steps is not None:  # a trend: `_from_source` joined the steps to the rows
            columns.append(exp.alias_(_col(STEP, STEPS), GROUPS_STEP, quoted=True, copy=False))
            group_by.append(_col(STEP, STEPS))
        return (
            select.select(*columns, copy=False)
            .where(_and_once(filters), copy=False)
            .group_by(*group_by, copy=False)
        )
