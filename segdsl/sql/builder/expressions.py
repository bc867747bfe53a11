"""IR expressions → SQL expressions (values, conditions, constants, splits)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import assert_never

from sqlglot import exp

from segdsl import ir
from segdsl import types as t
from segdsl.plan import KEY
from segdsl.sql.builder.common import (
    _BINARY,
    FALSE,
    TRUE,
    _and,
    _case,
    _coalesce,
    _col,
    _num,
    _or,
    _paren,
)
from segdsl.sql.builder.windows import Windows


class Expressions(Windows):
    """One IR expression as one SQL expression."""

    def row(self, source: ir.RowSource, column: ir.RowColumn) -> exp.Expr:
        """A row-level column as a language value (times as wall-clock)."""
        raw = _col(column.column.name, self._hop_alias(source, column.hop))
        return self.canonical(raw, column.column)

    def canonical(self, raw: exp.Expr, column: ir.Column) -> exp.Expr:
        if column.storage == "timestamptz":
            return self.dialect.wall_clock(raw, self.as_of.zone.key)
        return raw

    def condition(self, expr: ir.Expr, source: ir.RowSource | None = None) -> exp.Expr:
        """A boolean that may be NULL where a value is missing (NULL acts as false)."""
        return self.sql(expr, source)

    def value(self, expr: ir.Expr, source: ir.RowSource | None = None) -> exp.Expr:
        """A value; conditions become two-valued TRUE/FALSE."""
        node = self.sql(expr, source)
        if expr.type.kind is t.Kind.BOOLEAN and not _never_null(expr):
            return _coalesce(node, FALSE)
        return node

    def sql(self, expr: ir.Expr, source: ir.RowSource | None) -> exp.Expr:
        match expr:
            case ir.Const():
                return self.const(expr)
            case ir.TimePoint(anchor=anchor):
                return self._wall_at(anchor)
            case ir.EntityColumn(attribute=attribute):
                if attribute not in self.plan.aliases:  # the entity key
                    return _col(KEY)
                return _col(self.plan.aliases[attribute])
            case ir.RowColumn():
                assert source is not None, "row column outside an aggregation"
                return self.row(source, expr)
            case ir.ToTimestamp(operand=operand):
                return self.dialect.date_to_wall(self.sql(operand, source))
            case ir.Arith(op=op, left=left, right=right):
                lhs, rhs = _paren(self.sql(left, source)), _paren(self.sql(right, source))
                if op == "/":
                    return exp.Div(
                        this=self.dialect.to_double(lhs),
                        expression=exp.Nullif(this=rhs, expression=_num(0)),
                    )
                return _BINARY[op](this=lhs, expression=rhs)
            case ir.Negate(operand=operand):
                return exp.Neg(this=_paren(self.sql(operand, source)))
            case ir.Compare(op=op, left=left, right=right):
                return self.compare(op, left, right, source)
            case ir.And(items=items):
                return _and([self.sql(item, source) for item in items])
            case ir.Or(items=items):
                return _or([self.sql(item, source) for item in items])
            case ir.Not(operand=operand):
                return exp.Not(this=_paren(self.value(operand, source)))
            case ir.IsPresent(operand=operand, present=present):
                missing = exp.Is(this=self.sql(operand, source), expression=exp.Null())
                return exp.Not(this=missing) if present else missing
            case ir.InList(operand=operand, items=items):
                return exp.In(
                    this=self.sql(operand, source), expressions=[self.const(i) for i in items]
                )
            case ir.TextMatch(op=op, operand=operand, pattern=pattern):
                return self.text_match(op, self.sql(operand, source), self.sql(pattern, source))
            case ir.InWindow(operand=operand, bounds=bounds):
                return self.in_window(operand, bounds, source)
            case ir.DatePart(part=part, operand=operand):
                return self.dialect.date_part(part, self.sql(operand, source))
            case ir.TruncateTime(unit=unit, operand=operand):
                return self.dialect.truncate(unit, self.sql(operand, source))
            case ir.Age(operand=operand):
                return self.age(self.sql(operand, source))
            case ir.Function(name=name, args=args):
                rendered = [self.sql(arg, source) for arg in args]
                if name == "coalesce":
                    return _coalesce(rendered[0], rendered[1])
                functions = {
                    "lower": exp.Lower,
                    "upper": exp.Upper,
                    "length": exp.Length,
                    "abs": exp.Abs,
                    "floor": exp.Floor,
                    "ceil": exp.Ceil,
                }
                if len(args) == 2:
                    return self.rounded(name, rendered[0], args[1])
                if name == "round":
                    return self.dialect.round_half_away(_paren(rendered[0]))
                return functions[name](this=rendered[0])
            case ir.Elapsed(start=start, end=end):
                if not self._clocks_change():
                    return self.dialect.seconds_between(
                        self.sql(start, source), self.sql(end, source)
                    )
                return self.dialect.seconds_between(
                    self._instant_wall(start, source), self._instant_wall(end, source)
                )
            case ir.AddDuration(operand=operand, duration=duration):
                if not self._is_elapsed(duration):
                    return self.dialect.add_duration(_paren(self.sql(operand, source)), duration)
                utc = _paren(self._instant_wall(operand, source))
                instant = self.dialect.to_instant(
                    _paren(self.dialect.add_duration(utc, duration)), "UTC"
                )
                return self.dialect.wall_clock(instant, self.as_of.zone.key)
            case ir.Case(whens=whens, default=default):
                case = exp.Case(
                    ifs=[
                        exp.If(this=self.sql(c, source), true=self.sql(v, source)) for c, v in whens
                    ]
                )
                case.set("default", self.sql(default, source))
                return case
            case ir.AggregateRef(aggregation=aggregation):
                if self._inline_aggregates is not None:
                    return self._inline_aggregates[aggregation].copy()
                return _col(self.plan.aliases[aggregation])
            case ir.TableFigure():
                return self.table_figure(expr)
            case ir.SequenceRef(sequence=sequence):
                return _col(self.plan.aliases[sequence])
            case ir.PopulationRef(spec=spec):
                return _col(self.plan.aliases[spec])
            case ir.SplitRef(split=split):
                return self.split(split)
            case ir.Named(expr=inner):
                return self.sql(inner, source)
            case ir.Invalid():
                raise AssertionError("invalid IR reached SQL generation")
            case _:
                assert_never(expr)

    def rounded(self, name: str, value: exp.Expr, digits: ir.Expr) -> exp.Expr:
        """`round(x, d)` (halves away from zero), `floor(x, d)`, `ceil(x, d)`: x scaled by
        10^d in its own type (exact for decimals), rounded to a whole number, scaled back
        as a double; a negative d divides, as a double, by 10^-d and multiplies back."""
        assert isinstance(digits, ir.Const) and isinstance(digits.value, int | Decimal)
        places = int(digits.value)
        scale = _num(10 ** abs(places))

        def whole(number: exp.Expr) -> exp.Expr:
            if name == "round":
                return self.dialect.round_half_away(_paren(number))
            return (exp.Floor if name == "floor" else exp.Ceil)(this=number)

        if places == 0:
            return whole(value)
        if places > 0:
            scaled = exp.Mul(this=_paren(value), expression=scale)
            return exp.Div(this=self.dialect.to_double(whole(scaled)), expression=scale.copy())
        shrunk = exp.Div(this=self.dialect.to_double(value), expression=scale)
        return exp.Mul(this=_paren(whole(shrunk)), expression=scale.copy())

    def const(self, const: ir.Const) -> exp.Expr:
        value = const.value
        if value is None:
            return exp.Null()
        if isinstance(value, bool):
            return TRUE if value else FALSE
        if isinstance(value, (int, float, Decimal)):
            return _num(value)
        if isinstance(value, str):
            return exp.Literal.string(value)
        if isinstance(value, dt.datetime):
            return self.dialect.wall_literal(value)
        if isinstance(value, dt.date):
            return self.dialect.date_literal(value)
        if isinstance(value, ir.DurationValue):
            return _num(value.seconds)
        assert_never(value)

    def compare(
        self, op: str, left: ir.Expr, right: ir.Expr, source: ir.RowSource | None
    ) -> exp.Expr:
        lhs = (
            self.value(left, source) if left.type.kind is t.Kind.BOOLEAN else self.sql(left, source)
        )
        rhs = (
            self.value(right, source)
            if right.type.kind is t.Kind.BOOLEAN
            else self.sql(right, source)
        )
        if isinstance(lhs, (exp.Connector, exp.Not)):
            lhs = exp.Paren(this=lhs)
        if isinstance(rhs, (exp.Connector, exp.Not)):
            rhs = exp.Paren(this=rhs)
        if op in ("<", "<=", ">", ">=") and t.Kind.STRING in (left.type.kind, right.type.kind):
            lhs, rhs = self.dialect.text_order(lhs), self.dialect.text_order(rhs)
        return _BINARY[op](this=lhs, expression=rhs)

    def text_match(self, op: str, text: exp.Expr, pattern: exp.Expr) -> exp.Expr:
        if op == "contains":
            position = self.dialect.text_position(_paren(text), pattern)
            return exp.GT(this=position, expression=_num(0))
        side = "LEFT" if op == "starts_with" else "RIGHT"
        prefix = exp.Anonymous(
            this=side, expressions=[_paren(text), exp.Length(this=pattern.copy())]
        )
        return exp.EQ(this=prefix, expression=pattern)

    def age(self, birth: exp.Expr) -> exp.Expr:
        def part(name: str, value: exp.Expr = birth) -> exp.Expr:
            return exp.Extract(this=exp.var(name), expression=value.copy())

        if self.fixed is not None:
            date = self.fixed.date
            year, month, day = _num(date.year), _num(date.month), _num(date.day)
        else:  # a moving as-of time: the parts of its date
            assert self.clock is not None
            today = self.clock.today()
            year, month, day = part("YEAR", today), part("MONTH", today), part("DAY", today)
        later_month = exp.GT(this=part("MONTH"), expression=month)
        same_month_later_day = exp.And(
            this=exp.EQ(this=part("MONTH"), expression=month.copy()),
            expression=exp.GT(this=part("DAY"), expression=day),
        )
        not_yet = _case(_or([later_month, same_month_later_day]), _num(1), _num(0))
        return exp.Sub(this=exp.Sub(this=year, expression=part("YEAR")), expression=_paren(not_yet))

    def split(self, split: ir.SplitSpec) -> exp.Expr:
        text = exp.DPipe(
            this=exp.Literal.string(f"{split.seed}:"), expression=self.dialect.to_text(_col(KEY))
        )
        bucket = self.dialect.hash_bucket(text, 10_000)
        ifs = [
            exp.If(
                this=exp.LT(this=bucket.copy(), expression=_num(bound)),
                true=exp.Literal.string(label),
            )
            for label, bound in zip(split.labels, split.upper_bounds, strict=True)
        ]
        labelled = exp.Case(ifs=ifs)
        if split.population is None:
            return labelled
        return _case(self.condition(split.population), labelled)


def _never_null(expr: ir.Expr) -> bool:
    """Booleans that SQL already computes as TRUE/FALSE for every entity."""
    inner = ir.unwrap(expr)
    if isinstance(inner, ir.AggregateRef):
        return inner.aggregation.func == "exists"
    if isinstance(inner, (ir.SequenceRef, ir.IsPresent)):
        return True
    if isinstance(inner, ir.PopulationRef):
        return inner.spec.func in ("top", "bottom")
    if isinstance(inner, ir.Not):
        return True
    if isinstance(inner, ir.Const):
        return inner.value is not None
    return False
