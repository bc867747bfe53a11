"""Declared model vs a warehouse schema → diagnostics (SEG401–SEG403), without running queries.

The same comparison runs before `seg run`, `explain --db` and `why` on engines that
read their column types first (BigQuery, Postgres): `adopt_storage` gives a time
column declared without a type (`time occurred_at`) the storage the warehouse has
(a BigQuery TIMESTAMP or a Postgres timestamptz is an instant), and a declared type
the warehouse contradicts is refused (SEG403) before any query is sent.

A warehouse schema is a JSON document recorded by `seg schema pull`:

    {"version": 1, "dialect": "duckdb",
     "tables": {"shop.orders": {"id": "BIGINT", "ordered_at": "TIMESTAMP", ...}}}

so CI can check definitions against the warehouse without credentials.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from segdsl.diagnostics import Diagnostic, did_you_mean
from segdsl.source import Span
from segdsl.syntax import nodes
from segdsl.types import COLUMN_TYPES, Kind

SCHEMA_VERSION = 1


@dataclass(frozen=True)
class WarehouseSchema:
    dialect: str
    tables: dict[str, dict[str, str]]  # "schema.table" → column → engine type name

    def to_json(self) -> str:
        return json.dumps(
            {"version": SCHEMA_VERSION, "dialect": self.dialect, "tables": self.tables}, indent=2
        )

    @classmethod
    def from_json(cls, text: str) -> WarehouseSchema:
        data = json.loads(text)
        if not isinstance(data, dict) or data.get("version") != SCHEMA_VERSION:
            raise ValueError(f"not a segdsl warehouse schema (version {SCHEMA_VERSION})")
        tables = {
            str(t): {str(c): str(v) for c, v in cols.items()} for t, cols in data["tables"].items()
        }
        return cls(str(data["dialect"]), tables)

    @classmethod
    def load(cls, path: Path) -> WarehouseSchema:
        return cls.from_json(path.read_text(encoding="utf-8"))

    def find(self, source: Sequence[str]) -> dict[str, str] | None:
        """The columns of a table.

        The declared path matches by its last parts, case-insensitively.
        """
        wanted = [part.lower() for part in source]
        for name, columns in self.tables.items():
            parts = [part.lower() for part in name.split(".")]
            if parts[-len(wanted) :] == wanted or wanted[-len(parts) :] == parts:
                return columns
        return None


@dataclass(frozen=True)
class DeclaredColumn:
    """A physical column the model relies on, where it is declared, and what it must hold."""

    table: str  # the declaration's name
    source: tuple[str, ...]
    column: str
    declared_type: str | None  # a column type name, or None when any type will do
    span: Span


def declared_sources(modules: Iterable[nodes.Module]) -> list[tuple[str, tuple[str, ...], Span]]:
    """(name, warehouse path, span) of the entity and every base table."""
    found = []
    for module in modules:
        for statement in module.statements:
            if isinstance(statement, (nodes.EntityDecl, nodes.TableDecl)):
                found.append((statement.name.text, statement.source, statement.name.span))
    return found


def declared_columns(modules: Sequence[nodes.Module]) -> list[DeclaredColumn]:
    """Every physical column the entity and tables declare (keys, links, times, columns)."""
    sources = {name: source for name, source, _ in declared_sources(modules)}
    columns: list[DeclaredColumn] = []
    for module in modules:
        for statement in module.statements:
            if not isinstance(statement, (nodes.EntityDecl, nodes.TableDecl)):
                continue
            name, source = statement.name.text, statement.source
            for member in statement.members:
                match member:
                    case nodes.KeyMember():
                        type_name = member.type.text if member.type else None
                        columns.append(
                            DeclaredColumn(
                                name, source, member.column.text, type_name, member.column.span
                            )
                        )
                    case nodes.LinkMember():
                        columns.append(
                            DeclaredColumn(
                                name, source, member.column.text, None, member.column.span
                            )
                        )
                        target = member.target.text
                        if member.target_column is not None and target in sources:
                            columns.append(
                                DeclaredColumn(
                                    target,
                                    sources[target],
                                    member.target_column.text,
                                    None,
                                    member.target_column.span,
                                )
                            )
                    case nodes.TimeMember():
                        storage = member.storage.text if member.storage else "timestamp"
                        columns.append(
                            DeclaredColumn(
                                name, source, member.column.text, storage, member.column.span
                            )
                        )
                    case nodes.ColumnMember():
                        physical = member.physical or member.name.text
                        columns.append(
                            DeclaredColumn(
                                name, source, physical, member.type.text, member.name.span
                            )
                        )
    return columns


Used = frozenset[tuple[tuple[str, ...], str]]
"""(warehouse path, physical column name casefolded) of the columns some queries read."""


def adopt_storage(modules: Sequence[nodes.Module], schema: WarehouseSchema) -> list[nodes.Module]:
    """`modules` with every time column declared without a type (`time occurred_at`)
    stored as the warehouse stores it: `timestamptz` for an instant (a BigQuery
    TIMESTAMP, a Postgres/DuckDB TIMESTAMPTZ, a ClickHouse DateTime64 with a zone),
    `date` for a DATE. A written type is kept: `schema_diagnostics` checks it."""
    result: list[nodes.Module] = []
    for module in modules:
        statements: list[nodes.Statement] = []
        for statement in module.statements:
            if isinstance(statement, nodes.EntityDecl | nodes.TableDecl):
                table = schema.find(statement.source)
                if table is not None:
                    members = tuple(_adopted(m, table, schema.dialect) for m in statement.members)
                    if members != statement.members:
                        statement = dataclasses.replace(statement, members=members)
            statements.append(statement)
        result.append(dataclasses.replace(module, statements=tuple(statements)))
    return result


def _adopted(member: nodes.Member, table: Mapping[str, str], dialect: str) -> nodes.Member:
    if not isinstance(member, nodes.TimeMember) or member.storage is not None:
        return member
    actual = _lookup(table, member.column.text)
    found = None if actual is None else warehouse_kind(actual, dialect)
    if found not in ("date", "timestamptz"):
        return member
    return dataclasses.replace(member, storage=nodes.Ident(str(found), span=member.column.span))


def schema_diagnostics(
    modules: Sequence[nodes.Module], schema: WarehouseSchema, used: Used | None = None
) -> list[Diagnostic]:
    """Unknown tables, unknown columns and type mismatches, as diagnostics; with
    `used`, only for those columns (and their tables). A time column declared without a
    type takes the warehouse's storage first (`adopt_storage`), as `seg run` does."""
    modules = adopt_storage(modules, schema)
    problems: list[Diagnostic] = []
    missing_tables: set[str] = set()
    wanted = None if used is None else {source for source, _ in used}
    for name, source, span in declared_sources(modules):
        if wanted is not None and source not in wanted:
            continue
        if schema.find(source) is None:
            missing_tables.add(name)
            problems.append(
                Diagnostic(
                    "SEG401",
                    f"the warehouse has no table `{'.'.join(source)}` (declared for `{name}`)",
                    span,
                    did_you_mean(".".join(source), schema.tables)
                    or "run `seg schema pull` again if it is new",
                )
            )
    for column in declared_columns(modules):
        if column.table in missing_tables:
            continue
        if used is not None and (column.source, column.column.casefold()) not in used:
            continue
        table = schema.find(column.source)
        if table is None:
            continue
        actual = _lookup(table, column.column)
        if actual is None:
            problems.append(
                Diagnostic(
                    "SEG402",
                    f"`{'.'.join(column.source)}` has no column `{column.column}`",
                    column.span,
                    did_you_mean(column.column, table)
                    or f"its columns: {', '.join(sorted(table))}",
                )
            )
            continue
        if column.declared_type is not None:
            mismatch = type_mismatch(column.declared_type, actual, schema.dialect)
            if mismatch:
                problems.append(
                    Diagnostic(
                        "SEG403",
                        f"`{'.'.join(column.source)}.{column.column}` "
                        f"is {actual} in the warehouse, "
                        f"declared `{column.declared_type}`",
                        column.span,
                        mismatch,
                    )
                )
    return problems


def _lookup(table: Mapping[str, str], column: str) -> str | None:
    if column in table:
        return table[column]
    lowered = {name.lower(): value for name, value in table.items()}
    return lowered.get(column.lower())


_FAMILIES = {
    "integer": re.compile(
        r"^(tiny|small|big|huge|u)?int(eger|64|32|16|8|2|4)?\b|^(u?bigint|smallint|hugeint|ubigint|uinteger)"
    ),
    "number": re.compile(r"^(double|float|real|numeric|decimal|bignumeric|bigdecimal)"),
    "string": re.compile(r"^(varchar|text|string|char|character|bpchar|uuid|json|enum)"),
    "boolean": re.compile(r"^(bool)"),
    "date": re.compile(r"^date$"),
}


def warehouse_kind(type_name: str, dialect: str) -> str:
    """The family of an engine type name.

    One of integer, number, string, boolean, date, timestamp, timestamptz.
    """
    name = type_name.strip().lower()
    wrapped = re.fullmatch(r"(?:nullable|lowcardinality)\((.*)\)", name)
    if wrapped:  # ClickHouse wraps the type of a column that may hold NULL
        return warehouse_kind(wrapped.group(1), dialect)
    from segdsl.sql.dialects import DIALECTS, Dialect  # sqlglot: not for `seg validate`

    time = DIALECTS.get(dialect, Dialect()).time_kind(name)
    if time is not None:
        return time
    for family, pattern in _FAMILIES.items():
        if pattern.match(name):
            return family
    return "other"


def type_mismatch(declared: str, actual: str, dialect: str) -> str | None:
    """A help line if a declared column type cannot read the warehouse type, else None."""
    found = warehouse_kind(actual, dialect)
    language, storage = COLUMN_TYPES.get(declared, (None, None))
    if language is None:
        return None  # unknown type names are reported by the analyzer
    if storage is not None:
        if storage == found:
            return None
        if found in ("timestamp", "timestamptz", "date"):
            return f"declare it as `{found}`"
        return "a time column must be a DATE, TIMESTAMP or TIMESTAMP WITH TIME ZONE"
    numeric = language.kind in (Kind.INTEGER, Kind.NUMBER, Kind.DECIMAL)
    if numeric and found in ("integer", "number"):
        return None
    if language.kind is Kind.STRING and found in ("string", "other"):
        return None
    if language.kind is Kind.BOOLEAN and found == "boolean":
        return None
    # every family but "other" is also a language type to suggest
    return None if found == "other" else f"declare it as `{found}`"
