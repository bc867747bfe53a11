"""Which rows of a related table a query reads: joined hops, the as-of cap,
the candidates semi-join and the widest window its aggregates count."""

from __future__ import annotations

import datetime as dt
import itertools

from sqlglot import exp

from segdsl import ir
from segdsl.plan import KEY, internal_name
from segdsl.sql.builder.common import GROUPS_STEP, STEP, STEPS, UP_TO_AS_OF, _col, _or
from segdsl.sql.builder.expressions import Expressions


class Reading(Expressions):
    """The FROM and WHERE of every read of a related table."""

    def _source_cte_name(self, source: ir.RowSource) -> str:
        return internal_name("t", len(self.source_ctes) + 1, source.name)

    def _from_source(self, source: ir.RowSource) -> tuple[exp.Select, exp.Expr]:
        """SELECT … FROM the joined hops; returns it and the entity key expression."""
        hops = source.hops
        alias = self._table_alias
        if source.grouping is not None:  # a grouped table: its rows are a subquery
            rows = self._grouped_rows(source).subquery(alias(hops[0].table), copy=False)
            select = exp.select().from_(rows, copy=False)
        else:
            select = exp.select().from_(
                self._warehouse_table(hops[0].source, alias(hops[0].table)), copy=False
            )
        for child, parent in itertools.pairwise(hops):
            assert child.parent_key is not None
            on = exp.EQ(
                this=_col(child.link, alias(child.table)),
                expression=_col(child.parent_key, alias(parent.table)),
            )
            parent_table = self._warehouse_table(parent.source, alias(parent.table))
            select.append("joins", exp.Join(this=parent_table, on=on, kind="INNER"))
        if self.steps is not None:
            # each row once per step: the as-of cap and the windows (in WHERE, of the
            # step's as-of time) keep it in the steps whose window holds it; a grouped
            # table's rows are each step's groups already
            steps = exp.Table(this=exp.to_identifier(STEPS, quoted=True))
            if source.grouping is not None:
                own = exp.EQ(
                    this=_col(GROUPS_STEP, alias(hops[0].table)), expression=_col(STEP, STEPS)
                )
                select.append("joins", exp.Join(this=steps, on=own, kind="INNER"))
            else:
                select.append("joins", exp.Join(this=steps, kind="CROSS"))
        return select, _col(hops[-1].link, alias(hops[-1].table))

    def _cap(self, source: ir.RowSource) -> exp.Expr | None:
        """Rows at or before the as-of time (rows without a time are never counted)."""
        if source.time is None:
            return None
        return self.in_window(source.time, UP_TO_AS_OF, source)

    def _row_filters(self, source: ir.RowSource, key: exp.Expr) -> list[exp.Expr]:
        """What every read of `source` keeps: rows up to the as-of time, of candidates."""
        filters = [f for f in (self._cap(source),) if f is not None]
        if self.candidates:
            filters.append(self._among_candidates(key))
        return filters

    def _among_candidates(self, key: exp.Expr) -> exp.Expr:
        keys = exp.select(_col(KEY)).from_(exp.to_identifier("candidates", quoted=True))
        return exp.In(this=key.copy(), query=keys.subquery(copy=False))

    def _counted_filters(
        self,
        source: ir.RowSource,
        aggregations: list[tuple[str, ir.Aggregation]],
        common: list[ir.Expr],
        residuals: list[ir.Expr | None],
    ) -> list[exp.Expr]:
        """Rows some aggregate counts: the widest window, the filter parts all aggregates
        share (`common`), and the OR of what differs (`residuals`, from _factor_filters)."""
        filters: list[exp.Expr] = []
        widest = self._widest_lower(source, aggregations)
        if widest is not None:
            assert source.time is not None
            bounds = ir.Bounds(widest[0], widest[1], None, False)
            filters.append(self.in_window(source.time, bounds, source))
        filters += self._partition_filters(source, widest)
        filters += [self.condition(part, source) for part in common]
        if residuals and all(r is not None for r in residuals):
            distinct = [r for r in dict.fromkeys(residuals) if r is not None]
            if not self._windows_cover(source, distinct, widest):
                filters.append(_or([self.condition(r, source) for r in distinct]))
        return filters

    def _partition_filters(
        self, source: ir.RowSource, widest: tuple[ir.TimeAnchor, bool] | None
    ) -> list[exp.Expr]:
        """A table partitioned by a column other than its time (`partition by order_date`,
        the time's date): that column between a day before the widest window and a day
        after the as-of time, so the warehouse reads only those partitions. The day either
        side covers a date taken in another time zone; the time filter stays exact. Only
        for a fixed as-of time (a moving one reads every partition: slower, not wrong)."""
        hop = source.hops[0]
        time = source.time
        partition = hop.partition
        fixed = self.fixed
        if partition is None or time is None or time.hop != 0 or fixed is None:
            return []
        if partition.name == time.column.name:  # the window on the time prunes already
            return []
        day = dt.timedelta(days=1)
        lower = None if widest is None else ir.FixedTime(fixed.resolve(widest[0]) - day)
        upper = ir.FixedTime(fixed.wall + day)
        bounds = ir.Bounds(lower, True, upper, True)
        raw = _col(partition.name, self._table_alias(hop.table))
        return [self._raw_window(raw, partition, bounds)]

    def _widest_lower(
        self, source: ir.RowSource, aggregations: list[tuple[str, ir.Aggregation]]
    ) -> tuple[ir.TimeAnchor, bool] | None:
        """The lower end (time, inclusive) of the widest window every aggregation of this
        table lies in: the WHERE filter pushed down to the scan. For a moving as-of time,
        only when the earliest is the same at every as-of time (`_earliest_moving`)."""
        if source.time is None:
            return None
        lowers: list[tuple[ir.TimeAnchor, bool]] = []
        for _, aggregation in aggregations:
            lower = self._window_lower(aggregation.filter, source.time)
            if lower is None:
                lower = self._latest_bound(aggregation)
            if lower is None:
                return None
            lowers.append(lower)
        if not lowers:
            return None
        if self.fixed is None:
            return _earliest_moving(lowers)
        resolve = self.fixed.resolve
        earliest = min(resolve(anchor) for anchor, _ in lowers)
        inclusive = any(incl for anchor, incl in lowers if resolve(anchor) == earliest)
        return ir.FixedTime(earliest), inclusive

    def _latest_bound(self, aggregation: ir.Aggregation) -> tuple[ir.TimeAnchor, bool] | None:
        """A lower bound the members' condition puts on the time of a table's latest row
        in this table's HAVING (`time since last events < 30d`, `last orders >= 60d ago`):
        the latest row passes exactly when some row after the bound exists, so the rows
        before it need not be read (a key without such rows fails the HAVING anyway).
        Not for instants in a zone whose clocks change: the HAVING compares the latest
        wall-clock time, a window compares instants, and they differ around the change."""
        if aggregation.func != "max" or aggregation.value != aggregation.source.time:
            return None
        time = aggregation.source.time
        if time is None or (time.column.storage == "timestamptz" and self._clocks_change()):
            return None
        for part in self.having.get(aggregation.source, []):
            if not isinstance(part, ir.Compare):
                continue
            left, right, op = ir.unwrap(part.left), ir.unwrap(part.right), part.op
            if isinstance(left, ir.TimePoint):  # `30d ago < last events`
                left, right, op = right, left, ir.FLIPPED[op]
            if (
                op in (">", ">=")
                and isinstance(left, ir.AggregateRef)
                and left.aggregation == aggregation
                and isinstance(right, ir.TimePoint)
            ):
                return right.anchor, op == ">="
        return None

    def _windows_cover(
        self,
        source: ir.RowSource,
        filters: list[ir.Expr],
        lower: tuple[ir.TimeAnchor, bool] | None,
    ) -> bool:
        """Whether `filters`, each a window on the table's time, together take in every
        row from `lower` (None: the earliest) up to the as-of time (`last 90d` and the
        90 days before it): then the OR of them keeps no fewer rows than the WHERE."""
        time = source.time
        if self.fixed is None or (lower is not None and not isinstance(lower[0], ir.FixedTime)):
            return False  # a moving as-of time: keep the filters, whatever the times
        fixed = self.fixed
        # windows compare wall-clock times here; a DATE column compares dates, and a
        # TIMESTAMPTZ one instants, which a daylight-saving gap puts out of order
        if time is None or time.column.storage in ("date", "timestamptz"):
            return False
        windows = []
        for condition in filters:
            if not (isinstance(condition, ir.InWindow) and condition.operand == time):
                return False
            bounds = condition.bounds
            start = dt.datetime.min if bounds.lower is None else fixed.resolve(bounds.lower)
            end = None if bounds.upper is None else fixed.resolve(bounds.upper)
            inclusive = bounds.lower_inclusive or bounds.lower is None
            windows.append((start, inclusive, end, bounds.upper_inclusive))
        # covered up to `reach` (the moment itself too when its flag is set); a lower end
        # the pushed-down filter leaves out need not be covered
        reach = (dt.datetime.min, False)
        if lower is not None:
            reach = (fixed.resolve(lower[0]), not lower[1])
        for start, inclusive, end, end_inclusive in sorted(windows, key=lambda w: (w[0], not w[1])):
            if start > reach[0] or (start == reach[0] and not (reach[1] or inclusive)):
                return False
            if end is None:
                return True
            reach = max(reach, (end, end_inclusive))
        return reach >= (fixed.wall, True)

    def _window_lower(
        self, condition: ir.Expr | None, time: ir.RowColumn
    ) -> tuple[ir.TimeAnchor, bool] | None:
        for part in ir.and_parts(condition):
            if (
                isinstance(part, ir.InWindow)
                and part.operand == time
                and part.bounds.lower is not None
            ):
                return part.bounds.lower, part.bounds.lower_inclusive
        return None


def _earliest_moving(lowers: list[tuple[ir.TimeAnchor, bool]]) -> tuple[ir.TimeAnchor, bool] | None:
    """The earliest of lower bounds at every as-of time, where that does not depend on
    the as-of time: one anchor, or offsets back from the as-of time in one fixed unit
    (`30d ago` before `7d ago`); else None (no pushed-down filter: the general shape)."""
    anchors = {anchor for anchor, _ in lowers}
    if len(anchors) == 1:
        (anchor,) = anchors
        return anchor, any(incl for _, incl in lowers)
    offsets = [a for a in anchors if isinstance(a, ir.AsOfOffset)]
    if len(offsets) != len(anchors) or len({a.duration.unit for a in offsets}) != 1:
        return None
    earliest = max(offsets, key=lambda a: a.duration.amount)
    return earliest, any(incl for anchor, incl in lowers if anchor == earliest)


def _factor_filters(filters: list[ir.Expr | None]) -> tuple[list[ir.Expr], list[ir.Expr | None]]:
    """(conjuncts every filter shares, what remains of each filter)."""
    parts = [list(ir.and_parts(f)) for f in filters]
    common = [c for c in parts[0] if all(c in other for other in parts[1:])] if parts else []
    residuals: list[ir.Expr | None] = []
    for own in parts:
        rest = [c for c in own if c not in common]
        residuals.append(None if not rest else rest[0] if len(rest) == 1 else ir.And(tuple(rest)))
    return common, residuals
