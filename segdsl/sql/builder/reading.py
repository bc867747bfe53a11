"""Which rows of a related table a query reads: joined hops, the as-of cap,
the candidates semi-join and the widest window its aggregates count."""

from __future__ import annotations

import datetime as dt
import itertools

from sqlglot import exp

from segdsl import ir
from segdsl.plan import KEY, internal_name
from segdsl.sql.builder.common import UP_TO_AS_OF, _col, _or, table_ref
from segdsl.sql.builder.expressions import Expressions


class Reading(Expressions):
    """The FROM and WHERE of every read of a related table."""

    def _source_cte_name(self, source: ir.RowSource) -> str:
        return internal_name("t", len(self.source_ctes) + 1, source.name)

    def _from_source(self, source: ir.RowSource) -> tuple[exp.Select, exp.Expr]:
        """SELECT … FROM the joined hops; returns it and the entity key expression."""
        hops = source.hops
        alias = self._table_alias
        select = exp.select().from_(table_ref(hops[0].source, alias(hops[0].table)), copy=False)
        for child, parent in itertools.pairwise(hops):
            assert child.parent_key is not None
            on = exp.EQ(
                this=_col(child.link, alias(child.table)),
                expression=_col(child.parent_key, alias(parent.table)),
            )
            parent_table = table_ref(parent.source, alias(parent.table))
            select.append("joins", exp.Join(this=parent_table, on=on, kind="INNER"))
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
            bounds = ir.Bounds(ir.FixedTime(widest[0]), widest[1], None, False)
            filters.append(self.in_window(source.time, bounds, source))
        filters += [self.condition(part, source) for part in common]
        if residuals and all(r is not None for r in residuals):
            distinct = [r for r in dict.fromkeys(residuals) if r is not None]
            if not self._windows_cover(source, distinct, widest):
                filters.append(_or([self.condition(r, source) for r in distinct]))
        return filters

    def _widest_lower(
        self, source: ir.RowSource, aggregations: list[tuple[str, ir.Aggregation]]
    ) -> tuple[dt.datetime, bool] | None:
        """The lower end (time, inclusive) of the widest window every aggregation of this
        table lies in: the WHERE filter pushed down to the scan."""
        if source.time is None:
            return None
        lowers: list[tuple[dt.datetime, bool]] = []
        for _, aggregation in aggregations:
            lower = self._window_lower(aggregation.filter, source.time)
            if lower is None:
                return None
            lowers.append(lower)
        if not lowers:
            return None
        earliest = min(value for value, _ in lowers)
        return earliest, any(incl for value, incl in lowers if value == earliest)

    def _windows_cover(
        self,
        source: ir.RowSource,
        filters: list[ir.Expr],
        lower: tuple[dt.datetime, bool] | None,
    ) -> bool:
        """Whether `filters`, each a window on the table's time, together take in every
        row from `lower` (None: the earliest) up to the as-of time (`last 90d` and the
        90 days before it): then the OR of them keeps no fewer rows than the WHERE."""
        time = source.time
        # windows compare wall-clock times here; a DATE column compares dates, and a
        # TIMESTAMPTZ one instants, which a daylight-saving gap puts out of order
        if time is None or time.column.storage in ("date", "timestamptz"):
            return False
        windows = []
        for condition in filters:
            if not (isinstance(condition, ir.InWindow) and condition.operand == time):
                return False
            bounds = condition.bounds
            start = dt.datetime.min if bounds.lower is None else self.as_of.resolve(bounds.lower)
            end = None if bounds.upper is None else self.as_of.resolve(bounds.upper)
            inclusive = bounds.lower_inclusive or bounds.lower is None
            windows.append((start, inclusive, end, bounds.upper_inclusive))
        # covered up to `reach` (the moment itself too when its flag is set); a lower end
        # the pushed-down filter leaves out need not be covered
        reach = (dt.datetime.min, False) if lower is None else (lower[0], not lower[1])
        for start, inclusive, end, end_inclusive in sorted(windows, key=lambda w: (w[0], not w[1])):
            if start > reach[0] or (start == reach[0] and not (reach[1] or inclusive)):
                return False
            if end is None:
                return True
            reach = max(reach, (end, end_inclusive))
        return reach >= (self.as_of.wall, True)

    def _window_lower(
        self, condition: ir.Expr | None, time: ir.RowColumn
    ) -> tuple[dt.datetime, bool] | None:
        for part in ir.and_parts(condition):
            if (
                isinstance(part, ir.InWindow)
                and part.operand == time
                and part.bounds.lower is not None
            ):
                return self.as_of.resolve(part.bounds.lower), part.bounds.lower_inclusive
        return None


def _factor_filters(filters: list[ir.Expr | None]) -> tuple[list[ir.Expr], list[ir.Expr | None]]:
    """(conjuncts every filter shares, what remains of each filter)."""
    parts = [list(ir.and_parts(f)) for f in filters]
    common = [c for c in parts[0] if all(c in other for other in parts[1:])] if parts else []
    residuals: list[ir.Expr | None] = []
    for own in parts:
        rest = [c for c in own if c not in common]
        residuals.append(None if not rest else rest[0] if len(rest) == 1 else ir.And(tuple(rest)))
    return common, residuals
