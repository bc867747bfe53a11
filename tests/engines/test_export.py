"""Streaming exports: the same CSV bytes as pyarrow wrote, round trips, nothing left behind."""

from __future__ import annotations

import datetime as dt
import decimal
import io
import json
import math
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.csv
import pyarrow.parquet
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from segdsl.engines import EngineError, Rows, connect
from segdsl.engines.export import ExportError, export_query, format_float, write_batches
from tests.engines.bqemu import REPO

NAMES = ["id", "name", "amount", "at", "day", "score"]
TYPES = ["BIGINT", "VARCHAR", "DECIMAL(10,2)", "TIMESTAMP WITH TIME ZONE", "DATE", "DOUBLE"]
ROWS: list[dict[str, Any]] = [
    {
        "id": 1,
        "name": 'comma, "quote"\nnewline',
        "amount": decimal.Decimal("12.50"),
        "at": dt.datetime(2024, 5, 1, 12, 30, tzinfo=dt.UTC),
        "day": dt.date(2024, 5, 1),
        "score": 0.5,
    },
    {"id": 2, "name": "é ünïcode", "amount": None, "at": None, "day": None, "score": math.nan},
    {
        "id": 3,
        "name": None,
        "amount": decimal.Decimal("-0.01"),
        "at": None,
        "day": None,
        "score": None,
    },
]


def batch() -> Rows:
    return Rows.of(NAMES, [tuple(row.values()) for row in ROWS], TYPES)


def batches(count: int = 3) -> Iterator[Rows]:
    for _ in range(count):
        yield batch()


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


# ---------------------------------------------------------------- CSV as pyarrow wrote it

# every column type a members export can hold, with edge values
_TYPED_VALUES = """
SELECT * FROM (VALUES
  (1::BIGINT, 'plain'::VARCHAR, 12.50::DECIMAL(10,2), TIMESTAMP '2024-05-01 12:30:00',
   TIMESTAMPTZ '2024-05-01 12:30:00.5+00', DATE '2024-05-01', 0.5::DOUBLE, 1.5::FLOAT,
   true, TIME '12:00:01', -12.5::DECIMAL(10,3), 12::INTEGER, 7::SMALLINT, 5::HUGEINT,
   TIMESTAMP_S '2024-01-01 00:00:01', TIMESTAMP_MS '2024-01-01 00:00:01.123'),
  (-9223372036854775808, 'a"b,c' || chr(10) || 'd', 0::DECIMAL(10,2),
   TIMESTAMP '0999-01-02 03:04:05.000001',
   TIMESTAMPTZ '2024-12-31 23:59:59.999999+05', DATE '0999-12-31', 1e20::DOUBLE, 0.1::FLOAT,
   false, TIME '00:00:00', 0.001::DECIMAL(10,3), -1::INTEGER, NULL, NULL, NULL, NULL),
  (NULL, '', NULL, NULL, NULL, NULL, 'nan'::DOUBLE, 'inf'::FLOAT, NULL, NULL, NULL, NULL,
   NULL, NULL, NULL, NULL),
  (0, 'é ü ☃ 𝄞', -99999999.99::DECIMAL(10,2), NULL, NULL, NULL, -0.0::DOUBLE, -1e-7::FLOAT,
   NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)
) AS t(i, s, d, ts, tz, day, f, r, b, t, d3, n, small, huge, ts_s, ts_ms)
"""


def _pyarrow_csv(sql: str) -> bytes:
    """The CSV segdsl wrote before: DuckDB's Arrow result through pyarrow's writer."""
    con = duckdb.connect()
    table = con.sql(sql).to_arrow_reader(1000).read_all()
    out = io.BytesIO()
    pyarrow.csv.write_csv(table, out)
    return out.getvalue()


def _segdsl_csv(sql: str, path: Path) -> bytes:
    with connect("duckdb://") as engine:
        export_query(engine, sql, path)
    return path.read_bytes()


def test_csv_is_byte_for_byte_what_pyarrow_wrote(tmp_path: Path) -> None:
    assert _segdsl_csv(_TYPED_VALUES, tmp_path / "out.csv") == _pyarrow_csv(_TYPED_VALUES)


_FLOATS = st.floats(allow_nan=True, allow_infinity=True)
_TEXT = st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00"))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rows=st.lists(
        st.tuples(
            st.none() | st.integers(-(2**63), 2**63 - 1),
            st.none() | _TEXT,
            st.none() | _FLOATS,
            st.none() | st.floats(width=32),
            st.none() | st.decimals(places=4, min_value=-(10**12), max_value=10**12),
            st.none()
            | st.datetimes(min_value=dt.datetime(1, 1, 1), max_value=dt.datetime(9999, 12, 31)),
            st.none() | st.dates(),
            st.none() | st.booleans(),
        ),
        max_size=8,
    )
)
def test_csv_matches_pyarrow_for_generated_values(rows: list[tuple[Any, ...]]) -> None:
    con = duckdb.connect()
    con.execute(
        "CREATE TABLE t (i BIGINT, s VARCHAR, f DOUBLE, r FLOAT, d DECIMAL(18,4), "
        "ts TIMESTAMP, day DATE, b BOOLEAN)"
    )
    if rows:
        con.executemany("INSERT INTO t VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
    table = con.sql("SELECT * FROM t").to_arrow_reader(1000).read_all()
    expected = io.BytesIO()
    pyarrow.csv.write_csv(table, expected)
    result = con.execute("SELECT * FROM t")
    names = [c[0] for c in result.description]
    types = [str(c[1]) for c in result.description]
    block = Rows.of(names, result.fetchall(), types)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "out.csv"
        write_batches([block], path)
        assert path.read_bytes() == expected.getvalue()


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (100.0, "100"),
        (1e20, "1e+20"),
        (1e-7, "1e-7"),
        (1e-6, "0.000001"),
        (1e10, "1e+10"),
        (123456789.0, "123456789"),
        (-0.0, "-0"),
        (math.inf, "inf"),
        (math.nan, "nan"),
    ],
)
def test_floats_print_as_arrow_prints_them(value: float, text: str) -> None:
    assert format_float(value) == text


# ---------------------------------------------------------------- round trips


def test_parquet_from_duckdb_without_pyarrow_round_trips(tmp_path: Path) -> None:
    path = tmp_path / "out.parquet"
    with connect("duckdb://") as engine:
        assert export_query(engine, _TYPED_VALUES, path) == 4
    table = pyarrow.parquet.read_table(path)
    assert table.column_names[:3] == ["i", "s", "d"]
    assert table.column("d").to_pylist()[0] == decimal.Decimal("12.50")
    assert table.column("s").to_pylist()[1] == 'a"b,c\nd'
    assert leftovers(tmp_path) == ["out.parquet"]


def test_csv_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "out.csv"
    assert write_batches(batches(), path) == 9
    table = pyarrow.csv.read_csv(path)
    assert table.num_rows == 9
    assert table.column_names == NAMES
    assert table.column("name")[0].as_py() == ROWS[0]["name"]
    assert table.column("amount")[0].as_py() == 12.5


def test_jsonl_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "out.jsonl"
    assert write_batches(batches(1), path) == 3
    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert lines[0] == {
        "id": 1,
        "name": 'comma, "quote"\nnewline',
        "amount": "12.50",
        "at": "2024-05-01T12:30:00+00:00",
        "day": "2024-05-01",
        "score": 0.5,
    }
    assert lines[1]["score"] is None  # NaN is not JSON
    assert lines[1]["name"] == "é ünïcode"
    assert len(lines) == 3


def test_explicit_format_and_unknown_extensions(tmp_path: Path) -> None:
    assert write_batches(batches(1), tmp_path / "data.txt", format="csv") == 3
    with pytest.raises(ExportError, match="extension"):
        write_batches(batches(1), tmp_path / "data.xlsx")
    assert leftovers(tmp_path) == ["data.txt"]


def test_empty_inputs(tmp_path: Path) -> None:
    assert write_batches([], tmp_path / "empty.csv") == 0
    assert (tmp_path / "empty.csv").read_bytes() == b""
    with pytest.raises(ExportError, match="Parquet"):
        write_batches([], tmp_path / "empty.parquet")
    with connect("duckdb://") as engine:
        assert export_query(engine, "SELECT 1 AS n WHERE false", tmp_path / "empty2.parquet") == 0
    assert pyarrow.parquet.read_table(tmp_path / "empty2.parquet").column_names == ["n"]


@pytest.mark.parametrize("suffix", [".csv", ".jsonl"])
@pytest.mark.parametrize("failure", [EngineError("timeout", "too slow"), KeyboardInterrupt()])
def test_a_failure_mid_stream_leaves_no_file(
    tmp_path: Path, suffix: str, failure: BaseException
) -> None:
    closed: list[bool] = []

    def failing() -> Iterator[Rows]:
        try:
            yield from batches(2)
            raise failure
        finally:
            closed.append(True)

    with pytest.raises(type(failure)):
        write_batches(failing(), tmp_path / f"out{suffix}")
    assert leftovers(tmp_path) == []
    assert closed == [True]


def test_a_failed_parquet_export_leaves_no_file(tmp_path: Path) -> None:
    failing = (
        "SELECT CASE WHEN range < 150000 THEN range ELSE error('boom') END AS n FROM range(200000)"
    )
    with connect("duckdb://") as engine, pytest.raises(EngineError, match="boom"):
        export_query(engine, failing, tmp_path / "out.parquet")
    assert leftovers(tmp_path) == []


def test_a_failed_export_keeps_the_previous_file(tmp_path: Path) -> None:
    path = tmp_path / "out.csv"
    path.write_text("old contents\n", encoding="utf-8")

    def failing() -> Iterator[Rows]:
        yield from batches(1)
        raise EngineError("cancelled", "stop")

    with pytest.raises(EngineError):
        write_batches(failing(), path)
    assert path.read_text(encoding="utf-8") == "old contents\n"
    assert leftovers(tmp_path) == ["out.csv"]


def test_a_schema_change_mid_stream_is_an_error(tmp_path: Path) -> None:
    other = Rows.of(["x"], [(1,)])
    with pytest.raises(ExportError, match="columns"):
        write_batches([batch(), other], tmp_path / "out.csv")
    assert leftovers(tmp_path) == []


def test_unwritable_folder_is_an_export_error(tmp_path: Path) -> None:
    with pytest.raises(ExportError, match="cannot write"):
        write_batches(batches(1), tmp_path / "missing-folder" / "out.csv")


def test_exports_from_an_engine(tmp_path: Path) -> None:
    with connect("duckdb://") as engine:
        rows = export_query(
            engine, "SELECT range AS n FROM range(123456)", tmp_path / "range.parquet"
        )
    assert rows == 123456
    assert (
        pyarrow.parquet.read_table(tmp_path / "range.parquet").column("n").to_pylist()[-1] == 123455
    )


_MEMORY_SCRIPT = textwrap.dedent(
    """
    import resource, sys
    from pathlib import Path
    from segdsl.engines import connect
    from segdsl.engines.export import export_query
    rows, out = int(sys.argv[1]), Path(sys.argv[2])
    with connect("duckdb://") as engine:
        warm = out.with_name("warm" + out.suffix)
        export_query(engine, "SELECT 1 AS id, 'x' AS s", warm)
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        written = export_query(
            engine,
            f"SELECT range AS id, repeat('x', 100) || range::VARCHAR AS s FROM range({rows})",
            out,
        )
        after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    assert written == rows, written
    print((after - before) // 1024)
    """
)


def _peak_growth_mib(rows: int, path: Path) -> int:
    done = subprocess.run(
        [sys.executable, "-c", _MEMORY_SCRIPT, str(rows), str(path)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=REPO,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return int(done.stdout.strip())


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_memory_stays_flat_as_rows_grow(tmp_path: Path, suffix: str) -> None:
    # 2M rows of ~110-byte strings are about 230 MiB in memory: holding them would
    # show; streaming keeps the peak near that of a 200k-row export.
    small = _peak_growth_mib(200_000, tmp_path / f"small{suffix}")
    large = _peak_growth_mib(2_000_000, tmp_path / f"large{suffix}")
    assert large - small < 100, (small, large)
    assert large < 200, (small, large)


def test_float_text_matches_pyarrow_on_random_bit_patterns() -> None:
    import random
    import struct

    rng = random.Random(17)
    doubles = [struct.unpack("d", struct.pack("Q", rng.getrandbits(64)))[0] for _ in range(20_000)]
    doubles += [10.0 ** rng.randint(-12, 25) * rng.choice([1, 1.5, -3.25]) for _ in range(5_000)]
    singles = [struct.unpack("f", struct.pack("I", rng.getrandbits(32)))[0] for _ in range(20_000)]
    for values, kind, float32 in ((doubles, pa.float64(), False), (singles, pa.float32(), True)):
        out = io.BytesIO()
        pyarrow.csv.write_csv(pa.table({"x": pa.array(values, kind)}), out)
        expected = out.getvalue().decode().split("\n")[1:-1]
        shown = [format_float(v, float32=float32) for v in values]
        assert shown == expected
