"""The Postgres engine against the local server, in a schema made for this session."""

from __future__ import annotations

import datetime as dt
import decimal
import socket
import subprocess
import sys
import textwrap
from collections.abc import Iterator

import psycopg
import pytest

from segdsl.engines import Engine, EngineError, connect
from tests.engines.bqemu import REPO

pytestmark = pytest.mark.postgres

PASSWORD = "S3cr%40t:pw"  # percent-encoded "S3cr@t:pw"; trust auth ignores it


def _with_password(dsn: str) -> str:
    return dsn.replace("postgres@", f"postgres:{PASSWORD}@", 1)


@pytest.fixture
def engine(pg_dsn: str) -> Iterator[Engine]:
    with connect(_with_password(pg_dsn), statement_timeout=30) as opened:
        yield opened


def _scalar(engine: Engine, sql: str) -> object:
    return engine.query(sql).rows[0][0]


def test_streams_in_batches(engine: Engine, pg_schema: str) -> None:
    batches = list(
        engine.query_batches(f"SELECT * FROM {pg_schema}.orders ORDER BY order_id", batch_rows=300)
    )
    assert [b.num_rows for b in batches] == [300, 300, 300, 100]
    assert all(b.schema == batches[0].schema for b in batches)


def test_types_follow_the_cursor_description(engine: Engine, pg_schema: str) -> None:
    table = engine.query(
        f"SELECT o.order_id, o.amount, o.ordered_at, c.name, c.signed_up, "
        f"sum(o.amount) OVER () AS total, ARRAY[o.order_id, 1] AS ids, "
        f"jsonb_build_object('id', o.order_id) AS doc "
        f"FROM {pg_schema}.orders o JOIN {pg_schema}.customers c USING (customer_id) "
        f"WHERE o.order_id = %(id)s",
        {"id": 51},
    )
    assert table.schema.types == [
        "INTEGER",
        "NUMERIC(10,2)",
        "TIMESTAMPTZ",
        "TEXT",
        "DATE",
        "NUMERIC",
        "INTEGER[]",
        "JSON",
    ]
    row = table.to_pylist()[0]
    assert row["total"] == decimal.Decimal("63.750000000")  # 9 places, like BigQuery
    assert row["amount"] == decimal.Decimal("63.75")
    assert row["ordered_at"] == dt.datetime(2024, 1, 3, 3, tzinfo=dt.UTC)
    assert row["name"] == "customer 1"
    assert row["ids"] == [51, 1]
    assert row["doc"] == '{"id": 51}'


def test_empty_result_still_has_a_schema(engine: Engine, pg_schema: str) -> None:
    batches = list(
        engine.query_batches(f"SELECT order_id, amount FROM {pg_schema}.orders WHERE false")
    )
    assert len(batches) == 1
    assert batches[0].num_rows == 0
    assert batches[0].schema.types == ["INTEGER", "NUMERIC(10,2)"]


@pytest.mark.parametrize(
    "template",
    [
        "INSERT INTO {s}.orders (order_id) VALUES (-1)",
        "DELETE FROM {s}.orders",
        "CREATE TABLE {s}.sneaky AS SELECT 1",
        "WITH gone AS (DELETE FROM {s}.orders RETURNING *) SELECT count(*) FROM gone",
        "SELECT set_config('transaction_read_only', 'off', false)",
    ],
)
def test_writes_are_refused(engine: Engine, pg_schema: str, template: str) -> None:
    with pytest.raises(EngineError) as caught:
        list(engine.query_batches(template.format(s=pg_schema)))
    assert caught.value.kind == "permission"
    assert _scalar(engine, f"SELECT count(*) FROM {pg_schema}.orders") == 1000


def test_every_query_runs_in_a_read_only_transaction(engine: Engine) -> None:
    assert _scalar(engine, "SELECT current_setting('transaction_read_only')") == "on"


def test_jit_is_off(engine: Engine) -> None:
    assert _scalar(engine, "SELECT current_setting('jit')") == "off"


def test_statement_timeout(pg_dsn: str) -> None:
    with connect(pg_dsn, statement_timeout=1) as engine:
        with pytest.raises(EngineError) as caught:
            list(engine.query_batches("SELECT pg_sleep(5)"))
        assert caught.value.kind == "timeout"
        assert "statement timeout" in str(caught.value)
        assert _scalar(engine, "SELECT 42") == 42


@pytest.mark.parametrize(
    ("template", "kind"),
    [
        ("SELECT * FROM {s}.no_such_table", "not_found"),
        ("SELECT no_such_column FROM {s}.orders", "not_found"),
        ("SELECT * FROM no_such_schema.orders", "not_found"),
        ("SELEC 1", "invalid_query"),
        ("SELECT 1; SELECT 2", "invalid_query"),
        ("SELECT 1 / 0", "invalid_query"),
    ],
)
def test_errors_have_kinds_and_masked_one_line_messages(
    engine: Engine, pg_schema: str, template: str, kind: str
) -> None:
    with pytest.raises(EngineError) as caught:
        list(engine.query_batches(template.format(s=pg_schema)))
    message = str(caught.value)
    assert caught.value.kind == kind
    assert "\n" not in message
    assert message.startswith("postgres postgresql://postgres:***@")
    assert "S3cr" not in message
    assert _scalar(engine, "SELECT 1") == 1  # the connection is usable afterwards


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def test_unreachable_server_is_reported_masked() -> None:
    url = f"postgresql://postgres:{PASSWORD}@127.0.0.1:{_closed_port()}/test"
    with pytest.raises(EngineError) as caught:
        connect(url, connect_timeout=2)
    message = str(caught.value)
    assert caught.value.kind == "unreachable"
    assert "could not connect" in message
    assert "S3cr" not in message and "***" in message


def test_missing_database_is_not_found(pg_dsn: str) -> None:
    with pytest.raises(EngineError) as caught:
        connect(pg_dsn.rsplit("/", 1)[0] + "/segdsl_no_such_db")
    assert caught.value.kind == "not_found"


def test_materialize_table_and_view(engine: Engine, pg_schema: str) -> None:
    totals = f"{pg_schema}.customer_totals"
    engine.materialize(
        f"SELECT customer_id, sum(amount) AS total FROM {pg_schema}.orders GROUP BY 1", totals
    )
    engine.materialize(  # replaced, with a different column list
        f"SELECT customer_id, sum(amount) AS total, count(*) AS n "
        f"FROM {pg_schema}.orders GROUP BY 1",
        totals,
    )
    engine.materialize(
        f"SELECT * FROM {totals} WHERE total > 1200", (pg_schema, "Big Spenders"), kind="view"
    )
    engine.materialize(
        f"SELECT * FROM {totals} WHERE n > 1", (pg_schema, "Big Spenders"), kind="view"
    )
    assert _scalar(engine, f"SELECT count(*) FROM {totals}") == 50
    assert _scalar(engine, f'SELECT count(*) FROM {pg_schema}."Big Spenders"') == 50
    assert {"customer_totals", "Big Spenders"} <= set(engine.list_tables(pg_schema))
    assert _scalar(engine, "SELECT current_setting('transaction_read_only')") == "on"


def test_materialize_is_all_or_nothing(engine: Engine, pg_schema: str) -> None:
    name = f"{pg_schema}.kept"
    engine.materialize("SELECT 1 AS a", name)
    with pytest.raises(EngineError) as caught:
        engine.materialize(f"SELECT no_such_column FROM {pg_schema}.orders", name)
    assert caught.value.kind == "not_found"
    assert "while materializing" in str(caught.value)
    assert _scalar(engine, f"SELECT a FROM {name}") == 1  # the old table survived


def test_materialize_will_not_turn_a_table_into_a_view(engine: Engine, pg_schema: str) -> None:
    engine.materialize("SELECT 1 AS a", f"{pg_schema}.a_table")
    with pytest.raises(EngineError) as caught:
        engine.materialize("SELECT 2 AS a", f"{pg_schema}.a_table", kind="view")
    assert caught.value.kind == "invalid_query"
    assert "is not a view" in str(caught.value)


def test_an_open_result_blocks_materialize_until_closed(engine: Engine, pg_schema: str) -> None:
    batches = engine.query_batches(f"SELECT * FROM {pg_schema}.orders", batch_rows=10)
    next(batches)
    with pytest.raises(EngineError, match="still being read"):
        engine.materialize("SELECT 1 AS a", f"{pg_schema}.blocked")
    batches.close()  # rolls the read-only transaction back
    engine.materialize("SELECT 1 AS a", f"{pg_schema}.blocked")


def test_explain(engine: Engine, pg_schema: str) -> None:
    plan = engine.explain(f"SELECT customer_id, count(*) FROM {pg_schema}.orders GROUP BY 1")
    assert "Scan on orders" in plan
    assert engine.estimate_bytes("SELECT 1") is None


def test_describe_and_list_tables(engine: Engine, pg_schema: str) -> None:
    described = engine.describe_tables([(pg_schema, "orders"), (pg_schema, "customers")])
    assert described == {
        f"{pg_schema}.orders": {
            "order_id": "integer",
            "customer_id": "integer",
            "amount": "numeric(10,2)",
            "ordered_at": "timestamp with time zone",
        },
        f"{pg_schema}.customers": {"customer_id": "integer", "name": "text", "signed_up": "date"},
    }
    assert {"orders", "customers"} <= set(engine.list_tables(pg_schema))
    with pytest.raises(EngineError) as caught:
        engine.describe_tables([(pg_schema, "nope")])
    assert caught.value.kind == "not_found"


def test_ctrl_c_cancels_the_server_side_query(pg_dsn: str) -> None:
    script = textwrap.dedent(
        f"""
        import os, signal, threading, time
        import psycopg
        from segdsl.engines import connect, EngineError
        engine = connect({pg_dsn!r})

        def interrupt_once_running():  # a readiness signal, not a delay
            with psycopg.connect({pg_dsn!r}, autocommit=True) as watcher:
                for _ in range(60_000):
                    # the server-side cursor's FETCH runs the query (its DECLARE does not)
                    (running,) = watcher.execute(
                        "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' "
                        "AND query LIKE %s AND pid <> pg_backend_pid()",
                        [f"FETCH%segdsl_{{os.getpid()}}_%"],
                    ).fetchone()
                    if running:
                        break
                    threading.Event().wait(0.001)
            os.kill(os.getpid(), signal.SIGINT)

        threading.Thread(target=interrupt_once_running, daemon=True).start()
        started = time.monotonic()
        try:
            list(engine.query_batches("SELECT pg_sleep(30) AS segdsl_ctrl_c_probe"))
            print("finished")
        except EngineError as error:
            print(error.kind, time.monotonic() - started < 10)
        print(engine.query("SELECT 42").rows[0][0])
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["cancelled", "True", "42"]
    with psycopg.connect(pg_dsn) as conn:
        running = conn.execute(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE state = 'active' AND query LIKE '%segdsl_ctrl_c_probe%' "
            "AND pid <> pg_backend_pid()"
        ).fetchone()
    assert running == (0,)
