"""Engine edge cases (issues 17.9, 18.12): huge numerics, huge time limits, no progress bar."""

from __future__ import annotations

import decimal
from pathlib import Path

import pyarrow.parquet
import pytest
from typer.testing import CliRunner

from segdsl.cli.main import app
from segdsl.engines import EngineError, connect
from segdsl.engines.export import export_query
from tests.engines.conftest import POSTGRES_DSN

HUGE = 100_000_000_000  # seconds: more than Python's lock waits and Postgres can hold


# ---------------------------------------------------------------- numerics ≥ 1e19 on Postgres


@pytest.mark.parametrize(
    ("literal", "expected"),
    [
        ("1e19", "10000000000000000000.000000000"),
        ("123456789012345678901234567890.123456789012", "123456789012345678901234567890.123456789"),
        ("-1e40", "-1" + "0" * 40 + ".000000000"),
    ],
)
def test_huge_numerics_are_exact(pg_schema: str, literal: str, expected: str) -> None:
    with connect(POSTGRES_DSN) as engine:
        rows = engine.query(f"SELECT {literal}::numeric AS n").to_pylist()
    assert rows == [{"n": decimal.Decimal(expected)}]


def test_parquet_of_huge_numerics(pg_schema: str, tmp_path: Path) -> None:
    with connect(POSTGRES_DSN) as engine:
        assert export_query(engine, "SELECT 1e19::numeric AS n", tmp_path / "ok.parquet") == 1
        with pytest.raises(EngineError) as caught:
            export_query(engine, "SELECT 1e30::numeric AS n", tmp_path / "wide.parquet")
    assert caught.value.kind == "invalid_query" and "numeric(p, s)" in caught.value.message
    column = pyarrow.parquet.read_table(tmp_path / "ok.parquet").column("n")
    assert column.to_pylist() == [decimal.Decimal("1e19")]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ok.parquet"]


# ---------------------------------------------------------------- statement time limits


@pytest.mark.parametrize("url", ["duckdb://", "postgres"])
@pytest.mark.parametrize("seconds", [HUGE, 2**31, 10**7 * 1.0])
def test_a_huge_time_limit_means_no_limit(pg_schema: str, url: str, seconds: float) -> None:
    with connect(POSTGRES_DSN if url == "postgres" else url, statement_timeout=seconds) as engine:
        assert engine.query("SELECT 1 AS a").to_pylist() == [{"a": 1}]


@pytest.mark.parametrize("seconds", [-1.0, float("nan")])
def test_a_negative_time_limit_is_an_error(seconds: float) -> None:
    with pytest.raises(EngineError, match="must be positive"):
        connect("duckdb://", statement_timeout=seconds)


def test_a_huge_statement_timeout_setting_runs(tmp_path: Path) -> None:
    (tmp_path / "seg.toml").write_text(f"statement_timeout = {HUGE}\n", encoding="utf-8")
    (tmp_path / "m.seg").write_text(
        "segdsl 1\nentity c from range_table {\n  key id\n}\nsegment s = id > 1\n",
        encoding="utf-8",
    )
    database = tmp_path / "w.duckdb"
    import duckdb

    with duckdb.connect(str(database)) as con:
        con.execute("CREATE TABLE range_table AS SELECT range AS id FROM range(5)")
    result = CliRunner().invoke(
        app, ["run", str(tmp_path), "--db", f"duckdb:///{database}", "--format", "json"]
    )
    assert result.exit_code == 0, result.output
    assert '"s": 3' in result.stdout


# ---------------------------------------------------------------- no progress bar


@pytest.mark.parametrize("database", ["memory", "file"])
def test_the_progress_bar_is_off_and_stays_off(tmp_path: Path, database: str) -> None:
    import duckdb

    url = "duckdb://"
    if database == "file":
        duckdb.connect(str(tmp_path / "w.duckdb")).close()
        url = f"duckdb:///{tmp_path / 'w.duckdb'}"
    with connect(url) as engine:
        setting = engine.query("SELECT current_setting('enable_progress_bar') AS on_")
        assert setting.to_pylist() == [{"on_": False}]
        with pytest.raises(EngineError):
            engine.query("SET enable_progress_bar = true")
        with pytest.raises(duckdb.Error, match="locked"):
            engine.connection.execute("SET enable_progress_bar = true")  # type: ignore[attr-defined]
    with pytest.raises(EngineError, match="not allowed"):
        connect("duckdb://?enable_progress_bar=true")


def test_no_progress_output_in_captured_streams(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    import duckdb

    path = tmp_path / "w.duckdb"
    with duckdb.connect(str(path)) as con:  # a database whose own default would show it
        con.execute("CREATE TABLE t AS SELECT range AS x FROM range(3000000)")
    with connect(f"duckdb:///{path}") as engine:
        rows = engine.query("SELECT count(DISTINCT x % 1000003) AS n FROM t").to_pylist()
    assert rows == [{"n": 1000003}]
    out, err = capfd.readouterr()
    assert out == "" and err == ""
