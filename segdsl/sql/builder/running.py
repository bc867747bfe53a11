"""A trend's table aggregates as running totals: each row read once, not once per step.

A row up to the as-of time counts at its step and every later one. A table's aggregates
that are a count, sum, min, max or exists whose filter does not depend on the as-of time
(`cumulative`) are aggregated per key and interval between steps (a row falls in the
interval `previous step < time <= step`, the as-of cap written for both steps), and the
value at a step is the running total over the steps: a window SUM/MIN/MAX per key over a
grid of the keys with rows × the steps. Windows relative to the as-of time (`last 30d`)
keep the general form (the table's `…_windows` CTE): each row joined to every step whose
window takes it in.
"""

from __future__ import annotations

from sqlglot import exp

from segdsl import ir
from segdsl import types as t
from segdsl.plan import KEY, extreme_row_time
from segdsl.sql.builder.aggregates import Aggregates
from segdsl.sql.builder.common import STEP, STEP_OF, STEPS, _and_once, _col, _num, _or

INTERVALS = "intervals"  # the spine with each step's previous one
PREVIOUS = "__previous"
UNTIL = "__until"  # a key's next interval with rows
LAST = "__last"  # a key's last interval: no next one
_RUNNING = {"count": exp.Sum, "exists": exp.Sum, "sum": exp.Sum, "min": exp.Min, "max": exp.Max}


def cumulative(aggregation: ir.Aggregation) -> bool:
    """Whether the aggregate at a step combines the per-interval aggregates up to it."""
    if aggregation.func not in _RUNNING or aggregation.source.grouping is not None:
        return False  # a grouped table's groups are each step's own (the last one grows)
    value = aggregation.value
    if (
        aggregation.func in ("min", "max")
        and value is not None
        and value.type.kind is t.Kind.STRING
        and not extreme_row_time(aggregation)
    ):
        return False  # engines order text by the dialect's collation, not as stored
    return all(_as_of_free(part) for part in (aggregation.filter, value) if part is not None)


def _as_of_free(expr: ir.Expr) -> bool:
    """Whether a row-level expression reads no time relative to the as-of time."""
    match expr:
        case ir.TimePoint(anchor=anchor):
            return isinstance(anchor, ir.FixedTime)
        case ir.InWindow(bounds=bounds):
            anchors = [bounds.lower, bounds.upper]
            if not all(a is None or isinstance(a, ir.FixedTime) for a in anchors):
                return False
        case ir.Age() | ir.TableFigure() | ir.AggregateRef() | ir.SequenceRef():
            return False
    return all(_as_of_free(child) for child in ir.children(expr))


class RunningTotals(Aggregates):
    """The running-total form of a trend's table CTE."""

    def _intervals_cte(self) -> exp.Select:
        """Each step with the step before it (for the first, NULL; ClickHouse's LAG gives
        its type's default instead: the first step is told by its time, never by this)."""
        previous = exp.Window(
            this=exp.Anonymous(this="LAG", expressions=[_col(STEP)]),
            order=exp.Order(expressions=[exp.Ordered(this=_col(STEP))]),
        )
        return exp.select(
            _col(STEP), exp.alias_(previous, PREVIOUS, quoted=True, copy=False)
        ).from_(exp.to_identifier(STEPS, quoted=True), copy=False)

    def _running_source_cte(
        self, name: str, source: ir.RowSource, aggregations: list[tuple[str, ir.Aggregation]]
    ) -> exp.Select:
        """Per key and step, the aggregates of the rows up to the step as running totals
        of a CTE `<name>_intervals` (per key and interval) that this adds."""
        assert self.clock is not None
        # an `exists` as how many rows: summed, then > 0
        select, key, _, filters = self._aggregate_scan(source, aggregations, exists_as_count=True)
        # the rows cross-joined with the intervals (under the spine's name)
        join = select.args["joins"][-1]
        intervals = exp.Table(
            this=exp.to_identifier(INTERVALS, quoted=True),
            alias=exp.TableAlias(this=exp.to_identifier(STEPS, quoted=True)),
        )
        join.set("this", intervals)
        # and not up to the previous step: the cap with the previous step as the as-of time
        assert self.steps is not None
        first: exp.Expr = exp.EQ(
            this=_col(STEP), expression=self.dialect.wall_literal(self.steps[0])
        )
        node, self.clock.node = self.clock.node, _col(PREVIOUS)
        try:
            earlier = self._cap(source)
        finally:
            self.clock.node = node
        if earlier is not None:
            first = _or([first, exp.Not(this=exp.Paren(this=earlier))])
        filters.append(exp.Paren(this=first))
        select = select.where(_and_once(filters), copy=False).group_by(key, _col(STEP), copy=False)
        per_interval = f"{name}_intervals"
        self.ctes.append((per_interval, select))
        # running totals over each key's intervals, each until the key's next interval
        # (the next in ascending order is the previous in descending: LAG, which every
        # engine has in its standard meaning)
        frame = exp.WindowSpec(
            kind="ROWS", start="UNBOUNDED", start_side="PRECEDING", end="CURRENT ROW"
        )

        def per_key(node: exp.Expr, *, desc: bool = False, framed: bool = False) -> exp.Window:
            order = exp.Order(expressions=[exp.Ordered(this=_col(STEP_OF), desc=desc)])
            window = exp.Window(this=node, partition_by=[_col(KEY)], order=order)
            if framed:
                window.set("spec", frame.copy())
            return window

        until = per_key(exp.Anonymous(this="LAG", expressions=[_col(STEP_OF)]), desc=True)
        last = exp.EQ(this=per_key(exp.RowNumber(), desc=True), expression=_num(1))
        totals = exp.select(
            _col(KEY),
            _col(STEP_OF),
            exp.alias_(until, UNTIL, quoted=True, copy=False),
            exp.alias_(last, LAST, quoted=True, copy=False),
        ).from_(exp.to_identifier(per_interval, quoted=True), copy=False)
        for alias, aggregation in aggregations:
            running = per_key(_RUNNING[aggregation.func](this=_col(alias)), framed=True)
            totals = totals.select(exp.alias_(running, alias, quoted=True, copy=False), copy=False)
        # … at every step from its interval's to the next one's (a key's steps before its
        # first row have no row: zero rows, as the population's LEFT JOIN makes them)
        from_step = exp.GTE(this=_col(STEP, STEPS), expression=_col(STEP_OF, "totals"))
        before_next = _or(
            [
                _col(LAST, "totals"),  # its UNTIL is NULL (ClickHouse: a default time)
                exp.LT(this=_col(STEP, STEPS), expression=_col(UNTIL, "totals")),
            ]
        )
        grid = exp.select(
            exp.alias_(_col(KEY, "totals"), KEY, quoted=True, copy=False),
            exp.alias_(_col(STEP, STEPS), STEP_OF, quoted=True, copy=False),
        ).from_(totals.subquery("totals", copy=False), copy=False)
        spine = exp.Table(this=exp.to_identifier(STEPS, quoted=True))
        grid.append("joins", exp.Join(this=spine, kind="CROSS"))
        for alias, aggregation in aggregations:
            total: exp.Expr = _col(alias, "totals")
            if aggregation.func == "exists":
                total = exp.GT(this=total, expression=_num(0))
            grid = grid.select(exp.alias_(total, alias, quoted=True, copy=False), copy=False)
        return grid.where(_and_once([from_step, exp.Paren(this=before_next)]), copy=False)
