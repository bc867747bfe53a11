"""Conversion between Python values and ZetaSQL ``ValueProto`` cells.

Encodings (verified against the zetasql 0.1.5 reference implementation):

* DATE: ``date_value`` = days since 1970-01-01 (negative before the epoch).
* TIMESTAMP: ``timestamp_value`` = ``google.protobuf.Timestamp`` (seconds since the
  Unix epoch in UTC plus non-negative ``nanos``; pre-epoch instants have negative
  seconds). It is an absolute instant: Python gets an aware UTC datetime.
* DATETIME: ``datetime_value`` = ``Datetime(bit_field_datetime_seconds, nanos)``;
  the civil date/time is bit-packed as
  ``year << 26 | month << 22 | day << 17 | hour << 12 | minute << 6 | second``
  (14/4/5/5/6/6 bits, see ``DatetimeValue`` in ZetaSQL's civil_time.h) and the
  sub-second part is in ``nanos``.
* NUMERIC / BIGNUMERIC: ``numeric_value`` / ``bignumeric_value`` = the value scaled
  by 10**9 / 10**38 as an integer, serialised little-endian two's complement in
  the fewest bytes that keep the sign (``0`` is ``b"\\x00"``, ``-1e-9`` is ``b"\\xff"``).
* TIME: ``time_value`` = ``hour << 42 | minute << 36 | second << 30 | nanos``.

Python's datetime types only hold microseconds; decoding a value with a
sub-microsecond remainder raises ``ValueError`` rather than silently truncating.
"""

from __future__ import annotations

import datetime as dt
import decimal
from typing import Any, Final

from google.protobuf.timestamp_pb2 import Timestamp
from zetasql.types import TypeKind, Value

from tests.support.tables import ColumnType

NUMERIC_SCALE: Final = 9
BIGNUMERIC_SCALE: Final = 38
_NUMERIC_LIMIT: Final = 10**38  # |scaled value| of NUMERIC(38, 9) is below this
_DECIMAL_CONTEXT: Final = decimal.Context(prec=200)  # exact for every (BIG)NUMERIC

_UNIX_EPOCH_DATE: Final = dt.date(1970, 1, 1)
_UNIX_EPOCH: Final = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)

# Bit layout of ValueProto.Datetime.bit_field_datetime_seconds.
_YEAR_SHIFT: Final = 26
_MONTH_SHIFT: Final = 22
_DAY_SHIFT: Final = 17
_HOUR_SHIFT: Final = 12
_MINUTE_SHIFT: Final = 6

# Bit layout of ValueProto.time_value.
_TIME_HOUR_SHIFT: Final = 42
_TIME_MINUTE_SHIFT: Final = 36
_TIME_SECOND_SHIFT: Final = 30

TYPE_KINDS: Final[dict[ColumnType, TypeKind]] = {
    "integer": TypeKind.TYPE_INT64,
    "number": TypeKind.TYPE_DOUBLE,
    "decimal": TypeKind.TYPE_NUMERIC,
    "string": TypeKind.TYPE_STRING,
    "boolean": TypeKind.TYPE_BOOL,
    "date": TypeKind.TYPE_DATE,
    "timestamp": TypeKind.TYPE_DATETIME,
    "timestamptz": TypeKind.TYPE_TIMESTAMP,
}
"""ZetaSQL column type of each logical column type (BigQuery names in tables.py)."""


# --- NUMERIC -----------------------------------------------------------------


def encode_numeric(value: decimal.Decimal, scale: int = NUMERIC_SCALE) -> bytes:
    """Encode a decimal as ZetaSQL NUMERIC (scale 9) or BIGNUMERIC (scale 38) bytes."""
    scaled = value.scaleb(scale, context=_DECIMAL_CONTEXT)
    if not scaled.is_finite() or scaled != scaled.to_integral_value():
        raise ValueError(f"{value} is not representable with scale {scale}")
    integer = int(scaled)
    if scale == NUMERIC_SCALE and abs(integer) >= _NUMERIC_LIMIT:
        raise ValueError(f"{value} is out of NUMERIC range")
    magnitude = integer if integer >= 0 else ~integer
    return integer.to_bytes(magnitude.bit_length() // 8 + 1, "little", signed=True)


def decode_numeric(data: bytes, scale: int = NUMERIC_SCALE) -> decimal.Decimal:
    """Decode ZetaSQL NUMERIC/BIGNUMERIC bytes to an exact ``Decimal``."""
    integer = int.from_bytes(data, "little", signed=True) if data else 0
    return decimal.Decimal(integer).scaleb(-scale, context=_DECIMAL_CONTEXT)


# --- DATE / DATETIME / TIMESTAMP / TIME ----------------------------------------


def encode_date(value: dt.date) -> int:
    """Days since 1970-01-01."""
    return (value - _UNIX_EPOCH_DATE).days


def decode_date(days: int) -> dt.date:
    """Inverse of :func:`encode_date`."""
    return _UNIX_EPOCH_DATE + dt.timedelta(days=days)


def encode_datetime(value: dt.datetime) -> tuple[int, int]:
    """Naive datetime -> ``(bit_field_datetime_seconds, nanos)``."""
    if value.utcoffset() is not None:
        raise ValueError(f"DATETIME needs a naive datetime, got {value!r}")
    bits = (
        value.year << _YEAR_SHIFT
        | value.month << _MONTH_SHIFT
        | value.day << _DAY_SHIFT
        | value.hour << _HOUR_SHIFT
        | value.minute << _MINUTE_SHIFT
        | value.second
    )
    return bits, value.microsecond * 1000


def decode_datetime(bits: int, nanos: int) -> dt.datetime:
    """Inverse of :func:`encode_datetime`; returns a naive datetime."""
    return dt.datetime(
        bits >> _YEAR_SHIFT,
        (bits >> _MONTH_SHIFT) & 0xF,
        (bits >> _DAY_SHIFT) & 0x1F,
        (bits >> _HOUR_SHIFT) & 0x1F,
        (bits >> _MINUTE_SHIFT) & 0x3F,
        bits & 0x3F,
        _micros(nanos, "DATETIME"),
    )


def encode_timestamp(value: dt.datetime) -> tuple[int, int]:
    """Aware datetime -> ``(seconds, nanos)`` since the Unix epoch (UTC)."""
    if value.utcoffset() is None:
        raise ValueError(f"TIMESTAMP needs a timezone-aware datetime, got {value!r}")
    delta = value - _UNIX_EPOCH
    return delta.days * 86_400 + delta.seconds, delta.microseconds * 1000


def decode_timestamp(seconds: int, nanos: int) -> dt.datetime:
    """Inverse of :func:`encode_timestamp`; returns an aware UTC datetime."""
    return _UNIX_EPOCH + dt.timedelta(seconds=seconds, microseconds=_micros(nanos, "TIMESTAMP"))


def decode_time(bits: int) -> dt.time:
    """Decode ``time_value`` to a ``datetime.time``."""
    nanos = bits & ((1 << _TIME_SECOND_SHIFT) - 1)
    return dt.time(
        (bits >> _TIME_HOUR_SHIFT) & 0x1F,
        (bits >> _TIME_MINUTE_SHIFT) & 0x3F,
        (bits >> _TIME_SECOND_SHIFT) & 0x3F,
        _micros(nanos, "TIME"),
    )


def _micros(nanos: int, type_name: str) -> int:
    micros, rest = divmod(nanos, 1000)
    if rest:
        raise ValueError(
            f"{type_name} with nanosecond precision ({nanos} ns) cannot be a Python value"
        )
    return micros


# --- cells -------------------------------------------------------------------


def to_cell(column_type: ColumnType, value: object) -> Any:
    """Python fixture value -> ``zetasql.types.Value`` for a table cell (``Value()`` is NULL)."""
    if value is None:
        return Value()
    if column_type == "integer" and isinstance(value, int):
        return Value(int64_value=value)
    if column_type == "number" and isinstance(value, float):
        return Value(double_value=value)
    if column_type == "decimal" and isinstance(value, decimal.Decimal):
        return Value(numeric_value=encode_numeric(value))
    if column_type == "string" and isinstance(value, str):
        return Value(string_value=value)
    if column_type == "boolean" and isinstance(value, bool):
        return Value(bool_value=value)
    if column_type == "date" and isinstance(value, dt.date):
        return Value(date_value=encode_date(value))
    if column_type == "timestamp" and isinstance(value, dt.datetime):
        bits, nanos = encode_datetime(value)
        return Value(datetime_value=Value.Datetime(bit_field_datetime_seconds=bits, nanos=nanos))
    if column_type == "timestamptz" and isinstance(value, dt.datetime):
        seconds, nanos = encode_timestamp(value)
        return Value(timestamp_value=Timestamp(seconds=seconds, nanos=nanos))
    raise TypeError(f"{value!r} is not a valid {column_type} value")


def from_cell(cell: Any) -> object:
    """Raw ``ValueProto`` (protobuf message, not the lossy proto model) -> Python value."""
    kind = cell.WhichOneof("value")
    if kind is None:
        return None
    payload = getattr(cell, kind)
    if kind in ("int64_value", "int32_value", "uint32_value", "uint64_value", "enum_value"):
        return int(payload)
    if kind in ("double_value", "float_value"):
        return float(payload)
    if kind in ("string_value", "json_value"):
        return str(payload)
    if kind == "bool_value":
        return bool(payload)
    if kind == "bytes_value":
        return bytes(payload)
    if kind == "date_value":
        return decode_date(payload)
    if kind == "timestamp_value":
        return decode_timestamp(payload.seconds, payload.nanos)
    if kind == "datetime_value":
        return decode_datetime(payload.bit_field_datetime_seconds, payload.nanos)
    if kind == "time_value":
        return decode_time(payload)
    if kind == "numeric_value":
        return decode_numeric(payload, NUMERIC_SCALE)
    if kind == "bignumeric_value":
        return decode_numeric(payload, BIGNUMERIC_SCALE)
    if kind == "array_value":
        return [from_cell(element) for element in payload.element]
    if kind == "struct_value":
        return tuple(from_cell(field) for field in payload.field)
    raise ValueError(f"unsupported ZetaSQL result value kind {kind!r}")
