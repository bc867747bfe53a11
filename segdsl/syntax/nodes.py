"""The abstract syntax tree: frozen dataclasses, each with a source span.

Spans take no part in equality, so a tree printed and parsed again compares equal
to the original. Nothing here knows about names, types or SQL.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal, TypeAlias

from segdsl.source import NO_SPAN, Span


def _span() -> Span:
    return field(default=NO_SPAN, compare=False, repr=False, kw_only=True)


@dataclass(frozen=True)
class Ident:
    """A name as written (backticks removed)."""

    text: str
    span: Span = _span()


@dataclass(frozen=True)
class Comment:
    text: str  # including the leading '#'
    span: Span = _span()


# ------------------------------------------------------------------ literals
@dataclass(frozen=True)
class NumberLit:
    value: Decimal
    span: Span = _span()


@dataclass(frozen=True)
class PercentLit:
    """`80%`; `value` is the number before the percent sign (80)."""

    value: Decimal
    span: Span = _span()


@dataclass(frozen=True)
class StringLit:
    value: str
    span: Span = _span()


@dataclass(frozen=True)
class BoolLit:
    value: bool
    span: Span = _span()


@dataclass(frozen=True)
class DateLit:
    value: dt.date
    span: Span = _span()


@dataclass(frozen=True)
class TimestampLit:
    """A timestamp literal; `value` is aware when the literal had a zone (Z or an offset)."""

    value: dt.datetime
    span: Span = _span()


DurationUnit = Literal["s", "min", "h", "d", "w", "mo", "y"]


@dataclass(frozen=True)
class DurationLit:
    amount: int
    unit: DurationUnit
    span: Span = _span()


Literal_: TypeAlias = (
    NumberLit | PercentLit | StringLit | BoolLit | DateLit | TimestampLit | DurationLit
)


# ------------------------------------------------------------------ windows
@dataclass(frozen=True)
class DatePoint:
    value: dt.date
    span: Span = _span()


@dataclass(frozen=True)
class TimestampPoint:
    value: dt.datetime
    span: Span = _span()


@dataclass(frozen=True)
class AgoPoint:
    duration: Duration
    span: Span = _span()


@dataclass(frozen=True)
class PeriodPoint:
    """The start of `this month` or `previous year`."""

    which: Literal["this", "previous"]
    unit: Ident
    span: Span = _span()


@dataclass(frozen=True)
class NamePoint:
    """A parameter holding a date or timestamp."""

    name: Ident
    span: Span = _span()


@dataclass(frozen=True)
class ValuePoint:
    """Any time-valued expression as a point of a window after `in`: `signed_up_at + 24h`."""

    value: Expr
    span: Span = _span()


Point: TypeAlias = DatePoint | TimestampPoint | AgoPoint | PeriodPoint | NamePoint | ValuePoint
Duration: TypeAlias = DurationLit | Ident


@dataclass(frozen=True)
class LastWindow:
    duration: Duration
    span: Span = _span()


@dataclass(frozen=True)
class LastCalendarWindow:
    count: int
    unit: Ident
    span: Span = _span()


@dataclass(frozen=True)
class PeriodWindow:
    which: Literal["this", "previous"]
    unit: Ident
    span: Span = _span()


@dataclass(frozen=True)
class BetweenAgoWindow:
    start: Duration
    end: Duration
    span: Span = _span()


@dataclass(frozen=True)
class MoreThanAgoWindow:
    duration: Duration
    span: Span = _span()


@dataclass(frozen=True)
class BoundWindow:
    """`before P`, `after P`, `since P`, `until P`."""

    kind: Literal["before", "after", "since", "until"]
    point: Point
    span: Span = _span()


@dataclass(frozen=True)
class FromToWindow:
    start: Point
    end: Point
    span: Span = _span()


Window: TypeAlias = (
    LastWindow
    | LastCalendarWindow
    | PeriodWindow
    | BetweenAgoWindow
    | MoreThanAgoWindow
    | BoundWindow
    | FromToWindow
)


# ------------------------------------------------------------------ expressions
@dataclass(frozen=True)
class Name:
    parts: tuple[Ident, ...]
    span: Span = _span()

    @property
    def dotted(self) -> str:
        return ".".join(part.text for part in self.parts)


@dataclass(frozen=True)
class Call:
    function: Ident
    args: tuple[Expr, ...]
    span: Span = _span()


@dataclass(frozen=True)
class Negate:
    operand: Expr
    span: Span = _span()


ArithOp = Literal["+", "-", "*", "/"]
CompareOp = Literal["=", "!=", "<", "<=", ">", ">="]
TextOp = Literal["contains", "starts_with", "ends_with"]


@dataclass(frozen=True)
class Arith:
    op: ArithOp
    left: Expr
    right: Expr
    span: Span = _span()


@dataclass(frozen=True)
class Compare:
    op: CompareOp
    left: Expr
    right: Expr
    span: Span = _span()


@dataclass(frozen=True)
class Between:
    operand: Expr
    low: Expr
    high: Expr
    negated: bool = False
    span: Span = _span()


@dataclass(frozen=True)
class InList:
    operand: Expr
    items: tuple[Expr, ...]
    negated: bool = False
    span: Span = _span()


@dataclass(frozen=True)
class InWindow:
    operand: Expr
    window: Window
    negated: bool = False
    span: Span = _span()


@dataclass(frozen=True)
class Rank:
    """`revenue in top 10% among buyers`."""

    operand: Expr
    side: Literal["top", "bottom"]
    size: NumberLit | PercentLit | Ident
    among: Expr | None = None
    span: Span = _span()


@dataclass(frozen=True)
class Presence:
    operand: Expr
    present: bool
    span: Span = _span()


@dataclass(frozen=True)
class TextMatch:
    op: TextOp
    operand: Expr
    pattern: Expr
    span: Span = _span()


@dataclass(frozen=True)
class And:
    left: Expr
    right: Expr
    span: Span = _span()


@dataclass(frozen=True)
class Or:
    left: Expr
    right: Expr
    span: Span = _span()


@dataclass(frozen=True)
class Not:
    operand: Expr
    span: Span = _span()


@dataclass(frozen=True)
class TimeSince:
    operand: Expr
    span: Span = _span()


@dataclass(frozen=True)
class TimeBetween:
    start: Expr
    end: Expr
    span: Span = _span()


@dataclass(frozen=True)
class Ago:
    """`30d ago`: the as-of time minus a duration, as a value."""

    duration: Duration
    span: Span = _span()


@dataclass(frozen=True)
class IfThenElse:
    """`if condition then value else other`."""

    condition: Expr
    then: Expr
    otherwise: Expr
    span: Span = _span()


AggregateFunc = Literal[
    "count",
    "sum",
    "avg",
    "min",
    "max",
    "exists",
    "first",
    "last",
    "nth",
    "ntile",
    "percentile",
    "cumulative share",
]


@dataclass(frozen=True)
class Aggregate:
    """`func[(args) of] target [during W] [per G] [among P] [where F]`.

    `args is None` means the short form without parentheses (`count orders`).
    The analyzer decides from `target` whether this aggregates rows of a related
    table for each entity, or values of a measure over the population.
    """

    func: AggregateFunc
    target: Ident
    args: tuple[Expr, ...] | None = None
    distinct: bool = False
    window: Window | None = None
    per: Expr | None = None
    among: Expr | None = None
    where: Expr | None = None
    overall: bool = False  # `avg(amount) of all orders`: one figure over every member's rows
    span: Span = _span()


@dataclass(frozen=True)
class NestedAggregate:
    """`max count views per page_category`: an aggregate over per-group aggregates."""

    func: AggregateFunc
    inner: Aggregate | NestedAggregate
    span: Span = _span()


@dataclass(frozen=True)
class EventSet:
    table: Ident
    window: Window | None = None
    where: Expr | None = None
    span: Span = _span()


@dataclass(frozen=True)
class Sequence:
    """`cart_adds then no purchases within 2h`."""

    first: EventSet
    then: EventSet
    negated: bool = False
    within: Duration | None = None
    span: Span = _span()


Expr: TypeAlias = (
    NumberLit
    | PercentLit
    | StringLit
    | BoolLit
    | DateLit
    | TimestampLit
    | DurationLit
    | Name
    | Call
    | Negate
    | Arith
    | Compare
    | Between
    | InList
    | InWindow
    | Rank
    | Presence
    | TextMatch
    | And
    | Or
    | Not
    | TimeSince
    | TimeBetween
    | Ago
    | IfThenElse
    | Aggregate
    | NestedAggregate
    | Sequence
)


# ------------------------------------------------------------------ declarations
@dataclass(frozen=True)
class KeyMember:
    column: Ident
    type: Ident | None = None
    rely: bool = False  # the entity table has one row per key
    span: Span = _span()


@dataclass(frozen=True)
class LinkMember:
    column: Ident
    target: Ident
    target_column: Ident | None = None
    rely: bool = False  # every row has its parent, and is not older than it
    span: Span = _span()


@dataclass(frozen=True)
class TimeMember:
    column: Ident
    storage: Ident | None = None
    span: Span = _span()


@dataclass(frozen=True)
class ColumnMember:
    name: Ident
    type: Ident
    physical: str | None = None
    span: Span = _span()


@dataclass(frozen=True)
class PartitionMember:
    """`partition by ordered_at`: the column the warehouse partitions the table by."""

    column: Ident
    span: Span = _span()


Member: TypeAlias = KeyMember | LinkMember | TimeMember | ColumnMember | PartitionMember


@dataclass(frozen=True)
class Metadata:
    description: str | None = None
    owner: str | None = None
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class EntityDecl:
    name: Ident
    source: tuple[str, ...]
    members: tuple[Member, ...]
    span: Span = _span()


@dataclass(frozen=True)
class TableDecl:
    name: Ident
    source: tuple[str, ...]
    members: tuple[Member, ...]
    span: Span = _span()


@dataclass(frozen=True)
class DerivedTableDecl:
    name: Ident
    base: Ident
    where: Expr
    span: Span = _span()


@dataclass(frozen=True)
class GroupColumn:
    """`value = sum(amount)`: one aggregate of a grouped table's rows per group."""

    name: Ident
    func: AggregateFunc
    arg: Expr | None = None
    distinct: bool = False
    span: Span = _span()


@dataclass(frozen=True)
class GroupedTableDecl:
    """`table purchase_days = purchases per day { value = sum(amount) }`: one row per
    member and group (a column's value or a calendar unit of the base table's time)."""

    name: Ident
    base: Ident
    by: Ident
    columns: tuple[GroupColumn, ...]
    span: Span = _span()


@dataclass(frozen=True)
class ParamDecl:
    name: Ident
    type: Ident
    default: Expr | None = None
    description: str | None = None
    span: Span = _span()


@dataclass(frozen=True)
class MeasureDecl:
    name: Ident
    body: Expr
    description: str | None = None
    span: Span = _span()


@dataclass(frozen=True)
class SegmentDecl:
    name: Ident
    condition: Expr
    meta: Metadata = Metadata()
    span: Span = _span()


@dataclass(frozen=True)
class Rule:
    label: Ident
    condition: Expr
    span: Span = _span()


@dataclass(frozen=True)
class ClassifierDecl:
    name: Ident
    rules: tuple[Rule, ...]
    else_label: Ident
    meta: Metadata = Metadata()
    span: Span = _span()


@dataclass(frozen=True)
class Bucket:
    label: Ident
    percent: Decimal
    span: Span = _span()


@dataclass(frozen=True)
class SplitDecl:
    name: Ident
    buckets: tuple[Bucket, ...]
    of: Ident | None = None
    seed: str | None = None
    meta: Metadata = Metadata()
    span: Span = _span()


Statement: TypeAlias = (
    EntityDecl
    | TableDecl
    | DerivedTableDecl
    | GroupedTableDecl
    | ParamDecl
    | MeasureDecl
    | SegmentDecl
    | ClassifierDecl
    | SplitDecl
)


@dataclass(frozen=True)
class Module:
    """One parsed file."""

    version: int | None
    statements: tuple[Statement, ...]
    comments: tuple[Comment, ...] = field(default=(), compare=False)
    span: Span = _span()
