"""Postgres column descriptions + rows → Arrow, without a server."""

from __future__ import annotations

import datetime as dt
import decimal
import uuid
from typing import NamedTuple

import pyarrow as pa
import pytest

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


# ---------------------------------------------------------------- huge numerics (issue 18.12)

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from segdsl.engines import EngineError  # noqa: E402
from segdsl.engines.pg_values import convert_rows, value_plans  # noqa: E402


@pytest.mark.parametrize(
    "text",
    ["1e19", "99999999999999999999", "1e30", "12345678901234567890123456789012345.5", "-1e40"],
)
def test_huge_unconstrained_numerics_stay_exact(text: str) -> None:
    plans = value_plans([Column("n", 1700)])
    ((value,),) = convert_rows([(decimal.Decimal(text),)], plans)
    assert value == decimal.Decimal(text)
    assert value.as_tuple().exponent == -9


@settings(max_examples=300, deadline=None)
@given(
    st.decimals(allow_nan=False, allow_infinity=False, places=None).filter(
        lambda d: abs(d.adjusted()) < 60
    )
)
def test_unconstrained_numerics_round_half_even_to_nine_places(value: decimal.Decimal) -> None:
    ((converted,),) = convert_rows([(value,)], value_plans([Column("n", 1700)]))
    exact = decimal.Context(prec=200).quantize(value, decimal.Decimal("1e-9"))
    assert converted == exact


def test_a_numeric_too_wide_for_arrow_is_a_clear_error() -> None:
    plans = arrow_plan([Column("n", 1700)])
    assert rows_to_batch([(decimal.Decimal("1e19"),)], plans).column(0)[0].as_py() == (
        decimal.Decimal("10000000000000000000.000000000")
    )
    with pytest.raises(EngineError) as caught:
        rows_to_batch([(decimal.Decimal("1e30"),)], plans)
    assert caught.value.kind == "invalid_query"
    assert "'n'" in caught.value.message and "decimal128(38, 9)" in caught.value.message
