"""Arrow record batches → a Parquet file, and Arrow batches → `Rows` (the engines that use pyarrow).

pyarrow is optional (``segdsl[parquet]``, part of ``segdsl[bigquery]``): the
base install never imports this module. A missing pyarrow is a one-line
`EngineError` naming the extra.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from segdsl.engines.base import EngineError
from segdsl.engines.rows import Rows

__all__ = ["batches_of", "require_pyarrow", "rows_from_arrow", "write_parquet"]


def batches_of(table: Any, max_rows: int | None = None) -> list[Any]:
    """A pyarrow Table's record batches (of at most `max_rows` rows); without rows, one
    empty batch with its columns, so a reader still sees them."""
    import pyarrow as pa

    batches: list[Any] = table.to_batches(max_chunksize=max_rows)
    return batches or [pa.RecordBatch.from_pylist([], schema=table.schema)]


def require_pyarrow(what: str) -> Any:
    """The pyarrow module, or the one-line error that says how to install it."""
    try:
        import pyarrow
        import pyarrow.parquet
    except ImportError as error:
        from segdsl.engines import missing_driver

        raise missing_driver(what, "parquet", error) from None
    return pyarrow


def write_parquet(batches: Iterable[Any], path: Path, *, engine: str) -> int:
    """Write Arrow record batches (at least one, for the schema) to ``path``; return the rows."""
    pa = require_pyarrow(f"writing Parquet from {engine}")
    iterator = iter(batches)
    try:
        first = next(iterator, None)
        if first is None:
            raise EngineError("other", f"{engine}: no batches, so no schema for Parquet")
        writer = pa.parquet.ParquetWriter(str(path), first.schema)
        rows = 0
        try:
            for batch in itertools.chain([first], iterator):
                if not batch.schema.equals(first.schema):
                    raise EngineError(
                        "other", f"{engine}: a batch's schema differs from the first batch's"
                    )
                writer.write_batch(batch)
                rows += int(batch.num_rows)
        finally:
            writer.close()
        return rows
    finally:
        close = getattr(iterator, "close", None)
        if close is not None:
            close()


def rows_from_arrow(batch: Any) -> Rows:
    """An Arrow record batch as `Rows` (type names are Arrow's, upper case)."""
    names = list(batch.schema.names)
    types = [_type_name(field.type) for field in batch.schema]
    columns = [batch.column(index).to_pylist() for index in range(batch.num_columns)]
    return Rows.of(names, zip(*columns, strict=True) if columns else [], types)


def _type_name(kind: Any) -> str:
    """Arrow type → the names the CSV writer knows (FLOAT for float32, TIMESTAMP_S ...)."""
    text = str(kind)
    if text == "float":
        return "FLOAT"
    if text.startswith("timestamp["):
        unit = text[len("timestamp[") :].split(",")[0].rstrip("]")
        return {"s": "TIMESTAMP_S", "ms": "TIMESTAMP_MS", "ns": "TIMESTAMP_NS"}.get(
            unit, "TIMESTAMP"
        )
    return text.upper()
