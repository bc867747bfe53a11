"""A definition reaches only the tables of its database: files are opt-in, per folder.

The compile-time check (SEG510/SEG511) gives a diagnostic with a position; the
DuckDB engine refuses the same reads when the check is bypassed with
hand-written SQL through `Engine.query`, and lets through the folders that
``[files] allow`` names.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from segdsl.compiler import Compiler
from segdsl.engines import EngineError, URLError, connect, parse_url
from segdsl.execute import rows_sql
from segdsl.project import Project, load_project
from segdsl.semantic.file_sources import looks_like_file, looks_like_url
from segdsl.settings import Settings, load_settings

AS_OF = dt.datetime(2025, 1, 1)


@pytest.fixture
def secret(tmp_path: Path) -> Path:
    path = tmp_path / "private" / "secret.csv"
    path.parent.mkdir()
    path.write_text("id,name\n1,the secret\n", encoding="utf-8")
    return path


@pytest.fixture
def parquet_project(tmp_path: Path) -> Path:
    """A project whose customers live in a folder of Parquet files it allows."""
    root = tmp_path / "project"
    folder = root / "data" / "parquet"
    folder.mkdir(parents=True)
    with duckdb.connect() as con:
        for part in range(3):
            con.execute(
                f"COPY (SELECT range + {part * 10} AS id, 'c' || range AS name FROM range(10)) "
                f"TO '{folder / f'part{part}.parquet'}' (FORMAT parquet)"
            )
    (root / "seg.toml").write_text('[files]\nallow = ["data/parquet"]\n', encoding="utf-8")
    (root / "model.seg").write_text(
        "segdsl 1\n"
        'entity customer from "data/parquet/*.parquet" {\n  key id\n  name: string\n}\n'
        "segment low = id < 5\n",
        encoding="utf-8",
    )
    return root


def diagnostics(text: str, settings_: Settings | None = None) -> list[tuple[str, str]]:
    project = Project.from_text(text, "m.seg", settings_ or Settings())
    return [(d.code, d.message) for d in project.analyze().diagnostics if d.is_error]


def entity_from(source: str) -> str:
    return f"segdsl 1\nentity c from {source} {{\n  key id\n}}\nsegment s = id > 1\n"


# ---------------------------------------------------------------- compile time


@pytest.mark.parametrize(
    ("source", "code"),
    [
        ('"/etc/passwd.csv"', "SEG510"),
        ('"secret.csv"', "SEG510"),
        ('"*.csv"', "SEG510"),
        ('"data/**/*.parquet"', "SEG510"),
        ('"../other/warehouse.duckdb"', "SEG510"),
        ('"~/notes.json"', "SEG510"),
        ('shop."orders.parquet"', "SEG510"),
        ('"s3://bucket/key.parquet"', "SEG511"),
        ('"https://example.com/data.csv"', "SEG511"),
        ('"md:my_database"', "SEG511"),
    ],
)
def test_a_file_or_url_source_is_a_diagnostic(source: str, code: str) -> None:
    found = diagnostics(entity_from(source))
    assert [c for c, _ in found] == [code], found


def test_the_diagnostic_points_at_the_declaration_and_helps() -> None:
    project = Project.from_text(entity_from('"secret.csv"'), "m.seg", Settings())
    (problem,) = [d for d in project.analyze().diagnostics if d.is_error]
    assert (problem.span.line, problem.span.column) == (2, 8)
    assert problem.help is not None and "[files]" in problem.help


def test_a_file_under_an_allowed_folder_is_accepted(parquet_project: Path) -> None:
    project = load_project(parquet_project)
    assert [d for d in project.analyze().diagnostics if d.is_error] == []


def test_a_path_escaping_the_allowed_folder_is_refused(parquet_project: Path) -> None:
    settings_, problems = load_settings(parquet_project / "seg.toml")
    assert problems == []
    for source in ('"data/parquet/../../secret.csv"', '"data/parquet2/x.parquet"', '"data/*.csv"'):
        assert [c for c, _ in diagnostics(entity_from(source), settings_)] == ["SEG510"], source


def test_plain_table_names_are_not_files() -> None:
    for source in ("customers", "shop.customers", '"Big Spenders"', 'shop."v1.2"', "a.b.c"):
        assert diagnostics(entity_from(source)) == [], source


@pytest.mark.parametrize("bad", ["files = 3", "[files]\nallow = 'data'", "[files]\nread = ['x']"])
def test_bad_files_settings_are_diagnostics(tmp_path: Path, bad: str) -> None:
    path = tmp_path / "seg.toml"
    path.write_text(bad + "\n", encoding="utf-8")
    settings_, problems = load_settings(path)
    assert [p.code for p in problems] == ["SEG501"]
    assert settings_.read_folders == ()


# ---------------------------------------------------------------- the engine


@pytest.mark.parametrize(
    "template",
    [
        "SELECT * FROM '{path}'",
        'SELECT * FROM "{path}"',
        "SELECT * FROM read_csv('{path}')",
        "SELECT * FROM read_csv_auto('{folder}/*.csv')",
        "SELECT * FROM read_text('{path}')",
        "SELECT * FROM read_blob('{path}')",
        "SELECT * FROM sniff_csv('{path}')",
        "SELECT * FROM glob('{folder}/*')",
        "SELECT * FROM '{folder}/../private/secret.csv'",
        "SELECT * FROM 'https://example.com/x.csv'",
        "SELECT * FROM 's3://bucket/x.parquet'",
    ],
)
@pytest.mark.parametrize("database", ["memory", "file"])
def test_the_engine_refuses_files_outside_the_allowed_folders(
    secret: Path, tmp_path: Path, template: str, database: str
) -> None:
    url = "duckdb://"
    if database == "file":
        duckdb.connect(str(tmp_path / "w.duckdb")).close()
        url = f"duckdb:///{tmp_path / 'w.duckdb'}"
    sql = template.format(path=secret, folder=secret.parent)
    with connect(url) as engine, pytest.raises(EngineError) as caught:
        engine.query(sql)
    assert "the secret" not in caught.value.message
    assert caught.value.kind in ("permission", "invalid_query", "not_found", "other")


def test_writes_and_settings_are_refused_too(secret: Path, tmp_path: Path) -> None:
    with connect("duckdb://") as engine:
        for sql in (
            f"ATTACH '{tmp_path / 'other.duckdb'}'",
            "SET enable_external_access = true",
            "SET lock_configuration = false",
            f"COPY (SELECT 1) TO '{tmp_path / 'out.csv'}'",
            "INSTALL httpfs",
            "LOAD httpfs",
        ):
            with pytest.raises(EngineError):
                engine.query(sql)
        # the connection itself cannot be unlocked either
        with pytest.raises(duckdb.Error, match="locked"):
            engine.connection.execute("SET enable_external_access = true")  # type: ignore[attr-defined]
    assert not (tmp_path / "out.csv").exists()


def test_a_python_variable_is_not_a_table() -> None:
    hidden_frame_variable = duckdb.connect().sql("SELECT 42 AS secret").to_arrow_table()
    assert hidden_frame_variable.num_rows == 1
    with connect("duckdb://") as engine, pytest.raises(EngineError):
        engine.query("SELECT * FROM hidden_frame_variable")


def test_an_allowed_parquet_folder_reads_as_a_table(parquet_project: Path) -> None:
    project = load_project(parquet_project)
    compiler = Compiler(project)
    compiler.raise_for_errors()
    sql = rows_sql(compiler, ["low"], "duckdb", AS_OF)
    with connect("duckdb://", read_folders=project.settings.read_folders) as engine:
        assert sorted(r["id"] for r in engine.query(sql).to_pylist()) == [0, 1, 2, 3, 4]
    with connect("duckdb://") as engine, pytest.raises(EngineError):  # not allowed there
        engine.query(sql)


def test_the_allowed_folder_does_not_open_its_neighbours(tmp_path: Path, secret: Path) -> None:
    allowed = tmp_path / "priv"  # a prefix of "private", where the secret is
    allowed.mkdir()
    with connect("duckdb://", read_folders=[allowed]) as engine, pytest.raises(EngineError):
        engine.query(f"SELECT * FROM '{secret}'")


# ---------------------------------------------------------------- URLs may not open doors


@pytest.mark.parametrize(
    "option",
    [
        "enable_external_access=true",
        "allowed_directories=/",
        "allow_unsigned_extensions=true",
        "lock_configuration=false",
        "autoinstall_known_extensions=true",
        "temp_directory=/tmp",
        "python_enable_replacements=true",
    ],
)
def test_a_duckdb_url_may_not_set_access_options(option: str) -> None:
    with pytest.raises(URLError, match="not allowed"):
        parse_url(f"duckdb:///x.duckdb?{option}")
    with pytest.raises(EngineError, match="not allowed"):
        connect(f"duckdb://?{option}")


def test_a_duckdb_url_may_set_resources() -> None:
    with connect("duckdb://?memory_limit=1GB&threads=1") as engine:
        assert engine.query("SELECT current_setting('threads') AS t").to_pylist() == [{"t": 1}]


# ---------------------------------------------------------------- generated names

_SEPARATORS = st.sampled_from(["/", "\\", "", "*", "**/", "../", "~/", "./"])
_SUFFIXES = st.sampled_from(["csv", "parquet", "json", "duckdb", "db", "sqlite", "xlsx", "gz"])
_WORDS = st.text(st.characters(categories=("Ll", "Nd")), min_size=1, max_size=6)
PATHLIKE = st.builds(
    lambda pre, word, suf, rest: f"{pre}{word}.{suf}{rest}",
    _SEPARATORS,
    _WORDS,
    _SUFFIXES,
    st.sampled_from(["", "*", "?x=1"]),
) | st.builds(lambda pre, word: f"{pre}{word}/x", _SEPARATORS, _WORDS)
URLLIKE = st.builds(
    lambda scheme, word: f"{scheme}://{word}/x",
    st.sampled_from(["s3", "gs", "gcs", "r2", "http", "https", "hf", "az", "abfss", "file"]),
    _WORDS,
)


@settings(max_examples=150, deadline=None)
@given(name=PATHLIKE | URLLIKE)
def test_generated_paths_and_urls_never_compile_nor_read(name: str) -> None:
    assert looks_like_file(name) or looks_like_url(name)
    quoted = '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'
    codes = [c for c, _ in diagnostics(entity_from(quoted))]
    assert codes in (["SEG510"], ["SEG511"]), (name, codes)
    with connect("duckdb://") as engine, pytest.raises(EngineError):
        engine.query(f"SELECT * FROM {duckdb_quoted(name)}")


def duckdb_quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def test_engines_of_one_process_share_a_file_only_with_the_same_folders(tmp_path: Path) -> None:
    database = tmp_path / "w.duckdb"
    with duckdb.connect(str(database)) as con:
        con.execute("CREATE TABLE t AS SELECT 1 AS a")
    first_folder, other_folder = tmp_path / "a", tmp_path / "b"
    first_folder.mkdir()
    other_folder.mkdir()
    url = f"duckdb:///{database}"
    with connect(url, read_folders=[first_folder]) as first:
        with connect(url, read_folders=[first_folder]) as second:  # the same rules: fine
            assert second.query("SELECT a FROM t").to_pylist() == [{"a": 1}]
        with pytest.raises(EngineError, match="other allowed folders"):
            connect(url, read_folders=[other_folder])
        assert first.query("SELECT a FROM t").to_pylist() == [{"a": 1}]
