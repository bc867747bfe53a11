"""Parsed modules + declarations → every name's occurrences: where declared, where used.

A target says what a name means: `("name", X)` a project-wide name (definition,
table, parameter, attribute, the entity and its key), `("column", T, C)` the column
`C` declared by table `T`, `("label", D, L)` a label of classifier or split `D`.
Names inside a table's filter resolve as the checker resolves them: parameters
first, then the table's columns (its own, then its parents').
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass

from segdsl.semantic.declarations import Declarations, TableInfo
from segdsl.source import Span
from segdsl.syntax import nodes

Target = tuple[str, ...]
# fields of expression nodes that hold a name of the project (others are units or functions)
_NAME_FIELDS = frozenset({"size", "duration", "start", "end", "within", "name"})


@dataclass(frozen=True)
class Occurrence:
    span: Span
    target: Target
    declaration: bool = False


def column_target(table: TableInfo, key: tuple[str, str]) -> Target:
    """The column a visible name of `table` refers to: its declaring table and name."""
    hop, _ = table.columns[key]
    return ("column", table.source.hops[hop].table, key[1])


def occurrences(module: nodes.Module, decls: Declarations) -> list[Occurrence]:
    """Every name in `module`, in source order."""
    walker = _Walker(decls)
    for statement in module.statements:
        walker.statement(statement)
    return sorted(walker.found, key=lambda o: o.span.start)


class _Walker:
    def __init__(self, decls: Declarations) -> None:
        self.decls = decls
        self.found: list[Occurrence] = []

    def add(self, ident: nodes.Ident, target: Target, declaration: bool = False) -> None:
        self.found.append(Occurrence(ident.span, target, declaration))

    def declare(self, ident: nodes.Ident) -> None:
        self.add(ident, ("name", ident.text), True)

    def use(self, ident: nodes.Ident) -> None:
        self.add(ident, ("name", ident.text))

    # -------------------------------------------------------------- statements
    def statement(self, statement: nodes.Statement) -> None:
        match statement:
            case nodes.EntityDecl():
                self.declare(statement.name)
                for member in statement.members:
                    match member:
                        case nodes.KeyMember():
                            self.declare(member.column)
                        case nodes.TimeMember():
                            self.declare(member.column)
                        case nodes.ColumnMember():
                            self.declare(member.name)
                        case nodes.LinkMember() | nodes.PartitionMember():
                            pass
            case nodes.TableDecl():
                self.declare(statement.name)
                table = statement.name.text
                for member in statement.members:
                    match member:
                        case nodes.ColumnMember():
                            self.add(member.name, ("column", table, member.name.text), True)
                        case nodes.TimeMember():
                            self.add(member.column, ("column", table, member.column.text), True)
                        case nodes.LinkMember():
                            self.use(member.target)
                            if member.target_column is not None:
                                target_column = member.target_column
                                self.add(
                                    target_column,
                                    ("column", member.target.text, target_column.text),
                                )
                        case nodes.PartitionMember():
                            self.add(member.column, ("column", table, member.column.text))
                        case nodes.KeyMember():
                            pass
            case nodes.DerivedTableDecl():
                self.declare(statement.name)
                self.use(statement.base)
                self.expr(statement.where, self.decls.tables.get(statement.name.text))
            case nodes.GroupedTableDecl():
                self.declare(statement.name)
                self.use(statement.base)
                table = statement.name.text
                base = self.decls.tables.get(statement.base.text)
                if base is not None and ("", statement.by.text) in base.columns:
                    self.add(statement.by, column_target(base, ("", statement.by.text)))
                for column in statement.columns:
                    self.add(column.name, ("column", table, column.name.text), True)
                    if column.arg is not None:
                        self.expr(column.arg, base)
            case nodes.ParamDecl():
                self.declare(statement.name)
                if statement.default is not None:
                    self.expr(statement.default, None)
            case nodes.MeasureDecl():
                self.declare(statement.name)
                self.expr(statement.body, None)
            case nodes.SegmentDecl():
                self.declare(statement.name)
                self.expr(statement.condition, None)
            case nodes.ClassifierDecl():
                self.declare(statement.name)
                owner = statement.name.text
                for rule in statement.rules:
                    self.add(rule.label, ("label", owner, rule.label.text), True)
                    self.expr(rule.condition, None)
                label = statement.else_label
                self.add(label, ("label", owner, label.text), True)
            case nodes.SplitDecl():
                self.declare(statement.name)
                if statement.of is not None:
                    self.use(statement.of)
                for bucket in statement.buckets:
                    label = bucket.label
                    self.add(label, ("label", statement.name.text, label.text), True)

    # -------------------------------------------------------------- expressions
    def expr(self, node: object, table: TableInfo | None) -> None:
        """Names under `node`; `table` is the table whose rows the names are read on."""
        match node:
            case nodes.Name():
                self.name(node, table)
            case nodes.Aggregate():
                self.use(node.target)
                rows = self.decls.tables.get(node.target.text)
                for arg in node.args or ():
                    self.expr(arg, rows)
                self.expr(node.window, None)
                self.expr(node.per, rows)
                self.expr(node.among, None)
                self.expr(node.where, rows)
            case nodes.EventSet():
                self.use(node.table)
                self.expr(node.window, None)
                self.expr(node.where, self.decls.tables.get(node.table.text))
            case _ if dataclasses.is_dataclass(node):
                for field in dataclasses.fields(node):
                    value = getattr(node, field.name)
                    if isinstance(value, nodes.Ident):
                        if field.name in _NAME_FIELDS:
                            self.use(value)
                    else:
                        self.expr(value, table)
            case tuple():
                for item in node:
                    self.expr(item, table)
            case _:
                pass

    def name(self, node: nodes.Name, table: TableInfo | None) -> None:
        parts = node.parts
        first = parts[0]
        if table is None:
            entity = self.decls.entity
            if len(parts) == 2 and entity is not None and first.text == entity.name:
                self.use(first)
                self.use(parts[1])
            elif len(parts) == 1:
                self.use(first)
            return
        if len(parts) == 1 and first.text in self.decls.param_types:
            self.use(first)
            return
        key = ("", first.text) if len(parts) == 1 else (first.text, parts[1].text)
        if len(parts) <= 2 and key in table.columns:
            if len(parts) == 2:
                self.use(first)
            self.add(parts[-1], column_target(table, key))


def at(found: list[Occurrence], offset: int) -> Occurrence | None:
    """The occurrence whose span holds `offset` (its end included, for a cursor after it)."""
    for occurrence in found:
        if occurrence.span.start <= offset <= occurrence.span.end:
            return occurrence
    return None


def names_in(found: list[Occurrence], target: Target) -> Iterator[Occurrence]:
    return (o for o in found if o.target == target)
