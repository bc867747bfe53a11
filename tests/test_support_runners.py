"""Tests for the cross-engine harness in tests/support (DuckDB, Postgres, ZetaSQL)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal

import psycopg
import pytest

from tests.support import zetasql_values as zv
from tests.support.availability import require_postgres
from tests.support.runners import (
    ChdbRunner,
    DuckDBRunner,
    EngineError,
    PostgresRunner,
    Runner,
    ZetaSQLRunner,
    normalize_rows,
    open_runners,
    sorted_rows,
    typed_rows,
)
from tests.support.tables import ColumnType, Engine, TableSpec, table

UTC = dt.UTC
PLUS_2 = dt.timezone(dt.timedelta(hours=2))
MINUS_5_30 = dt.timezone(-dt.timedelta(hours=5, minutes=30))

CUSTOMERS = table(
    "customers",
    {
        "id": "integer",
        "name": "string",
        "tier": "string",
        "score": "number",
        "balance": "decimal",
        "active": "boolean",
        "signup_date": "date",
        "last_seen": "timestamp",
        "last_login": "timestamptz",
    },
    rows=[
        (
            1,
            "alice",
            "gold",
            1.5,
            Decimal("10.2500"),
            True,
            dt.date(2024, 1, 15),
            dt.datetime(2024, 1, 15, 8, 30),
            dt.datetime(2024, 1, 15, 8, 30, tzinfo=UTC),
        ),
        (
            2,
            "bob",
            "gold",
            -2.25,
            Decimal("-3.5"),
            False,
            dt.date(2023, 12, 31),
            dt.datetime(2023, 12, 31, 23, 59, 59, 999999),
            # 2024-01-01 01:00 at +02:00 is 2023-12-31 23:00 UTC.
            dt.datetime(2024, 1, 1, 1, 0, tzinfo=PLUS_2),
        ),
        (3, None, None, None, None, None, None, None, None),
        (
            4,
            "dora",
            "silver",
            0.0,
            Decimal("0.0001"),
            True,
            dt.date(1969, 7, 20),
            dt.datetime(1969, 7, 20, 20, 17, 40),
            dt.datetime(1969, 7, 20, 20, 17, 40, 123456, tzinfo=UTC),
        ),
        (
            5,
            "émile ☃ 'quoted' %s",
            None,
            4.0,
            Decimal("99999999999999.9999"),
            False,
            dt.date(2024, 2, 29),
            dt.datetime(2024, 2, 29, 0, 0, 0, 1),
            dt.datetime(2024, 3, 31, 1, 30, tzinfo=MINUS_5_30),
        ),
    ],
)

# Every engine must return exactly these (normalised) values for SELECT * ORDER BY id.
CUSTOMER_ROWS: list[tuple[object, ...]] = [
    (
        1,
        "alice",
        "gold",
        1.5,
        Decimal("10.25"),
        True,
        dt.date(2024, 1, 15),
        dt.datetime(2024, 1, 15, 8, 30),
        dt.datetime(2024, 1, 15, 8, 30, tzinfo=UTC),
    ),
    (
        2,
        "bob",
        "gold",
        -2.25,
        Decimal("-3.5"),
        False,
        dt.date(2023, 12, 31),
        dt.datetime(2023, 12, 31, 23, 59, 59, 999999),
        dt.datetime(2023, 12, 31, 23, 0, tzinfo=UTC),
    ),
    (3, None, None, None, None, None, None, None, None),
    (
        4,
        "dora",
        "silver",
        0.0,
        Decimal("0.0001"),
        True,
        dt.date(1969, 7, 20),
        dt.datetime(1969, 7, 20, 20, 17, 40),
        dt.datetime(1969, 7, 20, 20, 17, 40, 123456, tzinfo=UTC),
    ),
    (
        5,
        "émile ☃ 'quoted' %s",
        None,
        4.0,
        Decimal("99999999999999.9999"),
        False,
        dt.date(2024, 2, 29),
        dt.datetime(2024, 2, 29, 0, 0, 0, 1),
        dt.datetime(2024, 3, 31, 7, 0, tzinfo=UTC),
    ),
]


@dataclass(frozen=True)
class Case:
    """One query per dialect and the rows every engine must return."""

    id: str
    sql: Mapping[Engine, str]
    expected: list[tuple[object, ...]]
    ordered: bool = True  # False: compare after sorted_rows()


def same_sql(sql: str) -> dict[Engine, str]:
    """The same SQL text for all three dialects."""
    return {"duckdb": sql, "postgres": sql, "bigquery": sql}


_GROUP_BY_ANSI = """
    SELECT "tier", COUNT(*), COUNT("score"), SUM("balance"), SUM("score"), AVG("score"),
           BOOL_OR("active"), MIN("signup_date"), MAX("last_seen"), MAX("last_login")
    FROM "customers" GROUP BY "tier"
"""

_TEMPORAL_ANSI = """
    SELECT "c"."id",
           "c"."signup_date" >= DATE '2024-01-01',
           "c"."last_seen" >= TIMESTAMP '2024-01-01 00:00:00',
           "c"."last_login" >= TIMESTAMPTZ '2024-01-01 00:00:00+00',
           "c"."last_login" >= CAST(DATE '2024-01-01' AS TIMESTAMPTZ),
           CAST("c"."last_login" AS DATE),
           "c"."last_login" - INTERVAL '1 day',
           "c"."last_seen" - INTERVAL '3 months'
    FROM "customers" AS "c" ORDER BY "c"."id"
"""

CASES = [
    Case(
        "select_star_ordered",
        {
            "duckdb": 'SELECT * FROM "customers" ORDER BY "id"',
            "postgres": 'SELECT * FROM "customers" ORDER BY "id"',
            "bigquery": "SELECT * FROM `customers` ORDER BY `id`",
        },
        CUSTOMER_ROWS,
    ),
    Case(
        "group_by_aggregates",
        {
            "duckdb": _GROUP_BY_ANSI,
            "postgres": _GROUP_BY_ANSI,
            "bigquery": """
                SELECT `c`.`tier`, COUNT(*), COUNT(`c`.`score`), SUM(`c`.`balance`),
                       SUM(`c`.`score`), AVG(`c`.`score`), LOGICAL_OR(`c`.`active`),
                       MIN(`c`.`signup_date`), MAX(`c`.`last_seen`), MAX(`c`.`last_login`)
                FROM `customers` AS `c` GROUP BY `c`.`tier`
            """,
        },
        [
            (
                "gold",
                2,
                2,
                Decimal("6.75"),
                -0.75,
                -0.375,
                True,
                dt.date(2023, 12, 31),
                dt.datetime(2024, 1, 15, 8, 30),
                dt.datetime(2024, 1, 15, 8, 30, tzinfo=UTC),
            ),
            (
                "silver",
                1,
                1,
                Decimal("0.0001"),
                0.0,
                0.0,
                True,
                dt.date(1969, 7, 20),
                dt.datetime(1969, 7, 20, 20, 17, 40),
                dt.datetime(1969, 7, 20, 20, 17, 40, 123456, tzinfo=UTC),
            ),
            (
                None,
                2,
                1,
                Decimal("99999999999999.9999"),
                4.0,
                4.0,
                False,
                dt.date(2024, 2, 29),
                dt.datetime(2024, 2, 29, 0, 0, 0, 1),
                dt.datetime(2024, 3, 31, 7, 0, tzinfo=UTC),
            ),
        ],
        ordered=False,
    ),
    Case(
        "count_over_zero_rows",
        {
            "duckdb": 'SELECT COUNT(*), SUM("balance"), MAX("last_login") FROM "customers" '
            'WHERE "id" < 0',
            "postgres": 'SELECT COUNT(*), SUM("balance"), MAX("last_login") FROM "customers" '
            'WHERE "id" < 0',
            "bigquery": "SELECT COUNT(*), SUM(`balance`), MAX(`last_login`) FROM `customers` "
            "WHERE `id` < 0",
        },
        [(0, None, None)],
    ),
    Case(
        "group_by_over_zero_rows",
        {
            "duckdb": 'SELECT "tier", COUNT(*) FROM "customers" WHERE FALSE GROUP BY "tier"',
            "postgres": 'SELECT "tier", COUNT(*) FROM "customers" WHERE FALSE GROUP BY "tier"',
            "bigquery": "SELECT `tier`, COUNT(*) FROM `customers` WHERE FALSE GROUP BY `tier`",
        },
        [],
    ),
    Case(
        "date_timestamp_timestamptz_comparisons",
        {
            "duckdb": _TEMPORAL_ANSI,
            "postgres": _TEMPORAL_ANSI,
            "bigquery": """
                SELECT `c`.`id`,
                       `c`.`signup_date` >= DATE '2024-01-01',
                       `c`.`last_seen` >= DATETIME '2024-01-01 00:00:00',
                       `c`.`last_login` >= TIMESTAMP '2024-01-01 00:00:00+00',
                       `c`.`last_login` >= TIMESTAMP(DATE '2024-01-01'),
                       DATE(`c`.`last_login`),
                       TIMESTAMP_SUB(`c`.`last_login`, INTERVAL 1 DAY),
                       DATETIME_SUB(`c`.`last_seen`, INTERVAL 3 MONTH)
                FROM `customers` AS `c` ORDER BY `c`.`id`
            """,
        },
        [
            (
                1,
                True,
                True,
                True,
                True,
                dt.date(2024, 1, 15),
                dt.datetime(2024, 1, 14, 8, 30, tzinfo=UTC),
                dt.datetime(2023, 10, 15, 8, 30),
            ),
            (
                2,
                False,
                False,
                False,  # 01:00 at +02:00 on Jan 1st is still Dec 31st in UTC
                False,
                dt.date(2023, 12, 31),
                dt.datetime(2023, 12, 30, 23, 0, tzinfo=UTC),
                dt.datetime(2023, 9, 30, 23, 59, 59, 999999),  # Sep 31st clamps to 30th
            ),
            (3, None, None, None, None, None, None, None),
            (
                4,
                False,
                False,
                False,
                False,
                dt.date(1969, 7, 20),
                dt.datetime(1969, 7, 19, 20, 17, 40, 123456, tzinfo=UTC),
                dt.datetime(1969, 4, 20, 20, 17, 40),
            ),
            (
                5,
                True,
                True,
                True,
                True,
                dt.date(2024, 3, 31),
                dt.datetime(2024, 3, 30, 7, 0, tzinfo=UTC),
                dt.datetime(2023, 11, 29, 0, 0, 0, 1),
            ),
        ],
    ),
]

ENGINES = [
    pytest.param("duckdb", id="duckdb"),
    pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
    pytest.param("bigquery", id="bigquery"),
]


@pytest.fixture(scope="module")
def duckdb_runner() -> Iterator[Runner]:
    runner = DuckDBRunner([CUSTOMERS])
    yield runner
    runner.close()


@pytest.fixture(scope="module")
def postgres_runner() -> Iterator[Runner]:
    runner = PostgresRunner([CUSTOMERS], require_postgres())
    yield runner
    runner.close()


@pytest.fixture(scope="module")
def bigquery_runner() -> Iterator[Runner]:
    runner = ZetaSQLRunner([CUSTOMERS])
    yield runner
    runner.close()


@pytest.fixture(params=ENGINES)
def runner(request: pytest.FixtureRequest) -> Runner:
    engine_runner: Runner = request.getfixturevalue(f"{request.param}_runner")
    assert engine_runner.name == request.param
    return engine_runner


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_engines_return_expected_rows(runner: Runner, case: Case) -> None:
    rows = runner.query(case.sql[runner.name])
    expected = case.expected
    if not case.ordered:
        rows, expected = sorted_rows(rows), sorted_rows(expected)
    # typed_rows: 1 == 1.0 == True == Decimal(1) must not hide a type difference.
    assert typed_rows(rows) == typed_rows(expected)


def test_engine_errors_are_engine_error(runner: Runner) -> None:
    with pytest.raises(EngineError) as info:
        runner.query("SELECT no_such_column FROM customers")
    assert info.value.engine == runner.name
    assert "no_such_column" in info.value.message
    runner.query("SELECT 1")  # the runner is still usable afterwards


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        pytest.param(
            "SELECT TIMESTAMP_SUB(`last_login`, INTERVAL 3 MONTH) FROM `customers`",
            "does not support the MONTH date part",
            id="timestamp_sub_month",
        ),
        pytest.param("SELECT MEDIAN(`score`) FROM `customers`", "MEDIAN", id="median"),
        pytest.param(
            "SELECT `id` FROM `customers` WHERE `last_login` > `signup_date`",
            "argument types: TIMESTAMP, DATE",
            id="timestamp_vs_date",
        ),
        pytest.param(
            "SELECT `id` FROM `customers` WHERE `last_seen` > TIMESTAMP '2024-01-01 00:00:00'",
            "argument types: DATETIME, TIMESTAMP",
            id="datetime_vs_timestamp",
        ),
        pytest.param(
            "SELECT CAST(`score` AS DOUBLE) FROM `customers`",
            "Type not found: DOUBLE",
            id="internal_type_name",
        ),
    ],
)
def test_zetasql_rejects_non_bigquery_sql(bigquery_runner: Runner, sql: str, message: str) -> None:
    with pytest.raises(EngineError) as info:
        bigquery_runner.query(sql)
    assert info.value.engine == "bigquery"
    assert info.value.code == "INVALID_ARGUMENT"
    assert message in info.value.message


def test_zetasql_runtime_error_is_engine_error(bigquery_runner: Runner) -> None:
    with pytest.raises(EngineError, match="division by zero") as info:
        bigquery_runner.query("SELECT 1 / 0")
    assert info.value.code == "OUT_OF_RANGE"


def test_zetasql_decodes_literals(bigquery_runner: Runner) -> None:
    rows = bigquery_runner.query(
        "SELECT NUMERIC '-0.000000001', NUMERIC '99999999999999999999999999999.999999999',"
        " BIGNUMERIC '1.5', DATETIME '0001-01-01 00:00:00', DATETIME '2024-03-05 06:07:08.123456',"
        " TIMESTAMP '1950-06-01 12:00:00.000001+00', TIME '01:02:03.5', DATE '9999-12-31',"
        " CAST(NULL AS NUMERIC), [1, 2], 'x', b'y', CAST(1.25 AS FLOAT64)"
    )
    assert typed_rows(rows) == typed_rows(
        [
            (
                Decimal("-1E-9"),
                Decimal("99999999999999999999999999999.999999999"),
                Decimal("1.5"),
                dt.datetime(1, 1, 1),
                dt.datetime(2024, 3, 5, 6, 7, 8, 123456),
                dt.datetime(1950, 6, 1, 12, 0, 0, 1, tzinfo=UTC),
                dt.time(1, 2, 3, 500000),
                dt.date(9999, 12, 31),
                None,
                (1, 2),
                "x",
                b"y",
                1.25,
            )
        ]
    )


def test_zetasql_refuses_to_truncate_nanoseconds(bigquery_runner: Runner) -> None:
    with pytest.raises(ValueError, match="nanosecond"):
        bigquery_runner.query("SELECT TIMESTAMP '2024-01-01 00:00:00.123456789+00'")


@pytest.mark.parametrize(
    ("value", "encoded"),
    [
        (Decimal("0"), b"\x00"),
        (Decimal("1.5"), (1_500_000_000).to_bytes(4, "little")),
        (Decimal("-1.5"), (-1_500_000_000).to_bytes(4, "little", signed=True)),
        (Decimal("0.000000001"), b"\x01"),
        (Decimal("-0.000000001"), b"\xff"),
        (Decimal("0.128"), (128_000_000).to_bytes(4, "little")),
        (Decimal("-128"), (-128 * 10**9).to_bytes(5, "little", signed=True)),
    ],
)
def test_numeric_encoding(value: Decimal, encoded: bytes) -> None:
    assert zv.encode_numeric(value) == encoded
    assert zv.decode_numeric(encoded) == value


def test_numeric_encoding_rejects_excess_scale() -> None:
    with pytest.raises(ValueError, match="scale"):
        zv.encode_numeric(Decimal("0.0000000001"))


def test_datetime_and_timestamp_encoding() -> None:
    assert zv.encode_datetime(dt.datetime(2024, 3, 5, 6, 7, 8, 250000)) == (
        135841604040,
        250_000_000,
    )
    assert zv.decode_datetime(71434240, 0) == dt.datetime(1, 1, 1)
    pre_epoch = dt.datetime(1969, 12, 31, 23, 59, 59, 500000, tzinfo=UTC)
    assert zv.encode_timestamp(pre_epoch) == (-1, 500_000_000)
    assert zv.decode_timestamp(-1, 500_000_000) == pre_epoch
    assert zv.encode_timestamp(dt.datetime(1970, 1, 1, 2, tzinfo=PLUS_2)) == (0, 0)
    assert zv.encode_date(dt.date(1969, 12, 31)) == -1


def test_normalize_rows() -> None:
    rows = normalize_rows(
        [(Decimal("1.5000"), Decimal("100.00"), dt.datetime(2024, 1, 1, 2, tzinfo=PLUS_2), [1])]
    )
    assert repr(rows) == repr(
        [(Decimal("1.5"), Decimal("100"), dt.datetime(2024, 1, 1, 0, tzinfo=UTC), (1,))]
    )


def test_sorted_rows_puts_nulls_last() -> None:
    assert sorted_rows([(None, 1), ("b", None), ("a", 2), ("b", 1)]) == [
        ("a", 2),
        ("b", 1),
        ("b", None),
        (None, 1),
    ]


@pytest.mark.parametrize(
    ("columns", "row"),
    [
        pytest.param({"x": "integer"}, (True,), id="bool_as_integer"),
        pytest.param({"x": "number"}, (1,), id="int_as_number"),
        pytest.param({"x": "decimal"}, (Decimal("1.23456"),), id="decimal_scale"),
        pytest.param({"x": "date"}, (dt.datetime(2024, 1, 1),), id="datetime_as_date"),
        pytest.param({"x": "timestamp"}, (dt.datetime(2024, 1, 1, tzinfo=UTC),), id="aware_ts"),
        pytest.param({"x": "timestamptz"}, (dt.datetime(2024, 1, 1),), id="naive_tstz"),
        pytest.param({"x": "string", "y": "string"}, ("a",), id="short_row"),
    ],
)
def test_table_spec_rejects_bad_rows(
    columns: Mapping[str, ColumnType], row: tuple[object, ...]
) -> None:
    with pytest.raises((TypeError, ValueError)):
        table("t", columns, rows=[row])


def test_open_runners_closes_runners() -> None:
    empty = table("empty", {"id": "integer"})
    with open_runners([empty], include_postgres=False) as runners:
        assert [r.name for r in runners] == ["duckdb", "bigquery", "clickhouse"]
        assert [r.query("SELECT COUNT(*) FROM empty") for r in runners] == [[(0,)]] * 3
    for closed in runners:
        with pytest.raises(EngineError):
            closed.query("SELECT 1")


@pytest.mark.postgres
def test_postgres_close_drops_schema() -> None:
    dsn = require_postgres()
    runner = PostgresRunner([TableSpec("t", CUSTOMERS.columns[:1], ((1,),))], dsn)
    assert runner.query('SELECT "id" FROM "t"') == [(1,)]
    runner.close()
    runner.close()  # idempotent
    with psycopg.connect(dsn) as conn:
        found = conn.execute(
            "SELECT 1 FROM information_schema.schemata WHERE schema_name = %s", (runner.schema,)
        ).fetchall()
    assert found == []


@pytest.mark.parametrize(
    ("ci", "outcome"),
    [("true", pytest.fail.Exception), ("1", pytest.fail.Exception), ("", pytest.skip.Exception)],
)
def test_require_postgres_fails_in_ci_and_skips_elsewhere(
    monkeypatch: pytest.MonkeyPatch, ci: str, outcome: type[BaseException]
) -> None:
    monkeypatch.setenv("CI", ci)
    with pytest.raises(outcome, match="not reachable"):
        require_postgres("postgresql://postgres@127.0.0.1:1/test")


def test_chdb_loads_every_column_type_and_returns_naive_times() -> None:
    """What ClickHouse (chdb) gives back for each logical type: the loaded values, NULL
    kept (Nullable columns), every time as a naive UTC datetime."""
    runner = ChdbRunner([CUSTOMERS])
    try:
        got = runner.query(f"SELECT {', '.join(CUSTOMERS.column_names)} FROM customers")
        with pytest.raises(EngineError) as caught:
            runner.query("SELECT no_such_column FROM customers")
        assert caught.value.engine == "clickhouse" and caught.value.code == "UNKNOWN_IDENTIFIER"
    finally:
        runner.close()
    expected = [
        tuple(
            value.astimezone(UTC).replace(tzinfo=None)
            if isinstance(value, dt.datetime) and value.tzinfo
            else value
            for value in row
        )
        for row in CUSTOMERS.rows
    ]
    assert typed_rows(sorted_rows(got)) == typed_rows(sorted_rows(normalize_rows(expected)))
    with pytest.raises(EngineError):
        runner.query("SELECT 1")  # closed
