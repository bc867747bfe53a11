"""Each analyst capability, checked against SQL written by hand for the same question.

The fixture sits on awkward boundaries (as-of 2024-03-01T00:00, the day after a leap
day): events exactly at a sequence's time limit, ties in rankings, orders on month
ends, birthdays on the as-of date. The hand-written SQL uses the constant bounds an
analyst would write for this as-of time; it runs on DuckDB and Postgres as written,
in a BigQuery spelling on the GoogleSQL reference engine, and in a ClickHouse spelling
of the times and hashes on chdb.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from decimal import Decimal

import pytest

from segdsl.compiler import Compiler
from segdsl.project import Project
from tests.support.availability import require_postgres
from tests.support.batch import members_by_segment
from tests.support.runners import (
    ChdbRunner,
    DuckDBRunner,
    PostgresRunner,
    Runner,
    SparkRunner,
    ZetaSQLRunner,
)
from tests.support.tables import table

AS_OF = "2024-03-01T00:00:00"

MODEL = """
segdsl 1
entity customer from customers {
  key id
  birth_date: date
  city: string
  email: string
}
table orders from orders {
  link customer_id to customer
  time ordered_at
  id: integer
  amount: money
  channel: string
}
table items from items {
  link order_id to orders.id
  category: string
}
table events from events {
  link customer_id to customer
  time occurred_at
  name: string
}
table carts = events where name = "cart"
table buys = events where name = "buy"
param big: money = 100
measure revenue = sum(amount) of orders
measure buyer_revenue = sum(amount) of orders
segment buyers = count orders > 0
"""


def ts(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


TABLES = (
    table(
        "customers",
        {"id": "integer", "birth_date": "date", "city": "string", "email": "string"},
        [
            (1, dt.date(2000, 3, 1), "Moscow", "a@x.ru"),  # turns 24 on the as-of date
            (2, dt.date(2000, 2, 29), "Berlin", "b@y.de"),  # leap-day birthday: 24 since Feb 29
            (3, dt.date(2000, 3, 2), "Moscow", None),  # turns 24 the day after: 23
            (4, None, None, "d@x.ru"),
            (5, dt.date(1980, 12, 31), "Kazan", "e@x.ru"),
            (6, dt.date(1999, 1, 1), "Moscow", "f@z.com"),
            (7, None, "Berlin", None),
            (8, dt.date(1990, 6, 15), None, "h@x.ru"),
        ],
    ),
    table(
        "orders",
        {
            "customer_id": "integer",
            "ordered_at": "timestamp",
            "id": "integer",
            "amount": "decimal",
            "channel": "string",
        },
        [
            (1, ts("2024-01-31T23:59:59"), 11, Decimal("100.00"), "web"),
            (1, ts("2024-02-29T10:00"), 12, Decimal("50.00"), "app"),
            (2, ts("2024-01-01T00:00"), 21, Decimal("100.00"), "web"),
            (2, ts("2024-02-01T00:00"), 22, Decimal("100.00"), "web"),
            (3, ts("2023-12-31T23:59:59"), 31, Decimal("150.00"), "store"),
            (3, ts("2024-03-01T00:00"), 32, Decimal("50.00"), "store"),  # exactly at the as-of time
            (4, ts("2024-02-15T12:00"), 41, Decimal("200.00"), "app"),
            (4, ts("2024-02-15T12:00"), 42, Decimal("10.00"), "web"),  # same time as 41
            (5, ts("2024-03-01T00:00:01"), 51, Decimal("999.00"), "web"),  # after the as-of time
            (6, ts("2023-11-30T08:00"), 61, Decimal("200.00"), "web"),
            (6, ts("2023-12-15T00:00"), 62, Decimal("20.00"), "web"),  # fewer orders lately
            (8, ts("2023-12-01T00:00"), 81, Decimal("75.00"), "app"),
            (8, ts("2024-01-15T00:00"), 82, Decimal("75.00"), "app"),
            (8, ts("2024-02-20T00:00"), 83, Decimal("50.00"), "app"),
        ],
    ),
    table(
        "items",
        {"order_id": "integer", "category": "string"},
        [
            (11, "carpets"),
            (12, "lamps"),
            (21, "lamps"),
            (22, "lamps"),
            (31, "carpets"),
            (41, "sofas"),
            (61, "carpets"),
            (83, "carpets"),
        ],
    ),
    table(
        "events",
        {"customer_id": "integer", "occurred_at": "timestamp", "name": "string"},
        [
            (1, ts("2024-02-10T10:00"), "cart"),
            (1, ts("2024-02-10T12:00"), "buy"),  # exactly at the 2 h limit
            (2, ts("2024-02-10T10:00"), "cart"),
            (2, ts("2024-02-10T12:00:01"), "buy"),  # one second past the limit
            (3, ts("2024-02-10T10:00"), "cart"),
            (3, ts("2024-02-10T10:00"), "buy"),  # same moment: not "then"
            (4, ts("2024-02-10T09:00"), "buy"),
            (4, ts("2024-02-10T10:00"), "cart"),  # bought before, not after
            (5, ts("2024-02-29T22:00"), "cart"),  # the 2 h limit ends exactly at the as-of time
            (6, ts("2024-02-29T22:00:01"), "cart"),  # the limit has not passed yet
            (7, ts("2024-01-31T00:00"), "cart"),  # exactly 30 days before: outside `last 30d`
            (8, ts("2024-01-31T00:00:01"), "cart"),
            (8, ts("2024-02-01T00:00"), "buy"),
        ],
    ),
)


@pytest.fixture(scope="module", params=["duckdb", "postgres", "bigquery", "clickhouse"])
def runner(request: pytest.FixtureRequest) -> Iterator[Runner]:
    engine: Runner
    if request.param == "duckdb":
        engine = DuckDBRunner(TABLES)
    elif request.param == "postgres":
        require_postgres()
        engine = PostgresRunner(TABLES)
    elif request.param == "clickhouse":
        engine = ChdbRunner(TABLES)
    else:
        engine = ZetaSQLRunner(TABLES)
    yield engine
    engine.close()


def T(text: str, dialect: str) -> str:
    """A wall-clock timestamp literal as an analyst writes it for each engine."""
    if dialect == "spark":  # Spark's TIMESTAMP is an instant
        return f"TIMESTAMP_NTZ '{text}'"
    if dialect == "clickhouse":
        return f"toDateTime64('{text}', 6)"
    return f"DATETIME '{text}'" if dialect == "bigquery" else f"TIMESTAMP '{text}'"


def two_hours_after(column: str, dialect: str) -> str:
    """`column` plus two hours, as an analyst writes it for each engine."""
    if dialect == "bigquery":
        return f"DATETIME_ADD({column}, INTERVAL 2 HOUR)"
    if dialect == "spark":
        return f"{column} + INTERVAL 2 HOURS"
    if dialect == "clickhouse":
        return f"{column} + INTERVAL 2 HOUR"
    return f"{column} + INTERVAL '2 hours'"


# name → (segdsl condition, hand-written SQL returning the member ids; {T:...} spelled per dialect)
CAPABILITIES: dict[str, tuple[str, Callable[[str], str]]] = {
    # --- sequences
    "then_within_2h": (
        "carts then buys within 2h",
        lambda d: (
            f"""
        SELECT DISTINCT a.customer_id FROM events a JOIN events b
          ON b.customer_id = a.customer_id AND b.name = 'buy'
         AND b.occurred_at > a.occurred_at
         AND b.occurred_at <= {two_hours_after("a.occurred_at", d)}
         AND b.occurred_at <= {T("2024-03-01 00:00:00", d)}
        WHERE a.name = 'cart' AND a.occurred_at <= {T("2024-03-01 00:00:00", d)}"""
        ),
    ),
    "then_no_within_2h": (
        "carts during last 30d then no buys within 2h",
        lambda d: (
            f"""
        SELECT DISTINCT a.customer_id FROM events a
        LEFT JOIN events b
          ON b.customer_id = a.customer_id AND b.name = 'buy'
         AND b.occurred_at > a.occurred_at
         AND b.occurred_at <= {two_hours_after("a.occurred_at", d)}
        WHERE a.name = 'cart'
          AND a.occurred_at > {T("2024-01-31 00:00:00", d)}
          AND a.occurred_at <= {T("2024-02-29 22:00:00", d)}
          AND b.customer_id IS NULL"""
        ),
    ),
    # --- first / last / nth occurrence
    "second_order_in_february": (
        "nth(2) of orders in previous month",
        lambda d: (
            f"""
        SELECT customer_id FROM (
          SELECT customer_id, ordered_at,
                 ROW_NUMBER() OVER (PARTITION BY customer_id ORDER BY ordered_at) AS n
          FROM orders WHERE ordered_at <= {T("2024-03-01 00:00:00", d)}) x
        WHERE n = 2 AND ordered_at >= {T("2024-02-01 00:00:00", d)}
          AND ordered_at < {T("2024-03-01 00:00:00", d)}"""
        ),
    ),
    "first_channel_app": (
        'first(channel) of orders = "app"',
        lambda d: (
            f"""
        SELECT customer_id FROM (
          SELECT customer_id, channel,
                 ROW_NUMBER() OVER (PARTITION BY customer_id ORDER BY ordered_at, channel) AS n
          FROM orders WHERE ordered_at <= {T("2024-03-01 00:00:00", d)} AND channel IS NOT NULL) x
        WHERE n = 1 AND channel = 'app'"""
        ),
    ),
    "last_channel_web": (
        'last(channel) of orders = "web"',
        lambda d: (
            f"""
        SELECT customer_id FROM (
          SELECT customer_id, channel,
                 ROW_NUMBER() OVER (
                   PARTITION BY customer_id ORDER BY ordered_at DESC, channel ASC
                 ) AS n
          FROM orders WHERE ordered_at <= {T("2024-03-01 00:00:00", d)} AND channel IS NOT NULL) x
        WHERE n = 1 AND channel = 'web'"""
        ),
    ),
    # --- ranks and scores (revenue ties: 2 and 4 and 6 have 200, 8 has 200 too)
    "top_quartile": (
        "ntile(4) of revenue among buyers = 4",
        lambda d: (
            f"""
        SELECT customer_id FROM (
          SELECT customer_id, NTILE(4) OVER (ORDER BY revenue, customer_id) AS q FROM (
            SELECT customer_id, SUM(amount) AS revenue FROM orders
            WHERE ordered_at <= {T("2024-03-01 00:00:00", d)} GROUP BY customer_id) r) x
        WHERE q = 4"""
        ),
    ),
    "top_third_by_revenue": (
        "revenue in top 34% among buyers",
        lambda d: (
            f"""
        SELECT customer_id FROM (
          SELECT customer_id, ROW_NUMBER() OVER (ORDER BY revenue DESC, customer_id) AS n,
                 COUNT(*) OVER () AS total FROM (
            SELECT customer_id, SUM(amount) AS revenue FROM orders
            WHERE ordered_at <= {T("2024-03-01 00:00:00", d)} GROUP BY customer_id) r) x
        WHERE (n - 1) * 100 < 34 * total"""
        ),
    ),
    "abc_a": (
        "cumulative share of revenue among buyers <= 50%",
        lambda d: (
            f"""
        SELECT customer_id FROM (
          SELECT customer_id,
                 SUM(revenue) OVER (
                   ORDER BY revenue DESC, customer_id
                   ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
                 ) AS running,
                 SUM(revenue) OVER () AS total FROM (
            SELECT customer_id, SUM(amount) AS revenue FROM orders
            WHERE ordered_at <= {T("2024-03-01 00:00:00", d)} GROUP BY customer_id) r) x
        WHERE running * 2 <= total"""
        ),
    ),
    # --- calendar and trend windows
    "each_of_last_2_months": (
        "count distinct(month_start(ordered_at)) of orders during last 2 calendar months = 2",
        lambda d: (
            f"""
        SELECT customer_id FROM orders
        WHERE ordered_at >= {T("2024-01-01 00:00:00", d)}
          AND ordered_at < {T("2024-03-01 00:00:00", d)}
        GROUP BY customer_id HAVING COUNT(DISTINCT EXTRACT(MONTH FROM ordered_at)) = 2"""
        ),
    ),
    "ordered_this_month": (
        "exists orders during this month",
        lambda d: (
            f"""
        SELECT DISTINCT customer_id FROM orders
        WHERE ordered_at >= {T("2024-03-01 00:00:00", d)}
          AND ordered_at <= {T("2024-03-01 00:00:00", d)}"""
        ),
    ),
    "ordered_previous_quarter": (
        "exists orders during previous quarter",
        lambda d: (
            f"""
        SELECT DISTINCT customer_id FROM orders
        WHERE ordered_at >= {T("2023-10-01 00:00:00", d)}
          AND ordered_at < {T("2024-01-01 00:00:00", d)}"""
        ),
    ),
    "active_days_2": (
        "count distinct(date(occurred_at)) of events during last 30d >= 2",
        lambda d: (
            f"""
        SELECT customer_id FROM events
        WHERE occurred_at > {T("2024-01-31 00:00:00", d)}
          AND occurred_at <= {T("2024-03-01 00:00:00", d)}
        GROUP BY customer_id HAVING COUNT(DISTINCT CAST(occurred_at AS DATE)) >= 2"""
        ),
    ),
    # attribute conditions narrow the rows read (a semi-join); NULL cities are out
    "moscow_active": (
        'city in ["Moscow", "Kazan"] and count events during last 30d >= 1 '
        "and not (exists buys during last 30d)",
        lambda d: (
            f"""
        SELECT e.customer_id FROM events e JOIN customers c ON c.id = e.customer_id
        WHERE c.city IN ('Moscow', 'Kazan')
          AND e.occurred_at > {T("2024-01-31 00:00:00", d)}
          AND e.occurred_at <= {T("2024-03-01 00:00:00", d)}
        GROUP BY e.customer_id
        HAVING COUNT(CASE WHEN e.name = 'buy' THEN 1 END) = 0"""
        ),
    ),
    # … and rows through a hop they must not have are anti-joined with them
    "moscow_no_carpets": (
        'city in ["Moscow", "Kazan"] and count events during last 30d >= 1 '
        'and not (exists items where category = "carpets")',
        lambda d: (
            f"""
        SELECT c.id FROM customers c
        WHERE c.city IN ('Moscow', 'Kazan')
          AND EXISTS (SELECT 1 FROM events e WHERE e.customer_id = c.id
                        AND e.occurred_at > {T("2024-01-31 00:00:00", d)}
                        AND e.occurred_at <= {T("2024-03-01 00:00:00", d)})
          AND NOT EXISTS (SELECT 1 FROM items i JOIN orders o ON o.id = i.order_id
                          WHERE o.customer_id = c.id AND i.category = 'carpets'
                            AND o.ordered_at <= {T("2024-03-01 00:00:00", d)})"""
        ),
    ),
    "trend_down": (
        "count orders during last 45d < count orders during between 90d ago and 45d ago",
        lambda d: (
            f"""
        SELECT c.id FROM customers c
        LEFT JOIN (SELECT customer_id,
                     SUM(CASE WHEN ordered_at > {T("2024-01-16 00:00:00", d)}
                               AND ordered_at <= {T("2024-03-01 00:00:00", d)}
                              THEN 1 ELSE 0 END) AS recent,
                     SUM(CASE WHEN ordered_at > {T("2023-12-02 00:00:00", d)}
                               AND ordered_at <= {T("2024-01-16 00:00:00", d)}
                              THEN 1 ELSE 0 END) AS earlier
                   FROM orders GROUP BY customer_id) o ON o.customer_id = c.id
        WHERE COALESCE(o.recent, 0) < COALESCE(o.earlier, 0)"""
        ),
    ),
    # --- attributes
    "age_24": (
        "age(birth_date) = 24",
        lambda d: (
            """
        SELECT id FROM customers
        WHERE 2024 - EXTRACT(YEAR FROM birth_date)
              - CASE WHEN EXTRACT(MONTH FROM birth_date) * 100 + EXTRACT(DAY FROM birth_date) > 301
                     THEN 1 ELSE 0 END = 24"""
        ),
    ),
    "city_list_or_missing": (
        'city in ["Moscow", "Kazan"] or city is missing',
        lambda d: "SELECT id FROM customers WHERE city IN ('Moscow', 'Kazan') OR city IS NULL",
    ),
    "not_moscow": (
        'not (city = "Moscow")',
        lambda d: "SELECT id FROM customers WHERE city IS NULL OR city <> 'Moscow'",
    ),
    "email_ru": (
        'email ends with ".ru"',
        lambda d: "SELECT id FROM customers WHERE email LIKE '%.ru'",
    ),
    "born_in_winter": (
        "month(birth_date) in [12, 1, 2]",
        lambda d: "SELECT id FROM customers WHERE EXTRACT(MONTH FROM birth_date) IN (12, 1, 2)",
    ),
    # --- through another table
    "bought_carpets_recently": (
        '(exists items during last 90d where category = "carpets")',
        lambda d: (
            f"""
        SELECT DISTINCT o.customer_id FROM items i JOIN orders o ON o.id = i.order_id
        WHERE i.category = 'carpets' AND o.ordered_at > {T("2023-12-02 00:00:00", d)}
          AND o.ordered_at <= {T("2024-03-01 00:00:00", d)}"""
        ),
    ),
    # --- parameters (default 100)
    "big_spenders": (
        "revenue >= big",
        lambda d: (
            f"""
        SELECT customer_id FROM orders WHERE ordered_at <= {T("2024-03-01 00:00:00", d)}
        GROUP BY customer_id HAVING SUM(amount) >= 100"""
        ),
    ),
    # --- classifiers: first matching rule wins
    "classified_big": (
        'segment_class = "big"',
        lambda d: (
            f"""
        SELECT c.id FROM customers c LEFT JOIN (
          SELECT customer_id, SUM(amount) AS revenue, COUNT(*) AS n FROM orders
          WHERE ordered_at <= {T("2024-03-01 00:00:00", d)}
          GROUP BY customer_id) o ON o.customer_id = c.id
        WHERE o.n IS NOT NULL AND o.revenue >= 200"""
        ),
    ),
    "classified_other": (
        'segment_class = "other"',
        lambda d: (
            f"""
        SELECT c.id FROM customers c LEFT JOIN (
          SELECT customer_id, SUM(amount) AS revenue FROM orders
          WHERE ordered_at <= {T("2024-03-01 00:00:00", d)}
          GROUP BY customer_id) o ON o.customer_id = c.id
        WHERE COALESCE(o.revenue, 0) < 200
          AND (c.city IS NULL OR c.city NOT IN ('Moscow', 'Berlin'))
          AND (COALESCE(o.revenue, 0) <= 0 OR c.city IS NULL)"""
        ),
    ),
}

CLASSIFIER = """
classifier segment_class {
  big when revenue >= 200
  moscow when city = "Moscow"
  berlin when city = "Berlin"
  small when revenue > 0 and city is present
  else other
}
"""


def _split_sql(dialect: str) -> str:
    """Members in bucket 'a' (first 30%) of split `halves`.

    The bucket is the first 8 hex digits of MD5('k:' || id), mod 10000.
    """
    if dialect == "duckdb":
        bucket = (
            "CAST(('0x' || SUBSTRING(MD5('k:' || CAST(id AS VARCHAR)), 1, 8)) AS BIGINT) % 10000"
        )
    elif dialect == "postgres":
        bucket = "('x' || SUBSTRING(MD5('k:' || CAST(id AS TEXT)), 1, 8))::BIT(32)::BIGINT % 10000"
    elif dialect == "spark":
        bucket = (
            "CAST(CONV(SUBSTRING(MD5(CONCAT('k:', CAST(id AS STRING))), 1, 8), 16, 10) AS BIGINT)"
            " % 10000"
        )
    elif dialect == "clickhouse":
        bucket = (
            "reinterpretAsUInt64(reverse(unhex(substring("
            "lower(hex(MD5(concat('k:', toString(id))))), 1, 8)))) % 10000"
        )
    else:
        bucket = (
            "MOD(CAST(CONCAT('0x', SUBSTR(TO_HEX(MD5(CONCAT('k:', CAST(id AS STRING)))), 1, 8))"
            " AS INT64), 10000)"
        )
    return f"SELECT id FROM customers WHERE {bucket} < 3000"


@pytest.fixture(scope="module")
def full_compiler() -> Compiler:
    segments = "\n".join(
        f"segment {name} = {condition}" for name, (condition, _) in CAPABILITIES.items()
    )
    split = 'split halves seed "k" {\n  a 30%\n  b 70%\n}\nsegment split_a = halves = "a"\n'
    compiler = Compiler(Project.from_text(MODEL + CLASSIFIER + split + segments))
    assert compiler.analysis.ok, [str(d) for d in compiler.diagnostics]
    return compiler


def _ids(runner: Runner, sql: str) -> set[object]:
    return {row[0] for row in runner.query(sql)}


@pytest.mark.parametrize("capability", sorted(CAPABILITIES))
def test_capability_matches_hand_written_sql(
    full_compiler: Compiler, runner: Runner, capability: str
) -> None:
    _, hand_written = CAPABILITIES[capability]
    expected = _ids(runner, hand_written(runner.name))
    actual = _ids(runner, full_compiler.members_sql(capability, dialect=runner.name, as_of=AS_OF))
    assert actual == expected


def test_split_matches_hand_written_hash(full_compiler: Compiler, runner: Runner) -> None:
    expected = _ids(runner, _split_sql(runner.name))
    assert (
        _ids(runner, full_compiler.members_sql("split_a", dialect=runner.name, as_of=AS_OF))
        == expected
    )


def test_parameter_override_changes_the_members(runner: Runner) -> None:
    compiler = Compiler(
        Project.from_text(MODEL + "segment s = revenue >= big\n"), params={"big": "201"}
    )
    as_of = T("2024-03-01 00:00:00", runner.name)
    hand = f"""SELECT customer_id FROM orders WHERE ordered_at <= {as_of}
               GROUP BY customer_id HAVING SUM(amount) >= 201"""
    assert _ids(runner, compiler.members_sql("s", dialect=runner.name, as_of=AS_OF)) == _ids(
        runner, hand
    )


def test_boundary_cases_are_what_the_fixture_says(full_compiler: Compiler) -> None:
    """The hand-written SQL could share a misreading with the compiler; pin the key cases."""
    duck = DuckDBRunner(TABLES)
    try:
        members = {
            n: _ids(duck, full_compiler.members_sql(n, dialect="duckdb", as_of=AS_OF))
            for n in CAPABILITIES
        }
    finally:
        duck.close()
    assert members["then_within_2h"] == {1}  # 1 at exactly 2 h; 2 one second late; 3 same moment
    assert members["then_no_within_2h"] == {
        2,
        3,
        4,
        5,
        8,
    }  # 5's limit ends at the as-of; 6's has not
    assert members["age_24"] == {1, 2}  # birthday on the as-of date counts; leap-day birthday too
    assert members["ordered_this_month"] == {3}  # the order exactly at the as-of time
    assert members["each_of_last_2_months"] == {1, 2, 8}  # Jan 31 23:59:59 is January
    assert members["trend_down"] == {6}
    assert members["moscow_active"] == {5, 6}  # 1 and 3 bought; 4 and 8 have no city
    assert members["moscow_no_carpets"] == {5}  # 1, 3 and 6 bought carpets
    assert members["classified_other"] == {
        5
    }  # no visible order (5's is after the as-of), not in a city rule
    assert members["top_third_by_revenue"] == {2, 4, 6}  # 2 wins the tie at 200 by its key


@pytest.mark.xdist_group("spark")  # one worker, one Spark session for all Spark tests
def test_spark_matches_hand_written_sql(full_compiler: Compiler) -> None:
    """Every capability and the split on Spark, where a query costs seconds: the compiled
    members of all of them in one query, the hand-written SQL of all in another."""
    spark = SparkRunner(TABLES)
    try:
        hand = {name: sql("spark") for name, (_, sql) in CAPABILITIES.items()}
        hand["split_a"] = _split_sql("spark")
        union = "\nUNION ALL\n".join(
            f"SELECT '{name}' AS segment__, h.* FROM ({sql}\n) AS h" for name, sql in hand.items()
        )
        expected: dict[str, set[object]] = {name: set() for name in hand}
        for name, key in spark.query(union):
            expected[str(name)].add(key)
        compiled = members_by_segment(full_compiler, spark, sorted(hand), AS_OF)
    finally:
        spark.close()
    assert {name: set(keys) for name, keys in compiled.items()} == expected
