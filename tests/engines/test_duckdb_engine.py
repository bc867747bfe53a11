"""The DuckDB engine against a temporary database file."""

from __future__ import annotations

import decimal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from segdsl.engines import Engine, EngineError, connect
from tests.engines.bqemu import REPO


@pytest.fixture
def engine(duckdb_file: Path) -> Iterator[Engine]:
    with connect(f"duckdb:///{duckdb_file}") as opened:
        yield opened


def test_streams_in_batches(engine: Engine) -> None:
    sizes = [
        batch.num_rows for batch in engine.query_batches("SELECT * FROM orders", batch_rows=300)
    ]
    assert sizes == [300, 300, 300, 100]


def test_query_returns_a_table_with_engine_types(engine: Engine) -> None:
    table = engine.query(
        "SELECT customer_id, sum(amount) AS total FROM orders WHERE customer_id < $n "
        "GROUP BY 1 ORDER BY 1",
        {"n": 3},
    )
    assert table.column_names == ["customer_id", "total"]
    assert table.num_rows == 3
    assert table.schema.types == ["BIGINT", "DECIMAL(38,2)"]
    expected = sum(decimal.Decimal(i % 97) * decimal.Decimal("1.25") for i in range(0, 1000, 50))
    assert table.column("total")[0] == expected


def test_empty_result_still_has_a_schema(engine: Engine) -> None:
    batches = list(engine.query_batches("SELECT order_id, amount FROM orders WHERE false"))
    assert len(batches) == 1
    assert batches[0].num_rows == 0
    assert batches[0].schema.names == ["order_id", "amount"]


@pytest.mark.parametrize(
    "sql",
    [
        "INSERT INTO orders (order_id) VALUES (1)",
        "CREATE TABLE x AS SELECT 1",
        "DROP TABLE orders",
        "COPY orders TO '/tmp/segdsl-should-not-exist.csv'",
        "ATTACH ':memory:' AS other",
        "SET threads = 1",
    ],
)
def test_writes_are_refused(engine: Engine, sql: str) -> None:
    with pytest.raises(EngineError) as caught:
        list(engine.query_batches(sql))
    assert caught.value.kind == "permission"
    assert "only read-only queries" in str(caught.value)
    assert engine.query("SELECT count(*) AS n FROM orders").column("n")[0] == 1000


def test_the_file_itself_is_opened_read_only(engine: Engine) -> None:
    con = engine.connection  # type: ignore[attr-defined]
    with pytest.raises(duckdb.Error, match="read-only"):
        con.execute("INSERT INTO orders (order_id) VALUES (1)")


def test_several_statements_are_refused(engine: Engine) -> None:
    with pytest.raises(EngineError) as caught:
        list(engine.query_batches("SELECT 1; SELECT 2"))
    assert caught.value.kind == "invalid_query"


@pytest.mark.parametrize(
    ("sql", "kind"),
    [
        ("SELECT * FROM no_such_table", "not_found"),
        ("SELECT no_such_column FROM orders", "not_found"),
        ("SELEC 1", "invalid_query"),
        ("SELECT 'x'::INTEGER", "invalid_query"),
    ],
)
def test_errors_have_kinds_and_one_line(engine: Engine, sql: str, kind: str) -> None:
    with pytest.raises(EngineError) as caught:
        list(engine.query_batches(sql))
    assert caught.value.kind == kind
    assert "\n" not in str(caught.value)
    assert str(caught.value).startswith("duckdb duckdb:///")


def test_missing_file_is_unreachable_with_a_path_hint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(EngineError) as caught:
        connect("duckdb:///missing.duckdb")
    assert caught.value.kind == "unreachable"
    assert "relative to the current folder" in str(caught.value)


def test_relative_paths_resolve_against_the_current_folder(
    duckdb_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(duckdb_file.parent)
    with connect(f"duckdb:///{duckdb_file.name}") as engine:
        assert engine.query("SELECT count(*) AS n FROM customers").column("n")[0] == 50


def test_materialize_table_and_view(engine: Engine, duckdb_file: Path) -> None:
    engine.materialize(
        "SELECT customer_id, sum(amount) AS total FROM orders GROUP BY 1", "customer_totals"
    )
    engine.materialize(
        "SELECT * FROM customer_totals WHERE total > 1200", '"Big Spenders"', kind="view"
    )
    engine.materialize("SELECT 1 AS a", ("main", "replaced"))
    engine.materialize("SELECT 2 AS a", ("main", "replaced"))
    assert engine.query("SELECT count(*) AS n FROM customer_totals").column("n")[0] == 50
    assert engine.query('SELECT count(*) AS n FROM "Big Spenders"').column("n")[0] > 0
    assert engine.query("SELECT a FROM replaced").column("a") == [2]
    assert {"customer_totals", "Big Spenders", "replaced"} <= set(engine.list_tables())
    # still read-only afterwards
    with pytest.raises(duckdb.Error, match="read-only"):
        engine.connection.execute("DROP TABLE replaced")  # type: ignore[attr-defined]
    engine.close()  # DuckDB opens a file once per process with one configuration
    con = duckdb.connect(str(duckdb_file), read_only=True)
    try:
        kinds = dict(
            con.execute("SELECT table_name, table_type FROM information_schema.tables").fetchall()
        )
    finally:
        con.close()
    assert kinds["customer_totals"] == "BASE TABLE"
    assert kinds["Big Spenders"] == "VIEW"


def test_failed_materialize_leaves_nothing(engine: Engine) -> None:
    with pytest.raises(EngineError) as caught:
        engine.materialize("SELECT no_such_column FROM orders", "broken")
    assert caught.value.kind == "not_found"
    assert "while materializing broken" in str(caught.value)
    assert "broken" not in engine.list_tables()


def test_explain_returns_the_plan(engine: Engine) -> None:
    plan = engine.explain("SELECT customer_id, count(*) FROM orders GROUP BY 1")
    assert "GROUP" in plan.upper()
    assert engine.estimate_bytes("SELECT 1") is None
    with pytest.raises(EngineError):
        engine.explain("DELETE FROM orders")


def test_describe_and_list_tables(engine: Engine) -> None:
    described = engine.describe_tables([("orders",), ("main", "customers")])
    assert described == {
        "orders": {
            "order_id": "BIGINT",
            "customer_id": "BIGINT",
            "amount": "DECIMAL(10,2)",
            "ordered_at": "TIMESTAMP WITH TIME ZONE",
        },
        "main.customers": {"customer_id": "BIGINT", "name": "VARCHAR", "signed_up": "DATE"},
    }
    assert engine.list_tables() == ["customers", "orders"]
    assert engine.list_tables("main") == ["customers", "orders"]
    with pytest.raises(EngineError) as caught:
        engine.describe_tables([("nope",)])
    assert caught.value.kind == "not_found"


def test_in_memory_database() -> None:
    with connect("duckdb://") as engine:
        with pytest.raises(EngineError) as caught:
            list(engine.query_batches("CREATE TABLE t (a INTEGER)"))
        assert caught.value.kind == "permission"
        engine.materialize("SELECT range AS a FROM range(3)", "t")
        assert engine.query("SELECT sum(a) AS s FROM t").column("s")[0] == 3


def test_statement_timeout_interrupts(duckdb_file: Path) -> None:
    with connect(f"duckdb:///{duckdb_file}", statement_timeout=0.5) as engine:
        with pytest.raises(EngineError) as caught:
            list(engine.query_batches("SELECT count(*) FROM range(100000000000)"))
        assert caught.value.kind == "timeout"
        assert engine.query("SELECT 42 AS x").column("x")[0] == 42


def _run_with_ctrl_c(script: str) -> list[str]:
    """Run ``script`` in a fresh interpreter; its ``arm()`` sends it SIGINT once the
    engine's worker thread for the next blocking call is running (a readiness signal, not
    a delay: on a busy machine a timer could fire while the script is still importing)."""
    prelude = textwrap.dedent(
        """
        import os, signal, threading
        def arm():
            before = {t.ident for t in threading.enumerate()}
            def worker_started():
                return any(
                    t.name.startswith("segdsl") and t.ident not in before
                    for t in threading.enumerate()
                )
            def watch():
                ready = threading.Event()
                for _ in range(60_000):  # at most about 60 s
                    if worker_started():
                        break
                    ready.wait(0.001)
                os.kill(os.getpid(), signal.SIGINT)
            threading.Thread(target=watch, daemon=True).start()
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", prelude + textwrap.dedent(script)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


def test_ctrl_c_interrupts_a_query(duckdb_file: Path) -> None:
    out = _run_with_ctrl_c(
        f"""
        import time
        from segdsl.engines import connect, EngineError
        engine = connect("duckdb:///{duckdb_file}")
        started = time.monotonic()
        arm()
        try:
            list(engine.query_batches("SELECT count(*) FROM range(100000000000)"))
            print("finished")
        except EngineError as error:
            print(error.kind, time.monotonic() - started < 10)
        print(engine.query("SELECT 42 AS x").column("x")[0])
        """
    )
    assert out == ["cancelled", "True", "42"]


def test_ctrl_c_during_materialize_writes_nothing(duckdb_file: Path) -> None:
    out = _run_with_ctrl_c(
        f"""
        from segdsl.engines import connect, EngineError
        from segdsl.engines.base import tables_read
        engine = connect("duckdb:///{duckdb_file}")
        slow = "SELECT range AS x FROM range(100000000000) WHERE range % 1000003 = 0"
        tables_read(slow, "duckdb")  # load sqlglot now: Ctrl-C must land in the query
        arm()
        try:
            engine.materialize(slow, "slow")
            print("finished")
        except EngineError as error:
            print(error.kind)
        print("slow" in engine.list_tables())
        """
    )
    assert out == ["cancelled", "False"]
