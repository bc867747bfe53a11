"""Hypothesis strategies for the differential tests: a fixed model, generated data,
generated segment conditions and as-of times that sit on awkward boundaries.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from hypothesis import strategies as st

from segdsl.timeline import add_months, period_start
from tests.support.tables import TableSpec, table

DIFFERENTIAL_EXAMPLES = int(os.environ.get("SEGDSL_DIFFERENTIAL_EXAMPLES", "80"))
"""Scenarios of random conditions per differential test (SEGDSL_DIFFERENTIAL_EXAMPLES)."""

FIXED_EXAMPLES = max(DIFFERENTIAL_EXAMPLES // 8, 12)
"""Scenarios per group of fixed conditions: generated data only, the conditions written
out (12 data sets each by default, more in deeper runs)."""

MODEL = """
segdsl 1
entity customer from customers {
  key id
  time signed_up_at: timestamptz
  city: string
  birth_date: date
  score: number
}
table orders from orders {
  link customer_id to customer
  time ordered_at: timestamp
  id: integer
  amount: money
  status: string
}
table items from items {
  link order_id to orders.id
  category: string
}
table events from events {
  link customer_id to customer
  time occurred_at: timestamptz
  kind: string
}
table visits from visits {
  link customer_id to customer
  time visit_date: date
}
table adds = events where kind = "add"
table buys = events where kind = "buy"
measure orders_n = count orders
measure revenue = sum(amount) of orders where status = "paid"
measure last_order = last orders
measure first_order = first orders
measure avg_amount = avg(amount) of orders
segment buyers = orders_n > 0
"""

AS_OF_CHOICES = [
    dt.datetime(2024, 3, 1, 0, 0),  # just after a leap day
    dt.datetime(2024, 2, 29, 12, 0),
    dt.datetime(2025, 1, 31, 12, 0),  # month end
    dt.datetime(2024, 12, 31, 23, 59, 59),
    dt.datetime(2025, 7, 1, 0, 0),
]

# Offsets before the as-of time that sit on or next to window boundaries.
BOUNDARY_OFFSETS = [
    dt.timedelta(0),
    dt.timedelta(seconds=1),
    dt.timedelta(hours=2),
    dt.timedelta(hours=2, seconds=1),
    dt.timedelta(days=1),
    dt.timedelta(days=7),
    dt.timedelta(days=30),
    dt.timedelta(days=30, seconds=1),
    dt.timedelta(days=30, seconds=-1),
    dt.timedelta(days=60),
    dt.timedelta(days=90),
    dt.timedelta(days=180),
    dt.timedelta(days=365),
    -dt.timedelta(seconds=1),  # after the as-of time: must be invisible
]


# scores: exact halves of several magnitudes and signs, which `round` takes away from
# zero on every engine (Postgres' ROUND of a double took them to even), and a double
# just below one half
SCORES = [
    0.5,
    1.0,
    2.5,
    -1.0,
    -0.5,
    -2.5,
    1234567.5,
    -1234567.5,
    4503599627370495.5,  # 2**52 - 0.5: the largest double with a fraction of .5
    0.49999999999999994,
]


@dataclass(frozen=True)
class Scenario:
    as_of: dt.datetime
    tables: tuple[TableSpec, ...]
    conditions: tuple[str, ...]


@st.composite
def moments(draw: st.DrawFn, as_of: dt.datetime) -> dt.datetime:
    """A time near the as-of moment, often exactly on a boundary."""
    kind = draw(st.sampled_from(["boundary", "month", "random"]))
    if kind == "boundary":
        return as_of - draw(st.sampled_from(BOUNDARY_OFFSETS))
    if kind == "month":
        start = add_months(
            period_start(as_of, "month"), -draw(st.integers(min_value=0, max_value=4))
        )
        return start - draw(
            st.sampled_from([dt.timedelta(0), dt.timedelta(seconds=1), dt.timedelta(days=1)])
        )
    return as_of - dt.timedelta(seconds=draw(st.integers(min_value=-3600, max_value=400 * 86400)))


@st.composite
def datasets(draw: st.DrawFn, as_of: dt.datetime) -> tuple[TableSpec, ...]:
    customer_ids = list(range(1, draw(st.integers(min_value=3, max_value=10)) + 1))
    customers = []
    for key in customer_ids:
        signed = draw(st.none() | moments(as_of))
        birth = draw(
            st.none()
            | st.sampled_from(
                [dt.date(as_of.year - 30, as_of.month, min(as_of.day, 28)), dt.date(1992, 2, 29)]
            )
            | st.dates(min_value=dt.date(1950, 1, 1), max_value=dt.date(2010, 12, 31))
        )
        customers.append(
            (
                key,
                signed.replace(tzinfo=dt.UTC) if signed else None,
                draw(st.none() | st.sampled_from(["A", "B", "C"])),
                birth,
                draw(st.none() | st.sampled_from(SCORES)),
            )
        )
    orders = []
    items = []
    for order_id in range(1, draw(st.integers(min_value=0, max_value=16)) + 1):
        orders.append(
            (
                draw(st.sampled_from(customer_ids)),
                draw(st.none() | moments(as_of)),
                order_id,
                draw(
                    st.none()
                    | st.sampled_from(
                        [
                            Decimal("10.00"),
                            Decimal("99.99"),
                            Decimal("250.50"),
                            Decimal("0"),
                            Decimal("-0.50"),
                        ]
                    )
                ),
                draw(st.none() | st.sampled_from(["paid", "cancelled"])),
            )
        )
        for _ in range(draw(st.integers(min_value=0, max_value=2))):
            items.append((order_id, draw(st.none() | st.sampled_from(["x", "y"]))))
    events = []
    for _ in range(draw(st.integers(min_value=0, max_value=20))):
        moment = draw(st.none() | moments(as_of))
        events.append(
            (
                draw(st.sampled_from(customer_ids)),
                moment.replace(tzinfo=dt.UTC) if moment else None,
                draw(st.none() | st.sampled_from(["add", "buy", "view"])),
            )
        )
    visits = []
    for _ in range(draw(st.integers(min_value=0, max_value=8))):
        moment = draw(moments(as_of))
        visits.append((draw(st.sampled_from(customer_ids)), moment.date()))
    return shop_tables(customers, orders, items, events, visits)


def shop_tables(
    customers: Sequence[tuple[object, ...]],
    orders: Sequence[tuple[object, ...]] = (),
    items: Sequence[tuple[object, ...]] = (),
    events: Sequence[tuple[object, ...]] = (),
    visits: Sequence[tuple[object, ...]] = (),
) -> tuple[TableSpec, ...]:
    """MODEL's five tables with these rows: customers (id, signed_up_at, city,
    birth_date, score), orders (customer_id, ordered_at, id, amount, status), items
    (order_id, category), events (customer_id, occurred_at, kind), visits
    (customer_id, visit_date)."""
    return (
        table(
            "customers",
            {
                "id": "integer",
                "signed_up_at": "timestamptz",
                "city": "string",
                "birth_date": "date",
                "score": "number",
            },
            customers,
        ),
        table(
            "orders",
            {
                "customer_id": "integer",
                "ordered_at": "timestamp",
                "id": "integer",
                "amount": "decimal",
                "status": "string",
            },
            orders,
        ),
        table("items", {"order_id": "integer", "category": "string"}, items),
        table(
            "events",
            {"customer_id": "integer", "occurred_at": "timestamptz", "kind": "string"},
            events,
        ),
        table("visits", {"customer_id": "integer", "visit_date": "date"}, visits),
    )


WINDOWS = [
    "last 30d",
    "last 2h",
    "last 1mo",
    "last 1y",
    "last 2 calendar months",
    "this month",
    "previous month",
    "this week",
    "previous quarter",
    "this year",
    "between 60d ago and 30d ago",
    "more than 30d ago",
    "since 2024-02-29",
    "before 2025-01-01",
    "after 2024-12-31",
    "until 2024-03-01",
    "from 2024-01-01 to 2024-12-31",
    "since previous month",
    "after 1d ago",
]
ROUNDED_SCORES = ["-3", "-1", "0", "1", "3", "1234568", "-1234568", "4503599627370496"]
DURATIONS = ["1s", "2h", "1d", "30d", "1mo", "1y"]
COMPARE = ["=", "!=", "<", "<=", ">", ">="]


@st.composite
def atoms(draw: st.DrawFn) -> str:
    window = draw(st.sampled_from(WINDOWS))
    op = draw(st.sampled_from(COMPARE))
    n = draw(st.integers(min_value=0, max_value=3))
    rounded_amount = draw(st.sampled_from(["251", "-1", "0"]))  # 250.50, -0.50
    options = [
        f"count orders during {window} {op} {n}",
        f'(count orders during {window} where status = "paid") {op} {n}',
        f"(count orders during {window} where amount is present) {op} {n}",
        f"revenue {op} {draw(st.sampled_from(['0', '99.99', '100']))}",
        f"last orders in {window}",
        f"first_order not in {window}",
        f"time since last_order {op} {draw(st.sampled_from(DURATIONS))}",
        f"time between first_order and last_order {op} {draw(st.sampled_from(DURATIONS))}",
        f"exists adds during {window}",
        f"count buys during {window} {op} {n}",
        f"adds during {window} then buys within {draw(st.sampled_from(DURATIONS))}",
        f"adds then no buys within {draw(st.sampled_from(DURATIONS))}",
        "adds during last 30d then no buys",
        f"max count events per kind {op} {n}",
        f"min count events per kind {op} {n}",
        f"count distinct(date(occurred_at)) of events during {window} {op} {n}",
        f"count distinct(month_start(ordered_at)) of orders during {window} {op} {n}",
        f"exists visits during {window}",
        f"last visits in {window}",
        f'(exists items where category = "x") and orders_n {op} {n}',
        f"count items during {window} {op} {n}",
        f'city {draw(st.sampled_from(["=", "!="]))} "A"',
        'city in ["A", "B"]',
        'city not in ["A"]',
        "city is missing",
        f"age(birth_date) {op} {draw(st.sampled_from(['29', '30', '31']))}",
        f"birth_date in {window}",
        f"score {op} 1",
        f"round(score) {op} {draw(st.sampled_from(ROUNDED_SCORES))}",
        f"round(score * 5) {op} {draw(st.sampled_from(['-13', '-3', '3', '13']))}",
        f"(count orders where round(amount) = {rounded_amount}) {op} {n}",
        f"ntile(3) of revenue among buyers {op} {draw(st.integers(min_value=1, max_value=3))}",
        f"ntile(2) of score {op} 2",
        f"revenue in top {draw(st.sampled_from(['1', '2', '40%', '50%']))} among buyers",
        f"score in bottom {draw(st.sampled_from(['1', '34%']))}",
        f"percentile of revenue among buyers {op} 50%",
        f"cumulative share of revenue among buyers {op} 50%",
        f"avg_amount {op} avg avg_amount among buyers",
        'first(status) of orders = "paid"',
        'last(status) of orders = "cancelled"',
        f"nth(2) of orders in {window}",
        f"signed_up_at in {window}",
        "buyers",
        f"orders_n * 2 + 1 {op} {n} * 3",
        f"revenue / orders_n {op} 50",
    ]
    return draw(st.sampled_from(options))


def conditions(max_leaves: int = 4) -> st.SearchStrategy[str]:
    return st.recursive(
        atoms(),
        lambda inner: st.one_of(
            st.builds(lambda a, b: f"({a}) and ({b})", inner, inner),
            st.builds(lambda a, b: f"({a}) or ({b})", inner, inner),
            inner.map(lambda a: f"not ({a})"),
        ),
        max_leaves=max_leaves,
    )


@st.composite
def scenarios(draw: st.DrawFn, segments: int = 3) -> Scenario:
    as_of = draw(st.sampled_from(AS_OF_CHOICES))
    tables = draw(datasets(as_of))
    return Scenario(as_of, tables, tuple(draw(conditions()) for _ in range(segments)))


# ------------------------------------------------------------------ adversarial names
# Families of user names that collide in SQL unless the compiler keeps them out of it:
# twins in case (DuckDB and BigQuery fold it), the query's own names, SQL words, names
# alike in their first 63 bytes (Postgres cuts there; `ü` is two bytes), unicode.
NAME_FAMILIES: tuple[tuple[str, ...], ...] = (
    ("n", "N"),
    ("total", "Total", "TOTAL"),
    ("Revenue", "REVENUE"),  # twins of the model's own `revenue`
    ("population", "Population"),
    ("key", "__key", "ID", "Id"),  # the query's key column and the entity key's twins
    ("m1", "m_1", "m1_n", "m2_total", "c1", "c1_2", "r2", "t1_orders", "a1_city"),
    ("label", "members", "value", "position", "at", "groups", "per_group"),
    ("candidates", "ranked_1", "r2_ranking", "m1_value", "__entity", "entity_rows", "step_1"),
    ("select", "from", "where", "order", "group", "table", "null", "user"),
    ("a" * 63 + "x", "a" * 63 + "y", "A" * 63 + "x"),
    ("ü" * 31 + "ab", "ü" * 31 + "ac", "Ü" * 31 + "ab"),
    ("größe", "Größe", "naïve", "客户", "ñ"),
)
MODEL_NAMES = frozenset(
    [
        *("customer", "customers", "orders", "items", "events", "visits", "adds", "buys"),
        *("orders_n", "revenue", "last_order", "first_order", "avg_amount", "buyers"),
        *("id", "signed_up_at", "city", "birth_date", "score"),
    ]
)


@st.composite
def adversarial_names(draw: st.DrawFn, count: int) -> list[str]:
    """`count` distinct names (as the language compares them: case-sensitively), most
    drawn in colliding families, none the model's own."""
    families = draw(st.lists(st.sampled_from(NAME_FAMILIES), min_size=2, max_size=4))
    pool = [n for family in families for n in family if n not in MODEL_NAMES]
    pool += [f"extra_{i}" for i in range(count)]
    chosen = draw(st.permutations(list(dict.fromkeys(pool))))
    return chosen[:count]


# measure bodies and, for each kind of value, a condition on the measure `{m}`
NAMED_MEASURES = (
    ("count orders", "number"),
    ('sum(amount) of orders where status = "paid"', "number"),
    ("count events during last 30d", "number"),
    ("max count events per kind", "number"),
    ("ntile(2) of score", "number"),
    ("adds then buys", "boolean"),
    ("first(status) of orders", "text"),
    ("last orders", "time"),
)
MEASURE_CONDITIONS = {
    "number": ("{m} > {k}", "{m} >= {k}", "{m} = {k}"),
    "boolean": ("{m}", "not {m}"),
    "text": ('{m} = "paid"',),
    "time": ("{m} in last 90d", "{m} is missing"),
}


def quoted(name: str) -> str:
    return f"`{name}`"


@st.composite
def named_projects(draw: st.DrawFn) -> tuple[str, list[str], list[str], str]:
    """A project text over MODEL whose measures, segments and one classifier have
    adversarial names: (text, segments, measures, classifier)."""
    names = draw(adversarial_names(9))
    measures, segments, classifier = names[:4], names[4:8], names[8]
    lines = [MODEL]
    kinds = {}
    for name in measures:
        body, kind = draw(st.sampled_from(NAMED_MEASURES))
        kinds[name] = kind
        lines.append(f"measure {quoted(name)} = {body}")
    for index, name in enumerate(segments):
        measure = draw(st.sampled_from(measures))
        template = draw(st.sampled_from(MEASURE_CONDITIONS[kinds[measure]]))
        condition = template.format(m=quoted(measure), k=draw(st.integers(0, 2)))
        if index and draw(st.booleans()):  # on an earlier segment (a twin, maybe)
            condition = f"({condition}) or {quoted(draw(st.sampled_from(segments[:index])))}"
        lines.append(f"segment {quoted(name)} = {condition}")
    first, second = draw(st.permutations(segments))[:2]
    lines.append(
        f"classifier {quoted(classifier)} {{\n  a when {quoted(first)}\n"
        f"  b when {quoted(second)}\n  else c\n}}"
    )
    return "\n".join(lines) + "\n", segments, measures, classifier
