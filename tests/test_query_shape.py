"""Shapes of generated queries that the engines' speed depends on (docs/performance.md).

Each test pins one rule of the generator down by reading the SQL it writes; whether
those queries return the right members is the differential tests' job
(tests/test_differential.py), which run them on all three engines.
"""

from __future__ import annotations

import duckdb
import pytest
import sqlglot
from sqlglot import exp

from segdsl.compiler import Compiler
from segdsl.execute import rows_sql
from segdsl.project import Project
from tests.test_plan import MODEL


def members_sql(condition: str, dialect: str = "duckdb") -> str:
    compiler = Compiler(Project.from_text(MODEL + f"segment probe = {condition}\n"))
    return compiler.members_sql("probe", dialect=dialect, as_of="2025-07-01")


@pytest.mark.parametrize(
    ("condition", "dialect", "joins_back"),
    [
        ("revenue in top 10%", "duckdb", False),
        ("ntile(4) of revenue = 1 and revenue in top 10%", "duckdb", False),
        # members read the city too: Postgres carries it through the ranking CTE
        ('revenue in top 10% and city = "Berlin"', "postgres", False),
        ('revenue in top 10% and city = "Berlin"', "duckdb", True),
        ("not (revenue in top 10%)", "postgres", True),  # outside the ranking are members
        ("revenue in top 10% or orders_count > 3", "postgres", True),
    ],
)
def test_last_ranking_layer_joins_back_only_for_what_members_need(
    condition: str, dialect: str, joins_back: bool
) -> None:
    query = sqlglot.parse_one(members_sql(condition, dialect), read=dialect)
    ctes = {cte.alias: cte.this for cte in query.ctes}
    assert (ctes["ranked_1"].find(exp.From).this.name == "population") is joins_back
    if "city" in condition and not joins_back:
        (ranking,) = [cte for name, cte in ctes.items() if name.endswith("_ranking")]
        assert any(name.endswith("_city") for name in ranking.named_selects)


@pytest.mark.parametrize(
    ("condition", "bound"),
    [
        ("max count events per name >= 3", "COUNT(*) >= 3"),
        ("max count events per name > 2 and orders_count > 0", "COUNT(*) > 2"),
        ("min count events per name <= 2", "COUNT(*) <= 2"),
        ("max count events per name < 3", None),  # every group counts towards the max
        ('max count events per name >= 3 or city = "A"', None),  # not needed by members
        ("not (max count events per name >= 3)", None),
    ],
)
def test_members_drop_groups_that_cannot_reach_a_bound(condition: str, bound: str | None) -> None:
    query = sqlglot.parse_one(members_sql(condition), read="duckdb")
    (groups,) = [s for s in query.find_all(exp.Subquery) if s.alias == "groups"]
    having = groups.this.args.get("having")
    assert (having.this.sql() if having else None) == bound


@pytest.mark.parametrize(
    ("condition", "dialect", "cuts"),
    [
        ("revenue in top 10%", "duckdb", 1),
        ("revenue in top 10%", "postgres", 1),
        ("revenue in top 10%", "bigquery", 0),  # BigQuery's LIMIT takes only a constant
        ("revenue in top 3", "bigquery", 1),
        ("not (revenue in bottom 3)", "duckdb", 1),  # a top/bottom is always a cut
        ("ntile(4) of revenue = 4", "duckdb", 1),
        ("ntile(4) of revenue >= 3 and ntile(5) of orders_count <= 1", "postgres", 2),
        ("ntile(4) of revenue = 2", "duckdb", 0),  # middle buckets
        ("not (ntile(4) of revenue = 4)", "duckdb", 0),  # the rest of the buckets
        ("ntile(4) of revenue = 4 or orders_count > 3", "duckdb", 0),
        ("ntile(4) of revenue = 4 and ntile(4) of revenue >= 2", "duckdb", 0),
        ("ntile(4) of revenue = 4", "bigquery", 0),
    ],
)
def test_rankings_that_only_filter_keep_the_first_rows(
    condition: str, dialect: str, cuts: int
) -> None:
    """A ranking whose members are all that is asked is `ORDER BY … LIMIT`, not a window
    over every member; Postgres does not share such a ranking's CTE with others."""
    query = sqlglot.parse_one(members_sql(condition, dialect), read=dialect)
    rankings = [cte.this for cte in query.ctes if cte.alias.endswith(("_ranking", "_rankings"))]
    limited = [r for r in rankings if r.args.get("limit") is not None]
    assert len(limited) == cuts
    for ranking in limited:
        assert ranking.find(exp.Window) is None and ranking.args.get("order") is not None
    assert all(r.find(exp.Window) is not None for r in rankings if r not in limited)


def test_a_table_of_rankings_keeps_the_ntile_values() -> None:
    """Outputs other than the members' condition read a ranking's buckets: a window."""
    compiler = Compiler(Project.from_text(MODEL + "measure q = ntile(4) of revenue\n"))
    sql = compiler.table_sql(["q", "ranked"], dialect="duckdb", as_of="2025-07-01")
    query = sqlglot.parse_one(sql, read="duckdb")
    ctes = {cte.alias: cte.this for cte in query.ctes}
    assert ctes["r2_q_ranking"].find(exp.Window) is not None
    assert ctes["r3_ranking"].args.get("limit") is not None  # the `top 10%`


@pytest.mark.parametrize(
    ("condition", "materialized"),
    [
        # one CTE ranks both, and the members need nothing else: no join at all (middle
        # buckets: not cuts, see test_rankings_that_only_filter_keep_the_first_rows)
        ("ntile(4) of revenue = 2 and ntile(4) of orders_count = 2", False),
        ('ntile(4) of revenue = 2 and ntile(4) of orders_count = 2 and city = "A"', False),
        # the same CTE joined back to the population: Postgres would push the filters into
        # the windows, expect one row and join by nested loops (54 s, not 1 s)
        ('(ntile(4) of revenue = 1 and ntile(4) of orders_count = 1) or city = "A"', True),
        ("ntile(4) of revenue = 1 or ntile(4) of orders_count = 1", True),
        ('revenue in top 10% and city = "A"', False),  # one ranking joined back: inlined
    ],
)
def test_postgres_shares_rankings_and_materialises_layers_joining_several(
    condition: str, materialized: bool
) -> None:
    query = members_sql(condition, dialect="postgres")
    assert ("AS MATERIALIZED" in query) is materialized
    assert query.count('_ranking" AS') + query.count('_rankings" AS') == 1


@pytest.mark.parametrize(
    ("condition", "upper_bound"),
    [
        # the latest order time is never after the as-of time: no `<=` for it
        ("last_order_at in last 30d", False),
        ("last_order_at in this year", False),  # ends after the as-of time
        ("last_order_at in between 60d ago and 30d ago", True),
        ("last_order_at in last 30d and revenue > 10", False),
    ],
)
def test_latest_times_need_no_upper_bound_at_the_as_of_time(
    condition: str, upper_bound: bool
) -> None:
    having = sqlglot.parse_one(members_sql(condition), read="duckdb").find(exp.Having)
    assert having is not None
    bounds = [node for node in having.find_all(exp.LT, exp.LTE) if node.find(exp.Max)]
    assert bool(bounds) is upper_bound
    assert having.find(exp.GT, exp.GTE) is not None


RELY_MODEL = """
segdsl 1
entity customer from customers {
  key id
  time signed_up_at
  city: string
}
table orders from orders {
  link customer_id to customer rely
  time ordered_at
  id: integer
  amount: money
}
table items from items {
  link order_id to orders.id rely
  category: string
}
table events from events {
  link customer_id to customer
  time occurred_at
}
table notes from notes {
  link customer_id to customer rely
  text: string
}
table returns from returns {
  link order_id to orders.id rely
  time returned_at
}
measure spend = sum(amount) of orders
measure avg_order = avg(amount) of orders
segment buyers = count orders > 0
"""


@pytest.mark.parametrize(
    ("condition", "reads_customers"),
    [
        ("count orders > 2", False),
        ("count items > 0", False),  # every link on the way says `rely`
        ("count events > 0 and count orders > 1", False),
        ("max count orders per amount >= 2", False),  # a grouped aggregate
        ("last(amount) of orders > 10", False),  # the latest row's value
        ("orders then events within 1d", False),  # a sequence starting with orders
        ("events then orders within 1d", True),  # starting with events
        ("count events > 2", True),  # no `rely`
        ("count notes > 0", True),  # no time: the sign-up time must be checked
        # timed below the orders: an order without a time would break the chain
        ("count returns > 0", True),
        ('count orders > 2 and city = "A"', True),  # an attribute
        ("not (count orders > 2)", True),
        ("count orders > 2 or count events > 0", True),  # orders not needed by members
        ("spend in top 10% and count orders > 0", True),  # ranks everyone
        # rankings of buyers only: the rankings' population has orders too
        ("spend in top 10% among buyers", False),
        ("avg_order > avg avg_order among buyers", False),
    ],
)
def test_rely_members_come_from_a_table_they_need(condition: str, reads_customers: bool) -> None:
    project = Project.from_text(RELY_MODEL + f"segment probe = {condition}\n")
    for dialect in ("duckdb", "postgres", "bigquery"):
        sql = Compiler(project).members_sql("probe", dialect=dialect, as_of="2025-07-01")
        tables = {table.name for table in sqlglot.parse_one(sql, read=dialect).find_all(exp.Table)}
        assert ("customers" in tables) is reads_customers, dialect


@pytest.mark.parametrize(
    ("condition", "ranked_with_customers"),
    [
        ('spend in top 10% among buyers and city = "A"', False),
        (
            "(ntile(5) of spend among buyers = 5) and (ntile(5) of avg_order among buyers = 5)"
            ' and not (city = "A")',
            False,
        ),
        ("avg_order > avg avg_order among buyers and city is missing", False),
        # the ranking reads the city itself: the customers are joined before ranking
        ('ntile(2) of spend among (buyers and city = "A") = 1', True),
        ('ntile(2) of spend among (buyers and city = "A") = 1 and city = "B"', True),
    ],
)
def test_rely_attributes_read_after_the_rankings_join_the_ranked_rows(
    condition: str, ranked_with_customers: bool
) -> None:
    """Rankings of a relied-on table sort narrow rows; the attributes members read come
    from the customers joined to the last ranking layer."""
    project = Project.from_text(RELY_MODEL + f"segment probe = {condition}\n")
    for dialect in ("duckdb", "postgres", "bigquery"):
        sql = Compiler(project).members_sql("probe", dialect=dialect, as_of="2025-07-01")
        ctes = {cte.alias: cte.this for cte in sqlglot.parse_one(sql, read=dialect).ctes}
        reading = {name for name, cte in ctes.items() if _reads(cte, "customers")}
        if ranked_with_customers:
            assert reading == {"population"}, dialect
        else:
            assert reading == {"ranked_1"}, dialect
            # Postgres would otherwise join a key without an index by nested loops
            assert ('"ranked_1" AS MATERIALIZED' in sql) is (dialect == "postgres")


def test_rely_member_rows_join_their_attributes_to_the_ranked_rows() -> None:
    compiler = Compiler(
        Project.from_text(RELY_MODEL + "segment probe = spend in top 10% among buyers\n")
    )
    for dialect in ("duckdb", "postgres", "bigquery"):
        sql = rows_sql(compiler, ["probe"], dialect, "2025-07-01", attributes=["city"])
        ctes = {cte.alias: cte.this for cte in sqlglot.parse_one(sql, read=dialect).ctes}
        assert {name for name, cte in ctes.items() if _reads(cte, "customers")} == {"ranked_1"}


def _reads(query: exp.Expr, table: str) -> bool:
    return any(found.name == table for found in query.find_all(exp.Table))


@pytest.mark.parametrize(
    ("condition", "filters_each_window"),
    [
        # together the windows take in every row since 60 days ago
        ("count orders during last 30d > count orders during between 60d ago and 30d ago", False),
        ("count orders during last 30d > 0 and count orders during more than 30d ago > 0", False),
        # a gap between 60 and 30 days ago (or at exactly 30 days ago): filtered window by window
        ("count orders during last 30d > count orders during between 90d ago and 60d ago", True),
        ("count orders during after 30d ago > count orders during before 30d ago", True),
        ("count orders during last 30d > (count orders where amount > 5)", True),
    ],
)
def test_rows_of_adjacent_windows_are_not_filtered_window_by_window(
    condition: str, filters_each_window: bool
) -> None:
    query = sqlglot.parse_one(members_sql(condition, "postgres"), read="postgres")
    (orders,) = [cte.this for cte in query.ctes if cte.alias == "t1_orders"]
    assert (orders.args["where"].find(exp.Or) is not None) is filters_each_window


def test_rely_members_keep_the_entity_keys_type() -> None:
    """A link column of another type (DOUBLE ids) gives the keys the entity has: the same
    members, split buckets and order as without `rely`."""
    # below a ranking: no candidates CTE (which reads the customers for the split)
    condition = 'ab = "a" and spend in top 50% among buyers'
    text = RELY_MODEL + f'split ab seed "s" {{ a 50% b 50% }}\nsegment probe = {condition}\n'
    found = _with_and_without_rely(text, _warehouse("DOUBLE", city="'A'", amount="1"))
    assert "customers" not in found[True][0] and "customers" in found[False][0]
    assert found[True][1] == found[False][1]
    members = found[True][1]
    assert 0 < len(members) < 20 and all(isinstance(key, int) for key in members)


@pytest.mark.parametrize(
    "entity", ["customer", "population", "Population", "candidates", "ranked_1", "m_ranking"]
)
def test_rely_entity_named_like_a_cte(entity: str) -> None:
    """The entity table joined to the ranked rows never takes a CTE's name."""
    text = RELY_MODEL.replace("entity customer ", f"entity {entity} ").replace(
        "to customer", f"to {entity}"
    )
    text += """segment probe = (spend in top 50% among buyers or spend > 30) and city = "A"\n"""
    city = "CASE WHEN i % 3 = 0 THEN 'A' END"
    found = _with_and_without_rely(text, _warehouse("BIGINT", city=city, amount="i"))
    expected = [i for i in range(1, 41) if i % 3 == 0 and i > 20]
    assert found[True][1] == found[False][1] == expected


def _warehouse(link_type: str, *, city: str, amount: str) -> duckdb.DuckDBPyConnection:
    """Customers 1 to 40, signed up in 2024, each with one order in 2025 (`city` and
    `amount` are SQL over the customer `i`)."""
    con = duckdb.connect()
    con.execute("CREATE TABLE customers (id BIGINT, signed_up_at TIMESTAMP, city TEXT)")
    con.execute(
        f"CREATE TABLE orders (customer_id {link_type}, ordered_at TIMESTAMP, id BIGINT,"
        " amount DECIMAL(9, 2))"
    )
    con.execute(
        f"INSERT INTO customers SELECT i, TIMESTAMP '2024-01-01', {city} FROM range(1, 41) t(i)"
    )
    con.execute(
        f"INSERT INTO orders SELECT i, TIMESTAMP '2025-01-01', i, {amount} FROM range(1, 41) t(i)"
    )
    return con


def _with_and_without_rely(
    text: str, con: duckdb.DuckDBPyConnection
) -> dict[bool, tuple[str, list[object]]]:
    """The SQL and the members of `probe`, with the model's `rely` and without it."""
    found = {}
    for relied in (True, False):
        project = Project.from_text(text if relied else text.replace(" rely\n", "\n"))
        sql = Compiler(project).members_sql("probe", dialect="duckdb", as_of="2025-07-01")
        found[relied] = (sql, sorted(key for (key,) in con.execute(sql).fetchall()))
    return found


@pytest.mark.parametrize(
    ("condition", "then_after"),
    [
        ("orders during last 7d then events within 2h", "2025-06-24 00:00:00"),
        ("orders during after 30d ago then no events", "2025-06-01 00:00:00"),
        ("orders then events within 1d", None),  # the first step starts anywhere
    ],
)
def test_the_then_step_reads_only_rows_after_the_first_steps_window(
    condition: str, then_after: str | None
) -> None:
    query = sqlglot.parse_one(members_sql(condition), read="duckdb")
    (then,) = [s for s in query.find_all(exp.Subquery) if s.alias == "then_step"]
    lower = [
        part.expression.this.name
        for part in then.this.args["where"].find_all(exp.GT)
        if part.this.name == "occurred_at"
    ]
    assert lower == ([then_after] if then_after else [])


@pytest.mark.parametrize(
    ("condition", "counted", "tested"),
    [
        # every row kept has orders, and `revenue` counts the same rows: no count at all
        ("revenue in top 10% among buyers", False, False),
        ("ntile(5) of revenue among buyers = 5", False, False),
        (
            "(ntile(3) of last_order_at among buyers = 3) and revenue in top 5 among buyers",
            False,
            False,
        ),
        ("average_order > avg average_order among buyers", False, False),
        # the count is read by the members too
        ("revenue in top 10% among buyers and orders_count > 2", True, False),
        # only the count reads the orders: their rows make the population
        ("visits in top 10% among buyers", True, False),
        # some customers without orders are ranked: everyone is kept, the test stays
        ("revenue in top 10% among buyers or visits > 3", True, True),
        # a population of fewer rows than those kept
        ("revenue in top 10% among ((count orders where amount > 5) > 0)", True, True),
    ],
)
def test_rankings_among_everyone_kept_do_not_test_or_count_their_population(
    condition: str, counted: bool, tested: bool
) -> None:
    """`among buyers` over a query whose rows all have orders: each ranked row is a buyer,
    so the ranking tests no population and the orders CTE counts nothing just for it
    (Postgres spilled that COUNT to disk at 50k customers)."""
    for dialect in ("duckdb", "postgres", "bigquery"):
        query = sqlglot.parse_one(members_sql(condition, dialect), read=dialect)
        ctes = {cte.alias: cte.this for cte in query.ctes}
        (orders,) = [cte for name, cte in ctes.items() if name.endswith("_orders")]
        assert any(isinstance(c.unalias(), exp.Count) for c in orders.selects) is counted
        rankings = [cte for name, cte in ctes.items() if name.endswith(("_ranking", "_rankings"))]
        assert rankings, dialect
        # `… > 0` in the ranking's WHERE or in that of the members' count under its LIMIT
        tests = [
            test
            for ranking in rankings
            for where in ranking.find_all(exp.Where)
            for test in where.find_all(exp.GT)
            if test.expression == exp.Literal.number(0)
        ]
        assert bool(tests) is tested, dialect


@pytest.mark.parametrize("relied", [True, False])
def test_figures_over_a_relied_on_table_read_it_alone(relied: bool) -> None:
    """Every order of a `rely` link up to the as-of time is the population's: the figure
    over all of them needs no semi-join with the customers (nor do its members)."""
    text = RELY_MODEL if relied else RELY_MODEL.replace(" rely\n", "\n")
    project = Project.from_text(text + "segment probe = avg_order > avg(amount) of all orders\n")
    for dialect in ("duckdb", "postgres", "bigquery"):
        sql = Compiler(project).members_sql("probe", dialect=dialect, as_of="2025-07-01")
        query = sqlglot.parse_one(sql, read=dialect)
        (figure,) = [s for s in query.find_all(exp.Subquery) if s.find(exp.Avg) is not None]
        assert _reads(figure, "customers") is not relied, dialect
        assert _reads(query, "customers") is not relied, dialect


@pytest.mark.parametrize("dialect", ["duckdb", "postgres", "bigquery", "spark", "clickhouse"])
@pytest.mark.parametrize("condition", ['city = "A"', "revenue in top 10%", "orders_count > 0"])
def test_members_of_a_relied_on_key_are_not_deduplicated(dialect: str, condition: str) -> None:
    """`key id rely` promises one entity row per key: the member query and the membership
    table end without DISTINCT; without it both keep theirs."""
    relied = MODEL.replace("  key id\n", "  key id rely\n")
    assert relied != MODEL
    for model, distinct in ((MODEL, True), (relied, False)):
        project = Project.from_text(model + f"segment probe = {condition}\n")
        compiler = Compiler(project)
        for sql in (
            compiler.members_sql("probe", dialect=dialect, as_of="2025-07-01"),
            compiler.table_sql(["probe"], dialect=dialect, as_of="2025-07-01"),
        ):
            query = sqlglot.parse_one(sql, read=dialect)
            assert isinstance(query, exp.Select)
            assert bool(query.args.get("distinct")) is distinct, (model, sql)


@pytest.mark.parametrize(
    ("condition", "lower"),
    [
        ("time since last_order_at < 30d and orders_count > 0", None),  # counts every order
        ("time since last_order_at < 30d", "2025-06-01 00:00:00"),
        ("last orders >= 60d ago and count orders during last 7d > 0", "2025-05-02 00:00:00"),
        ("time since last_order_at between 45d and 60d", "2025-05-02 00:00:00"),
        ("30d ago < last_order_at", "2025-06-01 00:00:00"),
        ("last_order_at < 30d ago", None),  # an upper bound: every row counts
        ("not (time since last_order_at < 30d)", None),  # outside the bound are members
        ("time since last_order_at < 30d or revenue > 9", None),  # not needed by members
    ],
)
def test_a_lower_bound_on_the_latest_time_reads_only_rows_after_it(
    condition: str, lower: str | None
) -> None:
    query = sqlglot.parse_one(members_sql(condition), read="duckdb")
    (orders,) = [cte.this for cte in query.ctes if cte.alias.endswith("_orders")]
    bounds = [
        part.expression.this.name
        for part in orders.args["where"].find_all(exp.GT, exp.GTE)
        if part.this.name == "ordered_at"
    ]
    assert bounds == ([lower] if lower else [])
