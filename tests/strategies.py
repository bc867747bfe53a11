"""Hypothesis strategies producing syntax trees that the grammar can express.

They are used to check that printing a tree and parsing it again gives the same
tree, and that the formatter is idempotent. Names include reserved words, which the
printer must quote with backticks.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import get_args

from hypothesis import strategies as st

from segdsl.syntax import nodes

PLAIN_NAMES = ["orders", "amount", "city", "revenue", "buyers", "x", "_y2", "page_category"]
RESERVED_NAMES = ["count", "time", "last", "share", "key", "order", "all", "if", "ago"]
UNITS = ["day", "days", "week", "month", "months", "quarter", "year"]

names = st.sampled_from(PLAIN_NAMES + RESERVED_NAMES)
idents = names.map(nodes.Ident)

numbers = st.decimals(
    min_value=0, max_value=10**6, places=2, allow_nan=False, allow_infinity=False
).map(lambda d: Decimal(d).normalize() if d == d.to_integral_value() else d)
number_lits = numbers.map(nodes.NumberLit)
percent_lits = st.decimals(min_value=0, max_value=100, places=1).map(nodes.PercentLit)
string_lits = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\n\r"), max_size=12
).map(nodes.StringLit)
date_lits = st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2100, 12, 31))
timestamps = st.datetimes(
    min_value=dt.datetime(1900, 1, 1), max_value=dt.datetime(2100, 1, 1)
) | st.builds(
    lambda d, minutes: d.replace(tzinfo=dt.timezone(dt.timedelta(minutes=minutes))),
    st.datetimes(min_value=dt.datetime(1900, 1, 2), max_value=dt.datetime(2100, 1, 1)),
    st.integers(min_value=-14 * 60, max_value=14 * 60),
)
duration_lits = st.builds(
    nodes.DurationLit,
    st.integers(min_value=0, max_value=1000),
    st.sampled_from(["s", "min", "h", "d", "w", "mo", "y"]),
)
durations = duration_lits | idents

literals = st.one_of(
    number_lits,
    percent_lits,
    string_lits,
    st.booleans().map(nodes.BoolLit),
    date_lits.map(nodes.DateLit),
    timestamps.map(nodes.TimestampLit),
    duration_lits,
)

points = st.one_of(
    date_lits.map(nodes.DatePoint),
    timestamps.map(nodes.TimestampPoint),
    durations.map(nodes.AgoPoint),
    st.builds(
        nodes.PeriodPoint,
        st.sampled_from(["this", "previous"]),
        st.sampled_from(UNITS).map(nodes.Ident),
    ),
    idents.map(nodes.NamePoint),
)
unit_idents = st.sampled_from(UNITS).map(nodes.Ident)
windows = st.one_of(
    durations.map(nodes.LastWindow),
    st.builds(nodes.LastCalendarWindow, st.integers(min_value=0, max_value=24), unit_idents),
    st.builds(nodes.PeriodWindow, st.sampled_from(["this", "previous"]), unit_idents),
    st.builds(nodes.BetweenAgoWindow, durations, durations),
    durations.map(nodes.MoreThanAgoWindow),
    st.builds(nodes.BoundWindow, st.sampled_from(["before", "after", "since", "until"]), points),
    st.builds(nodes.FromToWindow, points, points),
)

qualified_names = st.lists(idents, min_size=1, max_size=2).map(
    lambda parts: nodes.Name(tuple(parts))
)


def _expressions(children: st.SearchStrategy[nodes.Expr]) -> st.SearchStrategy[nodes.Expr]:
    calls = st.builds(nodes.Call, idents, st.lists(children, max_size=2).map(tuple))
    per_exprs = qualified_names | st.builds(
        nodes.Call, idents, st.lists(children, max_size=1).map(tuple)
    )
    agg_funcs = st.sampled_from(get_args(nodes.AggregateFunc))

    @st.composite
    def aggregates(draw: st.DrawFn) -> nodes.Aggregate:
        args = draw(st.none() | st.lists(children, max_size=2).map(tuple))
        return nodes.Aggregate(
            draw(agg_funcs),
            draw(idents),
            args,
            distinct=args is not None and draw(st.booleans()),
            window=draw(st.none() | windows),
            per=draw(st.none() | per_exprs),
            among=draw(st.none() | children),
            where=draw(st.none() | children),
            overall=draw(st.booleans()),
        )

    # after `in`, a point may be an expression (one that is not read as another point)
    value_points = points | children.filter(
        lambda value: (
            not isinstance(value, (nodes.DateLit, nodes.TimestampLit, nodes.Ago))
            and not (isinstance(value, nodes.Name) and len(value.parts) == 1)
        )
    ).map(nodes.ValuePoint)
    value_windows = windows | st.one_of(
        st.builds(
            nodes.BoundWindow,
            st.sampled_from(["before", "after", "since", "until"]),
            value_points,
        ),
        st.builds(nodes.FromToWindow, value_points, value_points),
    )

    nested = st.builds(nodes.NestedAggregate, agg_funcs, aggregates())
    event_sets = st.builds(nodes.EventSet, idents, st.none() | windows, st.none() | children)
    return st.one_of(
        calls,
        children.map(nodes.Negate),
        st.builds(nodes.Arith, st.sampled_from(["+", "-", "*", "/"]), children, children),
        st.builds(
            nodes.Compare, st.sampled_from(["=", "!=", "<", "<=", ">", ">="]), children, children
        ),
        st.builds(nodes.Between, children, children, children, st.booleans()),
        st.builds(nodes.InList, children, st.lists(children, max_size=3).map(tuple), st.booleans()),
        st.builds(nodes.InWindow, children, value_windows, st.booleans()),
        st.builds(
            nodes.Rank,
            children,
            st.sampled_from(["top", "bottom"]),
            number_lits | percent_lits | idents,
            st.none() | children,
        ),
        st.builds(nodes.Presence, children, st.booleans()),
        st.builds(
            nodes.TextMatch,
            st.sampled_from(["contains", "starts_with", "ends_with"]),
            children,
            children,
        ),
        st.builds(nodes.And, children, children),
        st.builds(nodes.Or, children, children),
        children.map(nodes.Not),
        children.map(nodes.TimeSince),
        st.builds(nodes.TimeBetween, children, children),
        durations.map(nodes.Ago),
        st.builds(nodes.IfThenElse, children, children, children),
        aggregates(),
        nested,
        st.builds(nodes.Sequence, event_sets, event_sets, st.booleans(), st.none() | durations),
    )


expressions: st.SearchStrategy[nodes.Expr] = st.recursive(
    literals | qualified_names, _expressions, max_leaves=8
)

metadata = st.builds(
    nodes.Metadata,
    st.none() | st.text(max_size=10).filter(lambda s: "\n" not in s and "\r" not in s),
    st.none() | st.sampled_from(["crm", "growth"]),
    st.lists(st.sampled_from(["email", "retention", "b2b"]), max_size=2).map(tuple),
)
type_names = st.sampled_from(
    ["string", "integer", "money", "date", "timestamp", "timestamptz", "boolean"]
)
members = st.one_of(
    st.builds(nodes.KeyMember, idents, st.none() | type_names.map(nodes.Ident), st.booleans()),
    st.builds(nodes.LinkMember, idents, idents, st.none() | idents, st.booleans()),
    st.builds(nodes.TimeMember, idents, st.none() | type_names.map(nodes.Ident)),
    st.builds(
        nodes.ColumnMember,
        idents,
        type_names.map(nodes.Ident),
        st.none() | st.sampled_from(["dob", "Order Amount", "count"]),
    ),
)
sources = st.lists(
    st.sampled_from(["shop", "customers", "my-project", "orders"]), min_size=1, max_size=3
).map(tuple)


@st.composite
def group_columns(draw: st.DrawFn) -> nodes.GroupColumn:
    """`value = sum(amount)`; `distinct` only with a value (as it can be written)."""
    arg = draw(st.none() | expressions)
    distinct = arg is not None and draw(st.booleans())
    func = draw(st.sampled_from(get_args(nodes.AggregateFunc)))
    return nodes.GroupColumn(draw(idents), func, arg, distinct)


statements = st.one_of(
    st.builds(nodes.EntityDecl, idents, sources, st.lists(members, max_size=4).map(tuple)),
    st.builds(
        nodes.GroupedTableDecl,
        idents,
        idents,
        idents,
        st.lists(group_columns(), max_size=3).map(tuple),
    ),
    st.builds(nodes.TableDecl, idents, sources, st.lists(members, max_size=4).map(tuple)),
    st.builds(nodes.DerivedTableDecl, idents, idents, expressions),
    st.builds(
        nodes.ParamDecl,
        idents,
        type_names.map(nodes.Ident),
        st.none() | literals | number_lits.map(nodes.Negate),
        st.none() | st.sampled_from(["how far back"]),
    ),
    st.builds(nodes.MeasureDecl, idents, expressions, st.none() | st.sampled_from(["a measure"])),
    st.builds(nodes.SegmentDecl, idents, expressions, metadata),
    st.builds(
        nodes.ClassifierDecl,
        idents,
        st.lists(st.builds(nodes.Rule, idents, expressions), min_size=1, max_size=3).map(tuple),
        idents,
        metadata,
    ),
    st.builds(
        nodes.SplitDecl,
        idents,
        st.lists(
            st.builds(nodes.Bucket, idents, st.decimals(min_value=0, max_value=100, places=2)),
            min_size=1,
            max_size=3,
        ).map(tuple),
        st.none() | idents,
        st.none() | st.sampled_from(["seed-1"]),
        metadata,
    ),
)

modules = st.builds(
    nodes.Module, st.none() | st.just(1), st.lists(statements, max_size=4).map(tuple)
)
