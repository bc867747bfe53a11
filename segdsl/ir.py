"""The resolved, typed, dialect-neutral intermediate representation.

The analyzer produces it from the AST; the planner and SQL generator consume it.
Every name is resolved: columns point at physical columns, measures and segments
are inlined (wrapped in `Named` for explain), parameters are constants. Times
relative to the as-of moment stay symbolic (`TimePoint`), so one analysed
project compiles for any as-of time.

Two scopes share these node types: entity-level expressions (one value per
entity) and row-level expressions (one value per row of a related table, used
inside aggregations). Only `RowColumn` is row-level; only `EntityColumn`,
`AggregateRef`, `SequenceRef`, `PopulationRef` and `SplitRef` are entity-level.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal, TypeAlias, TypeVar

from segdsl.source import NO_SPAN, Span
from segdsl.types import BOOLEAN, DURATION, Storage, Type


def _span() -> Span:
    return field(default=NO_SPAN, compare=False, repr=False, kw_only=True)


_Keyed = TypeVar("_Keyed")


def _hash_once(cls: type[_Keyed]) -> type[_Keyed]:
    """Keep the hash of a frozen node that plans use as a dict key.

    A dataclass hash walks every field, and these nodes hold whole expression trees:
    recomputed on each lookup, hashing was a large part of compiling a segment.
    """
    compute = cls.__hash__

    def __hash__(self: Any) -> int:
        cached: int | None = self.__dict__.get("_hash")
        if cached is None:
            cached = compute(self)
            object.__setattr__(self, "_hash", cached)
        return cached

    def __getstate__(self: Any) -> dict[str, Any]:
        # string hashes differ between processes: never carry one over in a pickle
        return {key: value for key, value in self.__dict__.items() if key != "_hash"}

    cls.__hash__ = __hash__  # type: ignore[method-assign]
    cls.__getstate__ = __getstate__  # type: ignore[method-assign]
    return cls


CalendarUnit = Literal["day", "week", "month", "quarter", "year"]
DurationUnit = Literal["s", "min", "h", "d", "w", "mo", "y"]
FIXED_UNIT_SECONDS: dict[str, int] = {"s": 1, "min": 60, "h": 3600, "d": 86400, "w": 604800}


@dataclass(frozen=True)
class DurationValue:
    """A length of time; months and years are calendar units without a fixed length."""

    amount: int
    unit: DurationUnit

    @property
    def is_calendar(self) -> bool:
        return self.unit in ("mo", "y")

    @property
    def seconds(self) -> int:
        """Length in seconds; only for fixed units (days are 24 wall-clock hours)."""
        return self.amount * FIXED_UNIT_SECONDS[self.unit]

    def __str__(self) -> str:
        return f"{self.amount}{self.unit}"


ConstValue: TypeAlias = (
    Decimal | int | float | str | bool | dt.date | dt.datetime | DurationValue | None
)


# ------------------------------------------------------------------ time points
@dataclass(frozen=True)
class AsOfOffset:
    """The as-of moment minus a duration (`30d ago`).

    `DurationValue(0, 's')` is the as-of itself.
    """

    duration: DurationValue


@dataclass(frozen=True)
class PeriodStart:
    """The start of the calendar period containing the as-of moment, shifted by `offset` periods."""

    unit: CalendarUnit
    offset: int = 0


@dataclass(frozen=True)
class FixedTime:
    """A moment written in the file: a date's midnight or a timestamp (wall clock, project zone)."""

    value: dt.datetime


@dataclass(frozen=True)
class YearsBeforeAsOfDate:
    """Midnight of the as-of date minus whole calendar years (Feb 29 → Feb 28): age limits."""

    years: int


TimeAnchor: TypeAlias = AsOfOffset | PeriodStart | FixedTime | YearsBeforeAsOfDate


@dataclass(frozen=True)
class Bounds:
    """An interval of wall-clock times; a missing side is unbounded."""

    lower: TimeAnchor | None
    lower_inclusive: bool
    upper: TimeAnchor | None
    upper_inclusive: bool


# ------------------------------------------------------------------ columns and sources
@dataclass(frozen=True)
class Column:
    """A physical column and the language type of its values."""

    name: str  # physical name in the warehouse
    type: Type
    storage: Storage | None = None  # how a date/timestamp is stored


@dataclass(frozen=True)
class Hop:
    """One table on the path from a related table to the entity."""

    table: str  # declared name of the base table
    source: tuple[str, ...]  # warehouse path, e.g. ("shop", "orders")
    link: str  # physical column of this table pointing at the parent
    parent_key: str | None  # physical column of the parent hop; None = the entity key
    # every row has its parent and is not older than it (`link … rely`): a promise about
    # the data that lets queries skip the entity, not part of what the rows are, so two
    # sources that differ only in it are equal (`seg diff` sees no change in meaning)
    rely: bool = field(default=False, compare=False)
    # the column the warehouse partitions this table by (`partition by …`): windows on
    # the table's own time also filter it, so only the partitions they need are read
    partition: Column | None = None


@_hash_once
@dataclass(frozen=True)
class RowSource:
    """Where an aggregation's rows come from: a chain of joins ending at the entity key.

    `hops[0]` is the table whose rows are counted; `hops[-1]` links to the entity.
    Derived tables share their base's source (their filter lives in the aggregation).
    """

    hops: tuple[Hop, ...]
    time: RowColumn | None
    # a grouped table (`purchases per day { … }`): its one hop is the grouped rows, made
    # from the base table's by `grouping`; its columns are that grouping's
    grouping: Grouping | None = None

    @property
    def name(self) -> str:
        return self.hops[0].table


@_hash_once
@dataclass(frozen=True)
class Grouping:
    """How a grouped table's rows are made: the base rows (up to the as-of time, in the
    base's own filter) grouped per entity and `by` (a column, or the DATE starting the
    calendar period of the base's time), one column per aggregate.

    Columns are named by `internal_name`: `by_column` holds the group's value (for a
    calendar unit the period's start, a wall-clock time, which is also the table's time);
    `time_column` the group's time (a column grouping: its first row's time; None when
    the base has no time)."""

    base: RowSource
    filter: Expr | None
    by: Expr
    unit: CalendarUnit | None
    by_column: str
    time_column: str | None
    columns: tuple[tuple[str, Aggregation], ...]


@dataclass(frozen=True)
class Entity:
    name: str
    source: tuple[str, ...]
    key: Column
    time: Column | None = None
    unique_key: bool = False  # `key … rely`: one row per key, promised


# ------------------------------------------------------------------ expressions
@dataclass(frozen=True)
class Const:
    value: ConstValue
    type: Type
    span: Span = _span()


@dataclass(frozen=True)
class TimePoint:
    """A constant moment defined relative to the as-of time; type TIMESTAMP."""

    anchor: TimeAnchor
    type: Type
    span: Span = _span()


@dataclass(frozen=True)
class EntityColumn:
    column: Column
    attribute: str  # the declared attribute name
    span: Span = _span()

    @property
    def type(self) -> Type:
        return self.column.type


@dataclass(frozen=True)
class RowColumn:
    hop: int  # index into RowSource.hops
    column: Column
    span: Span = _span()

    @property
    def type(self) -> Type:
        return self.column.type


@dataclass(frozen=True)
class ToTimestamp:
    """A date widened to the timestamp of its midnight."""

    operand: Expr
    type: Type
    span: Span = _span()


@dataclass(frozen=True)
class Arith:
    op: Literal["+", "-", "*", "/"]
    left: Expr
    right: Expr
    type: Type
    span: Span = _span()


@dataclass(frozen=True)
class Negate:
    operand: Expr
    type: Type
    span: Span = _span()


CompareOp = Literal["=", "!=", "<", "<=", ">", ">="]
# the same comparison with its sides swapped: `a < b` is `b > a`
FLIPPED: dict[CompareOp, CompareOp] = {
    "=": "=",
    "!=": "!=",
    "<": ">",
    "<=": ">=",
    ">": "<",
    ">=": "<=",
}


@dataclass(frozen=True)
class Compare:
    op: CompareOp
    left: Expr
    right: Expr
    span: Span = _span()
    type: Type = field(default=BOOLEAN, kw_only=True)


@dataclass(frozen=True)
class And:
    items: tuple[Expr, ...]
    span: Span = _span()
    type: Type = field(default=BOOLEAN, kw_only=True)


@dataclass(frozen=True)
class Or:
    items: tuple[Expr, ...]
    span: Span = _span()
    type: Type = field(default=BOOLEAN, kw_only=True)


@dataclass(frozen=True)
class Not:
    operand: Expr
    span: Span = _span()
    type: Type = field(default=BOOLEAN, kw_only=True)


@dataclass(frozen=True)
class IsPresent:
    operand: Expr
    present: bool
    span: Span = _span()
    type: Type = field(default=BOOLEAN, kw_only=True)


@dataclass(frozen=True)
class InList:
    operand: Expr
    items: tuple[Const, ...]
    span: Span = _span()
    type: Type = field(default=BOOLEAN, kw_only=True)


@dataclass(frozen=True)
class TextMatch:
    op: Literal["contains", "starts_with", "ends_with"]
    operand: Expr
    pattern: Expr
    span: Span = _span()
    type: Type = field(default=BOOLEAN, kw_only=True)


@dataclass(frozen=True)
class InWindow:
    """A date or timestamp inside a window; missing values are outside every window."""

    operand: Expr
    bounds: Bounds
    span: Span = _span()
    type: Type = field(default=BOOLEAN, kw_only=True)


DatePartName = Literal["year", "quarter", "month", "day", "weekday", "hour", "day_of_year"]


@dataclass(frozen=True)
class DatePart:
    part: DatePartName
    operand: Expr
    type: Type
    span: Span = _span()


@dataclass(frozen=True)
class TruncateTime:
    """The start of the day/week/month/quarter/year containing a time (a cohort key)."""

    unit: CalendarUnit
    operand: Expr
    type: Type
    span: Span = _span()


@dataclass(frozen=True)
class Age:
    """Whole years from a date to the as-of date (birthdays counted exactly)."""

    operand: Expr
    type: Type
    span: Span = _span()


FunctionName = Literal["lower", "upper", "length", "abs", "round", "floor", "ceil", "coalesce"]


@dataclass(frozen=True)
class Function:
    name: FunctionName
    args: tuple[Expr, ...]
    type: Type
    span: Span = _span()


@dataclass(frozen=True)
class Elapsed:
    """`end - start` as a duration (seconds in SQL); `start`/`end` are timestamps."""

    start: Expr
    end: Expr
    span: Span = _span()
    type: Type = field(default=DURATION, kw_only=True)


@dataclass(frozen=True)
class AddDuration:
    """A timestamp plus a duration (row arithmetic, e.g. for `time between`)."""

    operand: Expr
    duration: DurationValue
    type: Type
    span: Span = _span()


@dataclass(frozen=True)
class Case:
    """First matching condition wins; every entity gets `default` otherwise."""

    whens: tuple[tuple[Expr, Expr], ...]
    default: Expr
    type: Type
    span: Span = _span()


# ------------------------------------------------------------------ per-entity computations
AggregateFunc = Literal[
    "count",
    "count_distinct",
    "sum",
    "avg",
    "min",
    "max",
    "exists",
    "first_value",
    "last_value",
    "nth_value",
]


@_hash_once
@dataclass(frozen=True)
class Aggregation:
    """An aggregate over the related rows of each entity.

    `first_value`/`last_value`/`nth_value` take the value of the row at that position
    in time order (ties broken by the value itself). With `group`, rows are grouped
    per entity and group, `func` is computed per group, and `outer` combines groups.
    """

    func: AggregateFunc
    source: RowSource
    value: Expr | None = None
    filter: Expr | None = None
    n: int | None = None
    group: Expr | None = None
    outer: Literal["count", "sum", "avg", "min", "max"] | None = None


@dataclass(frozen=True)
class AggregateRef:
    aggregation: Aggregation
    type: Type
    span: Span = _span()


@dataclass(frozen=True)
class TableFigure:
    """One value for everyone: `aggregation` over the rows of every member together
    (`avg(amount) of all orders`: the shop's average order). Its `group` is None."""

    aggregation: Aggregation
    type: Type
    span: Span = _span()


@_hash_once
@dataclass(frozen=True)
class EventSetSpec:
    source: RowSource
    filter: Expr | None


@_hash_once
@dataclass(frozen=True)
class SequenceSpec:
    """Some row of `first` followed by a row of `then` (strictly later, within the limit)."""

    first: EventSetSpec
    then: EventSetSpec
    negated: bool
    within: DurationValue | None


@dataclass(frozen=True)
class SequenceRef:
    sequence: SequenceSpec
    span: Span = _span()
    type: Type = field(default=BOOLEAN, kw_only=True)


PopulationFunc = Literal[
    "ntile", "percentile", "cumulative_share", "top", "bottom", "sum", "avg", "min", "max", "count"
]


@_hash_once
@dataclass(frozen=True)
class PopulationSpec:
    """A value computed over the population (window functions over all entities).

    Only entities in `population` (everyone if None) whose `value` is present take
    part; everyone else gets a missing value (or false for top/bottom). Ties are
    broken by the entity key, so every engine returns the same members.
    """

    func: PopulationFunc
    value: Expr
    population: Expr | None
    buckets: int | None = None  # ntile
    count: int | None = None  # top/bottom N
    fraction: Decimal | None = None  # top/bottom N% as a fraction


@dataclass(frozen=True)
class PopulationRef:
    spec: PopulationSpec
    type: Type
    span: Span = _span()


@dataclass(frozen=True)
class SplitSpec:
    """Deterministic hash buckets: `upper_bounds` are cumulative, in 1/10000ths."""

    name: str
    seed: str
    population: Expr | None
    labels: tuple[str, ...]
    upper_bounds: tuple[int, ...]


@dataclass(frozen=True)
class SplitRef:
    split: SplitSpec
    type: Type
    span: Span = _span()


@dataclass(frozen=True)
class Named:
    """A reference to a declared segment, measure, classifier or split (for explain)."""

    kind: Literal["segment", "measure", "classifier", "split"]
    name: str
    expr: Expr
    span: Span = _span()

    @property
    def type(self) -> Type:
        return self.expr.type


@dataclass(frozen=True)
class Invalid:
    """Stands in for an expression that already produced a diagnostic."""

    type: Type
    span: Span = _span()


Expr: TypeAlias = (
    Const
    | TimePoint
    | EntityColumn
    | RowColumn
    | ToTimestamp
    | Arith
    | Negate
    | Compare
    | And
    | Or
    | Not
    | IsPresent
    | InList
    | TextMatch
    | InWindow
    | DatePart
    | TruncateTime
    | Age
    | Function
    | Elapsed
    | AddDuration
    | Case
    | AggregateRef
    | TableFigure
    | SequenceRef
    | PopulationRef
    | SplitRef
    | Named
    | Invalid
)


def unwrap(expr: Expr) -> Expr:
    """The expression behind any `Named` wrappers."""
    while isinstance(expr, Named):
        expr = expr.expr
    return expr


def and_parts(condition: Expr | None) -> tuple[Expr, ...]:
    """The items of a top-level `And` (the condition itself otherwise; none for None)."""
    if condition is None:
        return ()
    return condition.items if isinstance(condition, And) else (condition,)


def children(expr: Expr) -> tuple[Expr, ...]:
    """The entity-level sub-expressions of `expr` (not those inside aggregations)."""
    match expr:
        case Const() | TimePoint() | EntityColumn() | RowColumn() | Invalid():
            return ()
        case AggregateRef() | SequenceRef() | TableFigure():
            return ()
        case ToTimestamp(operand=x) | Negate(operand=x) | Not(operand=x) | IsPresent(operand=x):
            return (x,)
        case (
            InList(operand=x) | InWindow(operand=x) | DatePart(operand=x) | TruncateTime(operand=x)
        ):
            return (x,)
        case Age(operand=x) | AddDuration(operand=x) | Named(expr=x):
            return (x,)
        case Arith(left=a, right=b) | Compare(left=a, right=b):
            return (a, b)
        case TextMatch(operand=a, pattern=b) | Elapsed(start=a, end=b):
            return (a, b)
        case And(items=items) | Or(items=items) | Function(args=items):
            return items
        case Case(whens=whens, default=default):
            return (*(part for pair in whens for part in pair), default)
        case PopulationRef(spec=spec):
            return (spec.value,) if spec.population is None else (spec.value, spec.population)
        case SplitRef(split=split):
            return () if split.population is None else (split.population,)
    raise AssertionError(f"unhandled IR node {expr!r}")
