"""Parsed modules → the declared model: entity, tables, parameters and definitions.

Checks what can be checked without looking inside expressions: one entity with a
key, every table linked to the entity (directly or through another table), known
column types, and one global namespace without duplicates.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from segdsl import ir
from segdsl.diagnostics import Diagnostic, did_you_mean
from segdsl.source import Span
from segdsl.syntax import nodes
from segdsl.types import COLUMN_TYPES, INTEGER, PARAM_TYPES, Storage, Type

Definition = nodes.MeasureDecl | nodes.SegmentDecl | nodes.ClassifierDecl | nodes.SplitDecl


@dataclass(frozen=True)
class TableInfo:
    """A declared table: its row source and the columns visible in its filters."""

    name: str
    source: ir.RowSource
    # visible columns: (qualifier, name) → (hop index, column); qualifier "" = unqualified
    columns: dict[tuple[str, str], tuple[int, ir.Column]]
    span: Span
    base: str | None = None  # for derived tables: the table they filter
    where: nodes.Expr | None = None
    link_span: Span | None = None  # its `link … to …` member (base tables only)
    # a grouped table (`purchases per day { … }`): its declaration and base table; its
    # source and columns are made by the checker (`Grouped.resolve_grouped_tables`), which
    # checks the aggregates, and until then stand in empty
    grouped: nodes.GroupedTableDecl | None = None
    grouped_base: str | None = None


@dataclass
class Declarations:
    """Everything declared across a project's files, indexed by name."""

    entity: ir.Entity | None = None
    entity_span: Span | None = None
    attributes: dict[str, ir.Column] = field(default_factory=dict)
    tables: dict[str, TableInfo] = field(default_factory=dict)
    params: dict[str, nodes.ParamDecl] = field(default_factory=dict)
    param_types: dict[str, Type] = field(default_factory=dict)
    definitions: dict[str, Definition] = field(default_factory=dict)
    order: list[str] = field(default_factory=list)  # definitions in source order
    spans: dict[str, Span] = field(default_factory=dict)  # every global name → where declared


def collect(modules: Sequence[nodes.Module]) -> tuple[Declarations, list[Diagnostic]]:
    """Index the declarations of all modules, reporting structural problems."""
    collector = _Collector()
    for module in modules:
        for statement in module.statements:
            collector.statement(statement)
    collector.finish()
    return collector.decls, collector.diagnostics


class _Collector:
    def __init__(self) -> None:
        self.decls = Declarations()
        self.diagnostics: list[Diagnostic] = []
        self.entity_decls: list[nodes.EntityDecl] = []
        self.table_decls: dict[str, nodes.TableDecl] = {}
        self.derived_decls: dict[str, nodes.DerivedTableDecl | nodes.GroupedTableDecl] = {}

    def error(self, code: str, message: str, span: Span, help_: str | None = None) -> None:
        self.diagnostics.append(Diagnostic(code, message, span, help=help_))

    def claim(self, name: nodes.Ident) -> bool:
        """Reserve a global name; report a duplicate and return False if taken."""
        previous = self.decls.spans.get(name.text)
        if previous is not None:
            self.error(
                "SEG102",
                f"`{name.text}` is already defined",
                name.span,
                f"the first definition is at {previous}; names are shared by all files",
            )
            return False
        self.decls.spans[name.text] = name.span
        return True

    # -------------------------------------------------------------- statements
    def statement(self, statement: nodes.Statement) -> None:
        match statement:
            case nodes.EntityDecl():
                self.entity_decls.append(statement)
                self.entity(statement)
            case nodes.TableDecl():
                if self.claim(statement.name):
                    self.table_decls[statement.name.text] = statement
            case nodes.DerivedTableDecl() | nodes.GroupedTableDecl():
                if self.claim(statement.name):
                    self.derived_decls[statement.name.text] = statement
            case nodes.ParamDecl():
                if self.claim(statement.name):
                    self.param(statement)
            case (
                nodes.MeasureDecl()
                | nodes.SegmentDecl()
                | nodes.ClassifierDecl()
                | nodes.SplitDecl()
            ):
                if self.claim(statement.name):
                    self.decls.definitions[statement.name.text] = statement
                    self.decls.order.append(statement.name.text)
            case _:
                raise AssertionError(f"unhandled statement {statement!r}")

    def param(self, decl: nodes.ParamDecl) -> None:
        type_ = PARAM_TYPES.get(decl.type.text)
        if type_ is None:
            self.error(
                "SEG106",
                f"unknown parameter type `{decl.type.text}`",
                decl.type.span,
                did_you_mean(decl.type.text, PARAM_TYPES),
            )
            return
        self.decls.params[decl.name.text] = decl
        self.decls.param_types[decl.name.text] = type_

    def finish(self) -> None:
        for decl in self.table_decls.values():
            self.table(decl, [])
        for name in self.derived_decls:
            self.derived(name, [])

    # -------------------------------------------------------------- entity
    def entity(self, decl: nodes.EntityDecl) -> None:
        first = self.entity_decls[0]
        if decl is not first:
            self.error(
                "SEG107",
                f"a second entity `{decl.name.text}`; a project has exactly one",
                decl.name.span,
                f"the entity `{first.name.text}` is declared at {first.name.span}",
            )
            return
        self.claim(first.name)
        key: ir.Column | None = None
        time: ir.Column | None = None
        unique_key = False
        for member in first.members:
            match member:
                case nodes.KeyMember():
                    key_type = self.column_type(member.type) if member.type else (INTEGER, None)
                    if key_type is not None:
                        key = ir.Column(member.column.text, key_type[0])
                    unique_key = member.rely
                case nodes.TimeMember():
                    time = self.time_column(member)
                    if time is not None and self.claim(member.column):
                        self.decls.attributes[member.column.text] = time
                case nodes.ColumnMember():
                    column = self.column(member)
                    if column is not None and self.claim(member.name):
                        self.decls.attributes[member.name.text] = column
                case nodes.PartitionMember():
                    self.error(
                        "SEG107",
                        "`partition by` belongs to a table; the entity's rows are all read",
                        member.span,
                    )
                case nodes.LinkMember():
                    self.error(
                        "SEG107",
                        "the entity is the population itself and cannot `link` to anything",
                        member.span,
                    )
        if key is None:
            self.error(
                "SEG107",
                f"the entity `{first.name.text}` has no `key`",
                first.name.span,
                "add the column that identifies each member, e.g. `key id`",
            )
            return
        self.decls.entity = ir.Entity(first.name.text, first.source, key, time, unique_key)
        self.decls.entity_span = first.name.span

    def column_type(self, name: nodes.Ident) -> tuple[Type, Storage | None] | None:
        found = COLUMN_TYPES.get(name.text)
        if found is None:
            self.error(
                "SEG106",
                f"unknown column type `{name.text}`",
                name.span,
                did_you_mean(name.text, COLUMN_TYPES)
                or "types: " + ", ".join(sorted(COLUMN_TYPES)),
            )
        return found

    def column(self, member: nodes.ColumnMember) -> ir.Column | None:
        found = self.column_type(member.type)
        if found is None:
            return None
        type_, storage = found
        return ir.Column(member.physical or member.name.text, type_, storage)

    def time_column(self, member: nodes.TimeMember) -> ir.Column | None:
        if member.storage is None:
            return ir.Column(member.column.text, COLUMN_TYPES["timestamp"][0], "timestamp")
        found = self.column_type(member.storage)
        if found is None:
            return None
        type_, storage = found
        if storage is None:
            self.error(
                "SEG106",
                "a time column must be a `date`, `timestamp` or `timestamptz`, "
                f"not `{member.storage.text}`",
                member.storage.span,
            )
            return None
        return ir.Column(member.column.text, type_, storage)

    # -------------------------------------------------------------- tables
    def table(self, decl: nodes.TableDecl, visiting: list[str]) -> TableInfo | None:
        name = decl.name.text
        if name in self.decls.tables:
            return self.decls.tables[name]
        if name in visiting:
            self.error(
                "SEG103",
                "tables link to each other in a loop: " + " → ".join([*visiting, name]),
                decl.name.span,
            )
            return None
        links = [m for m in decl.members if isinstance(m, nodes.LinkMember)]
        times = [m for m in decl.members if isinstance(m, nodes.TimeMember)]
        for extra_link in links[1:]:
            self.error("SEG108", "a table links to exactly one parent", extra_link.span)
        for extra_time in times[1:]:
            self.error("SEG108", "a table has at most one time column", extra_time.span)
        for member in decl.members:
            if isinstance(member, nodes.KeyMember):
                self.error(
                    "SEG108",
                    "`key` belongs to the entity; a table declares `link COLUMN to PARENT`",
                    member.span,
                )
        if not links:
            self.error(
                "SEG108",
                f"the table `{name}` does not say how it links to the entity",
                decl.name.span,
                self._link_help(),
            )
            return None
        link = links[0]
        own_time = self.time_column(times[0]) if times else None
        columns: dict[tuple[str, str], tuple[int, ir.Column]] = {}
        for member in decl.members:
            if isinstance(member, nodes.ColumnMember):
                column = self.column(member)
                if column is None:
                    continue
                if ("", member.name.text) in columns:
                    self.error(
                        "SEG102",
                        f"the column `{member.name.text}` is declared twice",
                        member.name.span,
                    )
                    continue
                columns[("", member.name.text)] = (0, column)
        if own_time is not None:
            columns.setdefault(("", own_time.name), (0, own_time))
        partition = self.partition(decl, columns)
        hop = ir.Hop(name, decl.source, link.column.text, None, link.rely, partition)
        target = link.target.text
        entity = self.entity_decls[0].name.text if self.entity_decls else None
        if target == entity:
            if link.target_column is not None:
                self.error(
                    "SEG108",
                    "a link to the entity always uses the entity's key",
                    link.target_column.span,
                    f"write `link {link.column.text} to {target}`",
                )
            hops: tuple[ir.Hop, ...] = (hop,)
            parent_columns: dict[tuple[str, str], tuple[int, ir.Column]] = {}
            parent_time: ir.RowColumn | None = None
        else:
            parent_decl = self.table_decls.get(target)
            if parent_decl is None:
                self.error(
                    "SEG104",
                    f"`{name}` links to unknown table `{target}`",
                    link.target.span,
                    did_you_mean(target, [*self.table_decls, *([entity] if entity else [])]),
                )
                return None
            parent = self.table(parent_decl, [*visiting, name])
            if parent is None:
                return None
            if link.target_column is None:
                self.error(
                    "SEG108",
                    f"say which column of `{target}` `{link.column.text}` refers to",
                    link.target.span,
                    f"e.g. `link {link.column.text} to {target}.id`",
                )
                return None
            hop = ir.Hop(
                name, decl.source, link.column.text, link.target_column.text, link.rely, partition
            )
            hops = (hop, *parent.source.hops)
            parent_columns = {
                (qualifier or target, column_name): (index + 1, column)
                for (qualifier, column_name), (index, column) in parent.columns.items()
            }
            parent_time = (
                ir.RowColumn(parent.source.time.hop + 1, parent.source.time.column)
                if parent.source.time is not None
                else None
            )
        qualified = {(name, column_name): entry for (_, column_name), entry in columns.items()}
        time = ir.RowColumn(0, own_time) if own_time is not None else parent_time
        visible = {**parent_columns, **qualified, **columns}
        # unqualified names of parent tables are visible when no own column shadows them
        for (qualifier, column_name), entry in parent_columns.items():
            if qualifier and ("", column_name) not in visible:
                visible[("", column_name)] = entry
        info = TableInfo(
            name, ir.RowSource(hops, time), visible, decl.name.span, link_span=link.span
        )
        self.decls.tables[name] = info
        return info

    def partition(
        self, decl: nodes.TableDecl, columns: dict[tuple[str, str], tuple[int, ir.Column]]
    ) -> ir.Column | None:
        """The column of `partition by …`: the table's time or a declared time column."""
        found = [m for m in decl.members if isinstance(m, nodes.PartitionMember)]
        for extra in found[1:]:
            self.error("SEG108", "a table is partitioned by one column", extra.span)
        if not found:
            return None
        member = found[0]
        entry = columns.get(("", member.column.text))
        column = entry[1] if entry is not None else None
        if column is None or column.storage is None:
            times = [c.name for _, c in columns.values() if c.storage is not None]
            self.error(
                "SEG108",
                f"`partition by {member.column.text}`: not a time or date column of "
                f"`{decl.name.text}`",
                member.column.span,
                "partition by the table's `time` column or a declared `date`/`timestamp` "
                "column holding the time's date"
                + (f" ({', '.join(sorted(set(times)))})" if times else ""),
            )
            return None
        return column

    def _link_help(self) -> str:
        entity = self.entity_decls[0].name.text if self.entity_decls else "customer"
        return f"add e.g. `link customer_id to {entity}` inside the braces"

    def derived(self, name: str, visiting: list[str]) -> TableInfo | None:
        if name in self.decls.tables:
            return self.decls.tables[name]
        decl = self.derived_decls[name]
        if name in visiting:
            self.error(
                "SEG103",
                "tables are defined from each other in a loop: " + " → ".join([*visiting, name]),
                decl.name.span,
            )
            return None
        base_name = decl.base.text
        base: TableInfo | None
        if base_name in self.derived_decls:
            base = self.derived(base_name, [*visiting, name])
        elif base_name in self.table_decls:
            base = self.decls.tables.get(base_name)
        else:
            self.error(
                "SEG104",
                f"unknown table `{base_name}`",
                decl.base.span,
                did_you_mean(base_name, [*self.table_decls, *self.derived_decls]),
            )
            return None
        if base is None:
            return None
        if isinstance(decl, nodes.GroupedTableDecl):
            # provisional: the checker makes its rows and columns from the base's
            hop = ir.Hop(name, (), "__key", None)
            grouped = TableInfo(
                name,
                ir.RowSource((hop,), None),
                {},
                decl.name.span,
                grouped=decl,
                grouped_base=base.name,
            )
            self.decls.tables[name] = grouped
            return grouped
        columns = dict(base.columns)
        for (qualifier, column_name), entry in base.columns.items():
            if qualifier == base.name:
                columns[(name, column_name)] = entry
        info = TableInfo(
            name, base.source, columns, decl.name.span, base=base.name, where=decl.where
        )
        self.decls.tables[name] = info
        return info
