"""The strictness analysis (plan.rows_required): which row groups a member cannot lack.

An inner join is only sound when the condition is false for every entity without
rows there; each case states that by hand from the zero-row values (count 0, sum 0,
exists false, everything else missing). The differential tests check the resulting
SQL by execution; these pin the analysis itself down.
"""

from __future__ import annotations

import pickle

import pytest

from segdsl import ir
from segdsl.compiler import Compiler
from segdsl.plan import Output, always_ranked, build_plan, rows_forbidden, rows_required
from segdsl.project import Project

MODEL = """
segdsl 1
entity customer from customers {
  key id
  city: string
}
table orders from orders {
  link customer_id to customer
  time ordered_at
  amount: money
}
table events from events {
  link customer_id to customer
  time occurred_at
  name: string
}
measure orders_count = count orders
measure revenue = sum(amount) of orders
measure average_order = avg(amount) of orders
measure last_order_at = max(ordered_at) of orders
measure visits = count events
segment buyers = orders_count > 0
segment ranked = revenue in top 10%
"""


def required(condition: str) -> set[str]:
    """Names of the row groups `condition` requires: a table name, or `ranking`/`sequence`."""
    compiler = Compiler(Project.from_text(MODEL + f"segment probe = {condition}\n"))
    expr = compiler.definition("probe").expr
    assert compiler.analysis.entity is not None
    plan = build_plan(compiler.analysis.entity, [Output("probe", expr)])
    names = set()
    for group in rows_required(plan, expr):
        match group:
            case ir.RowSource():
                names.add(group.name)
            case ir.SequenceSpec():
                names.add("sequence")
            case ir.PopulationSpec():
                names.add("ranking")
            case _:
                names.add(type(group).__name__)
    return names


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ("orders_count > 0", {"orders"}),
        ("orders_count >= 1 and visits > 2", {"orders", "events"}),
        ("orders_count = 0", set()),  # customers without orders are members
        ("orders_count < 3", set()),
        ("not (orders_count > 0)", set()),
        ("not (orders_count = 0)", {"orders"}),
        ("revenue > 100", {"orders"}),
        ("revenue < 100", set()),  # 0 < 100 holds for no orders
        ("revenue > -1", set()),
        ("average_order > 10", {"orders"}),  # missing compares false
        ("average_order is missing", set()),
        ("average_order is present", {"orders"}),
        ("last_order_at in last 30d", {"orders"}),
        ("not (last_order_at in last 30d)", set()),
        ('orders_count > 0 or city = "Berlin"', set()),
        ('orders_count > 0 and city = "Berlin"', {"orders"}),
        ("orders_count > 0 or visits > 0", set()),
        ("buyers", {"orders"}),  # through a segment reference
        ("not buyers", set()),
        ("exists orders during last 7d", {"orders"}),
        ("revenue / orders_count > 50", {"orders"}),  # 0 / 0 is missing
        ("orders_count - 1 < 0", set()),
        ("events during last 30d then orders within 2h", {"sequence"}),
        ("events during last 30d then no orders within 2h", {"sequence"}),
        ("not (events during last 30d then orders within 2h)", set()),
    ],
)
def test_rows_required(condition: str, expected: set[str]) -> None:
    assert required(condition) == expected


def test_rankings_are_required_only_when_the_condition_needs_them() -> None:
    assert required("ranked") == {"ranking"}
    assert required("not ranked") == set()
    assert required('ranked or city = "Berlin"') == set()


def forbidden(condition: str) -> set[str]:
    """Names of the tables `condition` forbids rows in (anti-joined in member queries)."""
    compiler = Compiler(Project.from_text(MODEL + f"segment probe = {condition}\n"))
    expr = compiler.definition("probe").expr
    assert compiler.analysis.entity is not None
    plan = build_plan(compiler.analysis.entity, [Output("probe", expr)])
    return {source.name for source in rows_forbidden(plan, expr)}


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ("orders_count = 0", {"orders"}),
        ("orders_count < 1", {"orders"}),
        ("orders_count <= 0", {"orders"}),
        ("0 = orders_count", {"orders"}),
        ("not (orders_count > 0)", {"orders"}),
        ("not (exists orders during last 7d)", {"orders"}),
        ('not (exists events during last 7d) and city = "Berlin"', {"events"}),
        ("orders_count = 0 and visits = 0", {"orders", "events"}),
        ("not buyers", {"orders"}),
        ("orders_count <= 1", set()),  # one order is allowed
        ("orders_count < 2", set()),
        ("orders_count = 0 or visits > 3", set()),  # a buyer with visits is a member
        ("orders_count > 0", set()),
        ("orders_count = 0 and revenue < 5", set()),  # the table has a sum too
        ("not (exists orders during last 7d) and orders_count > 2", set()),
        ("orders_count = 0 and not ranked", set()),  # rankings need everyone
    ],
)
def test_rows_forbidden(condition: str, expected: set[str]) -> None:
    assert forbidden(condition) == expected


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        # ranked among buyers: customers without orders are not ranked anyway
        ("revenue in top 10% among buyers", {"orders", "ranking"}),
        ("ntile(5) of revenue among buyers = 5", {"orders", "ranking"}),
        ("average_order > avg average_order among buyers", {"orders"}),
        ("ntile(5) of average_order = 5", {"orders", "ranking"}),  # no value, no rank
        # everyone is ranked (revenue is 0 without orders), so orders cannot narrow it
        ("ntile(5) of revenue = 5", {"ranking"}),
        ("not (revenue in top 10% among buyers)", set()),
        ('revenue in top 10% among buyers or city = "Berlin"', set()),
    ],
)
def test_rows_required_with_rankings(condition: str, expected: set[str]) -> None:
    assert required(condition) == expected


def test_plan_keys_keep_their_hash_but_never_pickle_it() -> None:
    compiler = Compiler(Project.from_text(MODEL + 'segment probe = revenue > 10 and city = "A"\n'))
    assert compiler.analysis.entity is not None
    plan = build_plan(
        compiler.analysis.entity, [Output("probe", compiler.definition("probe").expr)]
    )
    ((source, aggregations),) = plan.aggregations.items()
    aggregation = aggregations[0][1]
    for key in (source, aggregation):
        assert hash(key) == hash(key) and key.__dict__["_hash"] == hash(key)
        copy = pickle.loads(pickle.dumps(key))
        assert "_hash" not in copy.__dict__  # string hashes differ between processes
        assert copy == key and hash(copy) == hash(key)


@pytest.mark.parametrize(
    ("ranking", "expected"),
    [
        ("ntile(5) of revenue", True),  # a sum is 0 without rows
        ("ntile(5) of orders_count among buyers", True),
        ("ntile(5) of last_order_at among buyers", True),  # buyers have an order time
        ("ntile(5) of last_order_at among ((count orders where amount > 10) > 0)", True),
        ("ntile(5) of last_order_at", False),  # customers without orders have none
        ("ntile(5) of last_order_at among (visits > 0)", False),
        ('ntile(5) of last_order_at among (buyers or city = "Berlin")', False),
        ("ntile(5) of last_big_order_at among buyers", False),  # buyers of small orders only
        ("ntile(5) of average_order among buyers", False),  # avg of NULL amounts is missing
    ],
)
def test_always_ranked(ranking: str, expected: bool) -> None:
    model = MODEL + "measure last_big_order_at = max(ordered_at) of orders where amount > 10\n"
    compiler = Compiler(Project.from_text(model + f"segment probe = {ranking} = 1\n"))
    assert compiler.analysis.ok, [d.message for d in compiler.diagnostics]
    (spec,) = [
        node.spec
        for node in _walk(compiler.definition("probe").expr)
        if isinstance(node, ir.PopulationRef)
    ]
    assert always_ranked(spec) is expected


def _walk(expr: ir.Expr) -> list[ir.Expr]:
    return [expr, *(node for child in ir.children(expr) for node in _walk(child))]
