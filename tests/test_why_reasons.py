"""`seg why` reasons by execution on DuckDB, Postgres and GoogleSQL: a sequence's rows with
what followed each, a member's standing in a ranking, and the rule that gave a classifier
label. Expectations are worked out here from the rows, in Python."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal

import pytest
import sqlglot

from segdsl.compiler import Compiler
from segdsl.explain.reasons import add_reasons
from segdsl.explain.report import WhyNode, fill_why, walk, why_sql, why_tree
from segdsl.project import Project
from segdsl.settings import Settings
from tests.generators import MODEL, shop_tables
from tests.support.availability import require_postgres
from tests.support.runners import Runner, all_runners, close_all

AS_OF = dt.datetime(2025, 7, 1)
T = dt.datetime(2025, 6, 30)
LIMIT = dt.timedelta(hours=2)
DEFINITIONS = """
segment reminded = adds during last 30d then no buys within 2h
segment converted = adds then buys within 2h
segment top_two = revenue in top 2
segment bottom_half = revenue in bottom 50% among buyers
classifier tier {
  gold when revenue >= 300
  silver when revenue >= 100
  else bronze
}
"""
# customer → (adds, buys): 1 adds three times: bought 30 min after the first, 3 h after
# the second, and the third is 1 h before the as-of time (the 2 h are not over)
ADDS = {1: [T + dt.timedelta(hours=10), T + dt.timedelta(hours=12), T + dt.timedelta(hours=23)]}
BUYS = {1: [T + dt.timedelta(hours=10, minutes=30), T + dt.timedelta(hours=15)]}
REVENUE = {1: 100, 2: 300, 3: 300, 4: 50, 6: 300}  # ties at 300
# 5 bought nothing: a sum over no rows is 0, so 5 ranks with 0 (but is not among buyers)
RANKED = {**REVENUE, 5: 0}


@pytest.fixture(scope="module")
def compiler() -> Compiler:
    text = MODEL + DEFINITIONS
    return Compiler(Project.from_text(text, settings=Settings(time_zone="UTC")))


@pytest.fixture(scope="module")
def runners() -> Iterator[list[Runner]]:
    require_postgres()
    events = [(k, at.replace(tzinfo=dt.UTC), "add") for k, ats in ADDS.items() for at in ats]
    events += [(k, at.replace(tzinfo=dt.UTC), "buy") for k, ats in BUYS.items() for at in ats]
    orders = [
        (k, T, index, Decimal(amount), "paid")
        for index, (k, amount) in enumerate(REVENUE.items(), start=1)
    ]
    tables = shop_tables([(k, None, None, None, None) for k in range(1, 7)], orders, (), events)
    found = all_runners(tables)
    yield found
    close_all(found)


def explain(compiler: Compiler, runner: Runner, name: str, key: int) -> WhyNode:
    """`seg why` for one key, every query run on `runner`."""

    def run(sql: str) -> list[dict[str, object]]:
        names = [e.alias_or_name for e in sqlglot.parse_one(sql, read=runner.name).selects]
        return [dict(zip(names, row, strict=True)) for row in runner.query(sql)]

    tree = why_tree(compiler, name)
    sql, columns = why_sql(compiler, tree, key, dialect=runner.name, as_of=AS_OF)
    (row,) = run(sql)
    fill_why(tree, columns, row)
    add_reasons(compiler, tree, key, run, runner.name, compiler.as_of(AS_OF))
    return tree


def naive(value: object) -> object:
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        return value.astimezone(dt.UTC).replace(tzinfo=None)
    return value


@pytest.mark.parametrize("segment", ["reminded", "converted"])
def test_sequence_steps_are_the_rows_and_what_followed(
    compiler: Compiler, runners: list[Runner], segment: str
) -> None:
    negated = segment == "reminded"
    expected = []
    for at in sorted(ADDS[1], reverse=True):
        following = [b for b in BUYS[1] if at < b <= at + LIMIT]
        next_at = min(following) if following else None
        decided = at + LIMIT <= AS_OF
        matches = (next_at is None and decided) if negated else next_at is not None
        expected.append((at, next_at, decided, matches))
    for runner in runners:
        tree = explain(compiler, runner, segment, 1)
        steps = [(naive(s.at), naive(s.next_at), s.decided, s.matches) for s in tree.steps]
        assert steps == expected, runner.name
        assert tree.result is any(m for *_, m in expected), runner.name


@pytest.mark.parametrize(
    ("segment", "key"), [(s, k) for s in ("top_two", "bottom_half") for k in (1, 2, 3, 4, 5, 6)]
)
def test_ranking_standing(
    compiler: Compiler, runners: list[Runner], segment: str, key: int
) -> None:
    top = segment == "top_two"
    ranked = RANKED if top else REVENUE  # bottom_half is among buyers
    order = sorted(ranked, key=lambda k: (-ranked[k], k) if top else (ranked[k], k))
    cut_off = 2 if top else -(-len(order) // 2)
    for runner in runners:
        tree = explain(compiler, runner, segment, key)
        if key not in ranked:
            assert tree.standing is None and tree.result is False, runner.name
            continue
        assert tree.standing is not None, runner.name
        position = order.index(key) + 1
        assert (tree.standing.position, tree.standing.members) == (position, len(order))
        assert tree.standing.cut_off == cut_off
        assert tree.result is (position <= cut_off), (runner.name, key)


@pytest.mark.parametrize("key", [1, 2, 4, 5])
def test_classifier_shows_the_first_rule_that_holds(
    compiler: Compiler, runners: list[Runner], key: int
) -> None:
    revenue = RANKED[key]
    holds = [revenue >= 300, revenue >= 100, True]
    labels = ["gold", "silver", "bronze"]
    for runner in runners:
        tree = explain(compiler, runner, "tier", key)
        assert [child.result for child in tree.children] == holds, runner.name
        assert tree.label == labels[holds.index(True)], runner.name
        assert [child.label for child in tree.children] == labels
        assert all(node.standing is None for node in walk(tree))
