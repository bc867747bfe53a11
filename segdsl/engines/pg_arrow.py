"""Postgres result columns (type OID, precision, scale) + rows → an Arrow schema and record batches.

The schema is fixed from the cursor description before the first row arrives,
so every batch of one result has the same types, including an empty result.
Type choices: ``numeric(p, s)`` → ``decimal128(p, s)`` (``decimal256`` past 38
digits); unconstrained ``numeric`` → ``decimal128(38, 9)`` like BigQuery's
NUMERIC, rounded half-even to 9 places (NaN → null); ``timestamptz`` →
``timestamp[us, UTC]``; ``interval`` → ``duration[us]`` (a month counts as 30
days, as psycopg reads it); json/jsonb → JSON text; uuid, enums and any type
not listed → text.
"""

from __future__ import annotations

import decimal
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import pyarrow as pa

__all__ = ["ColumnPlan", "arrow_plan", "rows_to_batch"]

Converter = Callable[[Any], Any]

_SCALARS: dict[int, pa.DataType] = {
    16: pa.bool_(),
    17: pa.binary(),
    18: pa.string(),  # "char"
    19: pa.string(),  # name
    20: pa.int64(),
    21: pa.int16(),
    23: pa.int32(),
    25: pa.string(),
    26: pa.int64(),  # oid
    700: pa.float32(),
    701: pa.float64(),
    1042: pa.string(),  # bpchar
    1043: pa.string(),  # varchar
    1082: pa.date32(),
    1083: pa.time64("us"),
    1114: pa.timestamp("us"),
    1184: pa.timestamp("us", tz="UTC"),
    1186: pa.duration("us"),
}
_NUMERIC = 1700
_JSON = frozenset({114, 3802})
_ARRAYS: dict[int, int] = {
    1000: 16,
    1001: 17,
    1005: 21,
    1007: 23,
    1016: 20,
    1021: 700,
    1022: 701,
    1009: 25,
    1014: 1042,
    1015: 1043,
    1182: 1082,
    1183: 1083,
    1115: 1114,
    1185: 1184,
    1187: 1186,
    1231: _NUMERIC,
    2951: 2950,
    199: 114,
    3807: 3802,
}
UNCONSTRAINED_NUMERIC = pa.decimal128(38, 9)
_NINE_PLACES = decimal.Decimal(1).scaleb(-9)


class ColumnDescription(Protocol):
    """The parts of a DB-API / psycopg column description used here."""

    @property
    def name(self) -> str: ...
    @property
    def type_code(self) -> int: ...
    @property
    def precision(self) -> int | None: ...
    @property
    def scale(self) -> int | None: ...


@dataclass(frozen=True)
class ColumnPlan:
    """How one column's Python values become an Arrow array."""

    field: pa.Field
    convert: Converter | None


def _text(value: Any) -> Any:
    return None if value is None else str(value)


def _json_text(value: Any) -> Any:
    return None if value is None else json.dumps(value, ensure_ascii=False, default=str)


def _round_numeric(value: Any) -> Any:
    if value is None or (isinstance(value, decimal.Decimal) and not value.is_finite()):
        return None
    return decimal.Decimal(value).quantize(_NINE_PLACES, rounding=decimal.ROUND_HALF_EVEN)


def _finite_decimal(value: Any) -> Any:
    if isinstance(value, decimal.Decimal) and not value.is_finite():
        return None
    return value


def _over_list(convert: Converter) -> Converter:
    def apply(value: Any) -> Any:
        return None if value is None else [convert(item) for item in value]

    return apply


def _scalar(
    oid: int, precision: int | None, scale: int | None
) -> tuple[pa.DataType, Converter | None]:
    if oid in _SCALARS:
        return _SCALARS[oid], None
    if oid == _NUMERIC:
        if precision is None or scale is None:
            return UNCONSTRAINED_NUMERIC, _round_numeric
        if precision <= 38:
            return pa.decimal128(precision, scale), _finite_decimal
        if precision <= 76:
            return pa.decimal256(precision, scale), _finite_decimal
        return pa.string(), _text
    if oid in _JSON:
        return pa.string(), _json_text
    return pa.string(), _text


def arrow_plan(description: Sequence[ColumnDescription]) -> list[ColumnPlan]:
    """One `ColumnPlan` per result column."""
    plans: list[ColumnPlan] = []
    for column in description:
        oid = column.type_code
        if oid in _ARRAYS:
            element, convert = _scalar(_ARRAYS[oid], None, None)
            plans.append(
                ColumnPlan(
                    pa.field(column.name, pa.list_(element)),
                    _over_list(convert) if convert else None,
                )
            )
        else:
            kind, convert = _scalar(oid, column.precision, column.scale)
            plans.append(ColumnPlan(pa.field(column.name, kind), convert))
    return plans


def schema_of(plans: Sequence[ColumnPlan]) -> pa.Schema:
    return pa.schema([plan.field for plan in plans])


def rows_to_batch(rows: Sequence[Sequence[Any]], plans: Sequence[ColumnPlan]) -> pa.RecordBatch:
    """Row tuples → one record batch with the planned schema."""
    schema = schema_of(plans)
    if not rows:
        return pa.RecordBatch.from_pylist([], schema=schema)
    arrays = []
    for index, plan in enumerate(plans):
        values = [row[index] for row in rows]
        if plan.convert is not None:
            values = [plan.convert(value) for value in values]
        arrays.append(pa.array(values, type=plan.field.type))
    return pa.RecordBatch.from_arrays(arrays, schema=schema)
