"""Arrow record batches → a CSV, Parquet or JSON-lines file, written batch by batch.

Memory stays flat as rows grow: each batch is written and dropped. The file is
written under a temporary name in the target folder and renamed into place
only when every batch is written; on any error (or Ctrl-C) the temporary file
is removed and an existing file at the target is left untouched.

JSON lines: one object per row; dates and times in ISO 8601, decimals as
strings (exact), bytes in base64, NaN/Infinity as null.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import decimal
import json
import math
import os
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, Literal, Protocol

import pyarrow as pa

__all__ = ["ExportError", "ExportFormat", "format_for", "write_batches"]

ExportFormat = Literal["csv", "parquet", "jsonl"]
_EXTENSIONS: dict[str, ExportFormat] = {
    ".csv": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
}


class ExportError(Exception):
    """Writing an export failed; the message is one line and names the file."""


class _Writer(Protocol):
    def write(self, batch: pa.RecordBatch) -> None: ...
    def close(self) -> None: ...


def format_for(path: Path) -> ExportFormat:
    """The export format named by ``path``'s extension."""
    try:
        return _EXTENSIONS[path.suffix.lower()]
    except KeyError:
        known = ", ".join(sorted(_EXTENSIONS))
        raise ExportError(
            f"cannot tell the export format of {path.name!r} from its extension (use {known})"
        ) from None


def write_batches(
    batches: Iterable[pa.RecordBatch],
    path: Path,
    *,
    format: ExportFormat | None = None,
) -> int:
    """Write every batch to ``path`` (format from the extension when None); return the row count.

    Batches must share one schema. An empty iterable writes an empty CSV/JSON-lines
    file; Parquet needs at least one (possibly empty) batch for its schema. If
    ``batches`` is a generator it is closed when writing stops, so the engine
    behind it ends its query.
    """
    path = Path(path)
    kind = format or format_for(path)
    if kind not in ("csv", "parquet", "jsonl"):
        raise ExportError(f"unknown export format {kind!r} (use csv, parquet or jsonl)")
    folder = path.parent if str(path.parent) else Path(".")
    try:
        handle, temporary_name = tempfile.mkstemp(
            dir=folder, prefix=f".{path.name}.", suffix=".part"
        )
    except OSError as error:
        raise ExportError(f"cannot write {path}: {error.strerror or error}") from None
    os.close(handle)
    temporary = Path(temporary_name)
    iterator = iter(batches)
    try:
        rows = _write_all(iterator, temporary, kind, path)
        _apply_umask(temporary)
        os.replace(temporary, path)
        return rows
    except OSError as error:
        raise ExportError(f"cannot write {path}: {error.strerror or error}") from None
    except (pa.ArrowException, ValueError, TypeError) as error:
        raise ExportError(f"cannot write {path}: {' '.join(str(error).split())}") from None
    finally:
        with contextlib.suppress(OSError):
            temporary.unlink()
        close = getattr(iterator, "close", None)
        if close is not None:
            with contextlib.suppress(Exception):
                close()


def _write_all(batches: Iterator[pa.RecordBatch], temporary: Path, kind: str, target: Path) -> int:
    first = next(batches, None)
    if first is None:
        if kind == "parquet":
            raise ExportError(f"cannot write {target}: no batches, so no schema for Parquet")
        return 0
    writer = _open(kind, temporary, first.schema)
    rows = 0
    try:
        writer.write(first)
        rows += int(first.num_rows)
        for batch in batches:
            if not batch.schema.equals(first.schema):
                raise ExportError(
                    f"cannot write {target}: a batch's schema differs from the first batch's"
                )
            writer.write(batch)
            rows += int(batch.num_rows)
    finally:
        writer.close()
    return rows


def _open(kind: str, temporary: Path, schema: pa.Schema) -> _Writer:
    if kind == "csv":
        return _CSVWriter(temporary, schema)
    if kind == "parquet":
        return _ParquetWriter(temporary, schema)
    return _JSONLinesWriter(temporary)


class _CSVWriter:
    def __init__(self, path: Path, schema: pa.Schema) -> None:
        import pyarrow.csv

        self._writer = pyarrow.csv.CSVWriter(str(path), schema)

    def write(self, batch: pa.RecordBatch) -> None:
        self._writer.write_batch(batch)

    def close(self) -> None:
        self._writer.close()


class _ParquetWriter:
    def __init__(self, path: Path, schema: pa.Schema) -> None:
        import pyarrow.parquet

        self._writer = pyarrow.parquet.ParquetWriter(str(path), schema)

    def write(self, batch: pa.RecordBatch) -> None:
        self._writer.write_batch(batch)

    def close(self) -> None:
        self._writer.close()


class _JSONLinesWriter:
    def __init__(self, path: Path) -> None:
        self._file = path.open("w", encoding="utf-8", newline="\n")

    def write(self, batch: pa.RecordBatch) -> None:
        lines = [_json_line(row) for row in batch.to_pylist()]
        if lines:
            self._file.write("\n".join(lines) + "\n")

    def close(self) -> None:
        self._file.close()


def _json_default(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value) if value.is_finite() else None
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    return str(value)


def _finite(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_finite(item) for item in value]
    return value


def _json_line(row: dict[str, Any]) -> str:
    try:
        return json.dumps(row, default=_json_default, ensure_ascii=False, allow_nan=False)
    except ValueError:
        return json.dumps(_finite(row), default=_json_default, ensure_ascii=False)


def _apply_umask(path: Path) -> None:
    """Give the finished file the permissions a normally created file would have."""
    mask = os.umask(0)
    os.umask(mask)
    os.chmod(path, 0o666 & ~mask)
