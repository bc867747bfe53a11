"""Query results without Arrow: column names and types + row tuples of plain Python values.

Every engine returns its results as `Rows` (one block of a streamed result, or
a whole small result), so the base install needs no pyarrow. Values are what
the driver gives: int, float, Decimal, str, bool, bytes, date, datetime, time,
timedelta, lists and dicts; None for NULL.

>>> rows = Rows.of(("id", "name"), [(1, "a"), (2, None)])
>>> rows.schema.names, rows.num_rows
(['id', 'name'], 2)
>>> rows.to_pylist()
[{'id': 1, 'name': 'a'}, {'id': 2, 'name': None}]
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["Column", "Rows", "Schema", "concat"]


@dataclass(frozen=True)
class Column:
    """A result column: its name and the engine's type name in upper case (``"DOUBLE"``)."""

    name: str
    type: str = ""


@dataclass(frozen=True)
class Schema:
    """The columns of a result, in order."""

    columns: tuple[Column, ...]

    @property
    def names(self) -> list[str]:
        return [column.name for column in self.columns]

    @property
    def types(self) -> list[str]:
        return [column.type for column in self.columns]


@dataclass(frozen=True)
class Rows:
    """A block of result rows sharing one `Schema`."""

    schema: Schema
    rows: tuple[tuple[object, ...], ...]

    @classmethod
    def of(
        cls,
        names: Sequence[str],
        rows: Iterable[Sequence[object]],
        types: Sequence[str] | None = None,
    ) -> Rows:
        """Rows from column names, row sequences and (optionally) type names."""
        kinds = list(types) if types is not None else [""] * len(names)
        schema = Schema(tuple(Column(n, t) for n, t in zip(names, kinds, strict=True)))
        return cls(schema, tuple(tuple(row) for row in rows))

    @property
    def num_rows(self) -> int:
        return len(self.rows)

    @property
    def num_columns(self) -> int:
        return len(self.schema.columns)

    @property
    def column_names(self) -> list[str]:
        return self.schema.names

    def column(self, name: str) -> list[object]:
        """The values of column ``name``."""
        index = self.schema.names.index(name)
        return [row[index] for row in self.rows]

    def to_pylist(self) -> list[dict[str, Any]]:
        """One dict per row, column name → value."""
        names = self.schema.names
        return [dict(zip(names, row, strict=True)) for row in self.rows]


def concat(blocks: Iterable[Rows]) -> Rows:
    """The blocks of one result joined into one (the first block's schema)."""
    items = list(blocks)
    if not items:
        raise ValueError("no blocks to join: an engine sends at least one")
    rows = [row for block in items for row in block.rows]
    return Rows(items[0].schema, tuple(rows))
