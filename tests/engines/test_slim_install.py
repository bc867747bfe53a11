"""The base install: validate, compile, run and export on DuckDB with no optional package.

A meta-path finder in a fresh interpreter makes psycopg, google (BigQuery) and
pyarrow unimportable, as in ``pip install segdsl``; the demo warehouse is built
there too. A Postgres or BigQuery URL then gets one line naming the extra.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.engines.bqemu import REPO

EXAMPLES = REPO / "examples"
HIDDEN = ("psycopg", "psycopg_binary", "psycopg_c", "google", "pyarrow", "sqlglotc")

_PRELUDE = textwrap.dedent(
    f"""
    import importlib.abc, sys

    class Hide(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path, target=None):
            if name.split(".")[0] in {HIDDEN!r}:
                raise ImportError(f"{{name}} is not installed (hidden by the test)")
            return None

    sys.meta_path.insert(0, Hide())
    """
)
_BUILD = _PRELUDE + textwrap.dedent(
    """
    from segdsl.demo import build_demo_database
    build_demo_database(sys.argv[1], scale=0.02)
    print(sorted(m for m in sys.modules if m.split(".")[0] in {"pyarrow", "psycopg", "google"}))
    """
)
_CLI = _PRELUDE + textwrap.dedent(
    """
    from segdsl.cli.main import main
    sys.argv = ["seg", *sys.argv[1:]]
    main()
    """
)


def _python(
    script: str, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", script, *args],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=REPO,
        env={**os.environ, **(env or {})},
        check=False,
    )


@pytest.fixture(scope="module")
def slim_demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("slim") / "demo.duckdb"
    built = _python(_BUILD, str(path))
    assert built.returncode == 0, built.stderr
    assert built.stdout.strip() == "[]"  # nothing optional was imported
    return path


def seg(demo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {"SEGDSL_DEMO_DB": str(demo), "SEG_DATABASE_URL": ""}
    done = _python(_CLI, *args, env=env)
    assert "Traceback" not in done.stderr, done.stderr
    return done


def test_validate_compile_and_sizes_without_optional_packages(slim_demo: Path) -> None:
    assert seg(slim_demo, "validate", str(EXAMPLES)).returncode == 0
    compiled = seg(slim_demo, "compile", str(EXAMPLES), "-s", "buyers")
    assert compiled.returncode == 0 and "SELECT" in compiled.stdout
    sized = seg(slim_demo, "run", str(EXAMPLES), "--format", "json")
    assert sized.returncode == 0, sized.stderr
    assert json.loads(sized.stdout)["population"] > 0


@pytest.mark.parametrize("suffix", [".parquet", ".csv", ".jsonl"])
def test_exports_without_optional_packages(slim_demo: Path, tmp_path: Path, suffix: str) -> None:
    target = tmp_path / f"memberships{suffix}"
    done = seg(slim_demo, "run", str(EXAMPLES), "--all", "--output", str(target))
    assert done.returncode == 0, done.stderr
    written = int(done.stderr.split(" rows written")[0].split()[-1])
    assert written > 0
    if suffix == ".csv":
        with target.open(newline="", encoding="utf-8") as handle:
            assert sum(1 for _ in csv.reader(handle)) == written + 1  # with the header
    elif suffix == ".jsonl":
        assert len(target.read_text(encoding="utf-8").splitlines()) == written
    else:
        import duckdb

        with duckdb.connect() as con:
            counted = con.execute("SELECT count(*) FROM read_parquet(?)", [str(target)]).fetchall()
        assert counted[0][0] == written


def test_members_print_without_optional_packages(slim_demo: Path) -> None:
    done = seg(slim_demo, "run", str(EXAMPLES), "-s", "buyers", "--members", "--limit", "3")
    assert done.returncode == 0, done.stderr
    assert len(done.stdout.strip().splitlines()) == 4  # header and three keys


@pytest.mark.parametrize(
    ("url", "extra"),
    [
        ("postgresql://someone:secret-pw@127.0.0.1/shop", "postgres"),
        ("bigquery://project/dataset", "bigquery"),
    ],
)
def test_a_url_whose_driver_is_missing_names_the_extra(
    slim_demo: Path, url: str, extra: str
) -> None:
    done = seg(slim_demo, "run", str(EXAMPLES), "--db", url)
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert f"pip install 'segdsl[{extra}]'" in lines[0]
    assert "secret-pw" not in done.stderr


def test_parquet_from_postgres_without_pyarrow_names_the_extra(
    pg_schema: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from segdsl.engines import EngineError, connect
    from segdsl.engines.export import export_query
    from tests.engines.conftest import POSTGRES_DSN

    for name in ("pyarrow", "pyarrow.parquet"):
        monkeypatch.setitem(sys.modules, name, None)  # import raises ImportError
    with connect(POSTGRES_DSN) as engine, pytest.raises(EngineError) as caught:
        export_query(engine, "SELECT 1 AS n", tmp_path / "out.parquet")
    assert caught.value.message == (
        "writing Parquet from postgres needs pyarrow: pip install 'segdsl[parquet]'"
    )
    assert list(tmp_path.iterdir()) == []
