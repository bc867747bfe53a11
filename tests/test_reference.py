"""The reference evaluator (tests/support/reference.py) against hand-computed expectations.

Every expectation here is worked out from docs/language.md (section numbers in the
comments), never from running the generated SQL: the evaluator is the oracle that
differential tests compare DuckDB, Postgres and GoogleSQL with, so it must be right
on its own terms, including at every boundary.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from functools import cache

import pytest

from segdsl import ir
from segdsl.compiler import Compiler
from segdsl.project import Project
from segdsl.semantic.analyze import Analysis, ParamValue
from segdsl.settings import Settings
from segdsl.timeline import AsOf
from tests.corpus.fixture import AS_OF as CORPUS_AS_OF
from tests.corpus.fixture import POPULATION as CORPUS_POPULATION
from tests.corpus.fixture import TABLES as CORPUS_TABLES
from tests.support.reference import (
    ReferenceError,
    ReferenceEvaluator,
    entity_of,
    evaluate_members,
    evaluate_values,
    population_keys,
    split_bucket,
)
from tests.support.tables import TableSpec, table
from tests.test_corpus import EXPECTED as CORPUS_EXPECTED

MODEL = """
segdsl 1

entity customer from shop.customers {
  key id
  time signed_up_at: timestamptz
  birth_date: date
  city: string
  email: string
  score: number
  size: integer
  vip: boolean
}

table orders from shop.orders {
  link customer_id to customer
  time ordered_at: timestamptz
  id: integer
  amount: money
  coupon: string
  status: string
  channel: string
}

table order_items from shop.order_items {
  link order_id to orders.id
  category: string
  price: money
}

table events from shop.events {
  link customer_id to customer
  time occurred_at: timestamp
  name: string
  page: string
}

table visits from shop.visits {
  link customer_id to customer
  time visit_date: date
}

table cart_adds = events where name = "add_to_cart"
table purchases = events where name = "purchase"
"""

UTC = dt.UTC
CUSTOMER_COLUMNS = ("id", "signed_up_at", "birth_date", "city", "email", "score", "size", "vip")


# ---------------------------------------------------------------------- helpers
def ts(text: str) -> dt.datetime:
    """A naive wall-clock timestamp."""
    return dt.datetime.fromisoformat(text)


def tz(text: str) -> dt.datetime:
    """An instant written in UTC."""
    return dt.datetime.fromisoformat(text).replace(tzinfo=UTC)


def d(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


def customer(key: int, **values: object) -> tuple[object, ...]:
    unknown = set(values) - set(CUSTOMER_COLUMNS)
    assert not unknown, unknown
    return (key, *(values.get(name) for name in CUSTOMER_COLUMNS[1:]))


def customers_of(keys: Iterable[int]) -> list[tuple[object, ...]]:
    return [customer(key) for key in keys]


def order(
    order_id: int,
    customer_id: int | None,
    at: dt.datetime | None,
    amount: str | None = None,
    *,
    coupon: str | None = None,
    status: str | None = None,
    channel: str | None = None,
) -> tuple[object, ...]:
    money = None if amount is None else Decimal(amount)
    return (order_id, customer_id, at, money, coupon, status, channel)


def fixture(
    customers: Sequence[tuple[object, ...]],
    *,
    orders: Sequence[tuple[object, ...]] = (),
    items: Sequence[tuple[object, ...]] = (),
    events: Sequence[tuple[object, ...]] = (),
    visits: Sequence[tuple[object, ...]] = (),
) -> tuple[TableSpec, ...]:
    return (
        table(
            "customers",
            {
                "id": "integer",
                "signed_up_at": "timestamptz",
                "birth_date": "date",
                "city": "string",
                "email": "string",
                "score": "number",
                "size": "integer",
                "vip": "boolean",
            },
            customers,
        ),
        table(
            "orders",
            {
                "id": "integer",
                "customer_id": "integer",
                "ordered_at": "timestamptz",
                "amount": "decimal",
                "coupon": "string",
                "status": "string",
                "channel": "string",
            },
            orders,
        ),
        table(
            "order_items",
            {"order_id": "integer", "category": "string", "price": "decimal"},
            [
                (oid, cat, None if price is None else Decimal(str(price)))
                for oid, cat, price in items
            ],
        ),
        table(
            "events",
            {
                "customer_id": "integer",
                "occurred_at": "timestamp",
                "name": "string",
                "page": "string",
            },
            events,
        ),
        table("visits", {"customer_id": "integer", "visit_date": "date"}, visits),
    )


@cache
def _analysis(definitions: str, zone: str, params: tuple[tuple[str, str], ...]) -> Analysis:
    project = Project.from_text(MODEL + definitions, settings=Settings(time_zone=zone))
    analysis = project.analyze(dict(params))
    assert analysis.ok, [str(diagnostic) for diagnostic in analysis.diagnostics]
    return analysis


class Case:
    """One small project, fixture and as-of time."""

    def __init__(
        self,
        definitions: str,
        tables: Sequence[TableSpec],
        as_of: str = "2025-07-01T00:00:00",
        zone: str = "UTC",
        params: Mapping[str, ParamValue] | None = None,
    ) -> None:
        frozen = tuple(sorted((k, str(v)) for k, v in (params or {}).items()))
        self.analysis = _analysis(definitions, zone, frozen)
        self.tables = tables
        self.as_of = AsOf.parse(as_of, Settings(time_zone=zone).zone)

    def expr(self, name: str) -> ir.Expr:
        return self.analysis.definitions[name].expr

    def members(self, name: str) -> set[object]:
        return evaluate_members(self.analysis, self.expr(name), self.tables, self.as_of)

    def values(self, name: str) -> dict[object, object]:
        return evaluate_values(self.analysis, self.expr(name), self.tables, self.as_of)

    def at(self, as_of: str) -> Case:
        other = Case.__new__(Case)
        other.analysis, other.tables = self.analysis, self.tables
        other.as_of = AsOf.parse(as_of, self.as_of.zone)
        return other


# ---------------------------------------------------------------------- §3 windows and visibility
def test_last_30d_excludes_the_lower_bound_and_includes_the_as_of() -> None:
    case = Case(
        """
        measure n30 = count orders during last 30d
        measure n_all = count orders
        segment recent = exists orders during last 30d
        """,
        fixture(
            customers_of([1, 2, 3]),
            orders=[
                order(1, 1, tz("2025-06-01T00:00:00")),  # as_of − 30d: excluded
                order(2, 1, tz("2025-06-01T00:00:01")),  # just inside
                order(3, 1, tz("2025-07-01T00:00:00")),  # the as-of itself: inside
                order(4, 1, tz("2025-07-01T00:00:01")),  # after the as-of: invisible
                order(5, 2, tz("2025-06-01T00:00:00")),
                order(6, 3, None),  # no time: never counted
            ],
        ),
    )
    assert case.values("n30") == {1: 2, 2: 0, 3: 0}
    assert case.values("n_all") == {1: 3, 2: 1, 3: 0}
    assert case.members("recent") == {1}


def test_date_values_are_their_midnight_at_the_window_edge() -> None:
    case = Case(
        """
        measure n30 = count visits during last 30d
        measure n_all = count visits
        segment born_recently = birth_date in last 30d
        segment not_born_recently = birth_date not in last 30d
        """,
        fixture(
            [
                customer(1, birth_date=d("2025-06-01")),  # midnight = excluded lower bound
                customer(2, birth_date=d("2025-06-02")),
                customer(3, birth_date=d("2025-07-01")),  # midnight = the as-of: inside
                customer(4),
            ],
            visits=[
                (1, d("2025-06-01")),
                (2, d("2025-06-02")),
                (3, d("2025-07-01")),
                (4, d("2025-07-02")),  # after the as-of: invisible
            ],
        ),
    )
    assert case.values("n30") == {1: 0, 2: 1, 3: 1, 4: 0}
    assert case.values("n_all") == {1: 1, 2: 1, 3: 1, 4: 0}
    assert case.members("born_recently") == {2, 3}
    # `not in` is false for a missing value (§5)
    assert case.members("not_born_recently") == {1}


def test_calendar_windows_and_points() -> None:
    # as-of Tuesday 2025-07-15 12:00 UTC
    times = {
        "a": "2025-07-01T00:00:00",  # start of this month / quarter
        "b": "2025-06-30T23:59:59",  # end of the previous month
        "c": "2025-06-01T00:00:00",  # start of the previous month
        "d": "2025-05-31T23:59:59",
        "e": "2025-04-01T00:00:00",  # start of the 3rd calendar month back
        "f": "2025-03-31T23:59:59",
        "g": "2025-07-15T12:00:00",  # the as-of
        "h": "2025-07-15T12:00:01",  # invisible
        "i": "2024-12-31T23:59:59",  # previous year
        "j": "2025-01-01T00:00:00",  # start of this year
        "k": "2025-07-14T00:00:00",  # Monday: start of this ISO week
        "l": "2025-07-13T23:59:59",  # Sunday before
    }
    windows = {
        "this_month": ("this month", "agkl"),
        "previous_month": ("previous month", "bc"),
        "last_3_calendar_months": ("last 3 calendar months", "bcde"),
        "this_quarter": ("this quarter", "agkl"),
        "previous_quarter": ("previous quarter", "bcde"),
        "this_week": ("this week", "gk"),
        "this_year": ("this year", "abcdefgjkl"),
        "previous_year": ("previous year", "i"),
        "before_this_year": ("before this year", "i"),
        "after_previous_month": ("after previous month", "agkl"),
        "since_date": ("since 2025-06-01", "abcgkl"),
        "until_date": ("until 2025-06-30", "bcdefij"),  # includes all of June 30
        "after_date": ("after 2025-06-30", "agkl"),  # starts when June 30 has ended
        "before_date": ("before 2025-06-01", "defij"),
        "after_instant": ("after 2025-06-30T23:59:59", "agkl"),  # strict
        "since_instant": ("since 2025-06-30T23:59:59", "abgkl"),
        "until_instant": ("until 2025-07-01T00:00", "abcdefij"),  # inclusive
        "before_instant": ("before 2025-07-01T00:00", "bcdefij"),
        "from_to": ("from 2025-06-01 to 2025-06-30", "bc"),
        # as_of − 45d = 2025-05-31T12:00 < t ≤ as_of − 14d = 2025-07-01T12:00
        "between_ago": ("between 45d ago and 14d ago", "abcd"),
        # t ≤ as_of − 45d
        "more_than_ago": ("more than 45d ago", "efij"),
        "since_ago": ("since 14d ago", "gkl"),  # 2025-07-01T12:00 ≤ t
    }
    definitions = "\n".join(
        f"measure {name} = count orders during {window}" for name, (window, _) in windows.items()
    )
    rows = [order(n, 1, tz(at)) for n, at in enumerate(times.values())]
    case = Case(definitions, fixture(customers_of([1]), orders=rows), "2025-07-15T12:00")
    for name, (window, letters) in windows.items():
        assert case.values(name) == {1: len(letters)}, window


def test_project_time_zone_reads_instants_as_wall_clock() -> None:
    # Europe/Berlin in July is UTC+2: the as-of 2025-07-01 00:00 is 2025-06-30T22:00Z.
    case = Case(
        """
        measure n = count orders
        measure n_prev = count orders during previous month
        measure n_this = count orders during this month
        measure n_events = count events
        measure hour_of_last = hour(last orders)
        measure weekday_of_last = weekday(last orders)
        """,
        fixture(
            [
                customer(1),
                customer(2),
                customer(3),
                customer(4, signed_up_at=tz("2025-06-30T22:30")),  # 00:30 on July 1: not yet
                customer(5, signed_up_at=tz("2025-06-30T21:30")),  # 23:30 on June 30: member
            ],
            orders=[
                order(1, 1, tz("2025-06-30T21:59:59")),  # June 30 23:59:59 Berlin
                order(2, 2, tz("2025-06-30T22:00:01")),  # July 1 00:00:01: invisible
                order(3, 3, tz("2025-06-30T22:00:00")),  # exactly the as-of
            ],
            events=[
                (1, ts("2025-06-30T23:30"), "x", None),  # wall clock already
                (2, ts("2025-07-01T00:30"), "x", None),  # after the as-of
            ],
        ),
        zone="Europe/Berlin",
    )
    assert set(case.values("n")) == {1, 2, 3, 5}
    assert case.values("n") == {1: 1, 2: 0, 3: 1, 5: 0}
    assert case.values("n_prev") == {1: 1, 2: 0, 3: 0, 5: 0}
    assert case.values("n_this") == {1: 0, 2: 0, 3: 1, 5: 0}
    assert case.values("n_events") == {1: 1, 2: 0, 3: 0, 5: 0}
    assert case.values("hour_of_last") == {1: 23, 2: None, 3: 0, 5: None}
    # June 30 2025 is a Monday, July 1 a Tuesday (ISO 1..7)
    assert case.values("weekday_of_last") == {1: 1, 2: None, 3: 2, 5: None}
    # Under UTC the same rows are all visible and customer 4 has signed up (22:30Z < 2025-07-01).
    utc = Case("measure n = count orders", case.tables)
    assert utc.values("n") == {1: 1, 2: 1, 3: 1, 4: 0, 5: 0}


def test_days_step_the_wall_clock_across_daylight_saving() -> None:
    # Berlin springs forward on 2025-03-30. As-of 2025-04-01 12:00 (CEST).
    # `last 3d` starts at 2025-03-29 12:00 wall clock (CET = 11:00Z), not 72 real hours earlier.
    case = Case(
        "measure n = count orders during last 3d",
        fixture(
            customers_of([1, 2]),
            orders=[
                order(1, 1, tz("2025-03-29T10:30")),  # 11:30 CET: before the bound
                order(2, 2, tz("2025-03-29T11:00:01")),  # 12:00:01 CET: inside
            ],
        ),
        as_of="2025-04-01T12:00",
        zone="Europe/Berlin",
    )
    assert case.values("n") == {1: 0, 2: 1}


def test_entity_time_limits_the_population() -> None:
    case = Case(
        "segment everyone = id > 0",
        fixture(
            [
                customer(1, signed_up_at=tz("2025-07-01T00:00")),  # exactly the as-of
                customer(2, signed_up_at=tz("2025-07-01T00:00:01")),  # later: not yet
                customer(3),  # no time: always a member
            ]
        ),
    )
    assert case.members("everyone") == {1, 3}
    assert population_keys(case.analysis, case.tables, case.as_of) == {1, 3}
    # `not` is the complement within the population, never including future members
    assert (
        evaluate_members(case.analysis, ir.Not(case.expr("everyone")), case.tables, case.as_of)
        == set()
    )


# ---------------------------------------------------------------------- §4 aggregates
def test_zero_row_defaults() -> None:
    case = Case(
        """
        measure n = count orders
        measure n_coupon = count(coupon) of orders
        measure n_channels = count distinct(channel) of orders
        measure total = sum(amount) of orders
        measure mean = avg(amount) of orders
        measure low = min(amount) of orders
        measure high = max(amount) of orders
        measure any_orders = exists orders
        measure first_at = first orders
        measure last_at = last orders
        measure first_channel = first(channel) of orders
        measure last_channel = last(channel) of orders
        measure second_at = nth(2) of orders
        measure second_channel = nth(2, channel) of orders
        measure top_page = max count events per page
        measure pages = count count events per page
        measure page_total = sum count events per page
        segment never_added = count cart_adds = 0
        """,
        fixture(
            customers_of([1, 2]),
            orders=[order(1, 2, tz("2025-06-01T10:00"))],  # customer 2: one row, no values
            events=[(2, ts("2025-06-01T10:00"), "add_to_cart", None)],  # page missing
        ),
    )
    expected_1 = {
        "n": 0,
        "n_coupon": 0,
        "n_channels": 0,
        "total": 0,
        "mean": None,
        "low": None,
        "high": None,
        "any_orders": False,
        "first_at": None,
        "last_at": None,
        "first_channel": None,
        "last_channel": None,
        "second_at": None,
        "second_channel": None,
        "top_page": None,
        "pages": 0,
        "page_total": 0,
    }
    for name, value in expected_1.items():
        assert case.values(name)[1] == value, name
    # Customer 2 has a row, but no amounts, channels or pages: present-value aggregates
    # behave as if there were no rows; the row itself is still counted and exists.
    got_2 = {name: case.values(name)[2] for name in expected_1}
    assert got_2 == {
        **expected_1,
        "n": 1,
        "any_orders": True,
        "first_at": ts("2025-06-01T10:00"),
        "last_at": ts("2025-06-01T10:00"),
    }
    assert case.members("never_added") == {1}


def test_aggregates_over_values_and_time_order_tie_breaks() -> None:
    case = Case(
        """
        measure n = count orders
        measure n_coupon = count(coupon) of orders
        measure n_distinct_coupons = count distinct(coupon) of orders
        measure n_distinct_channels = count distinct(channel) of orders
        measure total = sum(amount) of orders
        measure paid_total = sum(amount) of orders where status = "paid"
        measure mean = avg(amount) of orders
        measure low = min(amount) of orders
        measure high = max(amount) of orders
        measure first_at = first orders
        measure last_at = last orders
        measure second_at = nth(2) of orders
        measure third_at = nth(3) of orders
        measure first_channel = first(channel) of orders
        measure last_channel = last(channel) of orders
        measure third_channel = nth(3, channel) of orders
        measure fifth_channel = nth(5, channel) of orders
        measure first_amount = first(amount) of orders
        measure second_amount = nth(2, amount) of orders
        measure last_amount = last(amount) of orders
        measure first_web_at = first orders where channel = "web"
        """,
        fixture(
            customers_of([1]),
            orders=[
                order(
                    1, 1, tz("2025-06-10T10:00"), "10.50", coupon="A", status="paid", channel="web"
                ),
                order(2, 1, tz("2025-06-10T10:00"), "20", status="paid", channel="app"),
                order(3, 1, tz("2025-06-20T08:00"), None, coupon="B", status="cancelled"),
                order(4, 1, tz("2025-06-25T08:00"), "5", coupon="A", status="paid", channel="web"),
                order(5, 1, tz("2025-06-25T08:00"), "7", status="paid", channel="shop"),
                order(6, 1, tz("2025-07-02T08:00"), "1000", channel="aaa"),  # invisible
            ],
        ),
    )
    one = {name: case.values(name)[1] for name in case.analysis.definitions}
    assert one["n"] == 5
    assert one["n_coupon"] == 3
    assert one["n_distinct_coupons"] == 2
    assert one["n_distinct_channels"] == 3
    assert one["total"] == Decimal("42.50")
    assert one["paid_total"] == Decimal("42.50")
    assert one["mean"] == pytest.approx(10.625)  # 42.50 / 4 present amounts
    assert one["low"] == Decimal(5)
    assert one["high"] == Decimal(20)
    assert one["first_at"] == ts("2025-06-10T10:00")
    assert one["last_at"] == ts("2025-06-25T08:00")
    assert one["second_at"] == ts("2025-06-10T10:00")  # two rows share the first time
    assert one["third_at"] == ts("2025-06-20T08:00")
    # ties at one time: the value itself, smallest first ("app" < "web")
    assert one["first_channel"] == "app"
    # latest time 06-25 holds "web" and "shop": the smallest value wins the tie
    assert one["last_channel"] == "shop"
    # rows with a channel, in (time, value) order: app, web, shop, web
    assert one["third_channel"] == "shop"
    assert one["fifth_channel"] is None
    assert one["first_amount"] == Decimal("10.50")
    assert one["second_amount"] == Decimal(20)
    assert one["last_amount"] == Decimal(5)
    assert one["first_web_at"] == ts("2025-06-10T10:00")


def test_grouped_aggregates_ignore_missing_groups() -> None:
    events = [
        (1, ts("2025-06-01T10:00"), "view", "a"),
        (1, ts("2025-06-02T10:00"), "view", "a"),
        (1, ts("2025-06-03T10:00"), "view", "a"),
        (1, ts("2025-06-04T10:00"), "view", "b"),
        (1, ts("2025-06-05T10:00"), "view", None),
        (1, ts("2025-06-06T10:00"), "view", None),
        (1, ts("2025-06-07T10:00"), "view", None),
        (1, ts("2025-07-05T10:00"), "view", "b"),  # invisible
        (2, ts("2025-05-01T10:00"), "view", "a"),  # outside the window below
    ]
    case = Case(
        """
        measure top = max count events per page
        measure low = min count events per page
        measure groups = count count events per page
        measure total = sum count events per page
        measure mean = avg count events per page
        measure top_30d = max count events during last 30d per page
        measure top_views = max count events per page where name = "view"
        """,
        fixture(customers_of([1, 2, 3]), events=events),
    )
    assert case.values("top") == {1: 3, 2: 1, 3: None}
    assert case.values("low") == {1: 1, 2: 1, 3: None}
    assert case.values("groups") == {1: 2, 2: 1, 3: 0}
    assert case.values("total") == {1: 4, 2: 1, 3: 0}
    assert case.values("mean") == {1: pytest.approx(2.0), 2: pytest.approx(1.0), 3: None}
    assert case.values("top_30d") == {1: 3, 2: None, 3: None}
    assert case.values("top_views") == {1: 3, 2: 1, 3: None}


def test_rows_reached_through_another_table_inherit_its_time() -> None:
    case = Case(
        """
        measure n_items = count order_items
        measure carpet_spend = sum(price) of order_items where category = "carpets"
        measure paid_items = count order_items where orders.status = "paid"
        measure paid_items_unqualified = count order_items where status = "paid"
        measure last_item_at = last order_items
        segment recent_carpets = (exists order_items during last 30d where category = "carpets")
        """,
        fixture(
            customers_of([1, 2, 3]),
            orders=[
                order(100, 1, tz("2025-06-10T09:00"), status="paid"),
                order(101, 1, tz("2025-07-05T09:00"), status="paid"),  # after the as-of
                order(102, 1, None, status="paid"),  # no time
                order(200, 2, tz("2025-05-01T09:00"), status="cancelled"),
            ],
            items=[
                (100, "carpets", "50"),
                (100, "lamps", "20"),
                (101, "carpets", "70"),
                (102, "carpets", "10"),
                (200, "carpets", "30"),
                (999, "carpets", "1"),  # no such order
                (None, "carpets", "1"),
            ],
        ),
    )
    assert case.values("n_items") == {1: 2, 2: 1, 3: 0}
    assert case.values("carpet_spend") == {1: Decimal(50), 2: Decimal(30), 3: 0}
    assert case.values("paid_items") == {1: 2, 2: 0, 3: 0}
    assert case.values("paid_items_unqualified") == {1: 2, 2: 0, 3: 0}
    assert case.values("last_item_at") == {
        1: ts("2025-06-10T09:00"),
        2: ts("2025-05-01T09:00"),
        3: None,
    }
    assert case.members("recent_carpets") == {1}


def test_derived_tables_and_parameters() -> None:
    definitions = """
    param window: duration = 30d
    param min_adds: integer = 2
    table mobile_cart_adds = cart_adds where page = "mobile"
    measure adds = count cart_adds during last window
    measure mobile_adds = count mobile_cart_adds
    segment keen = adds >= min_adds
    """
    tables = fixture(
        customers_of([1, 2]),
        events=[
            (1, ts("2025-06-25T10:00"), "add_to_cart", "mobile"),
            (1, ts("2025-06-10T10:00"), "add_to_cart", "web"),
            (1, ts("2025-06-10T10:00"), "purchase", "mobile"),
            (2, ts("2025-06-25T10:00"), "add_to_cart", "web"),
        ],
    )
    case = Case(definitions, tables)
    assert case.values("adds") == {1: 2, 2: 1}
    assert case.values("mobile_adds") == {1: 1, 2: 0}
    assert case.members("keen") == {1}
    narrow = Case(definitions, tables, params={"window": "14d", "min_adds": 1})
    assert narrow.values("adds") == {1: 1, 2: 1}
    assert narrow.members("keen") == {1, 2}


# ---------------------------------------------------------------------- arithmetic and time
def test_arithmetic_division_and_decimals() -> None:
    case = Case(
        """
        measure ratio = size / score
        measure half = size / 2
        measure doubled = sum(amount) of orders * 2 + 1
        measure negated = -size
        measure mean_check = sum(amount) of orders / count orders
        segment big_check = sum(amount) of orders / count orders > 10
        """,
        fixture(
            [
                customer(1, size=3, score=2.0),
                customer(2, size=3, score=0.0),
                customer(3, score=1.0),
            ],
            orders=[order(1, 1, tz("2025-06-01"), "10.50"), order(2, 1, tz("2025-06-02"), "11.50")],
        ),
    )
    assert case.values("ratio") == {1: pytest.approx(1.5), 2: None, 3: None}  # ÷0 is missing
    assert case.values("half") == {1: pytest.approx(1.5), 2: pytest.approx(1.5), 3: None}
    assert case.values("doubled") == {1: Decimal("45.00"), 2: 1, 3: 1}  # sum of no rows is 0
    assert case.values("negated") == {1: -3, 2: -3, 3: None}
    assert case.values("mean_check") == {1: pytest.approx(11.0), 2: None, 3: None}
    assert case.members("big_check") == {1}


def test_elapsed_time_and_calendar_durations() -> None:
    case = Case(
        """
        measure recency = time since last orders
        measure span = last orders - first orders
        segment recent = recency < 30d
        segment in_band = time since last orders between 29d and 31d
        segment long_tenure = time between first orders and last orders > 6mo
        segment late_second = last orders > first orders + 30d
        """,
        fixture(
            customers_of([1, 2, 3, 4, 5]),
            orders=[
                order(1, 1, tz("2025-06-01T00:00:00")),  # exactly 30 days before the as-of
                order(2, 2, tz("2025-06-01T00:00:01")),
                # Aug 31 + 6mo = Feb 28 (clamped): equal is not more than 6 months
                order(3, 3, tz("2024-08-31T10:00")),
                order(4, 3, tz("2025-02-28T10:00")),
                order(5, 4, tz("2024-08-31T10:00")),
                order(6, 4, tz("2025-02-28T10:00:01")),
            ],
        ),
    )
    assert case.values("recency")[1] == 30 * 86400.0
    assert case.values("recency")[2] == 30 * 86400.0 - 1
    assert case.values("recency")[5] is None
    assert case.values("span")[3] == 181 * 86400.0  # Aug 31 → Feb 28
    assert case.values("span")[1] == 0.0
    # recency < 30d ⇔ last order > as_of − 30d
    assert case.members("recent") == {2}
    assert case.members("in_band") == {1, 2}
    assert case.members("long_tenure") == {4}
    assert case.members("late_second") == {3, 4}


# ---------------------------------------------------------------------- §5 two-valued logic
def test_conditions_on_missing_values_are_false() -> None:
    case = Case(
        """
        segment berlin = city = "Berlin"
        segment not_berlin = city != "Berlin"
        segment complement = not (city = "Berlin")
        segment not_listed = city not in ["Berlin", "Kazan"]
        segment listed = city in ["Berlin", "Kazan"]
        segment missing_city = city is missing
        segment present_city = city is present
        segment small_or_berlin = size < 5 or city = "Berlin"
        segment not_big = not (size > 5)
        segment vips = vip
        segment not_vips = not vip
        segment window_complement = not (birth_date in last 30d)
        segment not_in_window = birth_date not in last 30d
        measure cmp = size > 5
        """,
        fixture(
            [
                customer(1, city="Berlin", size=10, vip=True, birth_date=d("2025-06-15")),
                customer(2, city="Moscow", size=1, vip=False, birth_date=d("2000-01-01")),
                customer(3),
            ]
        ),
    )
    assert case.members("berlin") == {1}
    assert case.members("not_berlin") == {2}
    assert case.members("complement") == {2, 3}
    assert case.members("not_listed") == {2}
    assert case.members("listed") == {1}
    assert case.members("missing_city") == {3}
    assert case.members("present_city") == {1, 2}
    assert case.members("small_or_berlin") == {1, 2}
    assert case.members("not_big") == {2, 3}
    assert case.members("vips") == {1}
    assert case.members("not_vips") == {2, 3}
    assert case.members("window_complement") == {2, 3}
    assert case.members("not_in_window") == {2}
    assert case.values("cmp") == {1: True, 2: False, 3: None}


def test_text_and_functions() -> None:
    case = Case(
        """
        segment has_mail = email contains "Mail"
        segment has_lower_mail = email contains "mail"
        segment any_case_mail = lower(email) contains "mail"
        segment starts_anna = email starts with "Anna"
        segment ends_ru = email ends with ".ru"
        measure shout = upper(email)
        measure len = length(email)
        measure place = coalesce(city, "nowhere")
        measure magnitude = abs(score)
        measure rounded = round(score)
        measure floored = floor(score)
        measure ceiled = ceil(score)
        """,
        fixture(
            [
                customer(1, email="Anna@Mail.ru", city="Berlin", score=-1.4),
                customer(2, email="boris@mail.com", score=2.6),
                customer(3, score=2.4),
            ]
        ),
    )
    assert case.members("has_mail") == {1}  # case-sensitive
    assert case.members("has_lower_mail") == {2}
    assert case.members("any_case_mail") == {1, 2}
    assert case.members("starts_anna") == {1}
    assert case.members("ends_ru") == {1}
    assert case.values("shout") == {1: "ANNA@MAIL.RU", 2: "BORIS@MAIL.COM", 3: None}
    assert case.values("len") == {1: 12, 2: 14, 3: None}
    assert case.values("place") == {1: "Berlin", 2: "nowhere", 3: "nowhere"}
    assert case.values("magnitude") == {1: 1.4, 2: 2.6, 3: 2.4}
    assert case.values("rounded") == {1: -1, 2: 3, 3: 2}
    assert case.values("floored") == {1: -2, 2: 2, 3: 2}
    assert case.values("ceiled") == {1: -1, 2: 3, 3: 3}


# ---------------------------------------------------------------------- §10 attributes
def test_age_counts_birthdays_from_their_day_and_leap_days_from_march_1() -> None:
    case = Case(
        "measure years = age(birth_date)",
        fixture(
            [
                customer(1, birth_date=d("2000-02-29")),
                customer(2, birth_date=d("1990-07-01")),  # birthday on the as-of date
                customer(3, birth_date=d("1990-07-02")),  # birthday tomorrow
                customer(4),
            ]
        ),
    )
    assert case.values("years") == {1: 25, 2: 35, 3: 34, 4: None}
    assert case.at("2025-02-28T23:59:59").values("years")[1] == 24
    assert case.at("2025-03-01").values("years")[1] == 25
    assert case.at("2024-02-29").values("years")[1] == 24
    assert case.at("2024-02-28").values("years")[1] == 23


def test_date_parts_and_cohort_starts() -> None:
    definitions = """
    measure wd = weekday(last orders)
    measure hr = hour(last orders)
    measure day_of = date(last orders)
    measure yday = day_of_year(birth_date)
    measure q = quarter(birth_date)
    measure y = year(birth_date)
    measure m = month(birth_date)
    measure dd = day(birth_date)
    measure week = week_start(birth_date)
    measure month_of = month_start(birth_date)
    measure quarter_of = quarter_start(birth_date)
    measure year_of = year_start(birth_date)
    measure order_week = week_start(last orders)
    """
    tables = fixture(
        [customer(1, birth_date=d("2024-12-31"))],  # a Tuesday, day 366 of a leap year
        orders=[order(1, 1, tz("2025-06-29T23:30"))],  # Sunday 23:30 UTC, Monday 01:30 Berlin
    )
    utc = Case(definitions, tables)
    got = {name: utc.values(name)[1] for name in utc.analysis.definitions}
    assert got == {
        "wd": 7,
        "hr": 23,
        "day_of": d("2025-06-29"),
        "yday": 366,
        "q": 4,
        "y": 2024,
        "m": 12,
        "dd": 31,
        "week": d("2024-12-30"),
        "month_of": d("2024-12-01"),
        "quarter_of": d("2024-10-01"),
        "year_of": d("2024-01-01"),
        "order_week": d("2025-06-23"),
    }
    berlin = Case(definitions, tables, zone="Europe/Berlin")
    assert berlin.values("wd")[1] == 1
    assert berlin.values("hr")[1] == 1
    assert berlin.values("day_of")[1] == d("2025-06-30")
    assert berlin.values("order_week")[1] == d("2025-06-30")


def test_distinct_calendar_months() -> None:
    # §9: in each of the last 3 calendar months
    case = Case(
        """
        segment every_month =
          count distinct(month_start(ordered_at)) of orders during last 3 calendar months = 3
        measure active_days = count distinct(date(occurred_at)) of events during last 30d
        """,
        fixture(
            customers_of([1, 2]),
            orders=[
                order(1, 1, tz("2025-04-01T00:00")),
                order(2, 1, tz("2025-05-15T00:00")),
                order(3, 1, tz("2025-06-30T23:59")),
                order(4, 2, tz("2025-03-31T23:59")),  # March: outside
                order(5, 2, tz("2025-05-15T00:00")),
                order(6, 2, tz("2025-06-15T00:00")),
                order(7, 2, tz("2025-06-16T00:00")),
            ],
            events=[
                (1, ts("2025-06-20T01:00"), "x", None),
                (1, ts("2025-06-20T23:00"), "x", None),
                (1, ts("2025-06-21T01:00"), "x", None),
            ],
        ),
    )
    assert case.members("every_month") == {1}
    assert case.values("active_days") == {1: 2, 2: 0}


# ---------------------------------------------------------------------- §6 classifiers and splits
def test_classifier_takes_the_first_rule_that_holds() -> None:
    case = Case(
        """
        classifier tier {
          gold when size >= 10
          silver when size >= 5
          else bronze
        }
        segment silver_tier = tier = "silver"
        segment not_gold = tier != "gold"
        """,
        fixture([customer(1, size=12), customer(2, size=7), customer(3, size=1), customer(4)]),
    )
    assert case.values("tier") == {1: "gold", 2: "silver", 3: "bronze", 4: "bronze"}
    assert case.members("silver_tier") == {2}
    assert case.members("not_gold") == {2, 3, 4}


def test_split_buckets_from_md5() -> None:
    # MD5("s1:<key>"), first 8 hex digits mod 10000 (values also listed in tests/test_corpus.py):
    # 1→844, 2→5160, 4→7578, 5→1837, 7→3471, 9→9514, 11→8289
    known = {1: 844, 2: 5160, 4: 7578, 5: 1837, 7: 3471, 9: 9514, 11: 8289}
    assert {key: split_bucket("s1", key) for key in known} == known
    case = Case(
        """
        segment vips = vip
        split ab of vips seed "s1" {
          target 50%
          control 50%
        }
        split three seed "s1" {
          a 8.44%
          b 10%
          c 81.56%
        }
        segment controls = ab = "control"
        """,
        fixture([customer(key, vip=key != 3) for key in (1, 2, 3, 4, 5, 7, 9, 11)]),
    )
    assert case.values("ab") == {
        1: "target",
        5: "target",
        7: "target",
        2: "control",
        4: "control",
        9: "control",
        11: "control",
        3: None,  # outside the split's segment: no bucket
    }
    assert case.members("controls") == {2, 4, 9, 11}
    # 8.44% covers buckets 0–843, so bucket 844 falls in `b` (844–1843), 1837 too
    three = case.values("three")
    assert {key: three[key] for key in known} == {
        1: "b",
        5: "b",
        2: "c",
        4: "c",
        7: "c",
        9: "c",
        11: "c",
    }
    for key, label in three.items():
        bucket = split_bucket("s1", key)
        assert label == ("a" if bucket < 844 else "b" if bucket < 1844 else "c")


# ---------------------------------------------------------------------- §7 sequences
def test_sequences_strictly_later_within_inclusive_and_elapsed_limits() -> None:
    def cart(key: int, at: str) -> tuple[object, ...]:
        return (key, ts(at), "add_to_cart", None)

    def buy(key: int, at: str) -> tuple[object, ...]:
        return (key, ts(at), "purchase", None)

    case = Case(
        """
        segment converted = cart_adds then purchases within 3d
        segment ever = cart_adds then purchases
        segment never = cart_adds then no purchases
        segment reminder = cart_adds then no purchases within 2h
        segment monthly = cart_adds then purchases within 1mo
        segment recent_reminder = cart_adds during last 30d then no purchases within 2h
        segment filtered = (events during last 30d where name = "add_to_cart") then purchases
        """,
        fixture(
            customers_of(range(1, 12)),
            events=[
                cart(1, "2025-06-10T10:00"),
                buy(1, "2025-06-13T10:00"),  # exactly a + 3d: within
                cart(2, "2025-06-10T10:00"),
                buy(2, "2025-06-13T10:00:01"),  # 1 s too late for 3d
                cart(3, "2025-06-10T10:00"),
                buy(3, "2025-06-10T10:00"),  # same time: not later
                cart(4, "2025-06-30T23:00"),  # 2h limit not over by the as-of
                cart(5, "2025-06-30T22:00"),  # a + 2h = as-of: the limit has passed
                cart(6, "2025-06-10T10:00"),
                buy(6, "2025-06-10T11:00"),
                cart(7, "2025-06-10T10:00"),
                buy(7, "2025-06-10T11:00"),
                cart(7, "2025-06-20T10:00"),  # a second cart never followed
                cart(8, "2025-06-30T23:30"),
                buy(8, "2025-07-01T00:30"),  # after the as-of: invisible
                # 9: no rows at all
                cart(10, "2025-01-31T12:00"),
                buy(10, "2025-02-28T12:00"),  # Jan 31 + 1mo = Feb 28 12:00 (clamped)
                cart(11, "2025-01-31T12:00"),
                buy(11, "2025-02-28T12:00:01"),
            ],
        ),
    )
    assert case.members("converted") == {1, 6, 7}
    assert case.members("ever") == {1, 2, 6, 7, 10, 11}
    assert case.members("never") == {3, 4, 5, 7, 8}
    assert case.members("reminder") == {1, 2, 3, 5, 7, 10, 11}
    assert case.members("monthly") == {1, 2, 6, 7, 10}
    # only carts of the last 30 days (June 1 00:00 < t): 10 and 11 drop out
    assert case.members("recent_reminder") == {1, 2, 3, 5, 7}
    assert case.members("filtered") == {1, 2, 6, 7}


# ---------------------------------------------------------------------- §8 rankings
RANKED_SCORES = {1: 5.0, 2: 1.0, 3: 3.0, 4: 3.0, 5: 3.0, 6: 9.0, 7: 7.0, 8: 7.0, 9: 2.0, 10: 3.0}


def ranked_case(definitions: str) -> Case:
    rows = [customer(key, score=score, size=key) for key, score in RANKED_SCORES.items()]
    return Case(definitions, fixture([*rows, customer(11, size=11)]))  # 11: no score


def test_ntile_distributes_like_sql_with_ties_by_key() -> None:
    case = ranked_case("measure quartile = ntile(4) of score")
    # by (score, key): 2 9 3 | 4 5 10 | 1 7 | 8 6 — 10 members, so groups of 3, 3, 2, 2
    assert case.values("quartile") == {
        2: 1,
        9: 1,
        3: 1,
        4: 2,
        5: 2,
        10: 2,
        1: 3,
        7: 3,
        8: 4,
        6: 4,
        11: None,
    }


def test_ntile_with_fewer_members_than_groups() -> None:
    case = ranked_case("measure q = ntile(5) of score among (size <= 3)")
    # members 1 (5.0), 2 (1.0), 3 (3.0): one per group from the bottom
    assert case.values("q") == {2: 1, 3: 2, 1: 3} | dict.fromkeys(range(4, 12))


def test_percentile_shares_ranks_between_equal_values() -> None:
    case = ranked_case(
        """
        measure pct = percentile of score
        measure alone = percentile of score among (size = 6)
        """
    )
    ninths = {2: 0, 9: 1, 3: 2, 4: 2, 5: 2, 10: 2, 1: 6, 7: 7, 8: 7, 6: 9}
    got = case.values("pct")
    assert got[11] is None
    assert {key: got[key] for key in ninths} == {
        key: pytest.approx(lower / 9) for key, lower in ninths.items()
    }
    assert case.values("alone") == {6: 0.0} | {k: None for k in range(1, 12) if k != 6}


def test_cumulative_share_runs_from_the_largest_value() -> None:
    case = ranked_case(
        """
        measure share = cumulative share of score
        measure zero_share = cumulative share of score among (score = 0)
        segment abc_a = share <= 50%
        """
    )
    # descending by score, ties by key: 6 7 8 1 3 4 5 10 9 2; total 43
    running = {6: 9, 7: 16, 8: 23, 1: 28, 3: 31, 4: 34, 5: 37, 10: 40, 9: 42, 2: 43}
    got = case.values("share")
    assert got[11] is None
    assert {key: got[key] for key in running} == {
        key: pytest.approx(total / 43) for key, total in running.items()
    }
    assert case.members("abc_a") == {6, 7}  # 16/43 ≈ 0.372; 23/43 ≈ 0.535
    # nobody has score 0: no members, no shares
    assert set(case.values("zero_share").values()) == {None}


def test_cumulative_share_of_a_zero_total_is_missing() -> None:
    case = Case(
        "measure share = cumulative share of score",
        fixture([customer(1, score=0.0), customer(2, score=0.0)]),
    )
    assert case.values("share") == {1: None, 2: None}


def test_top_and_bottom_by_count_and_fraction() -> None:
    case = ranked_case(
        """
        segment top3 = score in top 3
        segment top30 = score in top 30%
        segment bottom2 = score in bottom 2
        segment bottom25 = score in bottom 25%
        segment top_small = score in top 1 among (size <= 5)
        measure flag = score in top 3
        """
    )
    assert case.members("top3") == {6, 7, 8}
    assert case.members("top30") == {6, 7, 8}  # ⌈30% × 10⌉ = 3
    assert case.members("bottom2") == {2, 9}
    assert case.members("bottom25") == {2, 9, 3}  # ⌈2.5⌉ = 3, ties by key
    assert case.members("top_small") == {1}
    assert case.values("flag")[11] is False  # not ranked: false, not missing


def test_top_ten_percent_of_fifteen_members_is_two() -> None:
    case = Case(
        """
        segment top10 = score in top 10%
        segment top20 = score in top 20%
        segment bottom10 = score in bottom 10%
        """,
        fixture([customer(key, score=float(key)) for key in range(1, 16)]),
    )
    assert case.members("top10") == {15, 14}  # ⌈1.5⌉ = 2
    assert case.members("top20") == {15, 14, 13}  # exactly 3
    assert case.members("bottom10") == {1, 2}


def test_population_aggregates_are_the_same_for_everyone() -> None:
    case = ranked_case(
        """
        segment small = size <= 3
        measure mean = avg score
        measure total = sum score
        measure how_many = count score
        measure lowest = min score
        measure highest = max score among small
        measure empty_count = count score among (size > 100)
        measure empty_sum = sum score among (size > 100)
        measure empty_avg = avg score among (size > 100)
        segment above_average = score > avg score among small
        """
    )
    everyone = range(1, 12)
    assert case.values("mean") == dict.fromkeys(everyone, pytest.approx(4.3))
    assert case.values("total") == dict.fromkeys(everyone, pytest.approx(43.0))
    assert case.values("how_many") == dict.fromkeys(everyone, 10)
    assert case.values("lowest") == dict.fromkeys(everyone, 1.0)
    assert case.values("highest") == dict.fromkeys(everyone, 5.0)  # among 1, 2, 3
    assert case.values("empty_count") == dict.fromkeys(everyone, 0)
    assert case.values("empty_sum") == dict.fromkeys(everyone, 0)
    assert case.values("empty_avg") == dict.fromkeys(everyone, None)
    # the small ones average 3.0
    assert case.members("above_average") == {1, 6, 7, 8}


def test_rankings_of_times_and_durations() -> None:
    case = Case(
        """
        measure last_at = last orders
        measure recency_rank = ntile(2) of last_at
        segment most_recent = last orders in top 1
        measure recency = time since last orders
        measure staleness = ntile(2) of recency
        """,
        fixture(
            customers_of([1, 2, 3]),
            orders=[order(1, 1, tz("2025-06-01")), order(2, 2, tz("2025-06-20"))],
        ),
    )
    assert case.values("recency_rank") == {1: 1, 2: 2, 3: None}
    assert case.members("most_recent") == {2}
    assert case.values("staleness") == {1: 2, 2: 1, 3: None}  # 30 days is the longer wait


# ---------------------------------------------------------------------- API and corpus
def test_accepts_a_compiler_an_analysis_or_an_entity() -> None:
    text = MODEL + 'segment berlin = city = "Berlin"\n'
    compiler = Compiler(Project.from_text(text))
    tables = fixture([customer(1, city="Berlin"), customer(2)])
    as_of = compiler.as_of("2025-07-01")
    condition = compiler.analysis.definitions["berlin"].expr
    entity = entity_of(compiler)
    assert entity == compiler.analysis.entity
    for model in (compiler, compiler.analysis, entity):
        assert evaluate_members(model, condition, tables, as_of) == {1}
    evaluator = ReferenceEvaluator(entity, tables, as_of)
    assert evaluator.values(condition) == {1: True, 2: None}


def test_missing_fixture_table_is_reported() -> None:
    case = Case("measure n = count orders", fixture(customers_of([1]))[:1])
    with pytest.raises(ReferenceError, match="orders"):
        case.values("n")


def test_agrees_with_the_hand_written_corpus_expectations(corpus: Compiler) -> None:
    as_of = corpus.as_of(CORPUS_AS_OF)
    evaluator = ReferenceEvaluator(entity_of(corpus), CORPUS_TABLES, as_of)
    assert set(evaluator.population) == CORPUS_POPULATION
    got = {
        name: evaluator.members(corpus.analysis.definitions[name].expr) for name in CORPUS_EXPECTED
    }
    assert got == CORPUS_EXPECTED
