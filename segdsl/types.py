"""Value types of the language and how column types map onto them."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Literal


class Kind(StrEnum):
    INTEGER = "integer"
    NUMBER = "number"
    DECIMAL = "decimal"
    STRING = "string"
    BOOLEAN = "boolean"
    DATE = "date"
    TIMESTAMP = "timestamp"
    DURATION = "duration"
    LABEL = "label"
    ERROR = "error"  # the type of an expression that already has a diagnostic


@dataclass(frozen=True)
class Type:
    """A value type; labels are the possible values of a classifier or split."""

    kind: Kind
    labels: tuple[str, ...] = ()

    def __str__(self) -> str:
        return self.kind.value

    @property
    def is_numeric(self) -> bool:
        return self.kind in (Kind.INTEGER, Kind.NUMBER, Kind.DECIMAL)

    @property
    def is_time(self) -> bool:
        return self.kind in (Kind.DATE, Kind.TIMESTAMP)

    @property
    def is_error(self) -> bool:
        return self.kind is Kind.ERROR


INTEGER = Type(Kind.INTEGER)
NUMBER = Type(Kind.NUMBER)
DECIMAL = Type(Kind.DECIMAL)
STRING = Type(Kind.STRING)
BOOLEAN = Type(Kind.BOOLEAN)
DATE = Type(Kind.DATE)
TIMESTAMP = Type(Kind.TIMESTAMP)
DURATION = Type(Kind.DURATION)
ERROR = Type(Kind.ERROR)

# How a time column is stored in the warehouse. `timestamp` is a wall-clock time in
# the project's time zone (BigQuery DATETIME); `timestamptz` is an instant
# (Postgres/DuckDB TIMESTAMPTZ, BigQuery TIMESTAMP).
Storage = Literal["date", "timestamp", "timestamptz"]

# Column type names a user may write, with the language type and time storage.
COLUMN_TYPES: dict[str, tuple[Type, Storage | None]] = {
    "string": (STRING, None),
    "text": (STRING, None),
    "integer": (INTEGER, None),
    "int": (INTEGER, None),
    "number": (NUMBER, None),
    "float": (NUMBER, None),
    "decimal": (DECIMAL, None),
    "money": (DECIMAL, None),
    "boolean": (BOOLEAN, None),
    "bool": (BOOLEAN, None),
    "date": (DATE, "date"),
    "timestamp": (TIMESTAMP, "timestamp"),
    "datetime": (TIMESTAMP, "timestamp"),
    "timestamptz": (TIMESTAMP, "timestamptz"),
}

# Parameter type names: column types plus durations.
PARAM_TYPES: dict[str, Type] = {
    **{name: type_ for name, (type_, _) in COLUMN_TYPES.items()},
    "duration": DURATION,
}


def numeric_result(left: Type, right: Type, op: str) -> Type:
    """The type of `left op right` for numeric operands."""
    if op == "/":
        return NUMBER
    if Kind.NUMBER in (left.kind, right.kind):
        return NUMBER
    if Kind.DECIMAL in (left.kind, right.kind):
        return DECIMAL
    return INTEGER


def comparable(left: Type, right: Type) -> bool:
    """Whether two values can be compared with `=`, `<` and friends."""
    if left.is_error or right.is_error:
        return True
    if left.is_numeric and right.is_numeric:
        return True
    if left.is_time and right.is_time:
        return True
    if {left.kind, right.kind} <= {Kind.STRING, Kind.LABEL}:
        return True
    return left.kind == right.kind
