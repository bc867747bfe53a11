"""The Spark engine as a user runs it: `seg run --db spark://local` on the demo warehouse
(sizes, members, exports, `--all`, materialize) gives what DuckDB gives on the same data;
`[spark] tables` reads Parquet files; URLs and settings are checked without Spark.

Spark costs seconds per query, so the command-line checks are few and each compares
a whole output with DuckDB's.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner, Result

from segdsl.cli.main import app
from segdsl.engines import EngineError, connect
from segdsl.engines.urls import SparkURL, URLError, parse_url
from segdsl.schema import warehouse_kind
from segdsl.settings import load_settings
from tests.support.demo_copies import DemoCopies
from tests.support.runners import spark_session

pytestmark = pytest.mark.xdist_group("spark")  # one worker, one Spark session
ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
runner = CliRunner()


# ---------------------------------------------------------------- without Spark


@pytest.mark.parametrize(
    ("url", "remote"),
    [
        ("spark://local", None),
        ("spark://local/", None),
        ("SPARK://local", None),
        ("sc://127.0.0.1:15002", "sc://127.0.0.1:15002"),
        ("sc://spark.example.com:443/;use_ssl=true", "sc://spark.example.com:443/;use_ssl=true"),
    ],
)
def test_spark_urls(url: str, remote: str | None) -> None:
    parsed = parse_url(url)
    assert isinstance(parsed, SparkURL)
    assert parsed.remote == remote
    assert parsed.is_local == (remote is None)


@pytest.mark.parametrize("url", ["spark://cluster", "spark://", "sc://", "sc://host:port"])
def test_bad_spark_urls_are_refused(url: str) -> None:
    with pytest.raises(URLError, match=r"spark://local|sc://host:port"):
        parse_url(url)


def test_a_spark_connect_token_is_masked() -> None:
    with pytest.raises(EngineError) as caught:
        connect("sc://", statement_timeout=1)
    assert caught.value.kind == "other"
    parsed = parse_url("sc://h:443/;token=s3cr3tvalue")
    assert "s3cr3tvalue" not in repr(parsed)


def test_spark_tables_setting(tmp_path: Path) -> None:
    settings_file = tmp_path / "seg.toml"
    settings_file.write_text(
        '[spark]\ntables = { orders = "data/orders.parquet", people = "/abs/people" }\n',
        encoding="utf-8",
    )
    settings, problems = load_settings(settings_file)
    assert problems == []
    assert dict(settings.spark_tables) == {
        "orders": tmp_path.resolve() / "data" / "orders.parquet",
        "people": Path("/abs/people"),
    }
    settings_file.write_text('[spark]\ntables = ["orders"]\n', encoding="utf-8")
    _, problems = load_settings(settings_file)
    assert [p.code for p in problems] == ["SEG501"]
    assert "`spark.tables` must map names to Parquet paths" in problems[0].message


# ---------------------------------------------------------------- with Spark


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory, demo_copies: DemoCopies) -> Path:
    spark_session()  # the shared session, with the settings for small test data
    path = tmp_path_factory.mktemp("spark-demo") / "demo.duckdb"
    demo_copies.copy(path, scale=0.02)
    return path


def invoke(demo: Path, monkeypatch: pytest.MonkeyPatch, *args: str) -> Result:
    monkeypatch.setenv("SEGDSL_DEMO_DB", str(demo))
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result


def test_seg_run_on_spark_local_is_duckdbs_in_a_quiet_process(demo: Path) -> None:
    """A new process, as a user runs it: the sizes of a ranking, a sequence and a grouped
    table's segment equal DuckDB's, and stderr holds no Spark log lines or progress bars
    (every example's size on Spark: `test_members_export_all_and_materialize`)."""
    chosen = ["-s", "champions", "-s", "cart_reminder_2h", "-s", "loyal_repeaters"]
    command = [sys.executable, "-m", "segdsl", "run", str(EXAMPLES), *chosen, "--format", "json"]
    environment = {**os.environ, "SEGDSL_DEMO_DB": str(demo)}
    spark = subprocess.run(
        [*command, "--db", "spark://local"],
        capture_output=True,
        text=True,
        env=environment,
        check=False,
    )
    assert spark.returncode == 0, spark.stderr
    assert spark.stderr == ""
    duck = subprocess.run(
        [*command, "--db", f"duckdb:///{demo}"],
        capture_output=True,
        text=True,
        env=environment,
        check=True,
    )
    spark_sizes = json.loads(spark.stdout)
    duck_sizes = json.loads(duck.stdout)
    assert spark_sizes["segments"] == duck_sizes["segments"]
    assert spark_sizes["population"] == duck_sizes["population"] > 0


def test_members_export_all_and_materialize(
    demo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def run(db: str, *args: str) -> Result:
        return invoke(demo, monkeypatch, "run", str(EXAMPLES), "--db", db, *args)

    duck_url = f"duckdb:///{demo}"
    members = ("--segment", "champions", "--members", "--attributes", "city,email")
    spark_lines = run("spark://local", *members).output.splitlines()
    duck_lines = run(duck_url, *members).output.splitlines()
    assert spark_lines[0] == duck_lines[0]  # the header; member rows come in no set order
    assert sorted(spark_lines[1:]) == sorted(duck_lines[1:]) and len(duck_lines) > 2

    spark_file, duck_file = tmp_path / "spark.parquet", tmp_path / "duck.parquet"
    run("spark://local", "--all", "--output", str(spark_file))
    run(duck_url, "--all", "--output", str(duck_file))
    spark_rows = pq.read_table(spark_file).to_pylist()
    duck_rows = pq.read_table(duck_file).to_pylist()
    key = next(iter(duck_rows[0]))
    assert sorted(spark_rows, key=lambda row: row[key]) == sorted(
        duck_rows, key=lambda row: row[key]
    )

    refused = runner.invoke(
        app,
        ["run", str(EXAMPLES), "--db", "spark://local", "--all", "--materialize", "shop.customers"],
    )
    assert refused.exit_code == 1
    assert "refusing to replace shop.customers: the query reads it" in refused.output
    run("spark://local", "--segment", "champions", "--materialize", "shop.champions")
    from segdsl.engines.spark_engine import local_session

    stored = {row[0] for row in local_session().sql("SELECT * FROM shop.champions").collect()}
    champions = run(duck_url, "--segment", "champions", "--members").output.split()
    assert stored == {int(value) for value in champions if value.isdigit()}


def test_spark_tables_read_parquet_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`[spark] tables` in seg.toml: Parquet files as the model's tables."""
    data = tmp_path / "data"
    data.mkdir()
    with duckdb.connect() as con:
        con.execute(
            "COPY (SELECT range AS id, CASE WHEN range % 3 = 0 THEN 'Moscow' END AS city "
            f"FROM range(30)) TO '{data / 'people.parquet'}' (FORMAT parquet)"
        )
    (tmp_path / "seg.toml").write_text(
        'as_of = "2025-07-01"\n[spark]\ntables = { people = "data/people.parquet" }\n',
        encoding="utf-8",
    )
    (tmp_path / "model.seg").write_text(
        "segdsl 1\nentity customer from people {\n  key id\n  city: string\n}\n"
        'segment moscow = city = "Moscow"\n',
        encoding="utf-8",
    )
    result = runner.invoke(
        app, ["run", str(tmp_path), "--db", "spark://local", "--members", "-s", "moscow"]
    )
    assert result.exit_code == 0, result.output
    members = sorted(int(line) for line in result.output.split() if line.isdigit())
    assert members == list(range(0, 30, 3))


def test_spark_time_types_in_schema_checks() -> None:
    """Spark's TIMESTAMP is an instant; TIMESTAMP_NTZ a wall-clock time (`seg schema`)."""
    assert warehouse_kind("TIMESTAMP_NTZ", "spark") == "timestamp"
    assert warehouse_kind("TIMESTAMP", "spark") == "timestamptz"
    assert warehouse_kind("TIMESTAMP_LTZ", "spark") == "timestamptz"
    assert warehouse_kind("TIMESTAMP", "duckdb") == "timestamp"
