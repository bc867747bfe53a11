"""Ranking layers: window functions over the population, and one-row
population aggregates."""

from __future__ import annotations

from sqlglot import exp

from segdsl import ir
from segdsl.plan import KEY, POPULATION_AGGREGATES, always_ranked
from segdsl.sql.builder.common import (
    _AGGREGATES,
    FALSE,
    STEP,
    _and,
    _coalesce,
    _col,
    _join,
    _num,
)
from segdsl.sql.builder.cuts import Cut
from segdsl.sql.builder.expressions import Expressions


class Rankings(Expressions):
    """One `ranked_N` CTE per layer, with its ranking and population-aggregate CTEs."""

    def _ranking_layer(
        self, name: str, layer: list[tuple[str, ir.PopulationSpec]], *, last: bool
    ) -> exp.Select:
        """Rankings over just their members (narrow rows sort fast), joined back; or, when
        every member is in every ranking, joined with each other, the first carrying the
        columns the members read. Rankings of the same members share one CTE where the
        dialect prefers fewer joins to parallel sorts."""
        previous = self.relation
        aggregates = [(alias, spec) for alias, spec in layer if spec.func in POPULATION_AGGREGATES]
        ranked: dict[str, list[tuple[str, ir.PopulationSpec]]] = {}  # CTE → its rankings
        by_members: dict[tuple[exp.Expr, ...], str] = {}  # members → the CTE ranking them
        for alias, spec in layer:
            if spec.func in POPULATION_AGGREGATES:
                continue
            cte = f"{alias}_ranking"
            if self.dialect.share_ranking_ctes and spec not in self.cuts:  # a cut: its own
                cte = by_members.setdefault(tuple(self._ranking_members(spec)), cte)
            ranked.setdefault(cte, []).append((alias, spec))
        # a shared CTE is named after its first ranking, in the plural (never a single
        # ranking's name: those end in `_ranking`)
        ranked = {cte + ("s" if len(specs) > 1 else ""): specs for cte, specs in ranked.items()}
        carried = self.carried if last else None
        base = next(iter(ranked)) if carried is not None else previous
        for cte, specs in ranked.items():
            own = carried if carried is not None and cte == base else []
            if specs[0][1] in self.cuts:
                (alias, spec), cut = specs[0], self.cuts[specs[0][1]]
                self.ctes.append((cte, self._cut(alias, spec, cut, previous, own)))
            else:
                self.ctes.append((cte, self._ranking(specs, previous, own)))
        if carried is not None:
            columns: list[exp.Expr] = [_col(KEY, base)]
            columns += [exp.alias_(_col(c, base), c, quoted=True, copy=False) for c in carried]
            select = exp.select(*columns)
        else:
            select = exp.select(
                exp.Column(this=exp.Star(), table=exp.to_identifier(previous, quoted=True))
            )
        if len(layer) - len(aggregates) > 1 and any(cte != base for cte in ranked):
            self.materialized_layers.add(name)  # joins several rankings
        select = select.from_(exp.to_identifier(base, quoted=True), copy=False)
        for cte, specs in ranked.items():
            for alias, spec in specs:
                value: exp.Expr = _col(alias, cte)
                if spec.func in ("top", "bottom"):
                    value = _coalesce(value, FALSE)
                select = select.select(
                    exp.alias_(value, alias, quoted=True, copy=False), copy=False
                )
            if cte != base:
                required = all(spec in self.required for _, spec in specs)
                side = "INNER" if last and required else "LEFT"
                relation = exp.to_identifier(cte, quoted=True)
                also = self._same_step(cte, base)
                _join(select, relation, _col(KEY, cte), _col(KEY, base), side=side, also=also)
        if last and self.late_attributes:
            # the stand-in population's members all have their row in the entity table;
            # joined in a materialised layer (where the dialect wants one): Postgres
            # otherwise applies the members' `r_score = 5` first, expects one row, and
            # joins an entity table without an index on its key by nested loops
            # (moscow_champions at 50k customers: 9.9 s instead of 0.4 s)
            self.materialized_layers.add(name)
            entity = self.entity
            alias = "__entity"  # never a CTE's name, in any case
            _join(
                select,
                self._warehouse_table(entity.source, alias),
                _col(entity.key.name, alias),
                _col(KEY, base),
                side="INNER",
            )
            for name, column in self.late_attributes.items():
                value = self.canonical(_col(column.name, alias), column)
                select = select.select(exp.alias_(value, name, quoted=True, copy=False), copy=False)
        for alias, spec in aggregates:  # one row each: cross-joined
            cte = f"{alias}_ranking"
            self.ctes.append((cte, self._population_aggregate(spec, previous)))
            value = _col("value", cte)
            if spec.func in ("count", "sum"):
                value = _coalesce(value, _num(0))
            select = select.select(exp.alias_(value, alias, quoted=True, copy=False), copy=False)
            relation = exp.to_identifier(cte, quoted=True)
            if self.steps is None:
                select.append("joins", exp.Join(this=relation, kind="CROSS"))
            else:  # a trend: one row per step (steps without members have none)
                on = self._same_step(cte, base)
                assert on is not None
                select.append("joins", exp.Join(this=relation, on=on, side="LEFT"))
        return select

    def _same_step(self, left: str, right: str) -> exp.Expr | None:
        """In a trend, `left.step = right.step` (a ranking is of one step's population)."""
        if self.steps is None:
            return None
        return exp.EQ(this=_col(STEP, left), expression=_col(STEP, right))

    def _step_partition(self) -> list[exp.Expr]:
        """In a trend, the step column: rankings are partitioned and grouped by it."""
        return [] if self.steps is None else [_col(STEP)]

    def _ranking_members(self, spec: ir.PopulationSpec) -> list[exp.Expr]:
        """Who takes part in a ranking: its population, with a value to rank."""
        members: list[exp.Expr] = []
        if spec.population is not None and spec not in self.whole_populations:
            members.append(self.condition(spec.population))
        if not always_ranked(spec):
            members.append(exp.Not(this=exp.Is(this=self.value(spec.value), expression=exp.Null())))
        return members

    def _population_aggregate(self, spec: ir.PopulationSpec, relation: str) -> exp.Select:
        """One value over the population (`avg revenue among buyers`)."""
        value = self.value(spec.value)
        aggregate = (
            exp.Count(this=exp.Star())
            if spec.func == "count"
            else _AGGREGATES[spec.func](this=value)
        )
        steps = self._step_partition()
        select = exp.select(*steps, exp.alias_(aggregate, "value", quoted=True, copy=False))
        select = select.from_(exp.to_identifier(relation, quoted=True), copy=False)
        if steps:
            select = select.group_by(*(step.copy() for step in steps), copy=False)
        members = self._ranking_members(spec)
        return select.where(_and(members), copy=False) if members else select

    def _ranking(
        self, specs: list[tuple[str, ir.PopulationSpec]], relation: str, carried: list[str]
    ) -> exp.Select:
        """The members of the rankings' population (the same for all of `specs`) with
        their ranks, one column per ranking, and the `carried` columns of `relation`."""
        columns: list[exp.Expr] = [_col(KEY), *self._step_partition()]
        columns += [_col(name) for name in carried]
        for alias, spec in specs:
            columns.append(exp.alias_(self._rank(spec), alias, quoted=True, copy=False))
        select = exp.select(*columns).from_(exp.to_identifier(relation, quoted=True), copy=False)
        members = self._ranking_members(specs[0][1])
        return select.where(_and(members), copy=False) if members else select

    def _cut(
        self, alias: str, spec: ir.PopulationSpec, cut: Cut, relation: str, carried: list[str]
    ) -> exp.Select:
        """The members in a ranking that only filters (see `cuts.py`): the first rows of
        its order, `alias` TRUE for each, and the `carried` columns of `relation`."""
        value, key = self.value(spec.value), _col(KEY)
        members = self._ranking_members(spec)
        # the same orders as the window functions' (`_rank`), or their exact reverse
        if spec.func == "top" or cut.from_bucket is not None:
            by_value = exp.Ordered(this=value, desc=True, nulls_first=False)
        else:
            by_value = exp.Ordered(this=value, desc=False, nulls_first=True)
        if cut.from_bucket is not None:
            by_key = exp.Ordered(this=key.copy(), desc=True, nulls_first=False)
        else:
            by_key = exp.Ordered(this=key.copy(), desc=False, nulls_first=True)
        size = _col("size")
        if spec.func == "ntile":
            assert spec.buckets is not None
            buckets = _num(spec.buckets)
            # NTILE(b) over n rows: buckets 1 … n mod b hold q + 1 rows (q = n div b), the
            # rest q; so buckets 1 … k hold k·q + least(n mod b, k) rows
            q = exp.IntDiv(this=size.copy(), expression=buckets)
            r = exp.Mod(this=size.copy(), expression=buckets.copy())

            def first(k: int) -> exp.Expr:
                if k == 0:
                    return _num(0)
                return exp.Add(
                    this=exp.Mul(this=_num(k), expression=exp.Paren(this=q.copy())),
                    expression=exp.Least(this=exp.Paren(this=r.copy()), expressions=[_num(k)]),
                )

            kept: exp.Expr
            if cut.from_bucket == spec.buckets:  # the last bucket: q rows
                kept = q
            elif cut.from_bucket is not None:
                kept = exp.Sub(
                    this=size.copy(), expression=exp.Paren(this=first(cut.from_bucket - 1))
                )
            else:
                assert cut.to_bucket is not None
                kept = first(cut.to_bucket)
        elif spec.count is not None:
            kept = _num(spec.count)
        else:
            # `(row − 1)·den < num·n` holds for the first ⌈num·n / den⌉ rows
            assert spec.fraction is not None
            numerator, denominator = spec.fraction.as_integer_ratio()
            kept = exp.IntDiv(
                this=exp.Paren(
                    this=exp.Add(
                        this=size.copy()
                        if numerator == 1
                        else exp.Mul(this=_num(numerator), expression=size.copy()),
                        expression=_num(denominator - 1),
                    )
                ),
                expression=_num(denominator),
            )
        columns: list[exp.Expr] = [key, *(_col(name) for name in carried)]
        columns.append(exp.alias_(exp.true(), alias, quoted=True, copy=False))
        select = exp.select(*columns).from_(exp.to_identifier(relation, quoted=True), copy=False)
        if members:
            select = select.where(_and(members), copy=False)
        select = select.order_by(by_value, by_key, copy=False)
        if isinstance(kept, exp.Literal):
            return select.limit(kept, copy=False)
        counted = exp.select(exp.alias_(exp.Count(this=exp.Star()), "size", quoted=True))
        counted = counted.from_(exp.to_identifier(relation, quoted=True), copy=False)
        if members:
            counted = counted.where(_and(self._ranking_members(spec)), copy=False)
        limit = exp.select(exp.cast(kept, exp.DataType.Type.BIGINT, copy=False))
        limit = limit.from_(counted.subquery("members", copy=False), copy=False)
        return select.limit(limit.subquery(copy=False), copy=False)

    def _rank(self, spec: ir.PopulationSpec) -> exp.Expr:
        """A ranking's window expression over its members."""
        value = self.value(spec.value)
        key = _col(KEY)
        func = spec.func

        def window(node: exp.Expr, *order: exp.Ordered, frame: bool = False) -> exp.Window:
            spec_node = exp.Window(this=node)
            if self.steps is not None:  # a trend: each step's population its own
                spec_node.set("partition_by", self._step_partition())
            if order:
                spec_node.set("order", exp.Order(expressions=list(order)))
            if frame:
                spec_node.set(
                    "spec",
                    exp.WindowSpec(
                        kind="ROWS", start="UNBOUNDED", start_side="PRECEDING", end="CURRENT ROW"
                    ),
                )
            return spec_node

        # NULLs never reach these orderings; stating BigQuery's default keeps sqlglot quiet
        ascending = exp.Ordered(this=value.copy(), desc=False, nulls_first=True)
        descending = exp.Ordered(this=value.copy(), desc=True, nulls_first=False)
        by_key = exp.Ordered(this=key, desc=False, nulls_first=True)
        ranked: exp.Expr
        if func == "ntile":
            assert spec.buckets is not None
            ntile = exp.Anonymous(this="NTILE", expressions=[_num(spec.buckets)])
            ranked = window(ntile, ascending, by_key.copy())
        elif func == "percentile":
            ranked = window(exp.Anonymous(this="PERCENT_RANK", expressions=[]), ascending)
        elif func == "cumulative_share":
            running = window(exp.Sum(this=value.copy()), descending, by_key.copy(), frame=True)
            total = window(exp.Sum(this=value.copy()))
            ranked = exp.Div(
                this=self.dialect.to_double(running),
                expression=exp.Nullif(this=self.dialect.to_double(total), expression=_num(0)),
            )
        else:  # top / bottom
            order = descending if func == "top" else ascending
            row_number = window(exp.RowNumber(), order, by_key.copy())
            if spec.count is not None:
                ranked = exp.LTE(this=row_number, expression=_num(spec.count))
            else:
                assert spec.fraction is not None
                numerator, denominator = spec.fraction.as_integer_ratio()
                ranked = exp.LT(
                    this=exp.Mul(
                        this=exp.Paren(this=exp.Sub(this=row_number, expression=_num(1))),
                        expression=_num(denominator),
                    ),
                    expression=exp.Mul(
                        this=_num(numerator), expression=window(exp.Count(this=exp.Star()))
                    ),
                )
        return ranked
