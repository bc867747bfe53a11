"""Engine-neutral fixture tables for the cross-engine test harness.

A :class:`TableSpec` describes a small table with logical column types and Python
row values. The runners in :mod:`tests.support.runners` load the same spec into
DuckDB, Postgres and ZetaSQL (BigQuery's reference implementation) so that one SQL
query per dialect can be checked for equal results on every engine.
"""

from __future__ import annotations

import datetime as dt
import decimal
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Final, Literal, get_args

ColumnType = Literal[
    "integer", "number", "decimal", "string", "boolean", "date", "timestamp", "timestamptz"
]
"""Logical column types understood by every runner."""

Engine = Literal["duckdb", "postgres", "bigquery", "spark", "clickhouse"]
"""Engine names as used by :attr:`tests.support.runners.Runner.name`."""

COLUMN_TYPES: Final[tuple[ColumnType, ...]] = get_args(ColumnType)
ENGINES: Final[tuple[Engine, ...]] = get_args(Engine)

PHYSICAL_TYPES: Final[Mapping[Engine, Mapping[ColumnType, str]]] = {
    "duckdb": {
        "integer": "BIGINT",
        "number": "DOUBLE",
        "decimal": "DECIMAL(18,4)",
        "string": "VARCHAR",
        "boolean": "BOOLEAN",
        "date": "DATE",
        "timestamp": "TIMESTAMP",
        "timestamptz": "TIMESTAMPTZ",
    },
    "postgres": {
        "integer": "BIGINT",
        "number": "DOUBLE PRECISION",
        "decimal": "NUMERIC(18,4)",
        "string": "TEXT",
        "boolean": "BOOLEAN",
        "date": "DATE",
        "timestamp": "TIMESTAMP",
        "timestamptz": "TIMESTAMPTZ",
    },
    "bigquery": {
        "integer": "INT64",
        "number": "FLOAT64",
        "decimal": "NUMERIC",
        "string": "STRING",
        "boolean": "BOOL",
        "date": "DATE",
        "timestamp": "DATETIME",
        "timestamptz": "TIMESTAMP",
    },
    "spark": {
        "integer": "BIGINT",
        "number": "DOUBLE",
        "decimal": "DECIMAL(18,4)",
        "string": "STRING",
        "boolean": "BOOLEAN",
        "date": "DATE",
        "timestamp": "TIMESTAMP_NTZ",
        "timestamptz": "TIMESTAMP",
    },
    # Nullable: a non-Nullable ClickHouse column stores 0 / '' for a missing value
    "clickhouse": {
        "integer": "Nullable(Int64)",
        "number": "Nullable(Float64)",
        "decimal": "Nullable(Decimal(18, 4))",
        "string": "Nullable(String)",
        "boolean": "Nullable(Bool)",
        "date": "Nullable(Date32)",
        "timestamp": "Nullable(DateTime64(6))",
        "timestamptz": "Nullable(DateTime64(6, 'UTC'))",
    },
}
"""Physical SQL type of each logical column type, per engine."""

DECIMAL_PRECISION: Final = 18
DECIMAL_SCALE: Final = 4
"""``decimal`` columns are DECIMAL(18,4) on DuckDB/Postgres; BigQuery NUMERIC is wider."""

_INTEGER_MIN: Final = -(2**63)
_INTEGER_MAX: Final = 2**63 - 1


@dataclass(frozen=True)
class ColumnSpec:
    """A named column with a logical type."""

    name: str
    type: ColumnType

    def __post_init__(self) -> None:
        if not self.name:
            raise ValueError("column name must not be empty")
        if self.type not in COLUMN_TYPES:
            raise ValueError(f"unknown column type {self.type!r} for column {self.name!r}")


@dataclass(frozen=True)
class TableSpec:
    """A fixture table: plain name (no schema), typed columns and Python rows.

    Row values must already have the Python type matching their column (see
    :func:`check_value`); ``None`` is NULL in any column. Validation happens at
    construction so a bad fixture fails loudly instead of loading differently on
    different engines.
    """

    name: str
    columns: tuple[ColumnSpec, ...]
    rows: tuple[tuple[object, ...], ...]

    def __post_init__(self) -> None:
        if not self.name or "." in self.name:
            raise ValueError(f"table name must be a plain, non-empty name, got {self.name!r}")
        if not self.columns:
            raise ValueError(f"table {self.name!r} needs at least one column")
        names = [c.name for c in self.columns]
        if len(set(names)) != len(names):
            raise ValueError(f"table {self.name!r} has duplicate column names: {names}")
        for index, row in enumerate(self.rows):
            if len(row) != len(self.columns):
                raise ValueError(
                    f"{self.name} row {index} has {len(row)} values, expected {len(self.columns)}"
                )
            for column, value in zip(self.columns, row, strict=True):
                check_value(column.type, value, where=f"{self.name}.{column.name} row {index}")

    @property
    def column_names(self) -> tuple[str, ...]:
        """The column names, in order."""
        return tuple(c.name for c in self.columns)


def table(
    name: str,
    columns: Mapping[str, ColumnType],
    rows: Iterable[Sequence[object]] = (),
) -> TableSpec:
    """Build a :class:`TableSpec` from ``{column: type}`` (in order) and row sequences."""
    return TableSpec(
        name=name,
        columns=tuple(ColumnSpec(col, typ) for col, typ in columns.items()),
        rows=tuple(tuple(row) for row in rows),
    )


def check_value(column_type: ColumnType, value: object, *, where: str = "value") -> None:
    """Raise ``TypeError``/``ValueError`` unless ``value`` is valid for ``column_type``."""
    if value is None:
        return
    if column_type == "integer":
        if isinstance(value, bool) or not isinstance(value, int):
            raise _type_error(column_type, value, where)
        if not _INTEGER_MIN <= value <= _INTEGER_MAX:
            raise ValueError(f"{where}: {value} does not fit a 64-bit integer")
    elif column_type == "decimal":
        if not isinstance(value, decimal.Decimal):
            raise _type_error(column_type, value, where)
        _check_decimal(value, where)
    elif not isinstance(value, _PYTHON_TYPES[column_type]) or (
        column_type == "date" and isinstance(value, dt.datetime)
    ):
        raise _type_error(column_type, value, where)
    elif column_type in ("timestamp", "timestamptz") and isinstance(value, dt.datetime):
        aware = value.utcoffset() is not None
        if aware != (column_type == "timestamptz"):
            kind = "timezone-aware" if column_type == "timestamptz" else "naive"
            raise TypeError(
                f"{where}: {column_type} values must be {kind} datetimes, got {value!r}"
            )


_PYTHON_TYPES: Final[Mapping[ColumnType, type]] = {
    "number": float,
    "string": str,
    "boolean": bool,
    "date": dt.date,
    "timestamp": dt.datetime,
    "timestamptz": dt.datetime,
}


def _type_error(column_type: ColumnType, value: object, where: str) -> TypeError:
    return TypeError(f"{where}: {value!r} ({type(value).__name__}) is not a valid {column_type}")


def _check_decimal(value: decimal.Decimal, where: str) -> None:
    """Reject decimals that DECIMAL(18,4) would round or overflow."""
    if not value.is_finite():
        raise ValueError(f"{where}: non-finite decimal {value} is not supported")
    if abs(value) >= decimal.Decimal(10) ** (DECIMAL_PRECISION - DECIMAL_SCALE):
        raise ValueError(
            f"{where}: {value} does not fit DECIMAL({DECIMAL_PRECISION},{DECIMAL_SCALE})"
        )
    if value != value.quantize(decimal.Decimal(1).scaleb(-DECIMAL_SCALE)):
        raise ValueError(f"{where}: {value} has more than {DECIMAL_SCALE} decimal places")
