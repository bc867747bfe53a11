"""Query results → a CSV, Parquet or JSON-lines file, written batch by batch.

Memory stays flat as rows grow: each batch is written and dropped. The file is
written under a temporary name in the target folder and renamed into place
only when every batch is written; on any error (or Ctrl-C) the temporary file
is removed and an existing file at the target is left untouched.

CSV and JSON lines are written here with the standard library from `Rows`
(no pyarrow). CSV follows the format segdsl wrote with pyarrow before, byte for
byte: a quoted header, strings always quoted, numbers, dates and times bare,
NULL empty, floats in their shortest form (``100``, ``1e+20``, ``nan``).
JSON lines: one object per row; dates and times in ISO 8601, decimals as
strings (exact), bytes in base64, NaN/Infinity as null. Parquet is written by
the engine (`Engine.write_parquet`: DuckDB natively, others through pyarrow).
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import decimal
import json
import math
import os
import struct
import tempfile
import uuid
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

from segdsl.engines.rows import Rows, Schema

if TYPE_CHECKING:
    from segdsl.engines.base import Engine

__all__ = ["ExportError", "ExportFormat", "export_query", "format_for", "write_batches"]

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
    def write(self, batch: Rows) -> None: ...
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


def export_query(
    engine: Engine, sql: str, path: Path, *, format: ExportFormat | None = None
) -> int:
    """Run ``sql`` on ``engine`` and write its rows to ``path``; return the row count."""
    path = Path(path)
    kind = format or format_for(path)
    if kind == "parquet":
        return _atomically(path, lambda temporary: engine.write_parquet(sql, temporary))
    return write_batches(engine.query_batches(sql), path, format=kind)


def export_rows(rows: Rows, path: Path) -> int:
    """Write rows computed in Python (`seg trend`) to ``path`` in the format its extension
    names, as `export_query` writes a query's; return the row count."""
    path = Path(path)
    kind = format_for(path)
    if kind != "parquet":
        return write_batches([rows], path, format=kind)
    from segdsl.engines.arrow import require_pyarrow, write_parquet

    pa = require_pyarrow("writing Parquet")
    table = pa.Table.from_pylist(
        [dict(zip(rows.schema.names, row, strict=True)) for row in rows.rows]
    )
    return _atomically(
        path, lambda temporary: write_parquet(table.to_batches() or [], temporary, engine="trend")
    )


def write_batches(
    batches: Iterable[Rows],
    path: Path,
    *,
    format: ExportFormat | None = None,
) -> int:
    """Write every CSV or JSON-lines batch to ``path``; return the row count.

    The format comes from the extension when None. Batches must share one
    schema. An empty iterable writes an empty file. If ``batches`` is a
    generator it is closed when writing stops, so the engine behind it ends its
    query. Parquet goes through `export_query` (the engine writes it).
    """
    path = Path(path)
    kind = format or format_for(path)
    if kind not in ("csv", "jsonl"):
        raise ExportError(
            f"cannot write {path}: write_batches writes csv or jsonl, not {kind!r} "
            "(Parquet: export_query)"
        )
    iterator = iter(batches)
    try:
        return _atomically(path, lambda temporary: _write_all(iterator, temporary, kind, path))
    finally:
        close = getattr(iterator, "close", None)
        if close is not None:
            with contextlib.suppress(Exception):
                close()


def _atomically(path: Path, write: Callable[[Path], int]) -> int:
    """``write`` into a temporary file next to ``path``, then rename it into place."""
    folder = path.parent if str(path.parent) else Path(".")
    try:
        handle, temporary_name = tempfile.mkstemp(
            dir=folder, prefix=f".{path.name}.", suffix=".part"
        )
    except OSError as error:
        raise ExportError(f"cannot write {path}: {error.strerror or error}") from None
    os.close(handle)
    temporary = Path(temporary_name)
    try:
        rows = write(temporary)
        _apply_umask(temporary)
        os.replace(temporary, path)
        return rows
    except OSError as error:
        raise ExportError(f"cannot write {path}: {error.strerror or error}") from None
    except (ValueError, TypeError) as error:
        raise ExportError(f"cannot write {path}: {' '.join(str(error).split())}") from None
    finally:
        with contextlib.suppress(OSError):
            temporary.unlink()


def _write_all(batches: Iterator[Rows], temporary: Path, kind: str, target: Path) -> int:
    first = next(batches, None)
    if first is None:
        return 0
    writer = _CSVWriter(temporary, first.schema) if kind == "csv" else _JSONLinesWriter(temporary)
    rows = 0
    try:
        writer.write(first)
        rows += first.num_rows
        for batch in batches:
            if batch.schema.names != first.schema.names:
                raise ExportError(
                    f"cannot write {target}: a batch's columns differ from the first batch's"
                )
            writer.write(batch)
            rows += batch.num_rows
    finally:
        writer.close()
    return rows


# ---------------------------------------------------------------- CSV

_FLOAT32_TYPES = frozenset({"FLOAT", "FLOAT4", "REAL"})
_TIMESTAMP_DIGITS = {"TIMESTAMP_S": 0, "TIMESTAMP_MS": 3, "TIMESTAMP_NS": 9}


def _quoted(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


class _CSVWriter:
    def __init__(self, path: Path, schema: Schema) -> None:
        self._file = path.open("w", encoding="utf-8", newline="")
        self._formats = [_csv_format(column.type) for column in schema.columns]
        self._file.write(",".join(_quoted(name) for name in schema.names) + "\n")

    def write(self, batch: Rows) -> None:
        formats = self._formats
        lines = [
            ",".join(
                "" if value is None else form(value)
                for form, value in zip(formats, row, strict=True)
            )
            for row in batch.rows
        ]
        if lines:
            self._file.write("\n".join(lines) + "\n")

    def close(self) -> None:
        self._file.close()


def _csv_format(type_name: str) -> Callable[[Any], str]:
    """How a column's non-null values are written, given the engine's type name."""
    name = type_name.upper()
    if name in _FLOAT32_TYPES:
        return lambda value: _csv_value(value, float32=True)
    digits = _TIMESTAMP_DIGITS.get(name, 6)
    return lambda value: _csv_value(value, digits=digits)


def _csv_value(value: Any, *, float32: bool = False, digits: int = 6) -> str:
    if isinstance(value, str):
        return _quoted(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return format_float(value, float32=float32)
    if isinstance(value, decimal.Decimal):
        return format(value, "f")
    if isinstance(value, dt.datetime):
        return _timestamp(value, digits)
    if isinstance(value, dt.date):
        return f"{value.year:04d}-{value.month:02d}-{value.day:02d}"
    if isinstance(value, dt.time):
        return f"{value.hour:02d}:{value.minute:02d}:{value.second:02d}.{value.microsecond:06d}"
    if isinstance(value, dt.timedelta):
        return str(value // dt.timedelta(microseconds=1))
    if isinstance(value, bytes):
        return _quoted(value.decode("utf-8", errors="replace"))
    if isinstance(value, uuid.UUID):
        return _quoted(str(value))
    if isinstance(value, list | dict):
        return _quoted(json.dumps(value, default=_json_default, ensure_ascii=False))
    return _quoted(str(value))


def _timestamp(value: dt.datetime, digits: int) -> str:
    text = (
        f"{value.year:04d}-{value.month:02d}-{value.day:02d} "
        f"{value.hour:02d}:{value.minute:02d}:{value.second:02d}"
    )
    if digits:
        text += "." + f"{value.microsecond:06d}{'000'}"[:digits]
    zone = value.tzinfo
    if zone is None:
        return text
    if zone is dt.UTC or getattr(zone, "key", None) == "UTC":
        return text + "Z"
    return text + value.strftime("%z")


def format_float(value: float, *, float32: bool = False) -> str:
    """``value`` as Arrow prints it: shortest digits, fixed notation for exponents -6 to 9.

    >>> [format_float(v) for v in (100.0, 1e20, 1e-7, 0.000001, -0.0, math.nan)]
    ['100', '1e+20', '1e-7', '0.000001', '-0', 'nan']
    """
    if math.isnan(value):
        return "nan"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    text = _shortest_float32(value) if float32 else repr(value)
    sign, digit_tuple, exponent = decimal.Decimal(text).as_tuple()
    assert isinstance(exponent, int)
    raw = "".join(map(str, digit_tuple))
    stripped = raw.lstrip("0")
    point = len(stripped) + exponent  # where the decimal point falls in the digits
    digits = stripped.rstrip("0")
    if not digits:
        return "-0" if sign else "0"
    magnitude = point - 1
    prefix = "-" if sign else ""
    if -6 <= magnitude < 10:
        if point <= 0:
            return f"{prefix}0.{'0' * -point}{digits}"
        if point >= len(digits):
            return f"{prefix}{digits}{'0' * (point - len(digits))}"
        return f"{prefix}{digits[:point]}.{digits[point:]}"
    mantissa = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
    return f"{prefix}{mantissa}e{'+' if magnitude >= 0 else '-'}{abs(magnitude)}"


def _shortest_float32(value: float) -> str:
    """The fewest significant digits that read back as the same 32-bit float."""
    for places in range(1, 10):
        text = f"{value:.{places}g}"
        if struct.unpack("f", struct.pack("f", float(text)))[0] == value:
            return text
    return repr(value)


# ---------------------------------------------------------------- JSON lines


class _JSONLinesWriter:
    def __init__(self, path: Path) -> None:
        self._file = path.open("w", encoding="utf-8", newline="\n")

    def write(self, batch: Rows) -> None:
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
