"""Streaming exports: round trips, nothing left behind on failure, flat memory."""

from __future__ import annotations

import datetime as dt
import decimal
import json
import math
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv
import pyarrow.parquet
import pytest

from segdsl.engines import EngineError, connect
from segdsl.engines.export import ExportError, write_batches
from tests.engines.bqemu import REPO

SCHEMA = pa.schema(
    [
        ("id", pa.int64()),
        ("name", pa.string()),
        ("amount", pa.decimal128(10, 2)),
        ("at", pa.timestamp("us", tz="UTC")),
        ("day", pa.date32()),
        ("score", pa.float64()),
    ]
)
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


def batches(count: int = 3) -> Iterator[pa.RecordBatch]:
    for _ in range(count):
        yield pa.RecordBatch.from_pylist(ROWS, schema=SCHEMA)


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_parquet_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "out.parquet"
    assert write_batches(batches(), path) == 9
    table = pyarrow.parquet.read_table(path)
    assert table.schema == SCHEMA
    assert table.slice(0, 1).to_pylist() == ROWS[:1]
    assert leftovers(tmp_path) == ["out.parquet"]


def test_csv_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "out.csv"
    assert write_batches(batches(), path) == 9
    table = pyarrow.csv.read_csv(path)
    assert table.num_rows == 9
    assert table.column_names == SCHEMA.names
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
    with pytest.raises(ExportError, match="no schema"):
        write_batches([], tmp_path / "empty.parquet")
    empty = pa.RecordBatch.from_pylist([], schema=SCHEMA)
    assert write_batches([empty], tmp_path / "empty2.parquet") == 0
    assert pyarrow.parquet.read_table(tmp_path / "empty2.parquet").schema == SCHEMA


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".jsonl"])
@pytest.mark.parametrize("failure", [EngineError("timeout", "too slow"), KeyboardInterrupt()])
def test_a_failure_mid_stream_leaves_no_file(
    tmp_path: Path, suffix: str, failure: BaseException
) -> None:
    closed: list[bool] = []

    def failing() -> Iterator[pa.RecordBatch]:
        try:
            yield from batches(2)
            raise failure
        finally:
            closed.append(True)

    with pytest.raises(type(failure)):
        write_batches(failing(), tmp_path / f"out{suffix}")
    assert leftovers(tmp_path) == []
    assert closed == [True]


def test_a_failed_export_keeps_the_previous_file(tmp_path: Path) -> None:
    path = tmp_path / "out.csv"
    path.write_text("old contents\n", encoding="utf-8")

    def failing() -> Iterator[pa.RecordBatch]:
        yield from batches(1)
        raise EngineError("cancelled", "stop")

    with pytest.raises(EngineError):
        write_batches(failing(), path)
    assert path.read_text(encoding="utf-8") == "old contents\n"
    assert leftovers(tmp_path) == ["out.csv"]


def test_a_schema_change_mid_stream_is_an_error(tmp_path: Path) -> None:
    other = pa.RecordBatch.from_pylist([{"x": 1}])
    with pytest.raises(ExportError, match="schema"):
        write_batches([next(batches(1)), other], tmp_path / "out.parquet")
    assert leftovers(tmp_path) == []


def test_unwritable_folder_is_an_export_error(tmp_path: Path) -> None:
    with pytest.raises(ExportError, match="cannot write"):
        write_batches(batches(1), tmp_path / "missing-folder" / "out.csv")


def test_exports_from_an_engine(tmp_path: Path) -> None:
    with connect("duckdb://") as engine:
        rows = write_batches(
            engine.query_batches("SELECT range AS n FROM range(123456)", batch_rows=10_000),
            tmp_path / "range.parquet",
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
    from segdsl.engines.export import write_batches
    rows, out = int(sys.argv[1]), Path(sys.argv[2])
    with connect("duckdb://") as engine:
        warm = out.with_name("warm" + out.suffix)
        write_batches(engine.query_batches("SELECT 1 AS id, 'x' AS s"), warm)
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        written = write_batches(
            engine.query_batches(
                f"SELECT range AS id, repeat('x', 100) || range::VARCHAR AS s FROM range({rows})"
            ),
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
    # 2M rows of ~110-byte strings are about 230 MiB as Arrow: holding them would
    # show; streaming keeps the peak near that of a 200k-row export.
    small = _peak_growth_mib(200_000, tmp_path / f"small{suffix}")
    large = _peak_growth_mib(2_000_000, tmp_path / f"large{suffix}")
    assert large - small < 100, (small, large)
    assert large < 200, (small, large)
