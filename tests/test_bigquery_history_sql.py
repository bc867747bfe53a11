"""The SQL `seg snapshot` sends to BigQuery, run on GoogleSQL's reference implementation
(ZetaSQL): every CREATE and DROP analysed, every SELECT, INSERT and UPDATE evaluated
(tests/support/googlesql_warehouse.py keeps the tables), writes applied at the end as
BigQuery's one-script transaction applies them.

The history it leaves must give, at every recorded as-of time, the members the
ordinary compiler's GoogleSQL gives at that time (itself proven against the Python
reference evaluator in test_differential.py), for appended and backfilled times and a
definition whose meaning changed; `seg changes`' history query must give the set
difference computed in Python. The client path (sessions, scripts, the emulator) is
tests/engines/test_bigquery_history.py.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import random
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from segdsl.compiler import Compiler
from segdsl.diagnostics import CompileError
from segdsl.engines.base import EngineError, WriteSession
from segdsl.history import tables
from segdsl.history.changes import Interval, changes_query
from segdsl.history.membership import definition_hash, single_membership
from segdsl.history.snapshot import snapshot
from segdsl.project import load_project
from segdsl.sql.dialects import get_dialect
from tests.support.googlesql_warehouse import GoogleSQLWarehouse, flat
from tests.support.reference import evaluate_members, evaluate_values
from tests.support.tables import table

TIMES = ["2025-05-01", "2025-06-01", "2025-06-15", "2025-07-01"]
NAMES = ["recent_buyers", "big_spenders", "activity"]
MODEL = """segdsl 1
entity customer from customers {
  key id
  time signed_up_at
}
table orders from orders {
  link customer_id to customer
  time ordered_at
  amount: money
}
segment recent_buyers = exists orders during last 30d
segment big_spenders = sum(amount) of orders during last 60d >= 100
classifier activity {
  hot when exists orders during last 14d
  warm when exists orders during last 45d
  else cold
}
"""
SCHEMA = "hist"


def _data() -> dict[str, tuple[dict[str, str], list[tuple[object, ...]]]]:
    rng = random.Random(20)
    start = dt.datetime(2025, 3, 1)  # DATETIME columns: wall-clock times
    customers = [(i, dt.datetime(2024, 6, 1)) for i in range(1, 41)]
    orders = []
    for _ in range(240):
        when = start + dt.timedelta(minutes=rng.randrange(122 * 24 * 60))
        orders.append((rng.randint(1, 40), when, rng.choice([5, 20, 45, 80]) * 1.0))
    return {
        "customers": ({"id": "integer", "signed_up_at": "timestamp"}, customers),
        "orders": (
            {"customer_id": "integer", "ordered_at": "timestamp", "amount": "number"},
            orders,
        ),
    }


def _compiler(tmp_path: Path, model: str = MODEL) -> Compiler:
    folder = tmp_path / f"project_{abs(hash(model))}"
    folder.mkdir(exist_ok=True)
    (folder / "seg.toml").write_text('dialect = "bigquery"\nas_of = "2025-07-01"\n')
    (folder / "shop.seg").write_text(model)
    return Compiler(load_project(folder))


def _members(
    compiler: Compiler, warehouse: GoogleSQLWarehouse, name: str, as_of: str
) -> dict[object, object]:
    """key → label (True for a segment) by evaluating the definition on GoogleSQL."""
    sql = get_dialect("bigquery").render(
        single_membership(compiler, name, "bigquery", as_of), pretty=False
    )
    labelled = compiler.definition(name).kind != "segment"
    return {key: label if labelled else True for key, label in warehouse.query(sql)}


def _from_history(
    warehouse: GoogleSQLWarehouse, name: str, as_of: str, labelled: bool
) -> dict[object, object]:
    found: dict[object, object] = {}
    moment = dt.datetime.fromisoformat(as_of)
    for key, definition, label, _, start, end in warehouse.rows(tables.HISTORY):
        assert isinstance(start, dt.datetime)
        if definition == name and start <= moment and (end is None or end > moment):
            assert key not in found, (name, key, as_of)
            found[key] = label if labelled else True
    return found


def _record(
    compiler: Compiler, warehouse: GoogleSQLWarehouse, as_of: str, *, backfill: bool = False
) -> None:
    snapshot(compiler, warehouse.engine(), NAMES, SCHEMA, compiler.as_of(as_of), backfill=backfill)


@pytest.fixture
def warehouse() -> Iterator[GoogleSQLWarehouse]:
    opened = GoogleSQLWarehouse(_data())  # type: ignore[arg-type]
    yield opened
    opened.close()


def test_the_history_written_by_googlesql_gives_the_members_of_every_time(
    tmp_path: Path, warehouse: GoogleSQLWarehouse
) -> None:
    compiler = _compiler(tmp_path)
    _record(compiler, warehouse, TIMES[1])
    _record(compiler, warehouse, TIMES[3])
    _record(compiler, warehouse, TIMES[0], backfill=True)
    _record(compiler, warehouse, TIMES[2], backfill=True)
    for as_of in TIMES:
        for name in NAMES:
            labelled = name == "activity"
            expected = _members(compiler, warehouse, name, as_of)
            assert _from_history(warehouse, name, as_of, labelled) == expected, (name, as_of)
    runs = warehouse.rows(tables.RUNS)
    assert len(runs) == len(TIMES) * len(NAMES)
    assert warehouse.rows(tables.LOCK)[0][0] == 4
    assert any(row[5] is not None for row in warehouse.rows(tables.HISTORY))
    descriptions = {name: t.description for name, t in warehouse.tables.items()}
    for name in (tables.HISTORY, tables.RUNS, tables.LOCK):
        assert tables.is_own(descriptions[name]), name
    # every kind of statement the path sends went through the reference engine
    kinds = {sql.split(None, 1)[0] for sql in warehouse.statements}
    assert kinds >= {"CREATE", "SELECT", "INSERT", "UPDATE"}

    # the same time again: nothing changes
    before = {name: warehouse.rows(name) for name in warehouse.tables if name.startswith("segdsl_")}
    _record(compiler, warehouse, TIMES[3])
    after = {name: warehouse.rows(name) for name in warehouse.tables if name.startswith("segdsl_")}
    assert after == before

    # changes read from the history are the set difference of the members
    for name in NAMES:
        labelled = name == "activity"
        old = _members(compiler, warehouse, name, TIMES[1])
        new = _members(compiler, warehouse, name, TIMES[3])
        expected = set()
        for key in old.keys() | new.keys():
            if old.get(key) != new.get(key):
                change = "entered" if key not in old else "left" if key not in new else "moved"
                row = (key, change, old.get(key), new.get(key))
                expected.add(row if labelled else row[:2])
        interval = Interval(compiler.as_of(TIMES[1]), compiler.as_of(TIMES[3]), "history", "")
        query = changes_query(compiler, name, interval, "bigquery", SCHEMA)
        rows = warehouse.query(flat(get_dialect("bigquery").render(query, pretty=False))[1])
        assert set(rows) == expected, name
        assert len(rows) == len(expected)


def test_a_changed_definition_closes_the_old_meaning_on_googlesql(
    tmp_path: Path, warehouse: GoogleSQLWarehouse
) -> None:
    compiler = _compiler(tmp_path)
    _record(compiler, warehouse, TIMES[1])
    changed = _compiler(tmp_path, MODEL.replace("last 60d >= 100", "last 60d >= 50"))
    _record(changed, warehouse, TIMES[3])
    digest = definition_hash(changed, "big_spenders")
    assert digest != definition_hash(compiler, "big_spenders")
    history = [row for row in warehouse.rows(tables.HISTORY) if row[1] == "big_spenders"]
    old = [row for row in history if row[3] != digest]
    new = [row for row in history if row[3] == digest]
    assert old and all(row[5] == dt.datetime.fromisoformat(TIMES[3]) for row in old)
    assert {row[0] for row in new} == set(_members(changed, warehouse, "big_spenders", TIMES[3]))
    assert all(row[4] == dt.datetime.fromisoformat(TIMES[3]) and row[5] is None for row in new)


def test_an_overtaken_snapshot_fails_on_the_lock_and_writes_nothing(
    tmp_path: Path, warehouse: GoogleSQLWarehouse
) -> None:
    """Another run moved the lock row after this one read it: the claim's ERROR fails the
    transaction on GoogleSQL, nothing of it is applied, and the user gets SEG562."""
    compiler = _compiler(tmp_path)
    _record(compiler, warehouse, TIMES[1])
    engine = warehouse.engine()
    original = engine.write_session

    @contextlib.contextmanager
    def overtaken(lock: str) -> Iterator[WriteSession]:
        with original(lock) as session:
            yield session
            warehouse.tables[tables.LOCK].rows[0][0] = 2  # another snapshot's run 2

    engine.write_session = overtaken
    state = {name: warehouse.rows(name) for name in (tables.HISTORY, tables.RUNS)}
    with pytest.raises(CompileError) as refused:
        snapshot(compiler, engine, NAMES, SCHEMA, compiler.as_of(TIMES[2]))
    assert [d.code for d in refused.value.diagnostics] == ["SEG562"]
    assert {name: warehouse.rows(name) for name in (tables.HISTORY, tables.RUNS)} == state


def test_the_lock_claim_on_googlesql() -> None:
    """The compare-and-set moves the row when it holds the run read, else raises."""
    warehouse = GoogleSQLWarehouse(
        {"segdsl_lock": ({"last_run_id": "integer", "taken_at": "timestamptz"}, [(3, None)])}  # type: ignore[dict-item]
    )

    def render(last: int, run_id: int) -> str:
        claim = tables.claim(SCHEMA, "bigquery", last, run_id)
        return get_dialect("bigquery").render(claim, pretty=False)

    try:
        warehouse.modify(render(3, 4))
        assert warehouse.rows("segdsl_lock")[0][0] == 4
        with pytest.raises(EngineError, match="segdsl-busy"):
            warehouse.modify(render(3, 5))
        assert warehouse.rows("segdsl_lock")[0][0] == 4
    finally:
        warehouse.close()


# ---------------------------------------------------------------- generated data

AS_OFS = ["2025-04-10", "2025-05-01", "2025-05-20", "2025-06-01", "2025-06-15", "2025-07-01"]
ORDER = st.tuples(
    st.integers(1, 8),  # customer
    st.integers(0, 122 * 24 - 1),  # hours after 2025-03-01
    st.sampled_from([5.0, 20.0, 45.0, 80.0, 100.0]),
)


@pytest.fixture(scope="module")
def compiler(tmp_path_factory: pytest.TempPathFactory) -> Compiler:
    return _compiler(tmp_path_factory.mktemp("generated"))


@settings(
    max_examples=5,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(
    customers=st.integers(1, 8),
    orders=st.lists(ORDER, min_size=4, max_size=30),
    times=st.lists(st.sampled_from(AS_OFS), min_size=3, max_size=4, unique=True),
)
def test_generated_histories_give_the_reference_members(
    compiler: Compiler,
    customers: int,
    orders: list[tuple[int, int, float]],
    times: list[str],
) -> None:
    """Snapshots in a generated order (earlier times backfilled) on generated data: at
    every recorded time the history gives the members the independent Python evaluator
    of the language (tests/support/reference.py) gives."""
    assume(times != sorted(times))  # at least one backfill
    start = dt.datetime(2025, 3, 1)
    data = {
        "customers": (
            {"id": "integer", "signed_up_at": "timestamp"},
            [(i, dt.datetime(2024, 6, 1)) for i in range(1, customers + 1)],
        ),
        "orders": (
            {"customer_id": "integer", "ordered_at": "timestamp", "amount": "number"},
            [(c, start + dt.timedelta(hours=h), a) for c, h, a in orders if c <= customers],
        ),
    }
    specs = [table(name, columns, rows) for name, (columns, rows) in data.items()]  # type: ignore[arg-type]
    warehouse = GoogleSQLWarehouse(data)  # type: ignore[arg-type]
    try:
        for index, as_of in enumerate(times):
            backfill = any(earlier > as_of for earlier in times[:index])
            _record(compiler, warehouse, as_of, backfill=backfill)
        for as_of in times:
            moment = compiler.as_of(as_of)
            for name in NAMES:
                expr = compiler.definition(name).expr
                if name == "activity":
                    values = evaluate_values(compiler, expr, specs, moment)
                    expected = {k: v for k, v in values.items() if v is not None}
                else:
                    expected = dict.fromkeys(evaluate_members(compiler, expr, specs, moment), True)
                found = _from_history(warehouse, name, as_of, labelled=name == "activity")
                assert found == expected, (name, as_of)
    finally:
        warehouse.close()
