"""Postgres result columns + rows → an Arrow schema and record batches (for Parquet; needs pyarrow).

The schema is fixed from the cursor description before the first row arrives,
so every batch of one result has the same types, including an empty result.
Values are converted as in `pg_values` first. Type choices: ``numeric(p, s)`` →
``decimal128(p, s)`` (``decimal256`` past 38 digits, text past 76);
unconstrained ``numeric`` → ``decimal128(38, 9)`` like BigQuery's NUMERIC (a
value past 29 integer digits is a clear error, not a crash); ``timestamptz`` →
``timestamp[us, UTC]``; ``interval`` → ``duration[us]``; json/jsonb, uuid,
enums and any type not listed → text.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from segdsl.engines.base import EngineError
from segdsl.engines.pg_values import (
    NUMERIC,
    NUMERIC_PLACES,
    ColumnDescription,
    Converter,
    ValuePlan,
    text,
    value_plans,
)

__all__ = ["ColumnPlan", "arrow_plan", "rows_to_batch"]

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
UNCONSTRAINED_NUMERIC = pa.decimal128(38, NUMERIC_PLACES)


@dataclass(frozen=True)
class ColumnPlan:
    """How one column's Python values become an Arrow array."""

    field: pa.Field
    convert: Converter | None


def _arrow_type(plan: ValuePlan) -> tuple[pa.DataType, Converter | None]:
    if plan.oid == NUMERIC and not plan.is_array:
        if plan.precision is None or plan.scale is None:
            return UNCONSTRAINED_NUMERIC, plan.convert
        if plan.precision <= 38:
            return pa.decimal128(plan.precision, plan.scale), plan.convert
        if plan.precision <= 76:
            return pa.decimal256(plan.precision, plan.scale), plan.convert
        return pa.string(), text
    kind = UNCONSTRAINED_NUMERIC if plan.oid == NUMERIC else _SCALARS.get(plan.oid, pa.string())
    return (pa.list_(kind) if plan.is_array else kind), plan.convert


def arrow_plan(description: Sequence[ColumnDescription]) -> list[ColumnPlan]:
    """One `ColumnPlan` per result column."""
    plans: list[ColumnPlan] = []
    for plan in value_plans(description):
        kind, convert = _arrow_type(plan)
        plans.append(ColumnPlan(pa.field(plan.name, kind), convert))
    return plans


def schema_of(plans: Sequence[ColumnPlan]) -> pa.Schema:
    return pa.schema([plan.field for plan in plans])


def rows_to_batch(rows: Sequence[Sequence[Any]], plans: Sequence[ColumnPlan]) -> pa.RecordBatch:
    """Row tuples → one record batch with the planned schema.

    A value that does not fit its column's Arrow type raises ``invalid_query``.
    """
    schema = schema_of(plans)
    if not rows:
        return pa.RecordBatch.from_pylist([], schema=schema)
    arrays = []
    for index, plan in enumerate(plans):
        values = [row[index] for row in rows]
        if plan.convert is not None:
            values = [plan.convert(value) for value in values]
        try:
            arrays.append(pa.array(values, type=plan.field.type))
        except (pa.ArrowInvalid, OverflowError) as error:
            raise EngineError(
                "invalid_query",
                f"postgres: column {plan.field.name!r} has a value that does not fit "
                f"Arrow {plan.field.type} ({' '.join(str(error).split())}); "
                "cast it to a numeric(p, s) wide enough, or export CSV / JSON lines",
            ) from None
    return pa.RecordBatch.from_arrays(arrays, schema=schema)
