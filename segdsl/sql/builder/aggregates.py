"""Aggregation CTEs: one per related table, and one per first/last/nth value
and per grouped aggregate."""

from __future__ import annotations

from sqlglot import exp

from segdsl import ir
from segdsl import types as t
from segdsl.plan import KEY, extreme_row_time, internal_name, relied_on
from segdsl.sql.builder.common import (
    _AGGREGATES,
    FALSE,
    STEP,
    STEP_OF,
    STEPS,
    UP_TO_AS_OF,
    _and,
    _and_once,
    _case,
    _coalesce,
    _col,
    _num,
    _or,
)
from segdsl.sql.builder.reading import Reading, _factor_filters


class Aggregates(Reading):
    """Every aggregate over a table in one scan; ordered and grouped aggregates."""

    def table_figure(self, figure: ir.TableFigure) -> exp.Expr:
        """A scalar subquery: the aggregate over the rows (up to the as-of time, in the
        figure's filter) of every member of the population together."""
        aggregation = figure.aggregation
        source = aggregation.source
        select, link = self._from_source(source)
        filters = [f for f in (self._cap(source),) if f is not None]
        if aggregation.filter is not None:
            filters.append(self.condition(aggregation.filter, source))
        if self.steps is not None:
            members = self._population_keys()
            per_step = self._figure_per_step(figure, select, link, members, filters)
            return self._zero_rows(aggregation, per_step)
        if not relied_on(source, self.entity):
            filters.append(exp.In(this=link, query=self._population_keys().subquery(copy=False)))
        value = self._zero_rows(aggregation, self._aggregate(aggregation))
        select = select.select(value, copy=False).where(_and_once(filters), copy=False)
        return exp.Subquery(this=select)

    def _population_keys(self) -> exp.Select:
        """The keys of the population: entities that had joined by the as-of time (or
        whose joining time is unknown)."""
        entity, alias = self.entity, self.entity_alias
        members = exp.select(_col(entity.key.name, alias)).from_(
            self._warehouse_table(entity.source, alias), copy=False
        )
        members = members.where(
            exp.Not(this=exp.Is(this=_col(entity.key.name, alias), expression=exp.Null())),
            copy=False,
        )
        if entity.time is not None:
            joined = self._raw_window(_col(entity.time.name, alias), entity.time, UP_TO_AS_OF)
            missing = exp.Is(this=_col(entity.time.name, alias), expression=exp.Null())
            members = members.where(_or([joined, missing]), copy=False)
        return members

    def _figure_per_step(
        self,
        figure: ir.TableFigure,
        select: exp.Select,
        link: exp.Expr,
        members: exp.Select,
        filters: list[exp.Expr],
    ) -> exp.Expr:
        """In a trend, a table figure is a CTE of its value at each step (the rows and the
        `members` as of the step: they and `filters` read the spine's step, the members
        joined per step, not correlated, which ClickHouse cannot); the figure is its row of
        the step being evaluated (a step without rows has none: NULL, as the aggregate of
        no rows, made 0 by the caller for counts and sums)."""
        name = self.figure_ctes.get(figure)
        if name is None:
            if self.entity.time is None:  # the same members at every step
                filters = [*filters, exp.In(this=link, query=members.subquery(copy=False))]
            else:
                members = members.select(
                    exp.alias_(_col(STEP, STEPS), STEP_OF, quoted=True, copy=False), copy=False
                ).distinct(copy=False)
                steps = exp.Table(this=exp.to_identifier(STEPS, quoted=True))
                members.append("joins", exp.Join(this=steps, kind="CROSS"))
                on = exp.And(
                    this=exp.EQ(this=_col(self.entity.key.name, "members"), expression=link),
                    expression=exp.EQ(this=_col(STEP_OF, "members"), expression=_col(STEP, STEPS)),
                )
                joined = exp.Join(this=members.subquery("members", copy=False), on=on)
                select.append("joins", joined)
            name = internal_name("f", len(self.figure_ctes) + 1, figure.aggregation.source.name)
            self.figure_ctes[figure] = name
            step = _col(STEP, STEPS)
            value = self._aggregate(figure.aggregation)
            select = select.select(
                exp.alias_(step, STEP_OF, quoted=True, copy=False),
                exp.alias_(value, "value", quoted=True, copy=False),
                copy=False,
            )
            select = select.where(_and_once(filters), copy=False).group_by(step.copy(), copy=False)
            self.ctes.append((name, select))
        if self.relation and figure in self.figure_ctes:
            # `population` (and every relation after it) has the step's value: a column
            return _col(name)
        # before it (in a table's filter): correlated (the CTE's step column is `STEP_OF`)
        at_step = exp.EQ(this=_col(STEP_OF, name), expression=_col(STEP))
        row = exp.select(_col("value", name)).from_(exp.to_identifier(name, quoted=True))
        return exp.Subquery(this=row.where(at_step, copy=False))

    def _step_figures(self) -> None:
        """In a trend, the CTEs of the table figures the outputs read after `population`
        (which joins them by step: no correlated subquery, which ClickHouse cannot run)."""
        found: list[ir.TableFigure] = []

        def walk(expr: ir.Expr) -> None:
            if isinstance(expr, ir.TableFigure) and expr not in found:
                found.append(expr)
            for child in ir.children(expr):
                walk(child)

        for output in self.plan.outputs:
            walk(output.expr)
        for figure in found:
            self.table_figure(figure)

    def _source_cte(
        self, source: ir.RowSource, aggregations: list[tuple[str, ir.Aggregation]]
    ) -> exp.Select:
        """Every aggregate over one table in one scan.

        Filter parts shared by all aggregates go to WHERE; what differs stays in CASE
        expressions, and WHERE also keeps only rows that some aggregate counts.
        """
        select, key, values, filters = self._aggregate_scan(source, aggregations)
        inline: dict[ir.Aggregation, exp.Expr] = {}
        for (_, aggregation), value in zip(aggregations, values, strict=True):
            # in HAVING the entity has rows: counts are never NULL there, and a bare
            # COUNT lets Postgres estimate the condition (a COALESCE hides it)
            never_null = aggregation.func in ("count", "count_distinct", "exists")
            copied = value.copy()
            inline[aggregation] = copied if never_null else self._zero_rows(aggregation, copied)
        if filters:
            select = select.where(_and_once(filters), copy=False)
        select = select.group_by(key, *self._step_keys(), copy=False)
        if source in self.having:
            self._inline_aggregates = inline
            try:
                parts = [self.condition(part) for part in self.having[source]]
            finally:
                self._inline_aggregates = None
            # every group has a row: `COUNT(*) > 0` holds, and the inner join keeps it so
            parts = [part for part in parts if not _counts_any_row(part)]
            if parts:
                select = select.having(_and(parts), copy=False)
        return select

    def _aggregate_scan(
        self,
        source: ir.RowSource,
        aggregations: list[tuple[str, ir.Aggregation]],
        *,
        exists_as_count: bool = False,
    ) -> tuple[exp.Select, exp.Expr, list[exp.Expr], list[exp.Expr]]:
        """The one scan of `source` for its aggregates: SELECT key, the aggregates (each
        named by its alias) and, in a trend, the step, FROM the joined hops; returned
        with the key, the aggregate expressions and the row filters for its WHERE. With
        `exists_as_count`, an `exists` is its count of rows."""
        select, key = self._from_source(source)
        common, residuals = _factor_filters([a.filter for _, a in aggregations])
        columns: list[exp.Expr] = [exp.alias_(key, KEY, quoted=True, copy=False)]
        values: list[exp.Expr] = []
        for (alias, aggregation), residual in zip(aggregations, residuals, strict=True):
            counted = aggregation
            if exists_as_count and aggregation.func == "exists":
                counted = ir.Aggregation("count", source, None, aggregation.filter)
            value = self._aggregate(counted, residual)
            values.append(value)
            columns.append(exp.alias_(value, alias, quoted=True, copy=False))
        columns += self._step_columns()
        select = select.select(*columns, copy=False)
        filters = self._row_filters(source, key)
        filters += self._counted_filters(source, aggregations, common, residuals)
        return select, key, values, filters

    def _step_columns(self) -> list[exp.Expr]:
        """In a trend, the step a CTE's row belongs to (`STEP_OF`); else nothing."""
        if self.steps is None:
            return []
        return [exp.alias_(_col(STEP), STEP_OF, quoted=True, copy=False)]

    def _step_keys(self, column: str = STEP) -> list[exp.Expr]:
        """In a trend, what a CTE groups or partitions by beside the key."""
        return [] if self.steps is None else [_col(column)]

    def _aggregate(self, aggregation: ir.Aggregation, residual: ir.Expr | None = None) -> exp.Expr:
        """The aggregate expression; rows outside `residual` (if any) count as NULL."""
        source = aggregation.source
        func = aggregation.func
        present = ir.unwrap(residual) if residual is not None else None
        if func == "count" and isinstance(present, ir.IsPresent) and present.present:
            # `count … where x is present`: COUNT(x), cheaper than COUNT(CASE …)
            return exp.Count(this=self.sql(present.operand, source))
        condition = self.condition(residual, source) if residual is not None else None

        def when(value: exp.Expr) -> exp.Expr:
            return value if condition is None else _case(condition, value)

        if func == "count":
            return (
                exp.Count(this=exp.Star()) if condition is None else exp.Count(this=when(_num(1)))
            )
        if func == "exists":
            counted = (
                exp.Count(this=exp.Star()) if condition is None else exp.Count(this=when(_num(1)))
            )
            return exp.GT(this=counted, expression=_num(0))
        assert aggregation.value is not None
        if extreme_row_time(aggregation) and isinstance(aggregation.value, ir.RowColumn):
            # aggregate the stored value, convert once per entity (the conversion is monotonic)
            value_column = aggregation.value
            raw = _col(value_column.column.name, self._hop_alias(source, value_column.hop))
            node = exp.Min(this=when(raw)) if func == "min" else exp.Max(this=when(raw))
            return self.canonical(node, aggregation.value.column)
        value = self.value(aggregation.value, source)
        if func in ("min", "max") and aggregation.value.type.kind is t.Kind.STRING:
            value = self.dialect.text_order(value)
        if func == "count_distinct":
            return exp.Count(this=exp.Distinct(expressions=[when(value)]))
        return _AGGREGATES[func](this=when(value))

    def _zero_rows(self, aggregation: ir.Aggregation, column: exp.Expr) -> exp.Expr:
        if aggregation.func in ("count", "count_distinct"):
            return _coalesce(column, _num(0))
        if aggregation.func == "sum":
            return _coalesce(column, _num(0))
        if aggregation.func == "exists":
            return _coalesce(column, FALSE)
        return column

    def _ordered_cte(self, alias: str, aggregation: ir.Aggregation) -> exp.Select:
        source = aggregation.source
        assert source.time is not None and aggregation.value is not None
        select, key = self._from_source(source)
        value = self.value(aggregation.value, source)
        time = self.row(source, source.time)
        descending = aggregation.func == "last_value"
        order = exp.Order(
            expressions=[
                exp.Ordered(this=time, desc=descending),
                exp.Ordered(this=self._tie_break(value, aggregation.value), desc=False),
            ]
        )
        partition = [key.copy(), *self._step_keys()]
        rank = exp.Window(this=exp.RowNumber(), partition_by=partition, order=order)
        filters = self._row_filters(source, key)
        if aggregation.filter is not None:
            filters.append(self.condition(aggregation.filter, source))
        filters.append(exp.Not(this=exp.Is(this=value.copy(), expression=exp.Null())))
        inner = select.select(
            exp.alias_(key, KEY, quoted=True, copy=False),
            exp.alias_(value, "value", quoted=True, copy=False),
            exp.alias_(rank, "position", quoted=True, copy=False),
            *self._step_columns(),
            copy=False,
        ).where(_and_once(filters), copy=False)
        position = aggregation.n if aggregation.func == "nth_value" else 1
        value_column = exp.alias_(_col("value"), alias, quoted=True, copy=False)
        return (
            exp.select(_col(KEY), value_column, *self._step_keys(STEP_OF))
            .from_(inner.subquery("ranked_rows", copy=False))
            .where(exp.EQ(this=_col("position"), expression=_num(position or 1)), copy=False)
        )

    def _tie_break(self, value: exp.Expr, expr: ir.Expr) -> exp.Expr:
        copy = value.copy()
        return self.dialect.text_order(copy) if expr.type.kind is t.Kind.STRING else copy

    def _grouped_cte(self, alias: str, aggregation: ir.Aggregation) -> exp.Select:
        source = aggregation.source
        assert aggregation.group is not None and aggregation.outer is not None
        select, key = self._from_source(source)
        group = self.value(aggregation.group, source)
        inner_aggregation = ir.Aggregation(aggregation.func, source, aggregation.value)
        filters = self._row_filters(source, key)
        if aggregation.filter is not None:
            filters.append(self.condition(aggregation.filter, source))
        filters.append(exp.Not(this=exp.Is(this=group.copy(), expression=exp.Null())))
        per_group = self._aggregate(inner_aggregation)
        inner = (
            select.select(
                exp.alias_(key.copy(), KEY, quoted=True, copy=False),
                exp.alias_(per_group.copy(), "per_group", quoted=True, copy=False),
                *self._step_columns(),
                copy=False,
            )
            .where(_and_once(filters), copy=False)
            .group_by(key, group, *self._step_keys(), copy=False)
        )
        if aggregation in self.group_having:
            # `max count … per g >= 3` holds exactly when some group counts 3: smaller
            # groups cannot be the maximum of a member, so they are dropped at once
            self._inline_aggregates = {aggregation: per_group}
            try:
                bounds = [self.condition(part) for part in self.group_having[aggregation]]
            finally:
                self._inline_aggregates = None
            inner = inner.having(_and(bounds), copy=False)
        combined = _AGGREGATES[aggregation.outer](this=_col("per_group"))
        return (
            exp.select(
                _col(KEY),
                exp.alias_(combined, alias, quoted=True, copy=False),
                *self._step_keys(STEP_OF),
            )
            .from_(inner.subquery("groups", copy=False))
            .group_by(_col(KEY), *self._step_keys(STEP_OF), copy=False)
        )


def _counts_any_row(condition: exp.Expr) -> bool:
    """Whether `condition` is `COUNT(*) > 0` or `COUNT(*) >= 1`: true in every group."""
    match condition:
        case exp.GT(this=exp.Count(this=exp.Star()), expression=exp.Literal(this="0")):
            return True
        case exp.GTE(this=exp.Count(this=exp.Star()), expression=exp.Literal(this="1")):
            return True
    return False
