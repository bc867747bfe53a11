"""Deep and long input: long chains compile and compute the right values, nesting past
the documented limit (200 levels) and long chains of definitions get SEG006, never a
RecursionError; checked on every dialect and run on DuckDB."""

from __future__ import annotations

from collections.abc import Iterator
from random import Random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from segdsl.compiler import Compiler
from segdsl.project import Project
from segdsl.syntax.nesting import MAX_DEPTH
from tests.support.runners import DuckDBRunner
from tests.support.stack import python_default_stack
from tests.support.tables import TableSpec, table

MODEL = """entity customer from customers {
  key id
  x: integer
}
table orders from orders {
  link customer_id to customer
  time ordered_at
  amount: money
}
"""
TABLES: tuple[TableSpec, ...] = (
    table("customers", {"id": "integer", "x": "integer"}, [(1, 1), (2, 5), (3, None)]),
    table(
        "orders",
        {"customer_id": "integer", "ordered_at": "timestamp", "amount": "decimal"},
        [],
    ),
)
DIALECTS = ("duckdb", "postgres", "bigquery", "spark")


@pytest.fixture(scope="module")
def duckdb_runner() -> Iterator[DuckDBRunner]:
    runner = DuckDBRunner(TABLES)
    yield runner
    runner.close()


def compiled(text: str) -> Compiler:
    return Compiler(Project.from_text(MODEL + text + "\n", "deep.seg"))


def members(compiler: Compiler, runner: DuckDBRunner, name: str = "s") -> set[object]:
    for dialect in DIALECTS:
        compiler.members_sql(name, dialect=dialect, as_of="2025-07-01")
        compiler.table_sql([name], dialect=dialect, as_of="2025-07-01")
    sql = compiler.members_sql(name, dialect="duckdb", as_of="2025-07-01")
    return {row[0] for row in runner.query(sql)}


def test_600_chained_ands_and_ors(duckdb_runner: DuckDBRunner) -> None:
    both = compiled(
        "segment s = " + " and ".join(f"x != {i}" for i in range(100, 700)) + "\n"
        "segment t = " + " or ".join(f"x = {i}" for i in range(5, 605))
    )
    assert both.analysis.ok, both.diagnostics
    assert members(both, duckdb_runner, "s") == {1, 2}
    assert members(both, duckdb_runner, "t") == {2}


def test_a_600_term_sum_with_signs_keeps_its_value(duckdb_runner: DuckDBRunner) -> None:
    """`x - 1 + 2 - 3 …` regrouped into a balanced tree still means left to right."""
    terms = list(range(1, 600))
    signs = ["-" if i % 3 else "+" for i in terms]
    total = sum(-t if s == "-" else t for s, t in zip(signs, terms, strict=True))
    chain = "x" + "".join(f" {s} {t}" for s, t in zip(signs, terms, strict=True))
    expected = f"x + {total}" if total >= 0 else f"x - {-total}"
    compiler = compiled(f"segment s = {chain} = {expected}")
    assert compiler.analysis.ok, compiler.diagnostics
    assert members(compiler, duckdb_runner) == {1, 2}


def test_a_long_product_with_divisions_keeps_its_value(duckdb_runner: DuckDBRunner) -> None:
    chain = "x" + "".join(f" * {k} / {k}" for k in range(2, 90)) + " * 2 * 3"
    compiler = compiled(f"segment s = {chain} = x * 6")
    assert compiler.analysis.ok, compiler.diagnostics
    assert members(compiler, duckdb_runner) == {1, 2}


@pytest.mark.parametrize(
    ("wrap", "levels_per_wrap"),
    [
        (lambda inner: f"not {inner}", 1),
        (lambda inner: f"not ({inner})", 1),
        (lambda inner: f"x > 0 and not ({inner})", 2),
        (lambda inner: f"x > 0 or (x < 9 and ({inner}))", 2),
    ],
    ids=["not", "not_parenthesised", "and_not", "or_and"],
)
def test_nesting_up_to_the_limit_compiles_and_past_it_is_seg006(
    wrap: object, levels_per_wrap: int, duckdb_runner: DuckDBRunner
) -> None:
    def nested(count: int) -> str:
        text = "x > 1"
        for _ in range(count):
            text = wrap(text)  # type: ignore[operator]
        return text

    fits = (MAX_DEPTH - 2) // levels_per_wrap  # the comparison and its name are two levels
    compiler = compiled(f"segment s = {nested(fits)}")
    assert compiler.analysis.ok, compiler.diagnostics[:1]
    members(compiler, duckdb_runner)
    too_deep = compiled(f"segment s = {nested(fits + 2)}")
    assert [d.code for d in too_deep.diagnostics] == ["SEG006"]
    assert too_deep.diagnostics[0].span.line == MODEL.count("\n") + 1


@pytest.mark.parametrize("count", [300, 600])
def test_absurd_nesting_is_a_diagnostic(count: int) -> None:
    for text in (
        "not " * count + "x > 1",
        "-" * count + "x > 1",
        "(" * count + "-(" * count + "x" + ")" * count * 2 + " > 1",
        "x" + " / x" * count + " > 1",
        "(count orders where " * count + "amount > 1" + ") > 0" * count,
    ):
        compiler = compiled(f"segment s = {text}")
        assert [d.code for d in compiler.diagnostics] == ["SEG006"], text[:40]


def test_a_chain_of_600_definitions_in_either_order_is_a_diagnostic() -> None:
    forwards = ["segment s0 = x > 0"] + [
        f"segment s{i} = s{i - 1} and x > {i}" for i in range(1, 600)
    ]
    backwards = [f"segment s{i} = s{i + 1} and x > {i}" for i in range(600)] + [
        "segment s600 = x > 0"
    ]
    loop = [f"segment s{i} = s{(i + 1) % 600} and x > {i}" for i in range(600)]
    for lines in (forwards, backwards, loop):
        compiler = compiled("\n".join(lines))
        assert {d.code for d in compiler.diagnostics} == {"SEG006"}


def test_a_chain_of_definitions_below_the_limit_compiles(duckdb_runner: DuckDBRunner) -> None:
    lines = [f"segment s{i} = s{i + 1} and x > {i - 100}" for i in range(100)]
    compiler = compiled("\n".join([*lines, "segment s100 = x > 0", "segment s = s0"]))
    assert compiler.analysis.ok, compiler.diagnostics[:1]
    assert members(compiler, duckdb_runner) == {1, 2}


_WRAPPERS = [
    lambda inner: f"not ({inner})",
    lambda inner: f"x > 0 and ({inner})",
    lambda inner: f"({inner}) or x = 3",
    lambda inner: f"not {inner}" if not inner.startswith("x") else f"not ({inner})",
    lambda inner: f"(exists orders where amount > 0) or ({inner})",
    lambda inner: f"({inner}) and -(-(x)) > 0",
]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(min_value=0, max_value=500), st.randoms(use_true_random=False))
def test_any_nesting_compiles_or_is_seg006(depth: int, random: Random) -> None:
    text = "x > 1"
    for _ in range(depth):
        text = random.choice(_WRAPPERS)(text)
    with python_default_stack():
        compiler = compiled(f"segment s = {text}")
        if not compiler.analysis.ok:
            assert {d.code for d in compiler.diagnostics} == {"SEG006"}
            return
        for dialect in DIALECTS:
            compiler.members_sql("s", dialect=dialect, as_of="2025-07-01")
