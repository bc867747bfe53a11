"""Postgres result columns (type OID, precision, scale) + rows → plain Python values and type names.

No Arrow here: this is what `PostgresEngine.query_batches` returns. Value
choices (the same as the Arrow conversion in `pg_arrow`): unconstrained
``numeric`` rounded half-even to 9 places like BigQuery's NUMERIC, exactly at
any size (NaN and infinities → None); ``numeric(p, s)`` as it comes (NaN →
None); ``timestamptz`` in UTC; json/jsonb → JSON text; uuid, enums and any type
not listed → text; arrays element by element.
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

__all__ = ["ColumnDescription", "ValuePlan", "convert_rows", "value_plans"]

Converter = Callable[[Any], Any]

TYPE_NAMES: dict[int, str] = {
    16: "BOOLEAN",
    17: "BYTEA",
    18: "CHAR",
    19: "NAME",
    20: "BIGINT",
    21: "SMALLINT",
    23: "INTEGER",
    25: "TEXT",
    26: "OID",
    700: "REAL",
    701: "DOUBLE PRECISION",
    1042: "BPCHAR",
    1043: "VARCHAR",
    1082: "DATE",
    1083: "TIME",
    1114: "TIMESTAMP",
    1184: "TIMESTAMPTZ",
    1186: "INTERVAL",
}
NUMERIC = 1700
TIMESTAMPTZ = 1184
JSON_TYPES = frozenset({114, 3802})
ARRAYS: dict[int, int] = {
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
    1231: NUMERIC,
    2951: 2950,
    199: 114,
    3807: 3802,
}
NUMERIC_PLACES = 9
_PLACES = decimal.Decimal(1).scaleb(-NUMERIC_PLACES)


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
class ValuePlan:
    """One result column: name, element type OID, typmod, and how its values convert."""

    name: str
    oid: int  # the element type for arrays
    is_array: bool
    precision: int | None
    scale: int | None
    convert: Converter | None

    @property
    def type_name(self) -> str:
        if self.oid == NUMERIC:
            base = (
                "NUMERIC" if self.precision is None else f"NUMERIC({self.precision},{self.scale})"
            )
        elif self.oid in JSON_TYPES:
            base = "JSON"
        else:
            base = TYPE_NAMES.get(self.oid, "TEXT")
        return f"{base}[]" if self.is_array else base


def text(value: Any) -> Any:
    return None if value is None else str(value)


def json_text(value: Any) -> Any:
    return None if value is None else json.dumps(value, ensure_ascii=False, default=str)


def round_numeric(value: Any) -> Any:
    """An unconstrained numeric rounded half-even to 9 places, exactly at any size."""
    if value is None or (isinstance(value, decimal.Decimal) and not value.is_finite()):
        return None
    number = decimal.Decimal(value)
    digits = max(number.adjusted(), 0) + NUMERIC_PLACES + 2
    context = decimal.Context(prec=max(digits, decimal.getcontext().prec))
    return number.quantize(_PLACES, rounding=decimal.ROUND_HALF_EVEN, context=context)


def finite_decimal(value: Any) -> Any:
    if isinstance(value, decimal.Decimal) and not value.is_finite():
        return None
    return value


def in_utc(value: Any) -> Any:
    return value.astimezone(dt.UTC) if isinstance(value, dt.datetime) else value


def over_list(convert: Converter) -> Converter:
    def apply(value: Any) -> Any:
        return None if value is None else [convert(item) for item in value]

    return apply


def scalar_converter(oid: int, precision: int | None) -> Converter | None:
    """How values of one (non-array) type convert; None: as psycopg gives them."""
    if oid == NUMERIC:
        return round_numeric if precision is None else finite_decimal
    if oid == TIMESTAMPTZ:
        return in_utc
    if oid in TYPE_NAMES:
        return None
    if oid in JSON_TYPES:
        return json_text
    return text


def value_plans(description: Sequence[ColumnDescription]) -> list[ValuePlan]:
    """One `ValuePlan` per result column."""
    plans: list[ValuePlan] = []
    for column in description:
        oid = column.type_code
        if oid in ARRAYS:
            element = ARRAYS[oid]
            convert = scalar_converter(element, None)
            plans.append(
                ValuePlan(
                    column.name, element, True, None, None, over_list(convert) if convert else None
                )
            )
        else:
            plans.append(
                ValuePlan(
                    column.name,
                    oid,
                    False,
                    column.precision,
                    column.scale,
                    scalar_converter(oid, column.precision),
                )
            )
    return plans


def convert_rows(
    rows: Sequence[Sequence[Any]], plans: Sequence[ValuePlan]
) -> list[tuple[Any, ...]]:
    """Row tuples with every column's conversion applied."""
    converters = [plan.convert for plan in plans]
    if not any(converters):
        return [tuple(row) for row in rows]
    return [
        tuple(
            value if convert is None else convert(value)
            for convert, value in zip(converters, row, strict=True)
        )
        for row in rows
    ]
