"""The ClickHouse engine on the embedded ClickHouse (chdb): read-only queries, the one
write (materialize, with segdsl's safety rules), catalog reads, exports, and the demo
warehouse copied into a chdb folder answering `seg run` as DuckDB does.

`clickhouse://` (no folder) is a private database in the process's embedded server, so
these tests share it with the chdb test runners; a folder (`clickhouse:///path`) needs
the process's embedded server to itself, so the tests that use one run `seg` as a
subprocess.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from segdsl.engines import EngineError, connect
from segdsl.engines.clickhouse_engine import ClickHouseEngine
from segdsl.engines.urls import ClickHouseURL, URLError, mask, parse_url

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"


@pytest.fixture
def engine() -> Iterator[ClickHouseEngine]:
    with connect("clickhouse://") as opened:
        assert isinstance(opened, ClickHouseEngine)
        customers = pa.table(
            {
                "id": pa.array([1, 2, 3], pa.int64()),
                "city": pa.array(["Moscow", None, "Kazan"]),
                "seen": pa.array(
                    [dt.datetime(2024, 1, 1, 10, 30, 0, 123456), None, dt.datetime(2024, 2, 1)],
                    pa.timestamp("us"),
                ),
            }
        )
        columns = ["id Int64", "city Nullable(String)", "seen Nullable(DateTime64(6))"]
        assert opened.load_arrow("shop", "customers", columns, customers.to_batches()) == 3
        yield opened
        opened.query("SELECT 1")  # still usable: nothing the test did broke it


# ---------------------------------------------------------------- URLs


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("clickhouse://", ClickHouseURL()),
        ("chdb://", ClickHouseURL()),
        ("clickhouse:///data/ch", ClickHouseURL(path=Path("data/ch"))),
        ("chdb:////abs/ch", ClickHouseURL(path=Path("/abs/ch"))),
        (
            "clickhouse://ann:s%40cret@ch.example.com:8443/shop?secure=true",
            ClickHouseURL(
                host="ch.example.com",
                port=8443,
                user="ann",
                password="s@cret",
                database="shop",
                secure=True,
            ),
        ),
        ("clickhouse://127.0.0.1", ClickHouseURL(host="127.0.0.1")),
    ],
)
def test_urls(url: str, expected: ClickHouseURL) -> None:
    parsed = parse_url(url)
    assert isinstance(parsed, ClickHouseURL)
    assert (parsed.host, parsed.port, parsed.user, parsed.password) == (
        expected.host,
        expected.port,
        expected.user,
        expected.password,
    )
    assert (parsed.database, parsed.secure, parsed.path) == (
        expected.database,
        expected.secure,
        expected.path,
    )


@pytest.mark.parametrize(
    "url",
    [
        "clickhouse://h?compress=1",  # unknown parameter
        "clickhouse://h?secure=maybe",
        "clickhouse://h:port",
        "chdb://host/folder",  # chdb has no host
        "clickhouse:///folder?secure=true",
    ],
)
def test_bad_urls(url: str) -> None:
    with pytest.raises(URLError):
        parse_url(url)


def test_passwords_are_masked() -> None:
    url = "clickhouse://ann:hunter22@ch.example.com/shop"
    assert "hunter22" not in repr(parse_url(url))
    assert "hunter22" not in mask(url)


def test_an_unreachable_server_is_one_line() -> None:
    with pytest.raises(EngineError) as caught:
        connect("clickhouse://ann:hunter22@127.0.0.1:1/shop", connect_timeout=2)
    assert caught.value.kind == "unreachable"
    assert "hunter22" not in caught.value.message and "\n" not in caught.value.message


# ---------------------------------------------------------------- queries


def test_times_are_naive_wall_clock_and_nulls_stay_null(engine: ClickHouseEngine) -> None:
    rows = engine.query("SELECT id, city, seen FROM shop.customers ORDER BY id").rows
    assert rows == (
        (1, "Moscow", dt.datetime(2024, 1, 1, 10, 30, 0, 123456)),
        (2, None, None),
        (3, "Kazan", dt.datetime(2024, 2, 1)),
    )
    empty = engine.query("SELECT id FROM shop.customers WHERE id > 10")
    assert empty.rows == () and empty.schema.names == ["id"]


@pytest.mark.parametrize(
    ("sql", "kind"),
    [
        ("DROP TABLE shop.customers", "permission"),
        ("INSERT INTO shop.customers (id) VALUES (4)", "permission"),
        ("SELECT 1; DROP TABLE shop.customers", "invalid_query"),
        ("SELECT * FROM file('/etc/hostname', 'LineAsString')", "permission"),
        ("SELECT * FROM shop.customers SETTINGS readonly = 0", "permission"),
        ("SELECT nope FROM shop.customers", "invalid_query"),
        ("SELECT * FROM shop.missing", "not_found"),
    ],
)
def test_only_read_only_queries_run(engine: ClickHouseEngine, sql: str, kind: str) -> None:
    with pytest.raises(EngineError) as caught:
        engine.query(sql)
    assert caught.value.kind == kind, caught.value.message
    assert engine.query("SELECT count() FROM shop.customers").rows == ((3,),)


def test_catalog(engine: ClickHouseEngine) -> None:
    assert engine.list_tables("shop") == ["customers"]
    assert engine.describe_tables([("shop", "customers")]) == {
        "shop.customers": {
            "id": "Int64",
            "city": "Nullable(String)",
            "seen": "Nullable(DateTime64(6))",
        }
    }
    with pytest.raises(EngineError) as caught:
        engine.describe_tables([("shop", "missing")])
    assert caught.value.kind == "not_found"
    assert "ReadFromMergeTree" in engine.explain("SELECT id FROM shop.customers")


def test_parquet_export(engine: ClickHouseEngine, tmp_path: Path) -> None:
    target = tmp_path / "out.parquet"
    assert engine.write_parquet("SELECT id, seen FROM shop.customers ORDER BY id", target) == 3
    table = pq.read_table(target)
    assert table.schema.field("seen").type == pa.timestamp("us")  # wall clock: no zone
    assert table.column("id").to_pylist() == [1, 2, 3]


# ---------------------------------------------------------------- materialize


def test_the_model_input_is_never_replaced(engine: ClickHouseEngine) -> None:
    query = "SELECT id FROM shop.customers WHERE id < 3"
    for replace in (False, True):
        with pytest.raises(EngineError) as caught:
            engine.materialize(query, "shop.customers", replace=replace)
        assert caught.value.kind == "permission" and "the query reads it" in str(caught.value)
    assert engine.query("SELECT count() FROM shop.customers").rows == ((3,),)


def test_a_table_segdsl_did_not_create_needs_replace(engine: ClickHouseEngine) -> None:
    theirs = pa.table({"keep": pa.array([1], pa.int64())})
    engine.load_arrow("shop", "theirs", ["keep Int64"], theirs.to_batches())
    with pytest.raises(EngineError) as caught:
        engine.materialize("SELECT 2 AS keep", "shop.theirs")
    assert caught.value.kind == "permission" and "--replace" in caught.value.message
    assert engine.query("SELECT keep FROM shop.theirs").rows == ((1,),)
    engine.materialize("SELECT 2 AS keep", "shop.theirs", replace=True)
    assert engine.query("SELECT keep FROM shop.theirs").rows == ((2,),)


def test_its_own_table_and_view_are_replaced_and_marked(engine: ClickHouseEngine) -> None:
    for kind in ("table", "view"):
        name = f"own_{kind}"
        for value in (1, 2):
            engine.materialize(f"SELECT {value} AS n", name, kind=kind)  # type: ignore[arg-type]
            assert engine.query(f"SELECT n FROM {name}").rows == ((value,),)
        comment = engine.query(
            "SELECT comment FROM system.tables "
            f"WHERE database = currentDatabase() AND name = '{name}'"
        ).rows
        assert comment[0][0].startswith("segdsl: materialized")


# ---------------------------------------------------------------- the demo on a chdb folder


def _seg(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "segdsl", *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The demo at scale 0.05 as a DuckDB file and copied into a chdb folder."""
    folder = tmp_path_factory.mktemp("chdb-demo")
    duck, chdb = folder / "demo.duckdb", folder / "ch"
    done = _seg(
        "demo", "--path", str(duck), "--scale", "0.05", "--clickhouse", f"clickhouse:///{chdb}"
    )
    assert done.returncode == 0, done.stderr
    assert "copied to ClickHouse database shop: customers 500" in done.stdout
    return duck, chdb


def test_seg_run_on_the_chdb_demo_matches_duckdb(demo: tuple[Path, Path], tmp_path: Path) -> None:
    duck, chdb = demo
    results = {}
    for label, url in (("duckdb", f"duckdb:///{duck}"), ("clickhouse", f"clickhouse:///{chdb}")):
        done = _seg("run", str(EXAMPLES), "--db", url, "--all", "--format", "json")
        assert done.returncode == 0, done.stderr
        report = json.loads(done.stdout)
        results[label] = (report["population"], report["segments"], report["labels"])
        exported = tmp_path / f"{label}.parquet"
        done = _seg("run", str(EXAMPLES), "--db", url, "--all", "--output", str(exported))
        assert done.returncode == 0, done.stderr
    assert results["clickhouse"] == results["duckdb"] and len(results["duckdb"][1]) > 20
    ours = pq.read_table(tmp_path / "clickhouse.parquet").sort_by("id")
    theirs = pq.read_table(tmp_path / "duckdb.parquet").sort_by("id")
    assert ours.schema.types == theirs.schema.types
    assert ours.to_pylist() == theirs.to_pylist()


def test_materialize_on_the_chdb_demo(demo: tuple[Path, Path]) -> None:
    _, chdb = demo
    url = f"clickhouse:///{chdb}"
    refused = _seg("run", str(EXAMPLES), "--db", url, "--all", "--materialize", "shop.customers")
    assert refused.returncode == 1
    assert "refusing to replace shop.customers: the query reads it" in refused.stderr
    for _ in range(2):  # created, then replaced: it is segdsl's
        done = _seg("run", str(EXAMPLES), "--db", url, "-s", "champions", "--materialize", "champs")
        assert done.returncode == 0, done.stderr
