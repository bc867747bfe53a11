"""Small pieces every part of the query builder uses: quoted columns, numbers,
AND/OR chains, CASE, joins, table references."""

from __future__ import annotations

from decimal import Decimal

from sqlglot import exp

from segdsl import ir
from segdsl import types as t

TRUE = exp.true()
FALSE = exp.false()
UP_TO_AS_OF = ir.Bounds(None, False, ir.AsOfOffset(ir.DurationValue(0, "s")), True)
NOT_JOINED = ""  # the "CTE" of a table anti-joined instead of aggregated
# entity key types a table's link can stand in for, as SQL types (see `stand_in`)
KEY_TYPES = {t.INTEGER: exp.DataType.Type.BIGINT, t.STRING: exp.DataType.Type.TEXT}
# a trend query (`QueryBuilder(steps=…)`): the as-of time of each step, in the spine
# `steps` and in `population` (`STEP`), and carried by each CTE that reads rows (`STEP_OF`)
STEP = "__as_of"
STEP_OF = "__step"
STEPS = "steps"
WAREHOUSE = "warehouse"  # the meta mark of a warehouse table (not a CTE) in a query
GROUPS_STEP = "__groups_as_of"  # in a trend, the step of a grouped table's rows


def _col(name: str, table: str | None = None) -> exp.Column:
    column = exp.Column(this=exp.Identifier(this=name, quoted=True))
    if table is not None:
        column.set("table", exp.Identifier(this=table, quoted=True))
    return column


def _num(value: int | Decimal | float) -> exp.Expr:
    if isinstance(value, Decimal) and value == value.to_integral_value():
        value = int(value)
    literal = exp.Literal.number(str(abs(value)))
    return exp.Neg(this=literal) if value < 0 else literal


_ARITHMETIC = (exp.Add, exp.Sub, exp.Mul, exp.Div, exp.Mod, exp.DPipe)
_BINARY: dict[str, type[exp.Binary]] = {
    "+": exp.Add,
    "-": exp.Sub,
    "*": exp.Mul,
    "=": exp.EQ,
    "!=": exp.NEQ,
    "<": exp.LT,
    "<=": exp.LTE,
    ">": exp.GT,
    ">=": exp.GTE,
}
_AGGREGATES: dict[str, type[exp.Func]] = {
    "count": exp.Count,
    "sum": exp.Sum,
    "avg": exp.Avg,
    "min": exp.Min,
    "max": exp.Max,
}


def _paren(node: exp.Expr) -> exp.Expr:
    """Parenthesise an operand whose own operator could bind less tightly."""
    if isinstance(node, (*_ARITHMETIC, exp.Connector, exp.Not)):
        return exp.Paren(this=node)
    return node


def _and(items: list[exp.Expr]) -> exp.Expr:
    if not items:
        return TRUE
    wrap = [exp.Paren(this=i) if isinstance(i, exp.Or) else i for i in items]
    result = wrap[0]
    for item in wrap[1:]:
        result = exp.And(this=result, expression=item)
    return result


def _and_once(items: list[exp.Expr]) -> exp.Expr:
    """`_and` with each conjunct once: a table's as-of cap and window bounds often repeat."""
    return _and(list(dict.fromkeys(part for item in items for part in _conjuncts_of(item))))


def _conjuncts_of(expression: exp.Expr) -> list[exp.Expr]:
    if isinstance(expression, exp.And):
        return [*_conjuncts_of(expression.this), *_conjuncts_of(expression.expression)]
    return [expression]


def _or(items: list[exp.Expr]) -> exp.Expr:
    result = items[0]
    for item in items[1:]:
        result = exp.Or(this=result, expression=item)
    return result


def _case(condition: exp.Expr, then: exp.Expr, default: exp.Expr | None = None) -> exp.Case:
    case = exp.Case(ifs=[exp.If(this=condition, true=then)])
    if default is not None:
        case.set("default", default)
    return case


def _join(
    select: exp.Select,
    relation: exp.Expr,
    left: exp.Expr,
    right: exp.Expr,
    *,
    side: str,
    also: exp.Expr | None = None,
) -> None:
    """Attach `JOIN relation ON left = right [AND also]` (built directly: the string API
    would parse)."""
    condition: exp.Expr = exp.EQ(this=left, expression=right.copy())
    if also is not None:
        condition = exp.And(this=condition, expression=also)
    select.append("joins", exp.Join(this=relation, on=condition, side=side))


def _coalesce(value: exp.Expr, default: exp.Expr) -> exp.Expr:
    return exp.Coalesce(this=value, expressions=[default])


def table_ref(path: tuple[str, ...], alias: str) -> exp.Table:
    """The warehouse table at `path` (`catalog.db.table`), quoted, under `alias`."""
    parts = [exp.to_identifier(part, quoted=True) for part in path]
    table = exp.Table(this=parts[-1])
    table.meta[WAREHOUSE] = True
    if len(parts) >= 2:
        table.set("db", parts[-2])
    if len(parts) >= 3:
        table.set("catalog", parts[-3])
    return exp.alias_(table, alias, quoted=True, copy=False)  # type: ignore[return-value]
