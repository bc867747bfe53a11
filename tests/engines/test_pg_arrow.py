"""Postgres column descriptions + rows → Arrow, without a server."""

from __future__ import annotations

import datetime as dt
import decimal
import uuid
from typing import NamedTuple

import pyarrow as pa

from segdsl.engines.pg_arrow import arrow_plan, rows_to_batch


class Column(NamedTuple):
    name: str
    type_code: int
    precision: int | None = None
    scale: int | None = None


def test_types_and_conversions() -> None:
    columns = [
        Column("flag", 16),
        Column("big", 20),
        Column("price", 1700, 10, 2),
        Column("huge", 1700, 60, 4),
        Column("ratio", 1700),
        Column("at", 1184),
        Column("doc", 3802),
        Column("id", 2950),
        Column("tags", 1009),
        Column("odd", 869),  # inet: not listed → text
    ]
    plans = arrow_plan(columns)
    moment = dt.datetime(2024, 5, 1, 12, tzinfo=dt.UTC)
    key = uuid.UUID(int=7)
    rows = [
        (
            True,
            2**40,
            decimal.Decimal("12.50"),
            decimal.Decimal("1.0000"),
            decimal.Decimal("1") / 3,
            moment,
            {"a": [1, "é"]},
            key,
            ["x", None],
            "10.0.0.1",
        ),
        (None, None, None, None, decimal.Decimal("NaN"), None, None, None, None, None),
    ]
    batch = rows_to_batch(rows, plans)
    assert batch.schema.types == [
        pa.bool_(),
        pa.int64(),
        pa.decimal128(10, 2),
        pa.decimal256(60, 4),
        pa.decimal128(38, 9),
        pa.timestamp("us", tz="UTC"),
        pa.string(),
        pa.string(),
        pa.list_(pa.string()),
        pa.string(),
    ]
    first, second = batch.to_pylist()
    assert first["ratio"] == decimal.Decimal("0.333333333")
    assert first["doc"] == '{"a": [1, "é"]}'
    assert first["id"] == str(key)
    assert first["tags"] == ["x", None]
    assert first["at"] == moment
    assert second["ratio"] is None  # NaN has no decimal form


def test_empty_rows_keep_the_schema() -> None:
    batch = rows_to_batch([], arrow_plan([Column("n", 23), Column("d", 1082)]))
    assert batch.num_rows == 0
    assert batch.schema == pa.schema([("n", pa.int32()), ("d", pa.date32())])
