"""Every corpus segment, executed on DuckDB, Postgres, GoogleSQL and ClickHouse (chdb)
over the fixture shop, must select exactly the members written here by hand (see
tests/corpus/fixture.py for each customer's story). The generated SQL is also kept as
golden files for review: set SEGDSL_UPDATE_GOLDEN=1 to rewrite them after an intended
change.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from segdsl.compiler import Compiler
from tests.corpus.fixture import AS_OF, POPULATION
from tests.support.batch import members_by_segment
from tests.support.runners import Runner

# every Spark test on one xdist worker: one Spark session (a JVM) for all of them
SPARK = pytest.mark.xdist_group("spark")
GOLDEN = Path(__file__).parent / "corpus" / "golden"

EXPECTED: dict[str, set[int]] = {
    "buyers": {1, 2, 4, 5, 7, 9, 11},
    "prospects": {3, 8, 10, 12},
    "new_customers": {4, 9},
    "loyal": {1, 7},
    "sleeping": {2, 11},
    "churn_risk": {7},
    "active_monthly": {5},
    "repeat_buyers": {1, 5, 7, 9, 11},
    "one_time_buyers": {2, 4},
    "cart_abandoners": {2, 3, 8},
    "reminder_2h": {2, 3, 8, 9},
    "discount_3d": {2},
    "converted_3d": {1, 4, 9},
    "email_engaged": {9},
    "unengaged_90d": {1, 2, 3, 4, 7, 8, 10, 11, 12},
    "mobile_app_users": {1},
    "services_no_form": {3, 8},
    "same_category_3x": {3},
    "recent_visit": {3, 5},
    "replenishment": {7},
    "december_buyers": {1, 11},
    "sunday_buyers": {5, 7, 11},
    "instagram_cohort": {1, 4, 11},
    "recent_signups": {4},
    "women_35_45": {1, 3, 5, 9, 11},
    "aged_37": {3},
    "composite": {9},
    "b2b_small": {10},
    "b2b_mid": {9},
    "b2b_large": {7},
    "not_in_moscow": {2, 3, 4, 7, 8, 10, 12},
    "city_not_moscow": {2, 3, 7, 8, 10},
    "missing_city": {4, 12},
    "listed_cities": {1, 2, 5, 9, 11},
    "other_cities": {3, 7, 8, 10},
    "gmail": {2, 5},
    "mail_anywhere": {1, 2, 5, 11},
    "starts_i": {9},
    "high_value": {1},
    "top_3_revenue": {1, 5, 7},
    "above_avg_check": {1, 5, 9},
    "top_m": {1},
    "low_m": {2, 4},
    "abc_a": {1, 5},
    "abc_b": {7, 9},
    "abc_c": {2, 4, 11},
    "discount_driven": {4, 5},
    "first_channel_web": {1, 2, 5, 9, 10, 11},
    "second_order_300": {1, 5},
    "lifecycle_new": {4, 9},
    "lifecycle_churned": {2, 7, 11},
    # MD5("s1:<key>") first 8 hex digits mod 10000: 1→844, 5→1837, 7→3471 (< 5000: target);
    # 2→5160, 4→7578, 9→9514, 11→8289 (control)
    "split_target": {1, 5, 7},
    "split_control": {2, 4, 9, 11},
    "month_regulars": {1, 5, 9},
}


def test_every_corpus_segment_has_an_expectation(corpus: Compiler) -> None:
    segments = {n for n, d in corpus.analysis.definitions.items() if d.kind == "segment"}
    assert segments == set(EXPECTED)


def test_expectations_are_within_the_population() -> None:
    for name, members in EXPECTED.items():
        assert members <= POPULATION, name


def _members(corpus: Compiler, runner: Runner, segment: str) -> set[object]:
    sql = corpus.members_sql(segment, dialect=runner.name, as_of=AS_OF)
    return {row[0] for row in runner.query(sql)}


@pytest.mark.parametrize("segment", sorted(EXPECTED))
def test_duckdb_members(corpus: Compiler, corpus_duckdb: Runner, segment: str) -> None:
    assert _members(corpus, corpus_duckdb, segment) == EXPECTED[segment]


@pytest.mark.parametrize("segment", sorted(EXPECTED))
def test_postgres_members(corpus: Compiler, corpus_postgres: Runner, segment: str) -> None:
    assert _members(corpus, corpus_postgres, segment) == EXPECTED[segment]


@pytest.mark.parametrize("segment", sorted(EXPECTED))
def test_bigquery_members(corpus: Compiler, corpus_bigquery: Runner, segment: str) -> None:
    assert _members(corpus, corpus_bigquery, segment) == EXPECTED[segment]


@SPARK
def test_spark_members(corpus: Compiler, corpus_spark: Runner) -> None:
    """Every segment's members query on Spark, all in one query (a Spark query costs
    seconds; tests/support/batch.py)."""
    assert members_by_segment(corpus, corpus_spark, sorted(EXPECTED), AS_OF) == EXPECTED


@SPARK
def test_spark_membership_table_and_sizes(corpus: Compiler, corpus_spark: Runner) -> None:
    """`seg run --all`'s membership table and the sizes query on Spark: one query each."""
    names = sorted(EXPECTED)
    rows = corpus_spark.query(corpus.table_sql(names, dialect="spark", as_of=AS_OF))
    table = {name: {row[0] for row in rows if row[index]} for index, name in enumerate(names, 1)}
    assert table == EXPECTED
    assert {row[0] for row in rows} == POPULATION
    sizes = corpus_spark.query(corpus.counts_sql(names, dialect="spark", as_of=AS_OF))
    assert list(sizes[0][-len(names) :]) == [len(EXPECTED[name]) for name in names]


@pytest.mark.parametrize("segment", sorted(EXPECTED))
def test_clickhouse_members(corpus: Compiler, corpus_clickhouse: Runner, segment: str) -> None:
    assert _members(corpus, corpus_clickhouse, segment) == EXPECTED[segment]


@pytest.mark.parametrize("dialect", ["duckdb", "postgres", "bigquery", "spark", "clickhouse"])
@pytest.mark.parametrize("segment", sorted(EXPECTED))
def test_golden_sql(corpus: Compiler, dialect: str, segment: str) -> None:
    sql = corpus.members_sql(segment, dialect=dialect, as_of=AS_OF) + "\n"
    path = GOLDEN / dialect / f"{segment}.sql"
    if os.environ.get("SEGDSL_UPDATE_GOLDEN"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(sql, encoding="utf-8")
    assert path.exists(), f"missing golden file {path}; run with SEGDSL_UPDATE_GOLDEN=1"
    assert sql == path.read_text(encoding="utf-8")
