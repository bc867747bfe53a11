"""Tests for the demo warehouse generator: determinism, scale, integrity, planted patterns."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from pathlib import Path

import duckdb
import psycopg
import pytest
from psycopg import sql

from segdsl.demo.warehouse import (
    DEMO_AS_OF,
    DEMO_TABLES,
    DemoSummary,
    build_demo_database,
    copy_to_postgres,
)

SCALE = 0.05
PG_DSN = os.environ.get("SEGDSL_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/test")
AS_OF = f"TIMESTAMP '{DEMO_AS_OF.isoformat(sep=' ')}'"

# Content digests of the scale-0.05 build. They pin the generated data across runs, DuckDB
# versions and machines; a deliberate change to the generator must update them.
GOLDEN_COUNTS = {"customers": 500, "orders": 1309, "order_items": 2234, "events": 11564}
GOLDEN_DIGESTS = {
    "customers": "29dc45690bbfaa957958958dab14c18a",
    "orders": "8c56e731e941410402f956a05f041b42",
    "order_items": "aed12fb8ca3d3db8e0bd834c2d11f62e",
    "events": "2ae29616b61f7a63313d654a9b0756aa",
}


def rows_digest(rows: Iterable[Sequence[object]]) -> tuple[int, str]:
    """Order-independent digest of rows as Python values (the same from DuckDB and psycopg)."""
    total = 0
    count = 0
    for row in rows:
        h = hashlib.blake2b(repr(tuple(row)).encode(), digest_size=16).digest()
        total = (total + int.from_bytes(h, "big")) % (1 << 128)
        count += 1
    return count, f"{total:032x}"


def duckdb_digest(con: duckdb.DuckDBPyConnection, table: str) -> tuple[int, str]:
    cur = con.execute(f"SELECT * FROM shop.{table}")
    return rows_digest(iter(cur.fetchone, None))


def scalar(con: duckdb.DuckDBPyConnection, query: str) -> int:
    row = con.execute(query).fetchone()
    assert row is not None
    return int(row[0])


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> DemoSummary:
    return build_demo_database(tmp_path_factory.mktemp("demo") / "demo.duckdb", scale=SCALE)


@pytest.fixture(scope="module")
def con(built: DemoSummary) -> Iterator[duckdb.DuckDBPyConnection]:
    c = duckdb.connect(str(built.path), read_only=True)
    yield c
    c.close()


# ----------------------------------------------------------------------------- determinism


def test_same_scale_gives_identical_tables(built: DemoSummary, tmp_path: Path) -> None:
    again = build_demo_database(tmp_path / "again.duckdb", scale=SCALE)
    assert again.row_counts == built.row_counts
    a = duckdb.connect(str(built.path), read_only=True)
    b = duckdb.connect(str(again.path), read_only=True)
    try:
        for table in DEMO_TABLES:
            assert duckdb_digest(a, table) == duckdb_digest(b, table), table
            # physical row order is part of "the same file contents" too
            first = a.execute(f"SELECT * FROM shop.{table} LIMIT 50").fetchall()
            assert first == b.execute(f"SELECT * FROM shop.{table} LIMIT 50").fetchall()
    finally:
        a.close()
        b.close()


def test_content_matches_golden_digest(con: duckdb.DuckDBPyConnection) -> None:
    got = {t: duckdb_digest(con, t) for t in DEMO_TABLES}
    expected = {t: (GOLDEN_COUNTS[t], GOLDEN_DIGESTS[t]) for t in DEMO_TABLES}
    assert got == expected, (
        "the generated data changed; if intended, update GOLDEN_COUNTS/GOLDEN_DIGESTS"
    )


# ----------------------------------------------------------------------------- scale and file


def test_summary_and_row_counts(built: DemoSummary, con: duckdb.DuckDBPyConnection) -> None:
    assert built.scale == SCALE
    assert built.seconds > 0
    assert set(built.row_counts) == set(DEMO_TABLES)
    for table, n in built.row_counts.items():
        assert scalar(con, f"SELECT count(*) FROM shop.{table}") == n
    assert built.row_counts["customers"] == 500


def test_row_counts_are_proportional_to_scale(built: DemoSummary, tmp_path: Path) -> None:
    double = build_demo_database(tmp_path / "double.duckdb", scale=2 * SCALE)
    assert double.row_counts["customers"] == 2 * built.row_counts["customers"]
    for table in ("orders", "order_items", "events"):
        ratio = double.row_counts[table] / built.row_counts[table]
        assert 1.7 < ratio < 2.3, (table, ratio)
    # per customer: ~2.5 orders and ~20 events (scale 1 = 10,000 customers, ~200,000 events)
    per_customer = {t: n / double.row_counts["customers"] for t, n in double.row_counts.items()}
    assert 2.0 < per_customer["orders"] < 3.0
    assert 17 < per_customer["events"] < 27


def test_existing_file_is_replaced_atomically(tmp_path: Path) -> None:
    target = tmp_path / "demo.duckdb"
    target.write_bytes(b"not a database")
    summary = build_demo_database(target, scale=0.01)
    assert summary.path == target
    assert summary.row_counts["customers"] == 100
    assert sorted(p.name for p in tmp_path.iterdir()) == ["demo.duckdb"]
    c = duckdb.connect(str(target), read_only=True)
    try:
        assert scalar(c, "SELECT count(*) FROM shop.customers") == 100
    finally:
        c.close()


@pytest.mark.parametrize("scale", [0, -1.0, float("nan")])
def test_invalid_scale_is_rejected(tmp_path: Path, scale: float) -> None:
    with pytest.raises(ValueError):
        build_demo_database(tmp_path / "x.duckdb", scale=scale)
    assert not list(tmp_path.iterdir())


def test_progress_is_reported(tmp_path: Path) -> None:
    messages: list[str] = []
    build_demo_database(tmp_path / "p.duckdb", scale=0.01, progress=messages.append)
    assert any("shop.events" in m for m in messages)
    assert messages[-1].startswith("done")


# ----------------------------------------------------------------------------- integrity


def test_schema_types(con: duckdb.DuckDBPyConnection) -> None:
    types = dict(
        con.execute(
            "SELECT table_name || '.' || column_name, data_type FROM duckdb_columns() "
            "WHERE schema_name = 'shop'"
        ).fetchall()
    )
    assert types["customers.id"] == "BIGINT"
    assert types["customers.birth_date"] == "DATE"
    assert types["customers.signed_up_at"] == "TIMESTAMP"
    assert types["customers.company_size"] == "INTEGER"
    assert types["customers.is_b2b"] == "BOOLEAN"
    assert types["orders.amount"] == "DECIMAL(12,2)"
    assert types["orders.discount"] == "DECIMAL(12,2)"
    assert types["order_items.price"] == "DECIMAL(12,2)"
    assert types["order_items.quantity"] == "INTEGER"
    assert types["events.occurred_at"] == "TIMESTAMP"
    assert types["events.session_id"] == "VARCHAR"


def test_referential_integrity(con: duckdb.DuckDBPyConnection) -> None:
    orphans = {
        "orders": "SELECT count(*) FROM shop.orders o "
        "WHERE NOT EXISTS (SELECT 1 FROM shop.customers c WHERE c.id = o.customer_id)",
        "items": "SELECT count(*) FROM shop.order_items i "
        "WHERE NOT EXISTS (SELECT 1 FROM shop.orders o WHERE o.id = i.order_id)",
        "events": "SELECT count(*) FROM shop.events e "
        "WHERE NOT EXISTS (SELECT 1 FROM shop.customers c WHERE c.id = e.customer_id)",
        "orders without items": "SELECT count(*) FROM shop.orders o "
        "WHERE NOT EXISTS (SELECT 1 FROM shop.order_items i WHERE i.order_id = o.id)",
    }
    for label, query in orphans.items():
        assert scalar(con, query) == 0, label
    assert scalar(con, "SELECT count(*) - count(DISTINCT id) FROM shop.orders") == 0
    assert scalar(con, "SELECT count(*) - count(DISTINCT id) FROM shop.customers") == 0
    assert (
        scalar(
            con,
            "SELECT count(*) - count(DISTINCT (order_id, line_no)) FROM shop.order_items",
        )
        == 0
    )


def test_purchase_events_match_paid_orders(con: duckdb.DuckDBPyConnection) -> None:
    paid = scalar(con, "SELECT count(*) FROM shop.orders WHERE status = 'paid'")
    purchases = scalar(con, "SELECT count(*) FROM shop.events WHERE event_name = 'purchase'")
    matched = scalar(
        con,
        """SELECT count(*) FROM shop.orders o JOIN shop.events e
           ON e.customer_id = o.customer_id AND e.occurred_at = o.ordered_at
          AND e.event_name = 'purchase'
           WHERE o.status = 'paid'""",
    )
    assert paid > 0
    assert paid == purchases == matched


def test_order_amounts_are_consistent(con: duckdb.DuckDBPyConnection) -> None:
    assert (
        scalar(
            con,
            """SELECT count(*) FROM shop.orders o JOIN (
                 SELECT order_id, sum(price * quantity) AS subtotal, count(*) AS lines,
                        max(line_no) AS last_line
                 FROM shop.order_items GROUP BY order_id) i ON i.order_id = o.id
               WHERE o.amount <> i.subtotal - o.discount OR o.discount < 0 OR o.amount <= 0
                  OR i.lines NOT BETWEEN 1 AND 4 OR i.last_line <> i.lines
                  OR (o.coupon IS NULL) <> (o.discount = 0)""",
        )
        == 0
    )
    share = scalar(con, "SELECT round(100 * avg((coupon IS NOT NULL)::INTEGER)) FROM shop.orders")
    assert 20 <= share <= 40
    statuses = {r[0] for r in con.execute("SELECT DISTINCT status FROM shop.orders").fetchall()}
    assert statuses == {"paid", "cancelled", "refunded"}
    channels = {r[0] for r in con.execute("SELECT DISTINCT channel FROM shop.orders").fetchall()}
    assert channels == {"web", "app", "store"}


def test_nothing_happens_at_or_after_as_of(con: duckdb.DuckDBPyConnection) -> None:
    start = "TIMESTAMP '2023-07-01 00:00:00'"
    for table, column in (
        ("events", "occurred_at"),
        ("orders", "ordered_at"),
        ("customers", "signed_up_at"),
    ):
        bad = scalar(
            con,
            f"SELECT count(*) FROM shop.{table} WHERE {column} >= {AS_OF} "
            f"OR {column} < {start} OR {column} IS NULL",
        )
        assert bad == 0, table
    for table, column in (("events", "occurred_at"), ("orders", "ordered_at")):
        before_signup = scalar(
            con,
            f"SELECT count(*) FROM shop.{table} t JOIN shop.customers c "
            f"ON c.id = t.customer_id WHERE t.{column} < c.signed_up_at",
        )
        assert before_signup == 0, table


def test_value_domains(con: duckdb.DuckDBPyConnection) -> None:
    def distinct(query: str) -> set[object]:
        return {r[0] for r in con.execute(query).fetchall()}

    assert distinct("SELECT DISTINCT event_name FROM shop.events") == {
        "page_view", "view_item", "add_to_cart", "begin_checkout", "purchase",
        "email_open", "email_click", "form_submit", "session_start",
    }  # fmt: skip
    assert distinct("SELECT DISTINCT device FROM shop.events WHERE device IS NOT NULL") == {
        "desktop", "mobile_web", "mobile_app",
    }  # fmt: skip
    assert distinct("SELECT DISTINCT source FROM shop.events") == {
        "google_ads", "instagram_ads", "facebook_ads", "email", "organic", "direct", "referral",
    }  # fmt: skip
    assert {"services", "blog", "home", "carpets", "pet_food"} <= distinct(
        "SELECT DISTINCT page_category FROM shop.events"
    )
    assert distinct("SELECT DISTINCT gender FROM shop.customers") == {"female", "male", None}
    assert distinct("SELECT DISTINCT income_band FROM shop.customers") == {
        "low", "middle", "high", None,
    }  # fmt: skip
    assert {
        "carpets", "furniture", "lighting", "kitchen", "textiles", "decor", "pet_food",
    } == distinct("SELECT DISTINCT category FROM shop.order_items")  # fmt: skip
    ages = con.execute(
        f"SELECT min(a), max(a) FROM (SELECT date_part('year', age({AS_OF}::DATE, birth_date)) "
        "AS a FROM shop.customers WHERE birth_date IS NOT NULL)"
    ).fetchone()
    assert ages is not None and ages[0] >= 18 and ages[1] <= 80
    assert (
        scalar(
            con,
            "SELECT count(*) FROM shop.customers WHERE (company_size IS NOT NULL) <> is_b2b "
            "OR (industry IS NOT NULL) <> is_b2b",
        )
        == 0
    )


# ----------------------------------------------------------------------------- patterns

PATTERNS: dict[str, str] = {
    "prospects (never ordered)": """SELECT count(*) FROM shop.customers c
        WHERE NOT EXISTS (SELECT 1 FROM shop.orders o WHERE o.customer_id = c.id)""",
    "customers without any event": """SELECT count(*) FROM shop.customers c
        WHERE NOT EXISTS (SELECT 1 FROM shop.events e WHERE e.customer_id = c.id)""",
    "new: first order in the last 30 days": f"""SELECT count(*) FROM (
        SELECT customer_id FROM shop.orders GROUP BY 1
        HAVING min(ordered_at) >= {AS_OF} - INTERVAL 30 DAY)""",
    "loyal: >= 5 orders, last within 90 days": f"""SELECT count(*) FROM (
        SELECT customer_id FROM shop.orders GROUP BY 1
        HAVING count(*) >= 5 AND max(ordered_at) >= {AS_OF} - INTERVAL 90 DAY)""",
    "sleeping: nothing in the last 6 months": f"""SELECT count(*) FROM (
        SELECT customer_id FROM shop.orders GROUP BY 1
        HAVING max(ordered_at) < {AS_OF} - INTERVAL 6 MONTH)""",
    "churn risk": f"""SELECT count(*) FROM (
        SELECT customer_id,
          count(*) FILTER (WHERE ordered_at >= {AS_OF} - INTERVAL 90 DAY) AS recent,
          count(*) FILTER (WHERE ordered_at >= {AS_OF} - INTERVAL 180 DAY
                           AND ordered_at < {AS_OF} - INTERVAL 90 DAY) AS before
        FROM shop.orders GROUP BY 1) WHERE recent < before / 2""",
    "ordered in each of the last 3 months, average > 200": """SELECT count(*) FROM (
        SELECT customer_id FROM shop.orders GROUP BY 1
        HAVING count(DISTINCT date_trunc('month', ordered_at))
                 FILTER (WHERE ordered_at >= TIMESTAMP '2025-04-01') = 3
           AND avg(amount) > 200)""",
    "bought in December 2023": """SELECT count(DISTINCT customer_id) FROM shop.orders
        WHERE ordered_at >= TIMESTAMP '2023-12-01' AND ordered_at < TIMESTAMP '2024-01-01'""",
    "bought in December 2024": """SELECT count(DISTINCT customer_id) FROM shop.orders
        WHERE ordered_at >= TIMESTAMP '2024-12-01' AND ordered_at < TIMESTAMP '2025-01-01'""",
    "pet food every 45-60 days": """SELECT count(*) FROM (
        SELECT customer_id, median(gap) AS g FROM (
          SELECT o.customer_id, date_diff('day', lag(o.ordered_at) OVER (
                   PARTITION BY o.customer_id ORDER BY o.ordered_at), o.ordered_at) AS gap
          FROM shop.orders o JOIN shop.order_items i ON i.order_id = o.id
          WHERE i.product = 'Dog food 10kg' OR i.product = 'Cat food 4kg')
        WHERE gap IS NOT NULL GROUP BY 1 HAVING count(*) >= 2) WHERE g BETWEEN 45 AND 60""",
    "cart abandoners (last 30 days)": f"""SELECT count(*) FROM (
        SELECT customer_id, max(occurred_at) AS last_add FROM shop.events
        WHERE event_name = 'add_to_cart' AND occurred_at >= {AS_OF} - INTERVAL 30 DAY
        GROUP BY 1) a
        WHERE NOT EXISTS (SELECT 1 FROM shop.events p WHERE p.customer_id = a.customer_id
                          AND p.event_name = 'purchase' AND p.occurred_at > a.last_add)""",
    "e-mail engaged: >= 3 opens and a click in 30 days": f"""SELECT count(*) FROM (
        SELECT customer_id FROM shop.events
        WHERE occurred_at >= {AS_OF} - INTERVAL 30 DAY GROUP BY 1
        HAVING count(*) FILTER (WHERE event_name = 'email_open') >= 3
           AND count(*) FILTER (WHERE event_name = 'email_click') >= 1)""",
    "e-mail unengaged for 90 days (opted in)": f"""SELECT count(*) FROM shop.customers c
        WHERE marketing_opt_in AND EXISTS (
          SELECT 1 FROM shop.events e WHERE e.customer_id = c.id
          AND e.event_name = 'email_open') AND NOT EXISTS (
          SELECT 1 FROM shop.events e WHERE e.customer_id = c.id
          AND e.event_name IN ('email_open', 'email_click')
          AND e.occurred_at >= {AS_OF} - INTERVAL 90 DAY)""",
    "mobile app: >= 8 sessions in 60 days": f"""SELECT count(*) FROM (
        SELECT customer_id FROM shop.events
        WHERE event_name = 'session_start' AND device = 'mobile_app'
          AND occurred_at >= {AS_OF} - INTERVAL 60 DAY
        GROUP BY 1 HAVING count(*) >= 8)""",
    "visited services, never submitted the form": """SELECT count(*) FROM (
        SELECT customer_id FROM shop.events GROUP BY 1
        HAVING count(*) FILTER (WHERE page_category = 'services') > 0
           AND count(*) FILTER (WHERE event_name = 'form_submit') = 0)""",
    "submitted a form": """SELECT count(DISTINCT customer_id) FROM shop.events
        WHERE event_name = 'form_submit' AND page_category = 'services'""",
    "came through instagram ads": """SELECT count(*) FROM shop.customers
        WHERE acquisition_source = 'instagram_ads'""",
    "B2B < 50 employees": "SELECT count(*) FROM shop.customers WHERE company_size < 50",
    "B2B 50-500 employees": """SELECT count(*) FROM shop.customers
        WHERE company_size BETWEEN 50 AND 500""",
    "B2B > 500 employees": "SELECT count(*) FROM shop.customers WHERE company_size > 500",
    "born on Feb 29": """SELECT count(*) FROM shop.customers
        WHERE month(birth_date) = 2 AND day(birth_date) = 29""",
    "discount-driven (half the orders with a coupon)": """SELECT count(*) FROM (
        SELECT customer_id FROM shop.orders GROUP BY 1
        HAVING count(*) >= 2 AND count(coupon) * 2 >= count(*))""",
    "women 35-45 from Moscow, 2 orders last month, carpet in cart not bought, 3 opens": f"""
        SELECT count(*) FROM shop.customers c
        WHERE c.gender = 'female' AND c.city = 'Moscow'
          AND date_part('year', age({AS_OF}::DATE, c.birth_date)) BETWEEN 35 AND 45
          AND (SELECT count(*) FROM shop.orders o WHERE o.customer_id = c.id
               AND o.ordered_at >= {AS_OF} - INTERVAL 30 DAY) = 2
          AND EXISTS (SELECT 1 FROM shop.events e WHERE e.customer_id = c.id
               AND e.event_name = 'add_to_cart' AND e.page_category = 'carpets')
          AND NOT EXISTS (SELECT 1 FROM shop.orders o JOIN shop.order_items i
               ON i.order_id = o.id WHERE o.customer_id = c.id AND i.category = 'carpets')
          AND (SELECT count(*) FROM shop.events e WHERE e.customer_id = c.id
               AND e.event_name = 'email_open'
               AND e.occurred_at >= {AS_OF} - INTERVAL 30 DAY) >= 3""",
}


@pytest.mark.parametrize("name", list(PATTERNS))
def test_pattern_is_present(con: duckdb.DuckDBPyConnection, name: str) -> None:
    assert scalar(con, PATTERNS[name]) > 0, name


def test_add_to_cart_followed_by_purchase_at_various_delays(
    con: duckdb.DuckDBPyConnection,
) -> None:
    row = con.execute(
        """WITH adds AS (SELECT customer_id, occurred_at AS t FROM shop.events
                         WHERE event_name = 'add_to_cart'),
           nxt AS (SELECT a.customer_id, a.t, min(p.occurred_at) AS np
                   FROM adds a LEFT JOIN shop.events p ON p.customer_id = a.customer_id
                    AND p.event_name = 'purchase' AND p.occurred_at > a.t
                   GROUP BY a.customer_id, a.t)
           SELECT count(*) FILTER (WHERE np <= t + INTERVAL 2 HOUR),
                  count(*) FILTER (WHERE np > t + INTERVAL 1 DAY AND np <= t + INTERVAL 3 DAY),
                  count(*) FILTER (WHERE np IS NULL)
           FROM nxt"""
    ).fetchone()
    assert row is not None
    within_2h, within_1_to_3d, never = row
    assert within_2h > 0 and within_1_to_3d > 0 and never > 0


@pytest.mark.parametrize(
    "moment",
    [
        datetime(2024, 1, 31),
        datetime(2024, 2, 28),
        datetime(2024, 2, 29),
        datetime(2024, 2, 29, 23, 59, 59),
        datetime(2025, 6, 1),  # exactly 30 days before DEMO_AS_OF
        datetime(2025, 6, 30, 23, 59, 59),  # the last second before DEMO_AS_OF
    ],
)
def test_boundary_events_exist(con: duckdb.DuckDBPyConnection, moment: datetime) -> None:
    n = scalar(con, f"SELECT count(*) FROM shop.events WHERE occurred_at = TIMESTAMP '{moment}'")
    assert n > 0


def test_company_size_band_edges(con: duckdb.DuckDBPyConnection) -> None:
    sizes = {
        r[0]
        for r in con.execute(
            "SELECT DISTINCT company_size FROM shop.customers WHERE company_size IS NOT NULL"
        ).fetchall()
    }
    assert sizes & {49, 50, 500, 501}


# ----------------------------------------------------------------------------- postgres


@pytest.fixture
def pg_conn() -> Iterator[psycopg.Connection[tuple[object, ...]]]:
    try:
        conn = psycopg.connect(PG_DSN, connect_timeout=5, autocommit=True)
    except psycopg.OperationalError as exc:
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL at {PG_DSN} is unreachable in CI: {exc}")
        pytest.skip(f"PostgreSQL at {PG_DSN} is unreachable: {exc}")
    try:
        yield conn
    finally:
        conn.close()


@pytest.mark.postgres
def test_copy_to_postgres_matches_duckdb(
    pg_conn: psycopg.Connection[tuple[object, ...]], tmp_path: Path
) -> None:
    summary = build_demo_database(tmp_path / "pg.duckdb", scale=0.02)
    schema = f"segdsl_demo_test_{os.getpid()}"
    try:
        copied = copy_to_postgres(summary.path, PG_DSN, schema, batch_rows=1000)
        assert copied == summary.row_counts
        src = duckdb.connect(str(summary.path), read_only=True)
        try:
            for table in DEMO_TABLES:
                with pg_conn.cursor() as cur:
                    cur.execute(sql.SQL("SELECT * FROM {}").format(sql.Identifier(schema, table)))
                    pg_digest = rows_digest(cur)
                assert pg_digest == duckdb_digest(src, table), table
        finally:
            src.close()
        with pg_conn.cursor() as cur:
            cur.execute(
                "SELECT table_name || '.' || column_name, data_type, numeric_precision, "
                "numeric_scale FROM information_schema.columns WHERE table_schema = %s",
                [schema],
            )
            types = {r[0]: r[1:] for r in cur.fetchall()}
        assert types["orders.amount"] == ("numeric", 12, 2)
        assert types["orders.ordered_at"][0] == "timestamp without time zone"
        assert types["customers.birth_date"][0] == "date"
        assert types["customers.is_b2b"][0] == "boolean"
        assert types["customers.company_size"][0] == "integer"
        assert types["events.customer_id"][0] == "bigint"
        assert types["events.event_name"][0] == "text"
        # copying again replaces the tables instead of appending
        assert copy_to_postgres(summary.path, PG_DSN, schema) == summary.row_counts
    finally:
        pg_conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))
