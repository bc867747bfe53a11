"""`materialize` never replaces the model's input nor a table segdsl did not create.

Before the fix, ``--materialize shop.customers`` replaced the model's own input
(1,000 rows of 14 columns became 139 rows of ``id``), on DuckDB and Postgres,
and two concurrent materializes of one new table on Postgres failed with a raw
``duplicate key … pg_type_typname_nsp_index``.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import duckdb
import psycopg
import pytest
from typer.testing import CliRunner

from segdsl.cli.main import app
from segdsl.engines import Engine, EngineError, connect
from tests.engines.conftest import POSTGRES_DSN
from tests.support.demo_copies import DemoCopies
from tests.support.runners import spark_session

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"


@pytest.fixture(
    params=["duckdb", "postgres", pytest.param("spark", marks=pytest.mark.xdist_group("spark"))]
)
def setup(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[tuple[Callable[[], Engine], str, Callable[[str], list[tuple[object, ...]]]]]:
    """(open an engine, the schema prefix, run SQL directly) for each engine."""
    if request.param == "duckdb":
        request.getfixturevalue("duckdb_file")
        path = tmp_path / "shop.duckdb"

        def direct(sql: str) -> list[tuple[object, ...]]:
            with duckdb.connect(str(path)) as con:
                return (
                    con.execute(sql).fetchall()
                    if sql.lstrip().upper().startswith("SELECT")
                    else (con.execute(sql) and [])
                )

        yield (lambda: connect(f"duckdb:///{path}")), "main", direct
        return
    if request.param == "spark":
        yield request.getfixturevalue("spark_shop")
        return
    schema = request.getfixturevalue("pg_schema")

    def direct_pg(sql: str) -> list[tuple[object, ...]]:
        with psycopg.connect(POSTGRES_DSN, autocommit=True) as conn:
            cursor = conn.execute(sql)
            return cursor.fetchall() if cursor.description else []

    yield (lambda: connect(POSTGRES_DSN)), schema, direct_pg


@pytest.fixture(scope="session")  # xdist may run other modules between its tests
def spark_shop() -> tuple[Callable[[], Engine], str, Callable[[str], list[tuple[object, ...]]]]:
    """A fresh database on the shared local Spark session, with `customers`: one for the
    session (creating it costs seconds); each test writes tables of its own names."""
    session = spark_session()
    schema = f"spark_{uuid.uuid4().hex[:12]}"

    def direct(sql: str) -> list[tuple[object, ...]]:
        return [tuple(row) for row in session.sql(sql).collect()]

    direct(f"CREATE DATABASE {schema}")
    direct(
        f"CREATE TABLE {schema}.customers USING parquet AS "
        "SELECT id AS customer_id, concat('customer ', id) AS name FROM range(50)"
    )
    return (lambda: connect("spark://local")), schema, direct


def test_the_model_input_is_never_replaced(setup: tuple) -> None:  # type: ignore[type-arg]
    open_engine, schema, direct = setup
    before = direct(f"SELECT count(*) FROM {schema}.customers")
    columns = len(direct(f"SELECT * FROM {schema}.customers LIMIT 1")[0])
    query = f"SELECT customer_id AS id FROM {schema}.customers WHERE customer_id < 7"
    for name in (f"{schema}.customers", f"{schema.upper()}.CUSTOMERS"):
        for replace in (False, True):
            with open_engine() as engine, pytest.raises(EngineError) as caught:
                engine.materialize(query, name, replace=replace)
            assert caught.value.kind == "permission"
            assert "the query reads it" in caught.value.message
    assert direct(f"SELECT count(*) FROM {schema}.customers") == before
    assert len(direct(f"SELECT * FROM {schema}.customers LIMIT 1")[0]) == columns


def test_a_table_segdsl_did_not_create_needs_replace(setup: tuple) -> None:  # type: ignore[type-arg]
    open_engine, schema, direct = setup
    direct(f"CREATE TABLE {schema}.theirs AS SELECT 1 AS keep")
    direct(f"CREATE VIEW {schema}.their_view AS SELECT 1 AS keep")
    for name, kind in ((f"{schema}.theirs", "table"), (f"{schema}.their_view", "view")):
        with open_engine() as engine, pytest.raises(EngineError) as caught:
            engine.materialize("SELECT 2 AS mine", name, kind=kind)  # type: ignore[arg-type]
        assert caught.value.kind == "permission" and "--replace" in caught.value.message
        assert direct(f"SELECT * FROM {name}") == [(1,)]
        with open_engine() as engine:
            engine.materialize("SELECT 2 AS mine", name, kind=kind, replace=True)  # type: ignore[arg-type]
        assert direct(f"SELECT * FROM {name}") == [(2,)]


def test_its_own_table_and_view_are_replaced(setup: tuple) -> None:  # type: ignore[type-arg]
    open_engine, schema, direct = setup
    for kind in ("table", "view"):
        name = f"{schema}.own_{kind}"
        for value in (1, 2, 3):
            with open_engine() as engine:
                engine.materialize(f"SELECT {value} AS n", name, kind=kind)  # type: ignore[arg-type]
            assert direct(f"SELECT n FROM {name}") == [(value,)]


def _race(open_engine: Callable[[], Engine], sql: str, name: str) -> list[object]:
    """Two engines materialize ``sql`` into ``name`` at once; each one's value or error."""
    start = threading.Barrier(2)
    outcomes: list[object] = []

    def materialize(value: int) -> None:
        try:
            with open_engine() as engine:
                start.wait(timeout=60)
                engine.materialize(sql.format(value=value), name)
            outcomes.append(value)
        except EngineError as error:
            start.abort()  # never leave the other thread waiting
            outcomes.append(error)
        except threading.BrokenBarrierError:
            outcomes.append("the other engine failed first")

    threads = [threading.Thread(target=materialize, args=(v,)) for v in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


def test_concurrent_materializes_of_one_name(setup: tuple) -> None:  # type: ignore[type-arg]
    open_engine, schema, direct = setup
    spark = schema.startswith("spark_")
    rows_sql = (
        "SELECT {value} AS n FROM range(1000)"
        if schema == "main" or spark
        else "SELECT {value} AS n FROM generate_series(1, 1000) AS g(x)"
    )
    for round_ in range(1 if spark else 6):  # Spark: a materialize costs seconds
        name = f"{schema}.raced_{round_}"
        outcomes = _race(open_engine, rows_sql, name)
        values = [o for o in outcomes if isinstance(o, int)]
        errors = [o for o in outcomes if isinstance(o, EngineError)]
        for error in errors:  # a loser gets a clear message, never a catalog internal
            assert "pg_type" not in error.message and "duplicate key" not in error.message
            assert "open elsewhere" in error.message, error.message
        if schema != "main":  # Postgres serialises them: both succeed, one after the other
            assert sorted(values) == [1, 2], outcomes
        if values:  # whatever won left a whole table
            rows = direct(f"SELECT n, count(*) FROM {name} GROUP BY n")
            assert len(rows) == 1 and rows[0][0] in values and rows[0][1] == 1000


# ---------------------------------------------------------------- the CLI


def test_the_cli_refuses_the_input_and_replaces_with_the_flag(
    tmp_path: Path, demo_copies: DemoCopies
) -> None:
    demo = tmp_path / "demo.duckdb"
    demo_copies.copy(demo, scale=0.01)
    url = f"duckdb:///{demo}"
    runner = CliRunner()
    base = ["run", str(EXAMPLES), "--all", "--db", url]
    refused = runner.invoke(app, [*base, "--materialize", "shop.customers"])
    assert refused.exit_code == 1
    assert "refusing to replace shop.customers: the query reads it" in refused.output
    with duckdb.connect(str(demo), read_only=True) as con:
        assert len(con.execute("SELECT * FROM shop.customers LIMIT 1").description or []) > 10
        con.close()
    with duckdb.connect(str(demo)) as con:
        con.execute("CREATE TABLE shop.report AS SELECT 1 AS x")
    assert runner.invoke(app, [*base, "--materialize", "shop.report"]).exit_code == 1
    replaced = runner.invoke(app, [*base, "--materialize", "shop.report", "--replace"])
    assert replaced.exit_code == 0, replaced.output
    again = runner.invoke(app, [*base, "--materialize", "shop.report"])  # its own now
    assert again.exit_code == 0, again.output
